"""One palette: the QGIS styles, the map site and the notebooks take every colour that tells things apart
from layers/palette.yaml; for each colour they share, the test compares all of them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from flaechen import palette
from flaechen.analysis import category_colours as notebook_colours
from flaechen.analysis import plot_demand_coverage, plot_potentials_map
from flaechen.export.styles import available_styles, read_qml, styles_dir
from flaechen.layers import load_schema
from flaechen.plan.report import THEME_COLOURS
from flaechen.publish import background, texts
from flaechen.publish.assets import STATIC

matplotlib.use("Agg")

PACKAGE = Path(palette.__file__).parent


def _root(text: str) -> ET.Element:
    return ET.fromstring(text.split("\n", 1)[1] if text.startswith("<!DOCTYPE") else text)


def _hex(value: str) -> str | None:
    r, g, b, a = (int(v) for v in value.split(","))
    return None if a == 0 else f"#{r:02x}{g:02x}{b:02x}"


def qml_classes(text: str) -> dict[str | None, dict[str, list[str]]]:
    """The visible fill and line colours of each class of a QGIS style (as QGIS reads the XML): a category's
    value, a rule's class (its label's first word) or None for a single symbol."""
    renderer = _root(text).find("renderer-v2")
    assert renderer is not None
    symbols_node = renderer.find("symbols")
    assert symbols_node is not None
    symbols = {s.get("name"): s for s in symbols_node}  # not the <source-symbol> after them
    kind = renderer.get("type")
    if kind == "categorizedSymbol":
        keys = {c.get("symbol"): c.get("value") for c in renderer.iter("category")}
    elif kind == "RuleRenderer":
        keys = {r.get("symbol"): (r.get("label") or "").split(" ")[0] for r in renderer.iter("rule")}
    else:
        keys = {"0": None}
    out: dict[str | None, dict[str, list[str]]] = {}
    for symbol, key in keys.items():
        found: dict[str, list[str]] = {"color": [], "outline_color": []}
        for option in symbols[symbol].iter("Option"):
            if option.get("name") in found and (colour := _hex(option.get("value", ""))):
                found[option.get("name", "")].append(colour)
        out[key] = found
    return out


def test_every_category_has_a_colour():
    codes = {str(c) for c in load_schema().codelist("candidate_category").values}
    assert codes <= set(palette.category_colours()), codes - set(palette.category_colours())


@pytest.mark.parametrize("layer", sorted(available_styles()))
def test_each_qgis_style_file_is_in_the_palette(layer):
    """The QML files QGIS users load agree with the palette, and read_qml (the GeoPackage's default styles,
    the project, PostGIS) colours them from it."""
    path = styles_dir() / f"{layer}.qml"
    text = path.read_text(encoding="utf-8")
    assert palette.apply_to_qml(text, layer) == text, f"{path}: colours differ from layers/palette.yaml"
    assert qml_classes(read_qml(path)) == qml_classes(text)


def test_qgis_classes_take_the_palette_colours():
    def fills(layer: str) -> dict:
        return {k: v["color"][0] for k, v in qml_classes(read_qml(styles_dir() / f"{layer}.qml")).items()}

    assert fills("candidates") == dict(palette.category_colours())
    assert fills("zoning") == dict(palette.colours("zoning"))
    assert fills("land_use") == dict(palette.colours("land_use"))
    built = qml_classes(read_qml(styles_dir() / "built_up_area.qml"))
    assert {k: v["outline_color"] for k, v in built.items()} == {
        k: [c] for k, c in palette.colours("built_up_area").items()
    }
    sites = qml_classes(read_qml(styles_dir() / "sites.qml"))
    assert {k: (v["color"][0], v["outline_color"][0]) for k, v in sites.items()} == {
        k: (v["fill"], v["outline"]) for k, v in palette.section("register_state").items()
    }


def test_layers_shared_by_qgis_the_site_and_the_notebooks():
    def single(layer: str) -> dict[str, list[str]]:
        return qml_classes(read_qml(styles_dir() / f"{layer}.qml"))[None]

    # municipality boundaries: QGIS, the site's layer and legend, the notebooks' maps
    boundary = palette.outline_of("municipalities")
    assert single("municipalities")["outline_color"] == [boundary]
    assert texts.LAYER_STYLES["municipalities"]["color"] == boundary
    municipalities = pd.DataFrame({"ags": ["1"], "name": ["A"], "population": [10]})
    import geopandas as gpd
    from shapely.geometry import box

    frame = gpd.GeoDataFrame(municipalities, geometry=[box(0, 0, 100, 100)], crs="EPSG:25832")
    candidates = gpd.GeoDataFrame(
        {"ags": ["1"], "category": ["Baulücke"]}, geometry=[box(10, 10, 20, 20)], crs="EPSG:25832"
    )
    ax = plot_potentials_map(candidates, frame)
    assert to_hex(ax.collections[0].get_edgecolor()[0]) == boundary
    assert to_hex(ax.collections[1].get_facecolor()[0]) == palette.category_colours()["Baulücke"]
    # brownfields and buildings: QGIS and the site
    assert single("brownfields") == {
        "color": [palette.fill_of("brownfields")],
        "outline_color": [boundary_of := palette.outline_of("brownfields")],
    }
    assert texts.LAYER_STYLES["brownfields"]["color"] == boundary_of
    assert texts.LAYER_STYLES["brownfields"]["fillColor"] == palette.fill_of("brownfields")
    assert single("buildings") == {
        "color": [palette.fill_of("buildings")],
        "outline_color": [palette.outline_of("buildings")],
    }
    assert texts.LAYER_STYLES["buildings"]["fillColor"] == palette.fill_of("buildings")
    assert texts.LAYER_STYLES["buildings"]["color"] == palette.outline_of("buildings")
    assert single("parcels")["outline_color"] == [palette.outline_of("parcels")]
    matplotlib.pyplot.close("all")


def test_the_site_and_qgis_share_category_and_zoning_colours():
    colours = dict(palette.category_colours())
    assert colours == texts.CATEGORY_COLOURS  # the site's candidates, legend and tables
    assert notebook_colours() == colours  # the notebooks
    zoning = qml_classes(read_qml(styles_dir() / "zoning.qml"))
    for key in ("W", "M", "G", "S"):  # the FNP's Bauflächen: QGIS and the site
        assert texts.ZONING_COLOURS[key] == zoning[key]["color"][0] == palette.colours("zoning")[key]
    assert zoning["Sonstige"]["color"][0] == texts.ZONING_OTHER


def test_the_site_background_and_its_swatches_come_from_the_palette():
    assert {c.key: c.colour for c in (background.PAPER, background.OUTSIDE, *background.CLASSES)} == dict(
        palette.colours("background")
    )
    variables = palette.css_variables()
    defined = set(re.findall(r"(--fl-[\w-]+):", variables))
    for name in ("site.css", "print.css"):
        sheet = (STATIC / name).read_text(encoding="utf-8")
        used = set(re.findall(r"var\((--fl-[\w-]+)\)", sheet))
        own = set(re.findall(r"(--fl-[\w-]+):", sheet))  # the sheet's own page colours (ink, lines)
        assert used - own and used <= defined | own, used - defined - own
        assert not own & defined, "a palette colour defined again in the sheet"
        for line in sheet.splitlines():
            if "swatch-" in line:  # the legend's swatches of layers: no colour of their own
                assert not re.search(r"#[0-9a-fA-F]{3,6}\b|rgba?\(", line), (name, line)
        assert palette.stylesheet(STATIC / name).startswith(variables)
    assert f"--fl-background-building: {palette.colours('background')['building']};" in variables


def test_plan_themes_and_chart_colours_in_reports_and_notebooks():
    assert tuple(THEME_COLOURS) == palette.plan_themes()
    table = pd.DataFrame({"Deckung innen": [1.2, 0.4]}, index=["A", "B"])
    ax = plot_demand_coverage(table)
    bars = {to_hex(p.get_facecolor()) for p in ax.patches}
    assert bars == {palette.colours("charts")["covered"], palette.colours("charts")["not_covered"]}
    matplotlib.pyplot.close("all")


def test_a_brownfield_is_not_coloured_like_vacancy():
    colours = palette.category_colours()
    assert colours["Brachfläche"] != colours["Leerstand"]
    assert len(set(colours.values())) == len(colours)


ALLOWED = {
    "publish/texts.py": {"#999999"},  # the zoning areas' thin outline (their fill is the class colour)
    "publish/static/site.js": {"#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b", "#888888", "#ffffff"},
    "publish/static/print.js": {"#8a8a8a"},  # the choropleth ramp; neighbours dimmed around the focus
}
"""Colours in code that tell nothing apart (a sequential ramp, greys for dimming, white)."""


def test_no_colour_is_hard_coded_beside_the_palette():
    found = {}
    for path in [*PACKAGE.rglob("*.py"), *(STATIC.glob("*.js"))]:
        relative = path.relative_to(PACKAGE).as_posix()
        if relative == "palette.py":
            continue
        colours = set(re.findall(r"['\"](#[0-9a-fA-F]{6})['\"]", path.read_text(encoding="utf-8")))
        extra = colours - ALLOWED.get(relative, set())
        if extra:
            found[relative] = sorted(extra)
    assert not found, f"colours to move into layers/palette.yaml: {found}"


def test_recolouring_brings_a_drifted_style_back(tmp_path):
    drifted = (styles_dir() / "zoning.qml").read_text(encoding="utf-8").replace("244,160,154,200", "120,0,200,200")
    (tmp_path / "zoning.qml").write_text(drifted, encoding="utf-8")
    (tmp_path / "unknown_layer.qml").write_text("<qgis/>", encoding="utf-8")
    assert palette.recolour_styles(tmp_path) == [tmp_path / "zoning.qml"]
    assert (tmp_path / "zoning.qml").read_text(encoding="utf-8") == (styles_dir() / "zoning.qml").read_text(
        encoding="utf-8"
    )
