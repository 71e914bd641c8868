"""PostGIS export against a real PostgreSQL 15 + PostGIS 3 server started by the `postgis_server` fixture."""

import logging

import geopandas as gpd
import pandas as pd
import psycopg
import pytest
import shapely

import flaechen.export.postgis as postgis
from flaechen.district import read_layer
from flaechen.export import ExportError, to_postgis, write_qgis_project
from flaechen.gpkg import update_gpkg
from flaechen.layers import load_schema
from tests.conftest import require
from tests.export.conftest import PLANNER_PASSWORD, qgis_available, run_qgis_check

pytestmark = pytest.mark.postgis

LAYERS = ("candidates", "municipalities", "parcels", "zoning", "brownfields", "buildings")


def _read_back(conninfo: str, schema: str, table: str) -> gpd.GeoDataFrame:
    with psycopg.connect(conninfo) as conn:
        cur = conn.execute(f'SELECT *, ST_AsBinary(geom) AS wkb FROM "{schema}"."{table}"')
        frame = pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])
    geometry = gpd.GeoSeries.from_wkb(frame.pop("wkb").map(bytes), crs="EPSG:25832")
    return gpd.GeoDataFrame(frame.drop(columns="geom"), geometry=geometry)


def _counts(conninfo: str, schema: str = "flaechen") -> dict[str, int]:
    with psycopg.connect(conninfo) as conn:
        return {t: conn.execute(f'SELECT count(*) FROM "{schema}"."{t}"').fetchone()[0] for t in (*LAYERS, "issues")}


def test_round_trip_with_srid_keys_indexes_and_comments(district, postgis_db):
    to_postgis(district, postgis_db)

    for layer in LAYERS:
        back = _read_back(postgis_db, "flaechen", layer).sort_values(load_schema().layer(layer).key)
        original = read_layer(district, layer).sort_values(load_schema().layer(layer).key)
        assert len(back) == len(original) > 0
        assert shapely.equals(back.geometry.values, original.geometry.values).all()
        assert back["ags"].tolist() == original["ags"].tolist()
    with psycopg.connect(postgis_db) as conn:
        geometry = conn.execute(
            "SELECT f_table_name, type, srid FROM geometry_columns WHERE f_table_schema='flaechen'"
        ).fetchall()
        assert sorted(geometry) == sorted((t, "MULTIPOLYGON", 25832) for t in LAYERS)
        keys = dict(
            conn.execute(
                "SELECT tc.table_name, kcu.column_name FROM information_schema.table_constraints tc "
                "JOIN information_schema.key_column_usage kcu USING (constraint_schema, constraint_name) "
                "WHERE tc.table_schema='flaechen' AND tc.constraint_type='PRIMARY KEY'"
            ).fetchall()
        )
        assert keys["parcels"] == "parcel_id" and keys["candidates"] == "parcel_id"
        assert keys["issues"] == "fid" and keys["municipalities"] == "ags" and keys["summary"] == "ags"
        summary_types = dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema='flaechen' AND table_name='summary'"
            ).fetchall()
        )
        assert summary_types["candidates_n"] == "integer" and summary_types["population"] == "bigint"
        gist = {
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_indexes WHERE schemaname='flaechen' AND indexdef LIKE '%gist%'"
            )
        }
        assert gist == set(LAYERS)
        comment = conn.execute(
            "SELECT col_description('flaechen.parcels'::regclass, attnum) FROM pg_attribute "
            "WHERE attrelid='flaechen.parcels'::regclass AND attname='official_area'"
        ).fetchone()[0]
        assert comment == "amtliche Fläche (book area) in m² [m²]"
        table_comment = conn.execute("SELECT obj_description('flaechen.zoning'::regclass)").fetchone()[0]
        assert table_comment.startswith("Bauleitplanung: ")
        ags_type = conn.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid='flaechen.parcels'::regclass AND attname='ags'"
        ).fetchone()[0]
        assert ags_type == "character varying(9)"  # the AGS (8) or a district's other scheme (GSS: 9)
        issue = conn.execute("SELECT issue_type, value FROM flaechen.issues").fetchall()
        assert issue == [("invalid-ags", "1004411")]
        state = conn.execute("SELECT count(*) FROM flaechen.buildings WHERE state IS NULL").fetchone()[0]
        assert state == 9


def test_re_export_replaces_the_content_and_keeps_other_tables(district, postgis_db):
    to_postgis(district, postgis_db, schema="kreis")
    with psycopg.connect(postgis_db) as conn:
        conn.execute("CREATE TABLE kreis.notizen (text text)")
    parcels = read_layer(district, "parcels")
    update_gpkg(district, layers={"parcels": parcels.iloc[:7]})
    to_postgis(district, postgis_db, schema="kreis")
    assert _counts(postgis_db, "kreis")["parcels"] == 7
    with psycopg.connect(postgis_db) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname='kreis'")}
        schemas = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace")}
        info = conn.execute("SELECT source, tables FROM kreis.export_info").fetchall()
    assert "notizen" in tables
    assert "kreis__staging" not in schemas
    assert info == [("district.gpkg", [*LAYERS, "summary", "issues", "rules"])]


def test_a_failure_mid_export_leaves_the_previous_content_and_readers_see_it(district, postgis_db, monkeypatch):
    to_postgis(district, postgis_db)
    before = _counts(postgis_db)
    update_gpkg(district, layers={"parcels": read_layer(district, "parcels").iloc[:3]})
    real_copy = postgis.copy_rows
    seen_by_reader = []

    def copy_then_fail(cur, schema, table):
        real_copy(cur, schema, table)
        if table.name == "zoning":  # candidates, municipalities, parcels and zoning are written by now
            seen_by_reader.append(_counts(postgis_db))
            raise psycopg.errors.DiskFull("could not extend file: No space left on device")

    monkeypatch.setattr(postgis, "copy_rows", copy_then_fail)
    with pytest.raises(ExportError, match="rolled back, the previous content is unchanged"):
        to_postgis(district, postgis_db)
    assert seen_by_reader == [before]
    assert _counts(postgis_db) == before
    with psycopg.connect(postgis_db) as conn:
        schemas = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace")}
    assert "flaechen__staging" not in schemas


def test_free_form_text_columns_take_values_of_any_type(postgis_db):
    columns = (postgis.Column("fid", "bigint", None), postgis.Column("note", "text", None))
    frame = pd.DataFrame({"fid": [1, 2, 3, 4], "note": ["text", 17, ["x", "y"], None]})
    table = postgis.Table("notes", columns, frame, "fid", "notes")
    with psycopg.connect(postgis_db) as conn, conn.cursor() as cur:
        postgis._create_table(cur, "public", table)
        postgis.copy_rows(cur, "public", table)
        notes = cur.execute("SELECT note FROM public.notes ORDER BY fid").fetchall()
    assert notes == [("text",), ("17",), ("['x', 'y']",), (None,)]


def test_hostile_text_is_stored_as_delivered(district, postgis_db):
    """Values reach PostgreSQL as data (COPY, sql.Literal, sql.Identifier): nothing runs, nothing changes."""
    hostile = [
        "x'); DROP TABLE flaechen.parcels; --",
        'Robert"); DELETE FROM issues; --',
        "\\. end of COPY? \\N \ttab\nnew line \\ backslash",
        "{{ 7*7 }} {% Nord ]]> <![CDATA[ & <img src=x onerror=alert(1)>",
        '=HYPERLINK("http://example.invalid";"klick")',
    ]
    brownfields = read_layer(district, "brownfields")
    zoning = read_layer(district, "zoning")
    brownfields["name"] = [hostile[i % len(hostile)] for i in range(len(brownfields))]
    zoning["plan_name"] = [hostile[(i + 1) % len(hostile)] for i in range(len(zoning))]
    update_gpkg(district, layers={"brownfields": brownfields, "zoning": zoning})
    to_postgis(district, postgis_db)
    back = _read_back(postgis_db, "flaechen", "brownfields").sort_values("site_id")
    assert back["name"].tolist() == brownfields.sort_values("site_id")["name"].tolist()
    back = _read_back(postgis_db, "flaechen", "zoning").sort_values("zoning_id")
    assert back["plan_name"].tolist() == zoning.sort_values("zoning_id")["plan_name"].tolist()
    assert _counts(postgis_db)["parcels"] == len(read_layer(district, "parcels")) > 0


def test_a_foreign_table_of_the_same_name_is_not_replaced(district, postgis_db):
    with psycopg.connect(postgis_db) as conn:
        conn.execute("CREATE TABLE public.parcels (id int)")
    with pytest.raises(ExportError, match=r"no flaechen export created; choose another --schema"):
        to_postgis(district, postgis_db, schema="public")
    with psycopg.connect(postgis_db) as conn:
        assert conn.execute("SELECT to_regclass('public.municipalities')").fetchone()[0] is None


def test_password_is_never_printed_or_logged(district, postgis_db, postgis_server, caplog, capsys, monkeypatch):
    dbname = postgis_db.rsplit("=", 1)[1]
    with psycopg.connect(postgis_db, autocommit=True) as conn:
        conn.execute(f'GRANT CREATE ON DATABASE "{dbname}" TO planner')
    url = f"postgresql://planner:{PLANNER_PASSWORD}@127.0.0.1:{postgis_server.port}/{dbname}"
    caplog.set_level(logging.DEBUG)

    to_postgis(district, url, schema="planung")
    assert _counts(postgis_db, "planung")["parcels"] == 60
    assert "planner" in caplog.text  # the target is named ...
    wrong = url.replace(PLANNER_PASSWORD, PLANNER_PASSWORD[::-1])
    with pytest.raises(ExportError, match="password authentication failed") as failed:
        to_postgis(district, wrong, schema="planung")
    keyword = f"host=127.0.0.1 port={postgis_server.port} dbname={dbname} user=planner " + (
        f"password={PLANNER_PASSWORD}"
    )
    with pytest.raises(ExportError):
        to_postgis(district, keyword.replace("dbname=", "dbname=missing_"), schema="planung")

    out, err = capsys.readouterr()
    for text in (caplog.text, out, err, str(failed.value)):
        assert PLANNER_PASSWORD not in text  # ... but never its password
        assert PLANNER_PASSWORD[::-1] not in text


def test_connection_from_service_file_and_environment(district, postgis_db, postgis_server, tmp_path, monkeypatch):
    dbname = postgis_db.rsplit("=", 1)[1]
    services = tmp_path / "pg_service.conf"
    services.write_text(
        f"[kreis]\nhost={postgis_server.socket_dir}\nport={postgis_server.port}\nuser=postgres\ndbname={dbname}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PGSERVICEFILE", str(services))
    to_postgis(district, "service=kreis", schema="aus_service")
    monkeypatch.setenv("FLAECHEN_PG_DSN", postgis_db)
    to_postgis(district, "env", schema="aus_env")
    assert _counts(postgis_db, "aus_service") == _counts(postgis_db, "aus_env")


def test_unusable_targets_are_clean_errors(district, monkeypatch):
    monkeypatch.delenv("FLAECHEN_PG_DSN", raising=False)
    for name in ("PGHOST", "PGSERVICE", "PGDATABASE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ExportError, match="FLAECHEN_PG_DSN"):
        to_postgis(district, "env")
    with pytest.raises(ExportError, match="service=NAME"):
        to_postgis(district, "kreis-db")
    with pytest.raises(ExportError, match="plain PostgreSQL name"):
        to_postgis(district, "service=kreis", schema="Kreis; DROP")


def test_database_without_postgis_is_a_clean_error(district, postgis_server):
    with psycopg.connect(postgis_server.admin_conninfo(), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS plain")
        conn.execute("CREATE DATABASE plain")
    with pytest.raises(ExportError, match="CREATE EXTENSION postgis"):
        to_postgis(district, postgis_server.admin_conninfo("plain"))


@pytest.mark.qgis
def test_qgis_shows_the_postgis_layers_with_the_styles(district, postgis_db):
    require(qgis_available(), "QGIS's Python API (Debian package python3-qgis)")
    to_postgis(district, postgis_db)
    to_postgis(district, postgis_db)  # a re-export keeps one default style per layer
    with psycopg.connect(postgis_db) as conn:
        rows = conn.execute(
            "SELECT f_table_name, count(*), bool_and(useasdefault) FROM public.layer_styles "
            "WHERE f_table_schema = 'flaechen' GROUP BY f_table_name"
        ).fetchall()
    assert sorted(rows) == sorted((t, 1, True) for t in LAYERS)
    qgz = write_qgis_project(district, crs="EPSG:25832")
    report, _ = run_qgis_check(district, qgz, postgis=(postgis_db, "flaechen"))
    assert set(report["postgis"]) == set(LAYERS)
    for name, layer in report["postgis"].items():
        assert layer["valid"] and layer["features"] > 0, name
        assert layer["crs"] == "EPSG:25832"
        assert layer["signature"] == report["qml"][name]["signature"], name


def test_without_rights_on_public_the_data_goes_without_styles(district, postgis_db, postgis_server, caplog):
    dbname = postgis_db.rsplit("=", 1)[1]
    with psycopg.connect(postgis_db, autocommit=True) as conn:
        conn.execute(f'GRANT CREATE ON DATABASE "{dbname}" TO planner')
    url = f"postgresql://planner:{PLANNER_PASSWORD}@127.0.0.1:{postgis_server.port}/{dbname}"
    to_postgis(district, url, schema="planung")
    assert _counts(postgis_db, "planung")["parcels"] == 60
    assert "QGIS styles not stored" in caplog.text
