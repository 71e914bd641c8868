"""The examples in ``flaechen/``'s docstrings run as doctests (``make lint``) against a real demo district.

Examples name files as a user would, relative to the folder they work in: ``data/demo/district.toml`` (the
committed demo configuration) and ``out/demo/district.gpkg`` (what ``make demo`` writes). Every doctest runs
in one temporary working folder of the session holding exactly that: ``data`` links to the repository's
``data/``, and ``out/demo`` is a demo district built once per session at the smallest scale (3,000
parcels, two surveys, as ``flaechen demo`` builds it), only when a doctest needs it. Nothing an example
writes lands in the repository.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from _pytest.doctest import DoctestItem

REPO = Path(__file__).resolve().parent
DEMO_SCALE = 3_000


@pytest.fixture(scope="session")
def _doctest_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("doctests")
    (folder / "data").symlink_to(REPO / "data", target_is_directory=True)
    (folder / "out").mkdir()
    return folder


@pytest.fixture(scope="session")
def _doctest_demo(_doctest_folder: Path) -> Path:
    out = _doctest_folder / "out" / "demo"
    command = [sys.executable, "-c", "from flaechen.cli import main; raise SystemExit(main())"]
    command += ["demo", "--out", str(out), "--scale", str(DEMO_SCALE), "--quiet"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"building the doctests' demo district failed:\n{done.stdout}\n{done.stderr}")
    return out


@pytest.fixture(autouse=True)
def _doctest_workdir(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run each doctest in the session's working folder; build the demo first where an example reads it."""
    if not isinstance(request.node, DoctestItem):
        return
    folder: Path = request.getfixturevalue("_doctest_folder")
    examples = request.node.dtest.examples if request.node.dtest is not None else []
    if any("out/demo" in example.source for example in examples):
        request.getfixturevalue("_doctest_demo")
    monkeypatch.chdir(folder)
