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
