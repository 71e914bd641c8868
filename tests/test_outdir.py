"""The output folder: one run at a time, no leftovers of a killed run, normal permissions, outputs of one run.

A district runs flaechen into a folder on a shared drive: two colleagues may start a run into it at once, a
run may be killed, and the QGIS project must open for everyone who can read the folder.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mini_district import write_mini_district

from flaechen.atomic import normal_permissions
from flaechen.cli import EXIT_OK, EXIT_USER_ERROR, main
from flaechen.outdir import HOLDER_NAME, OutputFolder

REPO = Path(__file__).resolve().parent.parent


def _flaechen(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "flaechen.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


HOLD = """
import sys, time
from flaechen.outdir import OutputFolder
with OutputFolder(sys.argv[1]):
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_a_run_into_a_folder_another_process_holds_stops_or_waits(tmp_path):
    config = write_mini_district(tmp_path)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out), "45"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "holding"
        second = _flaechen("run", str(config), "--out", str(out), "--quiet")
        _, err = second.communicate(timeout=300)
        assert second.returncode == EXIT_USER_ERROR, err
        assert f"output folder {out} is in use by another flaechen run (process {holder.pid}" in err
        assert "--wait" in err and "Traceback" not in err
        assert not (out / "district.gpkg").exists()
        waiting = _flaechen("run", str(config), "--out", str(out), "--quiet", "--wait", "600")
        _, err = waiting.communicate(timeout=600)
        assert waiting.returncode == EXIT_OK, err
        assert "is in use by another run" in err and "waiting up to 600s" in err
        assert holder.poll() is not None  # the waiting run started only after the holder had finished
    finally:
        holder.kill()
        holder.communicate()


def test_two_concurrent_runs_into_one_folder_do_not_mix(tmp_path):
    config = write_mini_district(tmp_path)
    out = tmp_path / "out"
    runs = [_flaechen("run", str(config), "--out", str(out), "--quiet", "--wait", "600") for _ in range(3)]
    results = [run.communicate(timeout=900) for run in runs]
    assert [run.returncode for run in runs] == [EXIT_OK] * 3, results
    assert sum("is in use by another run" in err for _, err in results) >= 1  # they took turns
    manifest = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert manifest["complete"] and {"district.gpkg", "district.qgz", "issues.csv", "site"} <= set(manifest["outputs"])
    assert not (out / HOLDER_NAME).exists()
    assert not list(out.glob(".district-*")) and not list(out.glob(".site-*"))


def test_a_killed_runs_temporary_files_are_removed_by_the_next_run(tmp_path):
    config = write_mini_district(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    leftovers = [
        out / ".district-k3j2h1.gpkg",
        out / ".district-k3j2h1.gpkg-wal",
        out / ".issues-9x8y.csv",
        out / ".district-77ab.qgz",
    ]
    for path in leftovers:
        path.write_bytes(b"half-written")
    (out / ".site-abc123" / "lib").mkdir(parents=True)
    (out / ".site-abc123" / "index.html").write_text("<html>", encoding="utf-8")
    (out / ".run-json-x1y2").write_text("{", encoding="utf-8")
    (out / "notes.txt").write_text("a colleague's file", encoding="utf-8")
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == EXIT_OK
    names = {p.name for p in out.iterdir()}
    assert not [n for n in names if n.startswith((".district-", ".issues-", ".site-", ".run-"))], names
    assert "notes.txt" in names  # only the run's own temporary files are removed


def test_a_run_killed_while_writing_is_cleaned_up_by_the_next_run(tmp_path):
    config = write_mini_district(tmp_path)
    out = tmp_path / "out"
    proc = _flaechen("run", str(config), "--out", str(out), "--quiet")
    deadline = time.monotonic() + 300
    while not list(out.glob(".district-*.gpkg")):
        if proc.poll() is not None:
            proc.communicate()
            pytest.skip("the run finished before it could be killed while writing")
        assert time.monotonic() < deadline
        time.sleep(0.005)
    proc.kill()
    proc.communicate()
    assert list(out.glob(".district-*")) and not (out / "district.gpkg").exists()  # nothing half-written in place
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == EXIT_OK
    assert not list(out.glob(".district-*")) and (out / "district.gpkg").is_file()


def test_outputs_get_the_permissions_of_a_normal_file(tmp_path, umask_022):
    config = write_mini_district(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == EXIT_OK
    for name in ("district.gpkg", "issues.csv", "district.qgz", "run.json", "site/index.html"):
        assert _mode(out / name) == 0o644, (name, oct(_mode(out / name)))
    assert _mode(out / "site") == 0o755
    # a stricter or looser umask is respected as for any file
    os.umask(0o002)
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == EXIT_OK
    assert _mode(out / "issues.csv") == 0o664 and _mode(out / "district.qgz") == 0o664
    # and `flaechen flag` rewriting the dataset keeps it readable
    assert main(["flag", str(out), "--quiet"]) == EXIT_OK
    assert _mode(out / "district.gpkg") == 0o664


def test_a_failed_publish_says_which_outputs_are_new_and_which_are_old(tmp_path, monkeypatch, capsys):
    config = write_mini_district(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == EXIT_OK
    first = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert first["complete"] and {"district.gpkg", "issues.csv", "district.qgz", "site"} <= set(first["outputs"])
    site_before = (out / "site" / "index.html").read_bytes()

    import flaechen.publish

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(flaechen.publish, "publish", broken)
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err
    assert "the run stopped after writing district.gpkg, issues.csv, district.qgz" in err
    assert "beside outputs of an earlier run (see run.json)" in err
    second = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert second["run_id"] != first["run_id"] and second["complete"] is False
    assert "site" not in second["outputs"] and "earlier run" in second["note"]
    assert (out / "site" / "index.html").read_bytes() == site_before


def test_the_manifest_names_the_run_that_made_the_outputs(tmp_path):
    config = write_mini_district(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == EXIT_OK
    first = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == EXIT_OK
    second = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert first["run_id"] != second["run_id"] and second["finished"] >= first["finished"]


def test_publish_into_a_folder_a_run_holds_stops_with_a_message(tmp_path, capsys):
    config = write_mini_district(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == EXIT_OK
    with OutputFolder(out):
        assert main(["publish", str(out), "--quiet"]) == EXIT_USER_ERROR
    assert "is in use by another flaechen run" in capsys.readouterr().err
    assert main(["publish", str(out), "--quiet"]) == EXIT_OK


def test_normal_permissions_follow_the_umask(tmp_path, umask_022):
    path = tmp_path / "f"
    path.write_text("x")
    path.chmod(0o600)
    normal_permissions(path)
    assert _mode(path) == 0o644
    folder = tmp_path / "d"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "g").write_text("y")
    folder.chmod(0o700)
    normal_permissions(folder)
    assert _mode(folder) == 0o755 and _mode(folder / "sub" / "g") == 0o644
