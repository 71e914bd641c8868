"""One palette: the QGIS style, the map site and the notebooks colour the candidate categories alike."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from flaechen import palette
from flaechen.analysis import category_colours as notebook_colours
from flaechen.export.styles import read_qml, styles_dir
from flaechen.layers import load_schema
from flaechen.publish.texts import CATEGORY_COLOURS


def _qml_fill_colours(text: str) -> dict[str, str]:
    root = ET.fromstring(text.split("\n", 1)[1] if text.startswith("<!DOCTYPE") else text)
    renderer = root.find("renderer-v2")
    assert renderer is not None
    symbols_node = renderer.find("symbols")
    assert symbols_node is not None
    symbols = {s.get("name"): s for s in symbols_node}  # not the <source-symbol> after them
    out = {}
    for category in renderer.iter("category"):
        option = symbols[category.get("symbol")].find(".//Option[@name='color']")
        assert option is not None
        r, g, b, _ = (int(v) for v in option.get("value", "").split(","))
        out[category.get("value")] = f"#{r:02x}{g:02x}{b:02x}"
    return out


def test_every_category_has_a_colour():
    codes = {str(c) for c in load_schema().codelist("candidate_category").values}
    assert codes <= set(palette.category_colours()), codes - set(palette.category_colours())


def test_qgis_site_and_notebooks_share_the_palette():
    colours = dict(palette.category_colours())
    path = styles_dir() / "candidates.qml"
    assert _qml_fill_colours(path.read_text(encoding="utf-8")) == colours  # the file QGIS users load
    assert _qml_fill_colours(read_qml(path)) == colours  # the style embedded in district.gpkg
    assert colours == CATEGORY_COLOURS  # the map site
    assert notebook_colours() == colours  # the notebooks


def test_a_brownfield_is_not_coloured_like_vacancy():
    colours = palette.category_colours()
    assert colours["Brachfläche"] != colours["Leerstand"]
    assert len(set(colours.values())) == len(colours)
