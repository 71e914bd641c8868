import re
import sqlite3
import xml.etree.ElementTree as ET
from contextlib import closing

import pyogrio
import pytest

from flaechen.errors import DistrictError
from flaechen.export import ExportError, style_gpkg
from flaechen.export.forms import fields_qml
from flaechen.export.styles import available_styles, read_qml, styles_dir
from flaechen.layers import CANONICAL_LAYERS, load_schema

QGIS_COLUMNS = [
    ("id", "INTEGER"),
    ("f_table_catalog", "TEXT(256)"),
    ("f_table_schema", "TEXT(256)"),
    ("f_table_name", "TEXT(256)"),
    ("f_geometry_column", "TEXT(256)"),
    ("styleName", "TEXT(30)"),
    ("styleQML", "TEXT"),
    ("styleSLD", "TEXT"),
    ("useAsDefault", "BOOLEAN"),
    ("description", "TEXT"),
    ("owner", "TEXT(30)"),
    ("ui", "TEXT(30)"),
    ("update_time", "DATETIME"),
]


def _root(name):
    return ET.fromstring(read_qml(styles_dir() / f"{name}.qml"))


def _styles(path):
    with closing(sqlite3.connect(path)) as db:
        return db.execute(
            "SELECT f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, "
            "useAsDefault, styleQML FROM layer_styles ORDER BY f_table_name, id"
        ).fetchall()


def test_every_layer_has_a_polygon_style():
    styles = available_styles()
    for name in (*CANONICAL_LAYERS, "candidates"):
        assert name in styles, f"layers/styles/{name}.qml is missing"
        root = _root(name)
        assert root.findtext("layerGeometryType") == "2"
        assert root.find("renderer-v2") is not None


def test_candidates_are_categorised_by_every_category_with_german_labels():
    renderer = _root("candidates").find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol"
    assert renderer.get("attr") == "category"
    categories = {c.get("value"): c.get("label") for c in renderer.iter("category")}
    codelist = load_schema().codelist("candidate_category").values
    assert categories == {code: entry["label"] for code, entry in codelist.items()}


def test_zoning_rules_cover_every_baugebiet_and_bauflaeche():
    rules = [r.get("filter") for r in _root("zoning").iter("rule")]
    numbers = {int(n) for f in rules for n in re.findall(r"\d{4}", f)}
    schema = load_schema()
    assert set(schema.codelist("xplan_bes_art").values) - {9999} <= numbers
    assert set(schema.codelist("xplan_allg_art").values) - {9999} <= numbers
    assert rules[-1] == "ELSE"


def test_brownfields_are_hatched_and_municipalities_labelled_outlines():
    brownfields = [layer.get("class") for layer in _root("brownfields").iter("layer")]
    assert "LinePatternFill" in brownfields
    municipalities = _root("municipalities")
    assert municipalities.get("labelsEnabled") == "1"
    assert municipalities.find("labeling/settings/text-style").get("fieldName") == "name"
    fill = municipalities.find(".//layer[@class='SimpleFill']/Option")
    assert {o.get("name"): o.get("value") for o in fill}["style"] == "no"


def test_style_gpkg_writes_layer_styles_as_qgis_does(district):
    style_gpkg(district)
    with closing(sqlite3.connect(district)) as db:
        columns = [(r[1], r[2]) for r in db.execute("PRAGMA table_info(layer_styles)")]
        contents = db.execute(
            "SELECT data_type, identifier FROM gpkg_contents WHERE table_name='layer_styles'"
        ).fetchone()
        (user_version,) = db.execute("PRAGMA user_version").fetchone()
        (count,) = db.execute("SELECT feature_count FROM gpkg_ogr_contents WHERE table_name='layer_styles'").fetchone()
    assert columns == QGIS_COLUMNS
    assert contents == ("attributes", "layer_styles")
    assert user_version == 10200
    rows = _styles(district)
    assert count == len(rows) == 7  # six layers with a QML style, and the table summary
    for catalog, schema, table, geom, name, default, qml in rows:
        if table == "summary":  # an attribute table: its German field names, no geometry column
            assert (catalog, schema, geom, name, default, qml) == ("", "", "", table, 1, fields_qml(table))
            continue
        assert (catalog, schema, geom, name, default) == ("", "", "geom", table, 1)
        assert qml == read_qml(styles_dir() / f"{table}.qml")
    assert dict(pyogrio.list_layers(district))["layer_styles"] is None


def test_style_gpkg_is_idempotent_and_keeps_a_planners_own_style(district):
    style_gpkg(district)
    with closing(sqlite3.connect(district)) as db, db:
        db.execute(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
            "f_geometry_column, styleName, styleQML, useAsDefault) "
            "VALUES ('', '', 'parcels', 'geom', 'Meine Flurstücke', '<qgis/>', 1)"
        )
    style_gpkg(district)
    rows = _styles(district)
    assert len(rows) == 8
    parcels = {name: default for _, _, table, _, name, default, _ in rows if table == "parcels"}
    assert parcels == {"parcels": 1, "Meine Flurstücke": 0}


def test_a_broken_style_changes_nothing(district, tmp_path):
    style_gpkg(district)
    before = _styles(district)
    broken = tmp_path / "styles"
    broken.mkdir()
    (broken / "parcels.qml").write_text("<qgis><renderer-v2>", encoding="utf-8")
    with pytest.raises(ExportError, match=r"parcels\.qml: not a valid QML"):
        style_gpkg(district, styles=broken)
    assert _styles(district) == before


def test_style_gpkg_names_the_missing_file(tmp_path):
    with pytest.raises(DistrictError, match="flaechen run"):
        style_gpkg(tmp_path / "nowhere" / "district.gpkg")
