"""lunasample.report: mission timeline, report and plots."""

from lunasample.report.outputs import write_outputs

__all__ = ["write_outputs"]
