"""Typed models of the files users write (rig descriptions, mission parameters)
and the one formatter that turns a pydantic error into a one-line UserError."""

from lunasample.config.errors import validation_error

__all__ = ["validation_error"]
