"""The one way flaechen writes a file or a folder: into a temporary sibling, then renamed into place.

A crash, a full disk or Ctrl-C never leaves a half-written ``district.gpkg``, ``district.qgz``, GeoParquet
file or site behind, and readers of the old file keep a consistent view until the rename. The temporary
name starts with a dot and is removed on failure (with SQLite's ``-wal``/``-shm``/``-journal`` companions).

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> target = Path(tempfile.mkdtemp()) / "note.txt"
>>> atomic_write(target, lambda tmp: tmp.write_text("fertig", encoding="utf-8")).read_text(encoding="utf-8")
'fertig'
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

_COMPANIONS = ("-wal", "-shm", "-journal")


def _umask() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # no other way to read it: set and restore at once
    os.umask(mask)
    return mask


def normal_permissions(path: str | os.PathLike[str]) -> None:
    """Give a file (or a folder, recursively) the permissions a new one gets under the user's umask.

    Temporary files are created 0600 and temporary folders 0700, so outputs renamed into place from them
    would be private to their owner: colleagues on a shared drive could not open them.
    """
    mask = _umask()
    p = Path(path)
    if p.is_dir():
        p.chmod(0o777 & ~mask)
        for root, dirs, files in os.walk(p):
            for d in dirs:
                Path(root, d).chmod(0o777 & ~mask)
            for f in files:
                Path(root, f).chmod(0o666 & ~mask)
    elif p.exists():
        p.chmod(0o666 & ~mask)


def atomic_write(target: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside `target`, then rename it to `target`.

    Parameters
    ----------
    target
        The file to (re)place; its folder is created where missing.
    write
        Writes the complete file at the path it is given (which exists, empty).

    Returns
    -------
    Path
        `target`.
    """
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        normal_permissions(tmp)  # mkstemp's 0600 would make the output private to its writer
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        for suffix in _COMPANIONS:
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    return path


def atomic_write_text(target: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> Path:
    """Write `text` to `target` atomically."""
    return atomic_write(target, lambda tmp: tmp.write_text(text, encoding=encoding))


def atomic_folder(target: str | os.PathLike[str], fill: Callable[[Path], object]) -> Path:
    """Call ``fill(tmp)`` on a temporary folder beside `target`, then swap it in for `target`.

    The old folder (if any) is moved aside first and removed after the swap, so `target` is always either
    the complete old or the complete new folder.
    """
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        fill(tmp)
        normal_permissions(tmp)  # mkdtemp's 0700: colleagues on a shared drive could not open the folder
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}-old-", dir=path.parent))
            os.replace(path, old / path.name)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path
