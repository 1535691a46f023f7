"""Output directories checked before the long work that fills them."""

from __future__ import annotations

import tempfile
from pathlib import Path

from lunasample.errors import UserError


def check_output_dir(path: str | Path, what: str = "--out") -> Path:
    """Make sure `path` can take the outputs: create it (and its parents) and
    write a probe file there, so a bad path fails in one line before any
    work starts. Directories this made are removed again, so a run that then
    fails early leaves nothing; writing the outputs creates them for good."""
    out = Path(path)
    made: list[Path] = []
    p = out
    while not p.exists() and p != p.parent:
        made.append(p)
        p = p.parent
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".lunasample-probe-"):
            pass
    except FileExistsError:
        raise UserError(f"{what} {out}: not a directory") from None
    except OSError as e:
        raise UserError(f"{what} {out}: cannot write there ({e.strerror})") from None
    finally:
        for d in made:  # innermost first
            try:
                d.rmdir()
            except OSError:
                break
    return out
