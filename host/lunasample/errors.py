"""Errors shared across the lunasample package."""


class UserError(Exception):
    """A mistake the user can fix (bad file, bad option); the CLI prints it on one line."""
