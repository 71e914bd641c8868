"""`flaechen publish OUT_DIR`: a thin CLI over publish()."""

from __future__ import annotations

import argparse
import shutil

import pytest

from flaechen.errors import FlaechenError
from flaechen.publish import cli


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flaechen")
    cli.add_parser(parser.add_subparsers(dest="command"))
    return parser


def test_help_text():
    parser = _parser()
    sub = parser._subparsers._group_actions[0].choices["publish"]
    text = sub.format_help()
    assert "OUT_DIR" in text and "--config" in text and "--quiet" in text


def test_run_prints_the_index(district_gpkg, tmp_path, capsys):
    path, _ = district_gpkg
    shutil.copyfile(path, tmp_path / "district.gpkg")
    args = _parser().parse_args(["publish", str(tmp_path)])
    assert args.func(args) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "site" / "index.html")
    args = _parser().parse_args(["publish", str(tmp_path), "--quiet"])
    assert args.func(args) == 0
    assert capsys.readouterr().out == ""


def test_user_errors_are_flaechen_errors(tmp_path):
    args = _parser().parse_args(["publish", str(tmp_path)])
    with pytest.raises(FlaechenError, match="flaechen run"):
        args.func(args)
    args = _parser().parse_args(["publish", str(tmp_path), "--config", str(tmp_path / "nope.toml")])
    with pytest.raises(FlaechenError, match="no such configuration"):
        args.func(args)
