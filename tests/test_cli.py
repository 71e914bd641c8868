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
    heavy = ("pandas", "geopandas", "folium", "psycopg", "pyogrio", "shapely", "rasterio", "matplotlib", "rich")
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


def _flaechen_on_a_terminal(args, *, cwd, columns=120, rows=300):
    """Run `flaechen ARGS` with a pseudo-terminal as stdin, stdout and stderr; the screen a person would see."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios
    from pathlib import Path

    pyte = __import__("pytest").importorskip("pyte")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CI", "COLUMNS", "LINES")}
    env.update({"PYTHONPATH": str(Path(__file__).parents[1]), "TERM": "xterm-256color"})
    code = "import sys; from flaechen.cli import main; sys.exit(main())"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env
    )
    os.close(slave)
    data = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        data += chunk
    os.close(master)
    status = proc.wait(timeout=600)
    screen = pyte.Screen(columns, rows)
    pyte.ByteStream(screen).feed(data)
    return status, [line.rstrip() for line in screen.display if line.strip()]


def test_progress_on_a_terminal_never_shares_a_line_with_the_log(tmp_path):
    """Bars below, log lines above, each on its own line; no temporary file name in the log."""
    import re

    from mini_district import write_mini_district

    config = write_mini_district(tmp_path)
    status, lines = _flaechen_on_a_terminal(["run", str(config), "--out", str(tmp_path / "out")], cwd=tmp_path)
    assert status == 0, "\n".join(lines)
    screen = "\n".join(lines)
    assert "read a-parcels: 15 features from a.gpkg" in lines  # a log line, alone on its line
    bars = [line for line in lines if "━" in line]
    steps = ("read and harmonise", "merge", "flag reuse candidates", "write district.gpkg", "publish the map site")
    for step in steps:
        assert sum(line.startswith(step) for line in bars) == 1, screen
    for line in bars:  # a bar holds its step, the bar, the count and the time: nothing of the log
        assert re.fullmatch(r"[a-z][a-z :.,]+?\s+[━╸╺ ]+\s+\d+/\d+\s+\d+:\d\d:\d\d", line), line
    for line in lines:  # each source's log line whole, the bar of the step apart
        if line.startswith("read ") and line not in bars:
            assert re.fullmatch(r"read [\w-]+: \d+ features from [\w.]+", line), line
    assert not re.search(r"\.(district|register|site|run)-[a-z0-9_]{6,}", screen), screen  # staged files
    assert "District dataset:" in screen  # the summary after the bars


def test_progress_elsewhere_is_plain_log_lines_and_quiet_silences_it(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from mini_district import write_mini_district

    config = write_mini_district(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    code = "import sys; from flaechen.cli import main; sys.exit(main())"
    piped = subprocess.run([sys.executable, "-c", code, "check", str(config)], capture_output=True, text=True, env=env)
    assert piped.returncode == 0, piped.stderr
    lines = piped.stderr.splitlines()
    assert "read and harmonise …" in lines and "merge …" in lines
    assert "read a-parcels: 15 features from a.gpkg" in lines
    assert "\r" not in piped.stderr and "━" not in piped.stderr and "\x1b" not in piped.stderr
    status, screen = _flaechen_on_a_terminal(["check", str(config), "--quiet"], cwd=tmp_path)
    assert status == 0 and screen == [], screen


def test_python_dash_m_flaechen_is_the_command_line():
    # `python -m flaechen run …` is how a profiler (py-spy, cProfile) or a venv without the script starts it;
    # it failed with "No module named flaechen.__main__".
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    out = subprocess.run([sys.executable, "-m", "flaechen", "--help"], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert "run" in out.stdout and "evaluate" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "flaechen", "nosuchcommand"], capture_output=True, text=True, env=env)
    assert bad.returncode == 2
