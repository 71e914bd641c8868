"""The output folder of a run: checked before any work starts.

Examples
--------
>>> output_problems("/proc/version")[0].message
'/proc/version exists and is a file, not a folder'
"""

from __future__ import annotations

import os
from pathlib import Path

from flaechen.errors import OutputError, Problem


def output_problems(out_dir: str | os.PathLike[str], *, key: str = "--out") -> list[Problem]:
    """Problems that would stop a run from writing into `out_dir` (an empty list when it can).

    The folder may not exist yet (it is created); then its nearest existing parent must be writable.
    """
    path = Path(out_dir).absolute()
    if path.exists() and not path.is_dir():
        return [Problem(None, key, f"{path} exists and is a file, not a folder", "choose a folder name")]
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return [Problem(None, key, f"{existing} is a file, so {path} cannot be created", "choose a folder name")]
    if not os.access(existing, os.W_OK | os.X_OK):
        what = path if existing == path else f"{existing} (to create {path})"
        return [
            Problem(
                None, key, f"cannot write into {what}", "choose a folder you may write to, or ask for write permission"
            )
        ]
    return []


def check_output_dir(out_dir: str | os.PathLike[str]) -> None:
    """Raise :class:`~flaechen.errors.OutputError` unless a run can write into `out_dir`."""
    problems = output_problems(out_dir)
    if problems:
        raise OutputError("; ".join(str(p) for p in problems))
