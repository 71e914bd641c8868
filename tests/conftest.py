"""Shared test helpers.

`require(...)`: a test that needs a real component (PostGIS server, Chromium, QGIS, ../shared data) skips
with a clear message where it is missing locally, but fails under CI (`CI=true`), where every install step
must have run: a missing install step must fail the run instead of hiding.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_REAL = REPO.parent / "shared" / "data" / "real"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(available: bool, what: str, *, ci_required: bool = True) -> None:
    """Skip (locally) or fail (under CI) when `what` is not available."""
    if available:
        return
    if ci_required and in_ci():
        pytest.fail(f"{what} is missing under CI=true: an install step in .ci/run or the Makefile failed")
    pytest.skip(f"{what} is not available here")


@pytest.fixture
def shared_real() -> Path:
    """The real public geodata in ../shared/data/real (skips where absent, also in CI)."""
    require(SHARED_REAL.is_dir(), f"real data folder {SHARED_REAL}", ci_required=False)
    return SHARED_REAL


@pytest.fixture(scope="session")
def chromium():
    """Headless Debian Chromium through Playwright, one for the whole session (Playwright's sync API allows
    one running instance per thread); skips locally, fails under CI=true if missing."""
    from tests.publish.browser import browser, chromium_path, playwright_available

    require(chromium_path() is not None, "Debian's chromium (headless browser)")
    require(playwright_available(), "Python playwright (pip install -e '.[dev]')")
    with browser() as b:
        yield b
