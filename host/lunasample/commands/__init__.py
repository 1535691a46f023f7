"""lunasample.commands."""
