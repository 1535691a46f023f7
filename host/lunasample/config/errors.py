"""pydantic errors as the CLI shows every mistake: one line naming the file,
the key path and the rule."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from lunasample.errors import UserError


def key_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a dotted key path (list items as [i])."""
    out = ""
    for part in loc:
        if part == "[key]":  # pydantic's marker for a bad dict key: the key itself is named
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


def validation_error(
    path: str | Path, e: ValidationError, cls: type[UserError] = UserError
) -> UserError:
    """The first error of `e` as `FILE: key.path: rule, got VALUE (and N more)`."""
    errs = e.errors(include_url=False)
    err = errs[0]
    msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
    value = err.get("input")
    if err["type"] not in ("missing", "extra_forbidden") and not isinstance(value, (dict, list)):
        msg += f", got {value!r}"
    more = f" (and {len(errs) - 1} more)" if len(errs) > 1 else ""
    # A rule across keys (a model validator at the top) names its keys itself.
    where = f"{key_path(err['loc'])}: " if err["loc"] else ""
    return cls(f"{path}: {where}{msg}{more}")
