"""lunasample.report."""
