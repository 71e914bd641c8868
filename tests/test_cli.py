import argparse

from flaechen.cli import build_parser, main


def _subcommands(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise AssertionError("no subcommands")


def test_every_command_has_help_text():
    sub = _subcommands(build_parser())
    helps = {a.dest: a.help for a in sub._choices_actions}
    assert {"run", "check", "demo"} <= set(sub.choices)
    for name, parser in sub.choices.items():
        assert helps.get(name), f"command {name} has no help"
        assert parser.format_help().strip()
        for action in parser._actions:
            if action.dest not in ("help",):
                assert action.help, f"{name} {action.dest} has no help"


def test_run_quiet_prints_nothing_and_summary_names_the_output(tmp_path, capsys):
    from mini_district import write_mini_district

    config = write_mini_district(tmp_path)
    assert main(["run", str(config), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert main(["run", str(config), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "district.gpkg" in out and "every source balanced" in out and "border-duplicate" in out


def test_help_and_loading_a_configuration_import_no_heavy_library(tmp_path):
    """`flaechen --help` and `load_config` stay light: the data libraries load where a command needs them."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from mini_district import write_mini_district

    config = write_mini_district(tmp_path)
    heavy = ("pandas", "geopandas", "folium", "psycopg", "pyogrio", "shapely", "rasterio", "matplotlib")
    code = (
        "import sys, contextlib, io\n"
        "from flaechen.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
        "for name in ('run', 'flag', 'plan', 'publish', 'export'):\n"
        "    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "        main([name, '--help'])\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))\n"
        "from flaechen.config import load_config\n"
        f"load_config({str(config)!r})\n"  # pyproj resolves the CRSs (with shapely, for flaechen.crs)
        f"print(','.join(m for m in {heavy!r} if m in sys.modules and m != 'shapely'))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    after_help, after_config = out.stdout.split("\n")[:2]
    assert after_help == "", f"--help imported {after_help}"
    assert after_config == "", f"load_config imported {after_config}"


def test_logging_is_set_up_once_and_follows_the_current_stderr(tmp_path, capsys):
    import logging

    from mini_district import write_mini_district

    config = write_mini_district(tmp_path)
    for _ in range(3):
        main(["check", str(config), "--quiet"])
    from flaechen.cli import _StderrHandler

    handlers = logging.getLogger("flaechen").handlers
    assert sum(isinstance(h, _StderrHandler) for h in handlers) == 1  # (pytest adds its capture handlers)
    capsys.readouterr()
    logging.getLogger("flaechen.test").warning("after a replaced stderr")
    assert "after a replaced stderr" in capsys.readouterr().err


def test_setup_logging_is_idempotent_and_leaves_other_handlers_alone():
    import logging

    from flaechen.cli import _setup_logging, _StderrHandler

    logger = logging.getLogger("flaechen")
    own = logging.NullHandler()
    logger.addHandler(own)
    try:
        for quiet, verbose, level in ((False, False, logging.INFO), (True, False, logging.WARNING), (False, True, 10)):
            _setup_logging(quiet, verbose)
            assert logger.level == level
        assert sum(isinstance(h, _StderrHandler) for h in logger.handlers) == 1
        assert own in logger.handlers  # a handler someone else added is kept
    finally:
        logger.removeHandler(own)
