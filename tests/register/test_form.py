"""The register's QGIS style and form: generated from the schema, committed, embedded in register.gpkg."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from flaechen.export.styles import available_styles
from flaechen.layers import load_schema
from flaechen.register.form import sites_qml


def _root() -> ET.Element:
    return ET.fromstring(sites_qml().split("\n", 1)[1])


def test_committed_style_is_generated_from_the_schema():
    committed = available_styles()["sites"].read_text(encoding="utf-8")
    assert committed == sites_qml(), "regenerate: python -m flaechen.register.form > layers/styles/sites.qml"


def test_every_field_has_a_german_alias_and_derived_fields_are_read_only():
    root = _root()
    layer = load_schema().layer("sites")
    aliases = {a.get("field"): a.get("name") for a in root.iter("alias")}
    editable = {e.get("name"): e.get("editable") for e in root.find("editable")}
    for f in layer.fields:
        assert aliases[f.name], f.name
        assert editable[f.name] == ("0" if f.derived else "1"), f.name
    assert editable["note"] == "1" and editable["state"] == "0" and editable["site_id"] == "0"


def test_code_lists_are_value_maps_and_obstacles_a_check_list():
    root = _root()
    widgets = {f.get("name"): f.find("editWidget") for f in root.find("fieldConfiguration")}
    assert widgets["status"].get("type") == "ValueMap"
    labels = {o.get("name") for o in widgets["status"].iter("Option") if o.get("type") == "QString"}
    assert {"unbekannt", "Eigentümer angesprochen", "verkaufs-/bebauungsbereit", "bebaut"} <= labels
    assert widgets["availability"].get("type") == "ValueMap"
    assert widgets["decision"].get("type") == "ValueMap"
    obstacles = [n for n in widgets if n.startswith("obstacle_")]
    assert len(obstacles) == 8 and all(widgets[n].get("type") == "CheckBox" for n in obstacles)
    group = next(c for c in root.iter("attributeEditorContainer") if c.get("name") == "Hemmnisse")
    assert {f.get("name") for f in group} == set(obstacles)
