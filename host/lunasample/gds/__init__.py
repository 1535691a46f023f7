"""`lunasample gds`: a web ground station for one board (see docs/gds.md)."""
