"""The bad-input corpus: every way a delivery or a configuration can be wrong gives one clear message.

Each case is generated in tmp_path from the mini district (tests/mini_district.py) and run through the
command line as a user would (``flaechen check`` / ``run`` / ``demo``), black-box: it asserts the exit
status, that no traceback and no raw library warning is printed, that the message names what is wrong and
where, and — where the run goes ahead — that nothing is lost (features held = kept + rejected + unreadable).
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from mini_district import X0, Y0, cell, write_mini_district
from shapely.geometry import LineString, box

from flaechen.cli import EXIT_DATA_LOST, EXIT_OK, EXIT_USER_ERROR, main

B_AGS = "07999102"
CRS_MEMBER = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}}


# --- helpers that build a case ------------------------------------------------------------------------


def edit(config: Path, old: str, new: str) -> None:
    text = config.read_text(encoding="utf-8")
    assert old in text, old
    config.write_text(text.replace(old, new, 1), encoding="utf-8")


def add_source(config: Path, body: str) -> None:
    """Append a source to the last municipality (Bedorf, 07999102, x 351000–352000)."""
    with config.open("a", encoding="utf-8") as fh:
        fh.write("\n[[municipalities.sources]]\n" + textwrap.dedent(body))


def geojson(path: Path, rings: list[list[list[float]]], *, ids: list[str] | None = None) -> Path:
    """A GeoJSON file in EPSG:25832 with one polygon per ring, written as text (NaN, 1e300, Z stay as given)."""
    features = [
        {
            "type": "Feature",
            "properties": {"id": (ids or [f"f{i}" for i in range(len(rings))])[i]},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }
        for i, ring in enumerate(rings)
    ]
    path.write_text(
        json.dumps({"type": "FeatureCollection", "crs": CRS_MEMBER, "features": features}, allow_nan=True),
        encoding="utf-8",
    )
    return path


def square(col: int, row: int, *, z: float | None = None) -> list[list[float]]:
    ring = [list(c) for c in cell(col, row).exterior.coords]
    return [[x, y, z] for x, y in ring] if z is not None else ring


def buildings_source(config: Path, name: str, *, extra: str = "") -> None:
    add_source(
        config,
        f"""\
        id = "b-{Path(name).stem}"
        layer = "buildings"
        path = "sources/{name}"
        fields = {{ building_id = "id" }}
        """
        + extra,
    )


def brownfields_source(config: Path, name: str, *, extra: str = "") -> None:
    add_source(
        config,
        f"""\
        id = "b-{Path(name).stem}"
        layer = "brownfields"
        path = "sources/{name}"
        fields = {{ site_id = "id", owner = "owner" }}
        """
        + extra,
    )


# --- the cases ----------------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    setup: Callable[[Path, Path], list[str] | None]
    """Changes the mini district (root, config); may return the command line (default: check CONFIG)."""
    status: int
    message: str = ""
    """A regular expression the output must match (what and where)."""
    issue_types: tuple[str, ...] = ()
    """Issue types `check` must report."""
    extra: Callable[[Path], None] | None = field(default=None)
    """Further assertions on the case's folder."""


def _missing_config(root, config):
    return ["check", str(root / "nowhere.toml")]


def _toml_syntax(root, config):
    config.write_text("[district\nname = 'x'\n", encoding="utf-8")


def _toml_leading_zero(root, config):
    edit(config, 'ags = "07999101"', "ags = 07999101")


def _toml_unquoted(root, config):
    edit(config, 'ags = "07999101"', "ags = 7999101")


def _yaml_octal(root, config):
    import tomllib

    import yaml

    data = tomllib.loads(config.read_text(encoding="utf-8"))
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    text = text.replace("ags: 07999101", "ags: 02000000").replace("ags: '07999101'", "ags: 02000000")
    path = root / "district.yaml"
    path.write_text(text, encoding="utf-8")
    return ["check", str(path)]


def _unknown_key(root, config):
    edit(config, 'name = "Landkreis Mini"', 'name = "Landkreis Mini"\ncolour = "blue"')


def _bad_policy(root, config):
    edit(config, 'geometry_policy = "fix"', 'geometry_policy = "repair"')


def _bad_layer(root, config):
    edit(
        config,
        'layer = "buildings"\npath = "sources/a_gebaeude.geojson"',
        'layer = "building"\npath = "sources/a_gebaeude.geojson"',
    )


def _unknown_encoding(root, config):
    edit(config, 'encoding = "cp1252"', 'encoding = "latin-9x"')


def _bad_crs(root, config):
    edit(config, 'crs = "EPSG:25832"\nopen_options', 'crs = "EPSG:99999"\nopen_options')


def _duplicate_source_id(root, config):
    edit(config, 'id = "b-zoning"', 'id = "b-parcels"')


def _ags_twice(root, config):
    edit(config, 'ags = "07999102"', 'ags = "07999101"')


def _missing_file(root, config):
    (root / "sources" / "a_gebaeude.geojson").unlink()


def _unknown_source_layer(root, config):
    edit(config, 'source_layer = "flurstuecke"', 'source_layer = "flurstueck"')


def _mapped_field_missing(root, config):
    edit(config, 'building_id = "gid", state = "zustand"', 'building_id = "gid", state = "zustnd"')


def _no_crs(root, config):
    edit(config, 'crs = "EPSG:25832"\nopen_options', "open_options")


def _truncated_geojson(root, config):
    path = root / "sources" / "a_gebaeude.geojson"
    path.write_text(path.read_text(encoding="utf-8")[:150], encoding="utf-8")


def _empty_gpkg(root, config):
    (root / "sources" / "b_gebaeude.gpkg").write_bytes(b"")


def _text_as_gpkg(root, config):
    (root / "sources" / "b_gebaeude.gpkg").write_text("Flurstück;Fläche\n1;200\n", encoding="utf-8")


def _shp_without_dbf(root, config):
    (root / "sources" / "b.dbf").unlink()


def _shp_without_shx(root, config):
    (root / "sources" / "b.shx").unlink()


def _where_syntax(root, config):
    edit(config, 'encoding = "cp1252"', 'encoding = "cp1252"\nwhere = "NUTZUNG = = \'x\'"')


def _where_unknown_column(root, config):
    edit(config, 'encoding = "cp1252"', 'encoding = "cp1252"\nwhere = "NUTZUN IS NOT NULL"')


def _two_layers_no_source_layer(root, config):
    path = root / "sources" / "b_gebaeude.gpkg"
    frame = gpd.read_file(path, layer="gebaeude")
    frame.to_file(path, layer="gebaeude_alt", driver="GPKG")


def _boundary_without_ags(root, config):
    path = root / "sources" / "gemeinden.geojson"
    frame = gpd.read_file(path)
    frame[frame["ags"] != B_AGS].to_file(path, driver="GeoJSON")


def _raise_on_bowtie(root, config):
    edit(config, 'values = { ownership = "private" }', 'values = { ownership = "private" }\ngeometry_policy = "raise"')


def _unclosed_ring(root, config, policy):
    ring = square(12, 3)[:-1]  # the last point (= the first) left off
    geojson(root / "sources" / "extra.geojson", [square(11, 3), ring, square(13, 3)])
    buildings_source(config, "extra.geojson", extra=f'geometry_policy = "{policy}"\n')


def _out_is_file(root, config):
    (root / "out").write_text("not a folder", encoding="utf-8")
    return ["run", str(config), "--out", str(root / "out"), "--quiet"]


def _out_below_file(root, config):
    (root / "file").write_text("not a folder", encoding="utf-8")
    return ["run", str(config), "--out", str(root / "file" / "out"), "--quiet"]


def _out_unwritable(root, config):
    # /proc refuses new entries even to root (a chmod 555 folder would not stop root)
    return ["run", str(config), "--out", "/proc/flaechen-out", "--quiet"]


def _nan(root, config):
    ring = square(12, 3)
    ring[1] = [ring[1][0], float("nan")]
    geojson(root / "sources" / "nan.geojson", [square(11, 3), ring])
    buildings_source(config, "nan.geojson")


def _huge(root, config):
    geojson(root / "sources" / "extra.geojson", [square(11, 3), [[0, 0], [1e300, 0], [1e300, 1e300], [0, 0]]])
    buildings_source(config, "extra.geojson")


def _z(root, config):
    geojson(root / "sources" / "extra.geojson", [square(11, 3, z=120.5), square(12, 3, z=121.0)])
    buildings_source(config, "extra.geojson")


def _owner_shapefile(root, *, encoding: str, cpg: str | None = None) -> None:
    frame = gpd.GeoDataFrame(
        {"id": ["u1", "u2"], "owner": ["Jürgen Müßig", "Gemeinde Bedorf"]},
        geometry=[cell(11, 3), cell(12, 3)],
        crs="EPSG:25832",
    )
    pyogrio.write_dataframe(frame, root / "sources" / "owners.shp", encoding=encoding)
    (root / "sources" / "owners.cpg").unlink(missing_ok=True)
    if cpg:
        (root / "sources" / "owners.cpg").write_text(cpg, encoding="ascii")


def _declared_cp1252_is_utf8(root, config):
    _owner_shapefile(root, encoding="UTF-8")
    brownfields_source(config, "owners.shp", extra='encoding = "cp1252"\n')


def _declared_utf8_is_cp1252(root, config):
    _owner_shapefile(root, encoding="cp1252")
    brownfields_source(config, "owners.shp", extra='encoding = "utf-8"\n')


def _cpg_utf8_is_cp1252(root, config):
    _owner_shapefile(root, encoding="cp1252", cpg="UTF-8")
    brownfields_source(config, "owners.shp")


def _duplicate_boundary(root, config):
    path = root / "sources" / "gemeinden.geojson"
    frame = gpd.read_file(path)
    extra = frame[frame["ags"] == B_AGS].copy()
    extra["geometry"] = [box(6.0, 50.0, 6.001, 50.001)]
    gpd.GeoDataFrame(__import__("pandas").concat([frame, extra], ignore_index=True), crs=frame.crs).to_file(
        path, driver="GeoJSON"
    )


def _zoning_key_clash(root, config):
    lines = ["id,art,grz,wkt", f'z1,WA,0.3,"{cell(15, 0).wkt}"', f'z9,MI,0.5,"{cell(16, 0).wkt}"']
    (root / "sources" / "b_zoning2.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    add_source(
        config,
        """\
        id = "b-zoning-2"
        layer = "zoning"
        path = "sources/b_zoning2.csv"
        crs = "EPSG:25832"
        open_options = { GEOM_POSSIBLE_NAMES = "wkt", KEEP_GEOM_COLUMNS = "NO" }
        fields = { zoning_id = "id", bes_art = "art", grz = "grz" }
        values = { plan_type = "BPlan", plan_name = "Nr. 2 Am Bach" }
        codes = { bes_art = { WA = 1200, MI = 1500 } }
        """,
    )
    return ["run", str(config), "--out", str(root / "out"), "--quiet"]


def _zoning_keys_unique(root):
    zoning = gpd.read_file(root / "out" / "district.gpkg", layer="zoning")
    assert zoning["zoning_id"].is_unique
    assert "b-zoning-2:z1" in set(zoning["zoning_id"]) and "z1" in set(zoning["zoning_id"])


def _damaged_gpkg(root, config):
    rows = [
        {
            "gid": f"g{i}",
            "geometry": box(
                X0 + 1000 + (i % 90) * 10, Y0 + (i // 90) * 10, X0 + 1005 + (i % 90) * 10, Y0 + 5 + (i // 90) * 10
            ),
        }
        for i in range(8000)
    ]
    path = root / "sources" / "b_gebaeude.gpkg"
    path.unlink()
    gpd.GeoDataFrame(rows, crs="EPSG:25832").to_file(path, layer="gebaeude", driver="GPKG")
    size = path.stat().st_size
    rng = random.Random(3)
    with path.open("r+b") as fh:
        fh.seek(size // 2)
        fh.write(bytes(rng.getrandbits(8) for _ in range(40_000)))
    return ["run", str(config), "--out", str(root / "out")]


def _all_parcels_rejected(root, config):
    edit(config, 'values = { ownership = "private" }', 'values = { ownership = "private", ags = "7999-101" }')
    return ["run", str(config), "--out", str(root / "out")]


def _bad_wkt_row(root, config):
    path = root / "sources" / "b_zoning.csv"
    path.write_text(path.read_text(encoding="utf-8") + 'z4,WA,0.4,"POLYGON ((1 2, 3"\n', encoding="utf-8")


def _line_in_polygon_layer(root, config):
    path = root / "sources" / "extra.geojson"
    gpd.GeoDataFrame(
        {"id": ["l1", "p1"]},
        geometry=[LineString([(X0 + 1100, Y0 + 10), (X0 + 1200, Y0 + 10)]), cell(12, 3)],
        crs="EPSG:25832",
    ).to_file(path, driver="GeoJSON")
    buildings_source(config, "extra.geojson")


def _text_in_number(root, config):
    edit(
        config,
        'fields = { zoning_id = "id", bes_art = "art", grz = "grz" }',
        'fields = { zoning_id = "id", bes_art = "art", grz = "id" }',
    )


def _ags_as_number(root, config):
    edit(config, 'values = { ownership = "private" }', 'values = { ownership = "private", ags = 7999101 }')


def _empty_layer(root, config):
    path = root / "sources" / "extra.gpkg"
    gpd.GeoDataFrame({"id": []}, geometry=gpd.GeoSeries([], crs="EPSG:25832")).to_file(path, driver="GPKG")
    buildings_source(config, "extra.gpkg")


def _demo_scale(root, config):
    return ["demo", "--out", str(root / "demo"), "--scale", "10"]


def _locked(root, config):
    return None  # see test_a_second_run_into_a_locked_folder_stops


CASES = [
    Case("missing-config", _missing_config, EXIT_USER_ERROR, r"nowhere\.toml.*no such file"),
    Case("toml-syntax", _toml_syntax, EXIT_USER_ERROR, r"district\.toml.*cannot be parsed.*line 1"),
    Case(
        "toml-ags-leading-zero",
        _toml_leading_zero,
        EXIT_USER_ERROR,
        r'cannot be parsed.*line \d+.*must be quoted: ags = "07999001"',
    ),
    Case(
        "toml-ags-unquoted",
        _toml_unquoted,
        EXIT_USER_ERROR,
        r'municipalities\[Ahausen\]\.ags: .*number \(7999101\).*quote it: "07999101"',
    ),
    Case(
        "yaml-ags-octal",
        _yaml_octal,
        EXIT_USER_ERROR,
        r'municipalities\[Ahausen\]\.ags: .*number \(02000000\).*quote it: "02000000"',
    ),
    Case("unknown-key", _unknown_key, EXIT_USER_ERROR, r"district\.colour: unknown key"),
    Case(
        "bad-geometry-policy",
        _bad_policy,
        EXIT_USER_ERROR,
        r"defaults\.geometry_policy: 'repair' is not a geometry policy.*raise, fix, drop",
    ),
    Case(
        "bad-layer-name",
        _bad_layer,
        EXIT_USER_ERROR,
        r"sources\[a-buildings\]\.layer: 'building' is not a canonical layer.*did you mean 'buildings'",
    ),
    Case(
        "unknown-encoding",
        _unknown_encoding,
        EXIT_USER_ERROR,
        r"sources\[b-parcels\]\.encoding: 'latin-9x' is not a known text encoding",
    ),
    Case(
        "unresolvable-crs",
        _bad_crs,
        EXIT_USER_ERROR,
        r"sources\[b-zoning\]\.crs: cannot resolve CRS 'EPSG:99999'",
    ),
    Case("duplicate-source-id", _duplicate_source_id, EXIT_USER_ERROR, r"source id 'b-parcels' is already used"),
    Case("ags-declared-twice", _ags_twice, EXIT_USER_ERROR, r"AGS 07999101 is declared twice"),
    Case("missing-source-file", _missing_file, EXIT_USER_ERROR, r"a_gebaeude\.geojson\): file not found"),
    Case(
        "unknown-source-layer",
        _unknown_source_layer,
        EXIT_USER_ERROR,
        r"no layer 'flurstueck'.*did you mean 'flurstuecke'",
    ),
    Case(
        "mapped-field-missing",
        _mapped_field_missing,
        EXIT_USER_ERROR,
        r"'zustnd' \(did you mean 'zustand'\?\) not in the layer",
    ),
    Case("no-crs", _no_crs, EXIT_USER_ERROR, r"b_zoning\.csv\): the file carries no CRS.*crs = "),
    Case("truncated-geojson", _truncated_geojson, EXIT_USER_ERROR, r"a_gebaeude\.geojson\): GDAL cannot read the file"),
    Case("empty-gpkg", _empty_gpkg, EXIT_USER_ERROR, r"b_gebaeude\.gpkg\): GDAL cannot read the file"),
    Case(
        "text-named-gpkg",
        _text_as_gpkg,
        EXIT_USER_ERROR,
        r"b_gebaeude\.gpkg\): GDAL cannot read the file.*format its extension says",
    ),
    Case(
        "shapefile-without-dbf",
        _shp_without_dbf,
        EXIT_USER_ERROR,
        r"b\.shp\): the Shapefile is incomplete: b\.dbf \(the attributes\) missing",
    ),
    Case("shapefile-without-shx", _shp_without_shx, EXIT_USER_ERROR, r"b\.shp\): the Shapefile is incomplete: b\.shx"),
    Case(
        "where-invalid-sql",
        _where_syntax,
        EXIT_USER_ERROR,
        r"b\.shp\): the filter where = \"NUTZUNG = = 'x'\" is invalid",
    ),
    Case(
        "where-unknown-column",
        _where_unknown_column,
        EXIT_USER_ERROR,
        r"b\.shp\): the filter where = 'NUTZUN IS NOT NULL' is invalid.*Fields of the layer: .*NUTZUNG",
    ),
    Case(
        "two-layers-no-source-layer",
        _two_layers_no_source_layer,
        EXIT_USER_ERROR,
        r"b_gebaeude\.gpkg\): the file holds 2 layers \(gebaeude, gebaeude_alt\).*source_layer",
    ),
    Case(
        "boundary-without-the-ags",
        _boundary_without_ags,
        EXIT_USER_ERROR,
        r"gemeinden\.geojson\): no feature with ags = '07999102' for municipality Bedorf",
    ),
    Case(
        "invalid-geometry-under-raise",
        _raise_on_bowtie,
        EXIT_USER_ERROR,
        r"a\.gpkg\), layer flurstuecke, feature \d+ \(id '\w+'\): invalid geometry \(Self-intersection",
    ),
    Case(
        "unclosed-ring-under-raise",
        lambda r, c: _unclosed_ring(r, c, "raise"),
        EXIT_USER_ERROR,
        r"extra\.geojson\), layer extra, feature 1 \(id 'f1'\): a ring is not closed",
    ),
    Case("out-is-a-file", _out_is_file, EXIT_USER_ERROR, r"--out: .*out exists and is a file, not a folder"),
    Case(
        "out-below-a-file",
        _out_below_file,
        EXIT_USER_ERROR,
        r"--out: .*file is a file, so .*file/out cannot be created",
    ),
    Case(
        "out-unwritable", _out_unwritable, EXIT_USER_ERROR, r"--out: cannot (create or )?write into /proc/flaechen-out"
    ),
    Case("demo-scale-10", _demo_scale, EXIT_USER_ERROR, r"--scale: 10 parcels are too few.*at least 3,000"),
    Case("nan-coordinate", _nan, EXIT_OK, issue_types=("invalid-coordinates",)),
    Case("coordinates-1e300", _huge, EXIT_OK, issue_types=("invalid-coordinates",)),
    Case("z-values", _z, EXIT_OK, issue_types=("z-dropped",)),
    Case("dbf-cp1252-declared-utf8-data", _declared_cp1252_is_utf8, EXIT_OK, issue_types=("encoding-mismatch",)),
    Case("dbf-utf8-declared-cp1252-data", _declared_utf8_is_cp1252, EXIT_OK, issue_types=("encoding-mismatch",)),
    Case("cpg-utf8-cp1252-data", _cpg_utf8_is_cp1252, EXIT_OK, issue_types=("encoding-mismatch",)),
    Case("duplicate-boundary-ags", _duplicate_boundary, EXIT_OK, issue_types=("duplicate-boundary",)),
    Case(
        "unclosed-ring-under-fix", lambda r, c: _unclosed_ring(r, c, "fix"), EXIT_OK, issue_types=("repaired-geometry",)
    ),
    Case(
        "unclosed-ring-under-drop",
        lambda r, c: _unclosed_ring(r, c, "drop"),
        EXIT_OK,
        issue_types=("invalid-geometry",),
    ),
    Case("bad-wkt-row", _bad_wkt_row, EXIT_OK, issue_types=("empty-geometry",)),
    Case("line-in-polygon-layer", _line_in_polygon_layer, EXIT_OK, issue_types=("wrong-geometry-type",)),
    Case("text-in-number-field", _text_in_number, EXIT_OK, issue_types=("invalid-value",)),
    Case("ags-as-number", _ags_as_number, EXIT_OK, issue_types=("repaired-value",)),
    Case("empty-layer", _empty_layer, EXIT_OK),
    Case("zoning-key-clash", _zoning_key_clash, EXIT_OK, extra=_zoning_keys_unique),
    Case(
        "damaged-gpkg",
        _damaged_gpkg,
        EXIT_DATA_LOST,
        r"DATA LOST.*b-buildings \(b_gebaeude\.gpkg\): [\d,]+ of 8,000 features could not be read",
    ),
    Case(
        "all-parcels-rejected",
        _all_parcels_rejected,
        EXIT_DATA_LOST,
        r"DATA LOST.*municipality 07999101: all 15 delivered parcels were rejected \(invalid-ags 14",
    ),
]
# The mini district itself carries the cases tested before this corpus: a bow-tie, an empty geometry, a null
# and a duplicate key, border duplicates by key and by overlap, a cp1252 Shapefile without .cpg in
# Gauß-Krüger, a CSV without CRS with German decimal commas and an unknown code, a GeoJSON in EPSG:4326,
# and Gauß-Krüger coordinates labelled UTM (a source rejected whole).
BASE_ISSUES = (
    "repaired-geometry",
    "empty-geometry",
    "missing-value",
    "duplicate-id",
    "unknown-code",
    "source-outside-municipality",
)

RAW_WARNING = re.compile(r"\w+Warning:|warnings\.warn|^\s+File \"", re.M)


def _balanced(out: str) -> None:
    m = re.search(
        r"([\d,]+) features held, ([\d,]+) would be in the dataset, ([\d,]+) rejected, ([\d,]+) unreadable", out
    )
    assert m, out
    held, kept, rejected, unreadable = (int(g.replace(",", "")) for g in m.groups())
    assert held == kept + rejected + unreadable, out


def test_the_corpus_has_at_least_40_cases():
    assert len(CASES) + 1 >= 40  # + the lock case below
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, tmp_path, capsys):
    config = write_mini_district(tmp_path)
    argv = case.setup(tmp_path, config) or ["check", str(config)]
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse errors
        status = exc.code
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "Traceback" not in text, text
    assert not RAW_WARNING.search(text), text
    assert status == case.status, text
    if case.message:
        assert re.search(case.message, text, re.S), text
    if status == EXIT_USER_ERROR and argv[0] == "run":
        assert not (Path(argv[3]) / "district.gpkg").exists() if Path(argv[3]).is_dir() else True
    if argv[0] == "check" and status in (EXIT_OK, EXIT_DATA_LOST):
        _balanced(captured.out)
        for issue_type in (*case.issue_types, *BASE_ISSUES):
            assert re.search(rf"\s{re.escape(issue_type)}\s", captured.out), (issue_type, captured.out)
    if argv[0] == "run" and status in (EXIT_OK, EXIT_DATA_LOST):
        accounting = pyogrio.read_dataframe(Path(argv[3]) / "district.gpkg", layer="accounting")
        assert (accounting["held"] == accounting["kept"] + accounting["rejected"] + accounting["unreadable"]).all()
    if case.extra:
        case.extra(tmp_path)


def test_encodings_are_read_right_whatever_was_declared(tmp_path):
    from flaechen.config import load_config
    from flaechen.pipeline import build_district

    for setup in (_declared_cp1252_is_utf8, _declared_utf8_is_cp1252, _cpg_utf8_is_cp1252):
        root = tmp_path / setup.__name__
        config = write_mini_district(root)
        setup(root, config)
        dataset = build_district(load_config(config))
        names = dataset.layers["brownfields"].set_index("site_id")["owner"]
        assert names["u1"] == "Jürgen Müßig", setup.__name__
        note = dataset.issues[dataset.issues["issue_type"] == "encoding-mismatch"]["message"].iloc[0]
        assert "owners.dbf" in note and "encoding =" in note


def test_a_second_run_into_a_locked_folder_stops(tmp_path, capsys):
    from flaechen.outdir import OutputFolder

    config = write_mini_district(tmp_path)
    out = tmp_path / "out"
    with OutputFolder(out):
        assert main(["run", str(config), "--out", str(out), "--quiet"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert re.search(
        rf"output folder {re.escape(str(out))} is in use by another flaechen run \(process {os.getpid()}", err
    )
    assert "--wait" in err and "Traceback" not in err
    assert not (out / "district.gpkg").exists()


def test_no_raw_library_warning_reaches_the_terminal(tmp_path):
    """In a fresh process with every warning shown, a run over bad input prints none of them raw."""
    config = write_mini_district(tmp_path)
    _nan(tmp_path, config)
    _unclosed_ring(tmp_path, config, "fix")
    env = {**os.environ, "PYTHONWARNINGS": "always", "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.run(
        [sys.executable, "-m", "flaechen.cli", "run", str(config), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == EXIT_OK, proc.stderr
    assert not RAW_WARNING.search(proc.stderr + proc.stdout), proc.stderr
    assert "Traceback" not in proc.stderr
