"""Bench procedures, one module each (discovered by lunasample.rigs.registry)."""
