"""Bad input gives one clear message naming what and where, and the CLI prints it without a traceback."""

from __future__ import annotations

import re

import pytest
from mini_district import write_mini_district

from flaechen.cli import main
from flaechen.config import load_config
from flaechen.errors import ConfigError, CRSError, SourceError
from flaechen.pipeline import build_district, check


def _edit(config_path, old, new):
    text = config_path.read_text(encoding="utf-8")
    assert old in text
    config_path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def mini(tmp_path):
    return write_mini_district(tmp_path)


def test_missing_file_names_the_source_key_and_path(mini):
    _edit(mini, 'path = "sources/a.gpkg"', 'path = "sources/nowhere.gpkg"')
    expected = r"municipalities\[Ahausen\]\.sources\[a-parcels\] \(.*nowhere\.gpkg\): file not found"
    with pytest.raises(SourceError, match=expected):
        build_district(load_config(mini))


def test_unknown_layer_lists_the_layers_and_suggests_the_closest(mini):
    _edit(mini, 'source_layer = "flurstuecke"', 'source_layer = "flurstueck"')
    with pytest.raises(SourceError, match=r"no layer 'flurstueck'.*did you mean 'flurstuecke'\?.*Fix `source_layer`"):
        build_district(load_config(mini))


def test_mapped_field_that_is_not_there_lists_the_fields(mini):
    _edit(mini, 'building_id = "gid", state = "zustand"', 'building_id = "gid", state = "zustnd"')
    with pytest.raises(SourceError, match=r"mapped field\(s\) 'zustnd' \(did you mean 'zustand'\?\) not in the layer"):
        build_district(load_config(mini))


def test_unresolvable_crs_is_a_config_error_naming_the_key(mini):
    _edit(mini, 'crs = "EPSG:25832"\nopen_options', 'crs = "EPSG:99999"\nopen_options')
    expected = r"municipalities\[Bedorf\]\.sources\[b-zoning\]\.crs: cannot resolve CRS 'EPSG:99999'"
    with pytest.raises(ConfigError, match=expected):
        load_config(mini)


def test_source_without_any_crs_says_to_declare_one(mini):
    _edit(mini, 'crs = "EPSG:25832"\nopen_options', "open_options")
    with pytest.raises(CRSError, match=r"carries no CRS and the configuration declares none.*crs = "):
        build_district(load_config(mini))


def test_corrupt_file_says_gdal_cannot_read_it(mini):
    (mini.parent / "sources" / "a_gebaeude.geojson").write_text(
        '{"type": "FeatureCollection", "features": [', encoding="utf-8"
    )
    with pytest.raises(SourceError, match=r"a_gebaeude\.geojson\): GDAL cannot read the file"):
        build_district(load_config(mini))


def test_invalid_where_filter_names_the_expression(mini):
    _edit(mini, 'source_layer = "flurstuecke"', 'source_layer = "flurstuecke"\nwhere = "no_such_column = 1"')
    with pytest.raises(SourceError, match=r"where = 'no_such_column = 1' is invalid"):
        build_district(load_config(mini))


def test_config_problems_are_all_reported_at_once(tmp_path):
    path = tmp_path / "district.toml"
    path.write_text(
        """
        [district]
        crs = "EPSG:4326"
        colour = "blue"
        [[municipalities]]
        ags = 7999001
        [[municipalities.sources]]
        layer = "parcel"
        path = "x.gpkg"
        [[municipalities.sources]]
        layer = "parcels"
        path = "y.gpkg"
        geometry_policy = "ignore"
        fields = { parcel = "id" }
        """.replace("\n        ", "\n"),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    for expected in (
        "district.name: is required; fix: add 'name'",
        "district.crs: 'EPSG:4326' is not a projected CRS in metres; fix: use e.g. EPSG:25832",
        "district.colour: unknown key; fix: remove it; known keys here: name, crs,",
        "municipalities[0].ags: the AGS is written as a number (7999001), which loses leading zeros; "
        'fix: quote it: "07999001"',
        "municipalities[0].name: is required",
        "municipalities[0].boundary: no boundary; fix: declare [boundaries]",
        "municipalities[0].sources[0].layer: 'parcel' is not a canonical layer; fix: did you mean 'parcels'?",
        "municipalities[0].sources[1].geometry_policy: 'ignore' is not a geometry policy; fix: use one of raise, fix",
        "municipalities[0].sources[1].fields.parcel: 'parcel' is not a field of layer 'parcels'; "
        "fix: did you mean 'parcel_id'?",
    ):
        assert f"{path}: {expected}" in text, text
    assert len(info.value.problems) == 9


def test_check_reports_every_bad_source_at_once(mini):
    _edit(mini, 'path = "sources/a.gpkg"', 'path = "sources/nowhere.gpkg"')
    _edit(mini, 'building_id = "gid", state = "zustand"', 'building_id = "gid", state = "zustnd"')
    problems = check(load_config(mini))
    assert len(problems) == 2
    assert "nowhere.gpkg" in problems[0] and "zustnd" in problems[1]


def test_cli_prints_user_errors_without_traceback(mini, capsys):
    _edit(mini, 'path = "sources/a.gpkg"', 'path = "sources/nowhere.gpkg"')
    assert main(["run", str(mini), "--out", str(mini.parent / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and "nowhere.gpkg" in err
    assert main(["check", str(mini)]) == 2
    assert "1 problem(s)" in capsys.readouterr().err
    assert main(["check", str(mini.parent / "missing.toml")]) == 2
    assert re.search(r"missing\.toml: 1 problem.*no such file", capsys.readouterr().err, re.S)


def test_a_failed_run_leaves_the_previous_dataset_in_place(mini):
    out = mini.parent / "out"
    assert main(["run", str(mini), "--out", str(out), "--quiet"]) == 0
    before = (out / "district.gpkg").read_bytes()
    _edit(mini, 'path = "sources/a.gpkg"', 'path = "sources/nowhere.gpkg"')
    assert main(["run", str(mini), "--out", str(out), "--quiet"]) == 2
    assert (out / "district.gpkg").read_bytes() == before


def test_every_exception_class_of_flaechen_is_in_the_one_hierarchy():
    """Stage errors are defined in flaechen/errors.py as FlaechenError subclasses (none scattered in stages)."""
    import ast
    from pathlib import Path

    import flaechen.errors as errors

    package = Path(errors.__file__).parent
    elsewhere = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            exception = isinstance(node, ast.ClassDef) and any(
                getattr(b, "id", getattr(b, "attr", "")).endswith(("Error", "Exception")) for b in node.bases
            )
            # curves.WKBError (a ValueError) never leaves flaechen.curves: it becomes an issue of the feature
            if exception and path.name != "errors.py" and node.name != "WKBError":
                elsewhere.append(f"{path.relative_to(package)}: {node.name}")
    assert elsewhere == []
    stage_errors = ("ExportError", "PublishError", "AssetError", "PrintError", "LayerError", "RegisterError")
    for name in (*stage_errors, "SheetError", "DistrictError", "AccountingError", "OutputError"):
        assert issubclass(getattr(errors, name), errors.FlaechenError), name


def test_stage_errors_keep_their_import_paths():
    from flaechen import errors
    from flaechen.export import ExportError
    from flaechen.flag.core import LayerError
    from flaechen.plan import SheetError
    from flaechen.publish import AssetError, PrintError, PublishError
    from flaechen.register import RegisterError

    assert (ExportError, LayerError, SheetError, RegisterError) == (
        errors.ExportError,
        errors.LayerError,
        errors.SheetError,
        errors.RegisterError,
    )
    assert (AssetError, PrintError, PublishError) == (errors.AssetError, errors.PrintError, errors.PublishError)


@pytest.mark.parametrize(
    ("name", "args", "status", "message"),
    [
        ("ExportError", ("no database",), 2, r"^error: no database$"),
        ("PublishError", ("no layer candidates",), 2, r"^error: no layer candidates$"),
        ("AssetError", ("npm packages missing",), 2, r"^error: npm packages missing$"),
        ("LayerError", ("no layer parcels",), 2, r"^error: no layer parcels$"),
        ("SheetError", (["a", "b"],), 2, r"^error: 2 problem\(s\) in the assessment sheets"),
        ("AccountingError", ("features were lost",), 1, r"^error: features were lost$"),
        ("PermissionError", (13, "Permission denied", "/out/x"), 2, r"Permission denied \(/out/x\)\. Check the folder"),
        ("KeyError", ("x",), 1, r"internal error KeyError.*This is a bug in flaechen"),
        ("KeyboardInterrupt", (), 130, r"^interrupted$"),
    ],
)
def test_one_table_maps_each_error_to_its_exit_status(monkeypatch, capsys, name, args, status, message):
    import builtins
    import contextlib

    from flaechen import cli, errors

    monkeypatch.delenv("FLAECHEN_DEBUG", raising=False)
    error = getattr(errors, name, None) or getattr(builtins, name)

    def fails(_):
        raise error(*args)

    monkeypatch.setattr(cli, "_cmd_check", fails)
    monkeypatch.setattr(cli, "_folder_lock", lambda _: contextlib.nullcontext())
    assert cli.main(["check", "district.toml"]) == status
    err = capsys.readouterr().err.strip()
    assert re.search(message, err, re.S), err
    assert "Traceback" not in err


def test_system_exit_and_debug_tracebacks_pass_through(monkeypatch):
    from flaechen import cli

    assert cli.exit_status(SystemExit(0)) is None
    monkeypatch.setenv("FLAECHEN_DEBUG", "1")
    assert cli.exit_status(RuntimeError("bug")) is None  # main re-raises: the traceback is shown
    assert cli.exit_status(SourceError("bad file")) == 2  # user errors stay clean messages
