"""lunasample.rigs."""
