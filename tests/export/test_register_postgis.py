"""The register in PostGIS (a real server): the same carry-over rules, one transaction, edits kept."""

from __future__ import annotations

import geopandas as gpd
import psycopg
import pytest
from shapely.geometry import box

from flaechen.export.postgis import resolve_target
from flaechen.register import GpkgRegister, RegisterError, RegisterSettings, prepare
from flaechen.register.postgis_store import PostgisRegister
from tests.register.conftest import AGS, CRS, NAMES, Survey, cell, pid

pytestmark = pytest.mark.postgis


def _run(store, survey: Survey, date: str):
    ctx = survey.context()
    munis = gpd.GeoDataFrame({"ags": list(NAMES), "name": list(NAMES.values())}, geometry=[None, None], crs=CRS)
    update = prepare(
        store,
        {"municipalities": munis, "parcels": ctx.parcels, "buildings": ctx.buildings},
        candidates=survey.candidates(),
        measures=ctx.measures,
        settings=RegisterSettings(survey=date),
    )
    update.commit()
    return update


def _year1() -> Survey:
    return Survey().add(pid(1), cell(0)).add(pid(2), cell(1)).add(pid(3), cell(2))


def _year2() -> Survey:
    s = Survey().add(pid(1), cell(0), category=None).add(pid(502, flur=2), cell(1))
    s.add(pid(3, 1), cell(2, w=50)).add(pid(3, 2), cell(2, w=50, dx=50))
    s.buildings.append(box(500_010, 5_600_010, 500_050, 5_600_050))
    return s


def test_the_register_lives_in_postgis_with_the_same_rules(postgis_db):
    store = PostgisRegister(resolve_target(postgis_db), schema="register")
    _run(store, _year1(), "2025-04-01")
    with psycopg.connect(postgis_db) as conn:  # a planner edits in QGIS (another connection)
        conn.execute(
            "UPDATE register.sites SET note = 'Eigentümer verhandelt', status = 'angesprochen', "
            "obstacle_owner = true WHERE site_id = %s",
            (f"{AGS}-00002",),
        )
    update = _run(PostgisRegister(resolve_target(postgis_db), schema="register"), _year2(), "2026-04-01")
    assert set(update.changes["change"]) == {"bebaut", "geändert"}
    with psycopg.connect(postgis_db) as conn:
        rows = dict(
            (r[0], r[1:])
            for r in conn.execute(
                "SELECT site_id, state, note, status, obstacle_owner, parcel_ids, ST_SRID(geom), "
                "GeometryType(geom) FROM register.sites"
            )
        )
        assert rows[f"{AGS}-00002"][:5] == ("aktiv", "Eigentümer verhandelt", "angesprochen", True, pid(502, flur=2))
        assert rows[f"{AGS}-00002"][5:] == (25832, "MULTIPOLYGON")
        assert rows[f"{AGS}-00001"][0] == "entfallen"
        assert rows[f"{AGS}-00003"][4] == f"{pid(3, 1)};{pid(3, 2)}"
        surveys = [r[0] for r in conn.execute("SELECT DISTINCT survey FROM register.history ORDER BY 1")]
        assert surveys == ["2025-04-01", "2026-04-01"]
        (n,) = conn.execute("SELECT count(*) FROM register.changes WHERE change = 'bebaut'").fetchone()
        assert n == 1
        (styled,) = conn.execute(
            "SELECT count(*) FROM public.layer_styles WHERE f_table_schema = 'register' AND useasdefault"
        ).fetchone()
        assert styled == 1


def test_a_failed_write_leaves_the_register_as_it_was(postgis_db, monkeypatch):
    store = PostgisRegister(resolve_target(postgis_db), schema="register")
    _run(store, _year1(), "2025-04-01")

    def broken(self, cur, name, frame):
        raise RuntimeError("disk full")

    monkeypatch.setattr(PostgisRegister, "_append", broken)
    with pytest.raises(RuntimeError):
        _run(PostgisRegister(resolve_target(postgis_db), schema="register"), _year2(), "2026-04-01")
    with psycopg.connect(postgis_db) as conn:
        states = {r[0] for r in conn.execute("SELECT state FROM register.sites")}
        (runs,) = conn.execute("SELECT count(DISTINCT run_at) FROM register.history").fetchone()
    assert states == {"aktiv"} and runs == 1, "all of a run or nothing"


def test_two_runs_at_once_cannot_both_write(postgis_db):
    _run(PostgisRegister(resolve_target(postgis_db), schema="register"), _year1(), "2025-04-01")
    first, second = (PostgisRegister(resolve_target(postgis_db), schema="register") for _ in range(2))
    ctx = _year2().context()
    munis = gpd.GeoDataFrame({"ags": list(NAMES), "name": list(NAMES.values())}, geometry=[None, None], crs=CRS)
    layers = {"municipalities": munis, "parcels": ctx.parcels, "buildings": ctx.buildings}
    settings = RegisterSettings(survey="2026-04-01")
    a = prepare(first, layers, candidates=_year2().candidates(), measures=ctx.measures, settings=settings)
    b = prepare(second, layers, candidates=_year2().candidates(), measures=ctx.measures, settings=settings)
    a.commit()
    with pytest.raises(RegisterError, match="another run"):
        b.commit()


def test_a_geopackage_register_is_taken_over_with_its_edits(postgis_db, tmp_path):
    import sqlite3
    from contextlib import closing

    _run(GpkgRegister(tmp_path), _year1(), "2025-04-01")
    with closing(sqlite3.connect(tmp_path / "register.gpkg")) as db:
        db.execute("UPDATE sites SET note = 'aus der GeoPackage' WHERE site_id = ?", (f"{AGS}-00003",))
        db.commit()
    store = PostgisRegister(resolve_target(postgis_db), schema="register", take_over=GpkgRegister(tmp_path))
    _run(store, _year2(), "2026-04-01")
    with psycopg.connect(postgis_db) as conn:
        (note,) = conn.execute("SELECT note FROM register.sites WHERE site_id = %s", (f"{AGS}-00003",)).fetchone()
        (runs,) = conn.execute("SELECT count(DISTINCT survey) FROM register.history").fetchone()
    assert note == "aus der GeoPackage" and runs == 2


@pytest.mark.qgis
def test_qgis_opens_the_postgis_register_with_its_form(postgis_db, tmp_path):
    import json
    import os
    import subprocess
    from pathlib import Path

    from tests.conftest import require
    from tests.export.conftest import SYSTEM_PYTHON, qgis_available

    require(qgis_available(), "QGIS's Python API (Debian package python3-qgis)")
    _run(PostgisRegister(resolve_target(postgis_db), schema="register"), _year1(), "2025-04-01")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path)}
    script = Path(__file__).with_name("qgis_check.py")
    done = subprocess.run(
        [SYSTEM_PYTHON, str(script), "--form-postgres", postgis_db, "register", "sites"],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["valid"] and report["features"] == 3
    assert report["layout"] == "tabs" and [t["name"] for t in report["tabs"]] == ["Bearbeitung", "Fläche", "Verlauf"]
    assert report["fields"]["status"]["widget"] == "ValueMap" and report["fields"]["note"]["editable"]
    assert not report["fields"]["state"]["editable"] and report["fields"]["obstacle_owner"]["widget"] == "CheckBox"
    assert report["saved"], report["commit_errors"]
    with psycopg.connect(postgis_db) as conn:
        (n,) = conn.execute("SELECT count(*) FROM register.sites WHERE note = 'Notiz aus QGIS'").fetchone()
    assert n == 1
