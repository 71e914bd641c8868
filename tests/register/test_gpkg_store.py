"""The register in a GeoPackage: created once, then updated in place; planners' edits survive every run."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing

import pyogrio
import pytest
from shapely.geometry import box

from flaechen.register import GpkgRegister, RegisterError, RegisterSettings, prepare
from tests.register.conftest import AGS, CRS, NAMES, Survey, cell, pid


def _layers(survey: Survey):
    ctx = survey.context()
    import geopandas as gpd

    munis = gpd.GeoDataFrame({"ags": list(NAMES), "name": list(NAMES.values())}, geometry=[None, None], crs=CRS)
    return {"municipalities": munis, "parcels": ctx.parcels, "buildings": ctx.buildings}, ctx.measures


def run(store, survey: Survey, date: str):
    layers, measures = _layers(survey)
    update = prepare(
        store,
        layers,
        candidates=survey.candidates(),
        measures=measures,
        settings=RegisterSettings(survey=date),
    )
    update.commit()
    return update


@pytest.fixture
def year1() -> Survey:
    return Survey().add(pid(1), cell(0)).add(pid(2), cell(1)).add(pid(3), cell(2))


def test_first_run_creates_the_register_with_sites_history_changes_and_style(tmp_path, year1):
    store = GpkgRegister(tmp_path)
    run(store, year1, "2025-04-01")
    path = tmp_path / "register.gpkg"
    names = {name for name, _ in pyogrio.list_layers(path)}
    assert {"sites", "history", "changes", "layer_styles"} <= names
    sites = pyogrio.read_dataframe(path, layer="sites")
    assert len(sites) == 3 and sites.crs.to_epsg() == 25832
    assert set(sites["status"]) == {"unbekannt"} and set(sites["availability"]) == {"unbekannt"}
    assert len(pyogrio.read_dataframe(path, layer="history", read_geometry=False)) == 3
    with closing(sqlite3.connect(path)) as db:
        (style,) = db.execute("SELECT styleQML FROM layer_styles WHERE f_table_name = 'sites'").fetchone()
    assert "editform" in style.lower() or "attributeEditorForm" in style


def test_a_note_written_with_plain_sqlite_survives_the_next_run(tmp_path, year1):
    store = GpkgRegister(tmp_path)
    run(store, year1, "2025-04-01")
    path = tmp_path / "register.gpkg"
    inode = os.stat(path).st_ino
    with closing(sqlite3.connect(path)) as db:  # no spatial functions: a plain client
        db.execute(
            "UPDATE sites SET note = ?, status = 'angesprochen', obstacle_owner = 1, edited_by = 'mmuster' "
            "WHERE site_id = ?",
            ("Eigentümerin verkauft 2026", f"{AGS}-00002"),
        )
        db.commit()
    year2 = Survey().add(pid(1), cell(0), category=None).add(pid(502, flur=2), cell(1)).add(pid(3), cell(2))
    year2.buildings.append(box(500_010, 5_600_010, 500_050, 5_600_050))
    update = run(store, year2, "2026-04-01")
    assert os.stat(path).st_ino == inode, "updated in place, never replaced"
    sites = pyogrio.read_dataframe(path, layer="sites").set_index("site_id")
    edited = sites.loc[f"{AGS}-00002"]
    assert edited["note"] == "Eigentümerin verkauft 2026" and edited["status"] == "angesprochen"
    assert bool(edited["obstacle_owner"]) and edited["edited_by"] == "mmuster"
    assert edited["parcel_ids"] == pid(502, flur=2), "carried over through the renumbering"
    assert sites.loc[f"{AGS}-00001", "state"] == "entfallen"
    assert set(update.changes["change"]) == {"bebaut", "geändert"}
    history = pyogrio.read_dataframe(path, layer="history", read_geometry=False)
    assert sorted(set(history["survey"])) == ["2025-04-01", "2026-04-01"] and len(history) == 6
    log = pyogrio.read_dataframe(path, layer="changes", read_geometry=False)
    assert list(log["change"]).count("neu") == 3 and "bebaut" in set(log["change"])


def test_new_sites_land_in_the_spatial_index(tmp_path, year1):
    store = GpkgRegister(tmp_path)
    run(store, year1, "2025-04-01")
    run(
        store,
        Survey().add(pid(1), cell(0)).add(pid(2), cell(1)).add(pid(3), cell(2)).add(pid(9), cell(30)),
        "2026-04-01",
    )
    path = tmp_path / "register.gpkg"
    found = pyogrio.read_dataframe(path, layer="sites", bbox=(500_000 + 3000, 5_600_000, 500_000 + 3100, 5_600_100))
    assert list(found["parcel_ids"]) == [pid(9)]
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT count(*) FROM rtree_sites_geom").fetchone()[0] == 4
        (count,) = db.execute("SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = 'sites'").fetchone()
    assert count in (4, None)
    assert pyogrio.read_info(path, layer="sites")["features"] == 4


def test_a_locked_register_fails_with_a_clear_message(tmp_path, year1, monkeypatch):
    store = GpkgRegister(tmp_path)
    run(store, year1, "2025-04-01")
    monkeypatch.setattr("flaechen.register.gpkg_store.LOCK_TIMEOUT_S", 0.1)
    with closing(sqlite3.connect(tmp_path / "register.gpkg", isolation_level=None)) as planner:
        planner.execute("BEGIN IMMEDIATE")  # QGIS saving edits
        with pytest.raises(RegisterError, match="locked"):
            run(store, year1, "2026-04-01")
        planner.execute("ROLLBACK")
    run(store, year1, "2026-04-01")


def test_another_geopackage_is_not_taken_for_a_register(tmp_path, year1):
    import geopandas as gpd

    gpd.GeoDataFrame({"a": [1]}, geometry=[box(0, 0, 1, 1)], crs=CRS).to_file(tmp_path / "register.gpkg", layer="x")
    with pytest.raises(RegisterError, match="not a flaechen register"):
        run(GpkgRegister(tmp_path), year1, "2025-04-01")


def test_gdal_reads_the_updated_register_without_complaint(tmp_path, year1):
    import shutil
    import subprocess

    if shutil.which("ogrinfo") is None:
        pytest.skip("GDAL's ogrinfo is not installed")
    store = GpkgRegister(tmp_path)
    run(store, year1, "2025-04-01")
    run(store, Survey().add(pid(1), cell(0)).add(pid(9), cell(30)), "2026-04-01")
    done = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", str(tmp_path / "register.gpkg")], capture_output=True, text=True, check=True
    )
    assert "Layer name: sites" in done.stdout and "Feature Count: 4" in done.stdout
    assert "ERROR" not in done.stderr and "Warning" not in done.stderr, done.stderr
