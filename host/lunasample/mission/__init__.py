"""lunasample.mission."""
