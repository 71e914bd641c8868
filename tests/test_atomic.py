"""The one atomic writer: a failed write leaves the old file (or folder) and no temporary behind."""

from __future__ import annotations

import pytest

from flaechen.atomic import atomic_folder, atomic_write, atomic_write_text


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing_behind(tmp_path):
    target = atomic_write_text(tmp_path / "out" / "issues.csv", "alt")

    def broken(tmp):
        tmp.write_text("halb", encoding="utf-8")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, broken)
    assert target.read_text(encoding="utf-8") == "alt"
    assert sorted(p.name for p in target.parent.iterdir()) == ["issues.csv"]


def test_a_folder_is_swapped_whole(tmp_path):
    site = tmp_path / "site"
    atomic_folder(site, lambda d: (d / "index.html").write_text("v1", encoding="utf-8"))
    with pytest.raises(ZeroDivisionError):
        atomic_folder(site, lambda d: ((d / "index.html").write_text("v2", encoding="utf-8"), 1 / 0))
    assert (site / "index.html").read_text(encoding="utf-8") == "v1"
    atomic_folder(site, lambda d: (d / "index.html").write_text("v2", encoding="utf-8"))
    assert (site / "index.html").read_text(encoding="utf-8") == "v2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_no_module_writes_its_own_temporary_files():
    import re
    from pathlib import Path

    package = Path(__file__).parents[1] / "flaechen"
    own = {"atomic.py", "printing.py"}  # printing: a scratch folder inside the site, not a file swap
    offenders = [
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if p.name not in own and re.search(r"mkstemp|mkdtemp|os\.replace\(", p.read_text(encoding="utf-8"))
    ]
    assert offenders == []
