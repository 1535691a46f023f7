"""lunasample.emulator."""
