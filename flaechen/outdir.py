"""The output folder of a run: checked before any work, locked, cleaned, written with normal permissions.

A run writes ``district.gpkg``, ``issues.csv``, ``district.qgz``, ``site/`` and more into one folder, often
on a drive colleagues share. This module makes that safe:

- :func:`check_output_folder` fails at once, before hours of work, where the folder is a file, cannot be
  created or cannot be written;
- :class:`OutputFolder` holds a lock (``.flaechen.lock``), so a second run into the same folder waits or
  stops with a message naming the run that holds it, instead of mixing its outputs with the first's;
  on taking the lock it removes what a killed run left behind (``.district-*.gpkg``, ``.site-*`` …);
- :meth:`OutputFolder.write_manifest` records in ``run.json`` which run wrote which outputs, and whether
  it completed: a run that failed after writing the dataset but before the site says so there (and in
  its log) instead of leaving a new dataset beside an old site in silence;
- :func:`flaechen.atomic.normal_permissions` gives files written through temporary files (created 0600) the permissions
  of a normal file under the user's umask, so a colleague can open the QGIS project too.

Examples
--------
>>> with OutputFolder("out/district") as folder:
...     _ = (folder.path / "issues.csv").write_text("…", encoding="utf-8")
...     _ = folder.write_manifest([folder.path / "issues.csv"], complete=True)
>>> import json
>>> json.loads(Path("out/district/run.json").read_text(encoding="utf-8"))["complete"]
True
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import logging
import os
import shutil
import socket
import sys
import uuid
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout

from flaechen import __version__
from flaechen.atomic import atomic_write_text
from flaechen.errors import OutputError
from flaechen.output import check_output_dir

log = logging.getLogger(__name__)

LOCK_NAME = ".flaechen.lock"
HOLDER_NAME = ".flaechen.lock.json"
"""Who holds the lock (process, host, user, start, command): read by a second run for its message."""
MANIFEST_NAME = "run.json"
STAGE_PREFIX = ".run-"
"""Temporary folders of a run (the run.json temporary file too)."""

LEFTOVER_PATTERNS = (
    ".district-*.gpkg",
    ".district-*.gpkg-wal",
    ".district-*.gpkg-shm",
    ".district-*.gpkg-journal",
    ".district-*.qgz",
    ".issues-*.csv",
    ".site-*",
    f"{STAGE_PREFIX}*",
    "parquet/.*-*.parquet",
)
"""Temporary files and folders a killed run leaves in the output folder (removed by the next run)."""


def check_output_folder(path: str | os.PathLike[str]) -> Path:
    """Make sure `path` is (or can become) a folder this process can write to; create it.

    Raises
    ------
    OutputError
        The path is a file, lies below a file, cannot be created or cannot be written.
    """
    check_output_dir(path)  # a file, below a file, no write permission: said before anything is tried
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
        probe = p / f".flaechen-probe-{uuid.uuid4().hex}"
        with probe.open("x"):
            pass
        probe.unlink()
    except OSError as exc:
        raise OutputError(
            f"--out: cannot create or write into {p.absolute()} ({exc.strerror}): choose a folder you may write to, "
            "or ask for write permission"
        ) from None
    return p


def remove_leftovers(path: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files and folders a killed run left in the output folder; return them.

    Only call this while holding the folder's lock: another run's temporary files are not leftovers.
    """
    removed: list[Path] = []
    folder = Path(path)
    for pattern in LEFTOVER_PATTERNS:
        for leftover in sorted(folder.glob(pattern)):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
            removed.append(leftover)
    if removed:
        log.info(
            "removed %d temporary file(s) a killed run left in %s: %s",
            len(removed),
            folder,
            ", ".join(p.name for p in removed[:5]) + (" …" if len(removed) > 5 else ""),
        )
    return removed


class OutputFolder:
    """A locked output folder (a context manager): see the module's description.

    Parameters
    ----------
    path
        The output folder; created where missing.
    wait
        Seconds to wait for another run that holds the folder (0: stop at once with a message).
    """

    def __init__(self, path: str | os.PathLike[str], *, wait: float = 0.0) -> None:
        self.path = Path(path)
        self.wait = wait
        self.run_id = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        self.started = dt.datetime.now(dt.UTC)
        self._lock: FileLock | None = None

    def __enter__(self) -> OutputFolder:
        check_output_folder(self.path)
        lock = FileLock(self.path / LOCK_NAME)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            holder = self._holder()
            if self.wait <= 0:
                raise OutputError(
                    f"output folder {self.path} is in use by another flaechen run ({holder}). Wait for it to "
                    "finish, choose another --out, or pass --wait SECONDS to wait for it."
                ) from None
            log.warning(
                "output folder %s is in use by another run (%s); waiting up to %gs", self.path, holder, self.wait
            )
            try:
                lock.acquire(timeout=self.wait)
            except Timeout:
                raise OutputError(
                    f"output folder {self.path} is still in use by another flaechen run ({self._holder()}) "
                    f"after {self.wait:g} s. Try again later or choose another --out."
                ) from None
        except OSError as exc:
            raise OutputError(f"output folder {self.path}: cannot take its lock ({exc.strerror}).") from None
        self._lock = lock
        try:
            (self.path / HOLDER_NAME).write_text(
                json.dumps(
                    {
                        "pid": os.getpid(),
                        "host": socket.gethostname(),
                        "user": getpass.getuser(),
                        "started": self.started.isoformat(timespec="seconds"),
                        "command": " ".join(Path(sys.argv[0]).name if i == 0 else a for i, a in enumerate(sys.argv)),
                    }
                ),
                encoding="utf-8",
            )
            remove_leftovers(self.path)
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            (self.path / HOLDER_NAME).unlink(missing_ok=True)
            self._lock.release()
            self._lock = None

    def _holder(self) -> str:
        try:
            info = json.loads((self.path / HOLDER_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "holder unknown"
        return (
            f"process {info.get('pid')} of {info.get('user')} on {info.get('host')}, "
            f"started {info.get('started')}: {info.get('command')}"
        )

    def write_manifest(self, outputs: list[Path], *, complete: bool) -> Path:
        """Record the run that wrote `outputs` in ``run.json`` (atomically, with normal permissions).

        With ``complete=False`` the manifest says the run stopped early: the outputs it names are new, the
        folder's other outputs (e.g. ``site/``) are left from an earlier run.
        """
        manifest = {
            "run_id": self.run_id,
            "started": self.started.isoformat(timespec="seconds"),
            "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "flaechen": __version__,
            "complete": complete,
            "outputs": sorted(p.name for p in outputs),
        }
        if not complete:
            manifest["note"] = (
                "The run stopped after writing these outputs; the folder's other outputs are from an earlier "
                "run. Run again to bring them together."
            )
        return atomic_write_text(self.path / MANIFEST_NAME, json.dumps(manifest, indent=2))
