"""A typo anywhere in the configuration stops `flaechen run` with exit 2 before any source is opened.

Each message names the file, the key path (municipalities by name, sources by id), what is wrong and the fix.
"""

from __future__ import annotations

import pytest
from mini_district import write_mini_district

from flaechen import pipeline
from flaechen.cli import main
from flaechen.config import load_config
from flaechen.errors import ConfigError

CONSTRAINT = """
[[flag.constraints]]
name = "hq"
kind = "vector"
path = "sources/a.gpkg"
effect = "exclude"
min_shar = 0.1
"""

# (section, text replaced, replacement or None to append, expected problem)
TYPOS = [
    ("district", 'name = "Landkreis Mini"', 'name = "Landkreis Mini"\narea_tolerence = 0.01',
     "district.area_tolerence: unknown key; fix: did you mean 'area_tolerance'?"),
    ("boundaries", 'name_field = "name"', 'name_feld = "name"',
     "boundaries.name_feld: unknown key; fix: did you mean 'name_field'?"),
    ("defaults", 'geometry_policy = "fix"', 'geometry_polcy = "fix"',
     "defaults.geometry_polcy: unknown key; fix: did you mean 'geometry_policy'?"),
    ("defaults.<layer>", "[defaults.parcels]\nfields", "[defaults.parcels]\nfeilds",
     "defaults.parcels.feilds: unknown key; fix: did you mean 'fields'?"),
    ("municipalities", "population = 1200", "populaton = 1200",
     "municipalities[Ahausen].populaton: unknown key; fix: did you mean 'population'?"),
    ("municipalities.defaults", "[municipalities.defaults.parcels]\nfields", "[municipalities.defaults.parcels]\nfield",
     "municipalities[Bedorf].defaults.parcels.field: unknown key; fix: did you mean 'fields'?"),
    ("sources", 'encoding = "cp1252"', 'encodng = "cp1252"',
     "municipalities[Bedorf].sources[b-parcels].encodng: unknown key; fix: did you mean 'encoding'?"),
    ("sources.fields", 'state = "zustand"', 'stat = "zustand"',
     "municipalities[Ahausen].sources[a-buildings].fields.stat: 'stat' is not a field of layer 'buildings'; "
     "fix: did you mean 'state'?"),
    ("flag", None, '\n[flag]\nruls = "rules.yaml"\n',
     "flag.ruls: unknown key; fix: did you mean 'rules'?"),
    ("flag.rules", None, "\n[flag.rules]\nbauluecke = { min_area_m3 = 300 }\n",
     "flag.rules.bauluecke.min_area_m3: unknown key; fix: did you mean 'min_area_m2'?"),
    ("flag.constraints", None, CONSTRAINT,
     "flag.constraints[hq].min_shar: unknown key; fix: did you mean 'min_share'?"),
    ("publish", None, '\n[publish]\ntitel = "Karte"\n',
     "publish.titel: unknown key; fix: did you mean 'title'?"),
    ("export", None, "\n[export]\nparket = true\n",
     "export.parket: unknown key; fix: did you mean 'parquet'?"),
    ("top level", None, '\n[pubish]\ntitle = "Karte"\n',
     "pubish: unknown key; fix: did you mean 'publish'?"),
]  # fmt: skip


@pytest.fixture
def no_reading(monkeypatch):
    """Fail the test if the run gets as far as reading a source."""

    def refuse(*args, **kwargs):
        raise AssertionError("a source was opened before the configuration was validated")

    monkeypatch.setattr(pipeline, "build_district", refuse)
    monkeypatch.setattr(pipeline, "inspect_source", refuse)


@pytest.mark.parametrize(("section", "old", "new", "expected"), TYPOS, ids=[t[0] for t in TYPOS])
def test_a_typo_in_any_section_stops_the_run_before_any_work(tmp_path, capsys, no_reading, section, old, new, expected):
    config = write_mini_district(tmp_path)
    text = config.read_text(encoding="utf-8")
    if old is None:
        text += new
    else:
        assert old in text
        text = text.replace(old, new, 1)
    config.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{config}: {expected}" in err, err
    assert "Traceback" not in err
    assert not out.exists()


def test_a_typo_in_the_rules_file_names_that_file(tmp_path, capsys, no_reading):
    config = write_mini_district(tmp_path, extra_toml='\n[flag]\nrules = "my_rules.yaml"\n')
    rules = tmp_path / "my_rules.yaml"
    rules.write_text("bauluecke:\n  min_area_m3: 300\nleerstand.min_built_share: 2\n", encoding="utf-8")
    assert main(["run", str(config), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{rules}: bauluecke.min_area_m3: unknown key; fix: did you mean 'min_area_m2'?" in err
    assert f"{rules}: leerstand.min_built_share: 2 is out of range; fix: use a value at most 1" in err


def test_problems_of_all_sections_and_the_output_folder_come_at_once(tmp_path, capsys, no_reading):
    config = write_mini_district(
        tmp_path, extra_toml='\n[publish]\ntitel = "Karte"\n\n[export]\nparquet = "/abs"\n\n[flag]\nrules = 3\n'
    )
    out = tmp_path / "out"
    out.write_text("not a folder", encoding="utf-8")
    assert main(["run", str(config), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "publish.titel: unknown key" in err
    assert "export.parquet: must be true, false or a folder name inside the output folder" in err
    assert "flag.rules: must be a file name or a table, not 3" in err
    assert f"--out: {out} exists and is a file, not a folder; fix: choose a folder name" in err
    assert "4 problem(s)" in err


def test_an_output_folder_that_cannot_be_written_is_refused_before_reading(tmp_path, capsys, no_reading, monkeypatch):
    import flaechen.output

    config = write_mini_district(tmp_path)
    monkeypatch.setattr(flaechen.output.os, "access", lambda path, mode: False)
    assert main(["run", str(config), "--out", str(tmp_path / "new" / "out")]) == 2
    err = capsys.readouterr().err
    assert f"--out: cannot write into {tmp_path} (to create {tmp_path / 'new' / 'out'})" in err
    assert "fix: choose a folder you may write to" in err


@pytest.mark.parametrize(
    ("written", "suggested"),
    [("02000000", '"02000000"'), ("14626110", '"14626110"'), ("0700000", '"00700000"')],
)
def test_an_unquoted_ags_in_yaml_says_quote_it(tmp_path, written, suggested):
    # YAML 1.1 reads 02000000 as the octal number 524288: the original text is kept to explain it
    path = tmp_path / "district.yaml"
    path.write_text(
        "district: {name: Landkreis Test}\n"
        "boundaries: {path: b.geojson, ags_field: ags}\n"
        f"municipalities:\n  - ags: {written}\n    name: Hamburg\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    (problem,) = info.value.details
    assert problem.key == "municipalities[Hamburg].ags"
    assert f"written as a number ({written})" in problem.message
    assert problem.fix == f"quote it: {suggested}"


def test_an_unquoted_ags_in_toml_says_quote_it(tmp_path):
    path = tmp_path / "district.toml"
    path.write_text(
        '[district]\nname = "LK"\n[boundaries]\npath = "b.geojson"\nags_field = "ags"\n'
        '[[municipalities]]\nags = 2000000\nname = "Hamburg"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r'municipalities\[Hamburg\]\.ags: .*fix: quote it: "02000000"'):
        load_config(path)


def test_yaml_keeps_leading_zeros_of_quoted_and_code_values(tmp_path):
    path = tmp_path / "district.yaml"
    path.write_text(
        "district: {name: Landkreis Test}\n"
        "boundaries: {path: b.geojson, ags_field: ags}\n"
        "municipalities:\n"
        "  - ags: '02000000'\n"
        "    name: Hamburg\n"
        "    sources:\n"
        "      - {layer: zoning, path: z.gml, codes: {bes_art: {0100: 1200, 12: 1500}}}\n",
        encoding="utf-8",
    )
    (source,) = load_config(path).sources
    assert source.ags == "02000000"
    assert dict(source.codes["bes_art"]) == {"0100": 1200, "12": 1500}


def test_the_typed_sections_are_on_the_config(tmp_path):
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    config = load_config(
        write_mini_district(
            tmp_path,
            extra_toml='\n[publish]\ntitle = "Karte"\nlogo = "logo.png"\n\n[export]\nparquet = true\n'
            '\n[flag.rules]\n"bauluecke.min_area_m2" = 300\n' + CONSTRAINT.replace("min_shar", "min_share"),
        )
    )
    assert config.publish.title == "Karte" and config.publish.logo == tmp_path / "logo.png"
    assert config.export.parquet == "parquet"
    assert config.flag.rules == {"bauluecke.min_area_m2": 300}
    (constraint,) = config.flag.constraints
    assert (constraint.kind, constraint.label, constraint.min_share) == ("vector", "hq", 0.1)
    assert constraint.path == (tmp_path / "sources" / "a.gpkg").resolve()


def test_the_documentation_names_every_key():
    import re
    from pathlib import Path

    from flaechen import config as c
    from flaechen.export.settings import ExportSettings
    from flaechen.flag.settings import FlagSettings, RasterConstraintSpec, VectorConstraintSpec
    from flaechen.plan.settings import AreasLayer, AssessmentSettings, PlanningSettings, ScenarioSpec
    from flaechen.publish.profile import PublishProfile
    from flaechen.register.settings import RegisterSettings

    docs = (Path(__file__).parents[1] / "docs" / "configuration.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"[`.\s\[]([a-z][a-z0-9_]*)(?:`| =|\])", docs))
    models = (
        c.ConfigFile,
        c.DistrictEntry,
        c.BoundaryEntry,
        c.MunicipalityEntry,
        c.SourceEntry,
        c.DistrictSourceEntry,
        FlagSettings,
        VectorConstraintSpec,
        RasterConstraintSpec,
        PublishProfile,
        ExportSettings,
        RegisterSettings,
        AssessmentSettings,
        AreasLayer,
        PlanningSettings,
        ScenarioSpec,
    )
    for model in models:
        for name, info in model.model_fields.items():
            key = info.alias or name
            assert key in documented, f"{model.__name__}.{key} is not documented in docs/configuration.md"
