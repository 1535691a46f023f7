"""lunasample: host side of the lunar sampling-robot controller."""

__version__ = "0.1.0"
