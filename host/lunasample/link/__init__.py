"""lunasample.link."""
