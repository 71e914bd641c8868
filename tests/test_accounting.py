"""Accounting against the source's own count: a damaged delivery is never balanced by a reader that stopped.

Two measured losses are reproduced on real data, damaged in tmp_path: a GeoPackage with 200 KB of garbage
in the middle (SQLite stops at the damaged pages) and an XPlanGML plan with one unclosed ring (GEOS
refuses the ring; an older GDAL stopped the whole layer there). Every feature the file holds by its own
count must reach the dataset or the issue log, the rest of the source must still be read, and the run
must finish with exit status 3 and say so.
"""

from __future__ import annotations

import random
import re
import shutil
import textwrap

import pyogrio
import pytest

from flaechen.cli import EXIT_DATA_LOST, EXIT_OK, EXIT_USER_ERROR, main
from flaechen.config import load_config
from flaechen.pipeline import build_district, check_district

HELLENTHAL = "05366020"


def _damage(path, *, offset: int, size: int, seed: int = 1) -> None:
    """Overwrite `size` bytes at `offset` with seeded garbage."""
    rng = random.Random(seed)
    with path.open("r+b") as fh:
        fh.seek(offset)
        fh.write(bytes(rng.getrandbits(8) for _ in range(size)))


@pytest.fixture
def damaged_gpkg(tmp_path, shared_real):
    """The real NRW parcels with 200 KB of garbage in the middle of the file."""
    original = shared_real / "alkis" / "nrw_euskirchen_kleve.gpkg"
    damaged = tmp_path / "sources" / "flurstuecke.gpkg"
    damaged.parent.mkdir()
    shutil.copyfile(original, damaged)
    damaged.chmod(0o644)
    _damage(damaged, offset=2_000_000, size=200_000)
    return original, damaged


def _parcels_config(tmp_path, shared_real, path, *, where: str | None = None) -> object:
    config = tmp_path / "district.toml"
    config.write_text(
        textwrap.dedent(f"""\
        [district]
        name = "Kreis Euskirchen (Auszug)"
        crs = "EPSG:25832"
        outside_buffer = 100.0

        [boundaries]
        path = "{shared_real / "boundaries" / "vg250_gemeinden_nrw.geojson"}"
        ags_field = "ags"
        name_field = "name"

        [[municipalities]]
        ags = "{HELLENTHAL}"
        name = "Hellenthal"

        [[municipalities.sources]]
        id = "hellenthal-parcels"
        layer = "parcels"
        path = "{path}"
        source_layer = "flurstuecke"
        geometry_policy = "fix"
        fields = {{ parcel_id = "flstkennz", official_area = "flaeche", actual_use = "tntxt", ags = "gmdschl" }}
        """)
        + (f'where = "{where}"\n' if where else ""),
        encoding="utf-8",
    )
    return config


def test_a_damaged_geopackage_is_balanced_against_its_own_count(tmp_path, shared_real, damaged_gpkg):
    original, damaged = damaged_gpkg
    held = pyogrio.read_info(damaged, force_feature_count=True)["features"]
    assert held == pyogrio.read_info(original)["features"] == 5000  # the file's own count survives the damage
    config = _parcels_config(tmp_path, shared_real, damaged, where=f"gmdschl = '{HELLENTHAL}'")
    dataset = build_district(load_config(config))

    acc = dataset.accounting.set_index("source_id").loc["hellenthal-parcels"]
    assert acc["held"] == 5000
    assert 0 < acc["unreadable"] < 1000, acc
    assert acc["read"] == 5000 - acc["unreadable"]
    assert acc["held"] == acc["kept"] + acc["rejected"] + acc["unreadable"]

    issues = dataset.issues[dataset.issues["source_id"] == "hellenthal-parcels"]
    lost = issues[issues["issue_type"] == "unreadable-feature"]
    assert len(lost) == acc["unreadable"] and lost["rejected"].all()
    assert lost["source_fid"].notna().all()  # each with its FID …
    assert lost["message"].str.contains("flurstuecke.gpkg, layer flurstuecke").all()
    assert lost["message"].str.contains("SQLite|cannot find|decode", regex=True).all()  # … and GDAL's message

    # Checked against the undamaged file: every FID is read or logged, the rest of the source was read
    # past the damage, and what was read is what the file holds.
    truth = pyogrio.read_dataframe(original, columns=["flstkennz", "gmdschl"], read_geometry=False, fid_as_index=True)
    logged = set(lost["source_fid"].astype(int))
    filtered = set(issues.loc[issues["issue_type"] == "filtered", "source_fid"].astype(int))
    parcels = dataset.layers["parcels"]
    kept = set(parcels["source_fid"].astype(int))
    other = set(issues.loc[issues["rejected"].fillna(False), "source_fid"].dropna().astype(int)) - logged - filtered
    assert kept | filtered | logged | other == set(truth.index)
    assert max(kept) > max(logged)  # read on past the damaged pages
    expected = truth.loc[sorted(kept), "flstkennz"]
    assert parcels.set_index(parcels["source_fid"].astype(int))["parcel_id"].sort_index().tolist() == expected.tolist()
    assert (truth.loc[sorted(kept), "gmdschl"] == HELLENTHAL).all()
    assert not (truth.loc[sorted(filtered), "gmdschl"] == HELLENTHAL).any()


def test_a_run_that_lost_features_says_so_and_exits_with_3(tmp_path, shared_real, damaged_gpkg, capsys):
    _, damaged = damaged_gpkg
    config = _parcels_config(tmp_path, shared_real, damaged, where=f"gmdschl = '{HELLENTHAL}'")
    code = main(["run", str(config), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == EXIT_DATA_LOST, captured.err
    assert "Traceback" not in captured.err
    assert re.search(
        r"DATA LOST.*hellenthal-parcels \(flurstuecke\.gpkg\): \d+ of 5,000 features could not be read",
        captured.err,
        re.S,
    )
    assert "nothing lost" not in captured.out and "unreadable" in captured.out
    assert (tmp_path / "out" / "district.gpkg").is_file()  # the readable rest is written
    # check finds the same before any run
    report = check_district(load_config(config))
    assert not report.problems and report.losses
    assert main(["check", str(config), "--quiet"]) == EXIT_DATA_LOST


def test_a_municipality_whose_parcels_are_all_rejected_fails_the_run(tmp_path, shared_real, capsys):
    # All of Hellenthal's parcels carry an AGS that is not 8 digits: each rejected and logged, and the run
    # must not end with status 0 as if the district were complete.
    source = tmp_path / "flurstuecke.gpkg"
    frame = pyogrio.read_dataframe(
        shared_real / "alkis" / "nrw_euskirchen_kleve.gpkg", where=f"gmdschl = '{HELLENTHAL}'"
    )
    frame["gmdschl"] = "5366-020"
    pyogrio.write_dataframe(frame, source, layer="flurstuecke")
    config = _parcels_config(tmp_path, shared_real, source)
    code = main(["run", str(config), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == EXIT_DATA_LOST
    assert f"municipality {HELLENTHAL}: all 2,190 delivered parcels were rejected (invalid-ags 2,190)" in err


@pytest.fixture
def open_ring_plan(tmp_path, shared_real):
    """The real FNP of Grasleben with the ring of its 62nd FP_BebauungsFlaeche opened (last point removed)."""
    text = (shared_real / "xplan" / "FNP_Grasleben_Zusammenzeichnung.gml").read_text(encoding="utf-8")
    starts = [m.start() for m in re.finditer(r"<xplan:FP_BebauungsFlaeche ", text)]
    assert len(starts) == 140
    gml_id = re.search(r'gml:id="([^"]+)"', text[starts[61] :]).group(1)
    pos = re.compile(r"(<gml:posList[^>]*>)(.*?)(</gml:posList>)", re.S).search(text, starts[61])
    coords = pos.group(2).split()
    assert coords[:2] == coords[-2:]  # closed in the delivery
    text = text[: pos.start(2)] + " ".join(coords[:-2]) + text[pos.end(2) :]
    path = tmp_path / "sources" / "fnp.gml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path, gml_id


def _plan_config(tmp_path, shared_real, path, policy: str):
    config = tmp_path / f"district-{policy}.toml"
    boundaries = shared_real / "boundaries" / "vg250_gemeinden_niedersachsen.geojson"
    config.write_text(
        textwrap.dedent(f"""\
        [district]
        name = "Samtgemeinde Grasleben"
        crs = "EPSG:25832"
        outside_buffer = 100.0

        [[municipalities]]
        ags = "03154008"
        name = "Grasleben"
        boundary = {{ path = "{boundaries}", ags_field = "ags" }}

        [[municipalities.sources]]
        id = "grasleben-fnp"
        layer = "zoning"
        path = "{path}"
        source_layer = "FP_BebauungsFlaeche"
        geometry_policy = "{policy}"
        outside_share = 0.8
        fields = {{ zoning_id = "gml_id", allg_art = "allgArtDerBaulNutzung", bes_art = "besondereArtDerBaulNutzung" }}
        values = {{ plan_type = "FNP", plan_name = "FNP Grasleben" }}
        """),
        encoding="utf-8",
    )
    return config


def test_an_unclosed_ring_is_closed_and_logged_under_fix(tmp_path, shared_real, open_ring_plan):
    path, gml_id = open_ring_plan
    dataset = build_district(load_config(_plan_config(tmp_path, shared_real, path, "fix")))
    acc = dataset.accounting.set_index("source_id").loc["grasleben-fnp"]
    assert (acc["held"], acc["read"], acc["unreadable"]) == (140, 140, 0)
    assert acc["kept"] + acc["rejected"] == 140
    zoning = dataset.layers["zoning"]
    assert len(zoning) == 140  # no area lost after the bad one (GDAL once stopped at feature 62)
    repaired = dataset.issues[dataset.issues["issue_type"] == "repaired-geometry"]
    row = repaired[repaired["feature_id"] == gml_id]
    assert len(row) == 1 and "closed" in row["message"].iloc[0]
    fixed = zoning.loc[zoning["zoning_id"] == gml_id].geometry.iloc[0]
    assert fixed.is_valid and fixed.area > 1000
    # GDAL's warning about the ring is in the issue log, naming the source, not on the terminal
    warned = dataset.issues[dataset.issues["issue_type"] == "read-warning"]
    assert warned["message"].str.contains("fnp.gml, layer FP_BebauungsFlaeche.*Non closed ring", regex=True).any()


def test_an_unclosed_ring_is_an_error_naming_the_feature_under_raise(tmp_path, shared_real, open_ring_plan, capsys):
    path, _gml_id = open_ring_plan
    config = _plan_config(tmp_path, shared_real, path, "raise")
    assert main(["run", str(config), "--out", str(tmp_path / "out"), "--quiet"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "fnp.gml), layer FP_BebauungsFlaeche, feature 61" in err and "a ring is not closed" in err
    assert main(["check", str(config)]) == EXIT_USER_ERROR
    assert "feature 61" in capsys.readouterr().err


def test_an_unclosed_ring_is_rejected_and_logged_under_drop(tmp_path, shared_real, open_ring_plan):
    path, gml_id = open_ring_plan
    dataset = build_district(load_config(_plan_config(tmp_path, shared_real, path, "drop")))
    assert len(dataset.layers["zoning"]) == 139
    dropped = dataset.issues[dataset.issues["issue_type"] == "invalid-geometry"]
    assert dropped["feature_id"].tolist() == [gml_id] and dropped["rejected"].all()
    assert dataset.accounting["balanced"].all()


def test_the_undamaged_real_plan_reads_completely(tmp_path, shared_real, capsys):
    path = shared_real / "xplan" / "FNP_Grasleben_Zusammenzeichnung.gml"
    config = _plan_config(tmp_path, shared_real, path, "raise")
    assert main(["check", str(config)]) == EXIT_OK
    assert "0 unreadable" in capsys.readouterr().out
    acc = check_district(load_config(config)).dataset.accounting.set_index("source_id").loc["grasleben-fnp"]
    assert (acc["held"], acc["read"], acc["unreadable"]) == (140, 140, 0)


def test_a_sequential_source_that_stops_is_read_on_by_position(tmp_path, shared_real, open_ring_plan, monkeypatch):
    # With OGR_GEOMETRY_ACCEPT_UNCLOSED_RING=NO GDAL's GML reader stops at the bad feature without an error
    # (the silent loss once measured). The reader must notice against the count and log every position.
    path, _ = open_ring_plan
    pyogrio.set_gdal_config_options({"OGR_GEOMETRY_ACCEPT_UNCLOSED_RING": "NO"})
    try:
        dataset = build_district(load_config(_plan_config(tmp_path, shared_real, path, "fix")))
    finally:
        pyogrio.set_gdal_config_options({"OGR_GEOMETRY_ACCEPT_UNCLOSED_RING": None})
    acc = dataset.accounting.set_index("source_id").loc["grasleben-fnp"]
    assert acc["held"] == 140 and acc["read"] == 61 and acc["unreadable"] == 79
    lost = dataset.issues[dataset.issues["issue_type"] == "unreadable-feature"]
    assert lost["value"].tolist() == [f"position {p}" for p in range(61, 140)]
    assert "Non closed ring detected" in lost["message"].iloc[0]
