"""The Folium maps of the district: the map of every site page, and a map for notebooks.

The maps are built with Folium's public API: :class:`folium.Map`, a :class:`folium.map.CustomPane` for
the features, one :class:`folium.FeatureGroup` per layer (and per candidate category) holding a
:class:`folium.GeoJson`, :class:`folium.LayerControl` and :class:`folium.plugins.Fullscreen`. The site's
own JavaScript (``static/site.js``) comes in only through Folium's extension points: the ``style``,
``renderer`` and ``on_each_feature`` options of ``GeoJson`` as :class:`folium.utilities.JsCode`, and two
small elements of this module (:class:`LayerData`, :class:`MapReady`).

No value of the district or the configuration is ever part of a template
------------------------------------------------------------------------
Branca (under Folium) compiles the output of every element's macros once more as a Jinja template. A
value handed to a Folium element (``GeoJson`` data, a popup field, a layer name, an attribution) would
therefore run as template code: a plan named ``{{ 7*7 }}`` showed 49, ``{% Nord`` crashed the build, a
``lipsum.__globals__`` payload ran a shell command. So the Folium elements here get only this package's
constants (UI texts, colours, asset paths, numbers), and every value reaches the map as data:

- on the site from the data scripts ``data/*.js`` and the page's JSON block ``#flaechen-config``, both
  written without a template (:mod:`flaechen.publish.geojson`, ``templates/page.html``);
- in a notebook from :class:`JsonData` elements, which render their JSON directly (they override
  ``render``, as branca's own ``IFrame`` does) and so are never compiled.

The ``GeoJson`` layers start empty and :class:`LayerData` adds the features at load time
(``FlaechenSite.load``). Folium's ``GeoJsonPopup`` and ``GeoJsonTooltip`` are not used: they need the
data inside the element and write property values into the page as HTML (``innerHTML``), so a name such
as ``<img src=x onerror=…>`` would become markup. The popups and tooltips of ``site.js`` put every value
in as text (``textContent``).

Examples
--------
>>> from flaechen.publish import district_map
>>> m = district_map("out/demo")  # in a notebook, the cell shows the map
>>> type(m).__module__, type(m).__name__
('folium.folium', 'Map')
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
from branca.element import Element, Figure, MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import Fullscreen
from folium.template import Template
from folium.utilities import JsCode

from flaechen.layers import load_schema
from flaechen.palette import stylesheet
from flaechen.publish import prepare
from flaechen.publish.assets import STATIC, asset_links
from flaechen.publish.built import FIELDS as BUILT_FIELDS
from flaechen.publish.geojson import EMPTY, by_ags, feature_collection, municipality_stats
from flaechen.publish.profile import PublishProfile, load_profile
from flaechen.publish.texts import (
    LAYER_STYLES,
    OTHER_COLOUR,
    PRIMARY_FIELDS,
    ZONING_COLOURS,
    ZONING_OTHER,
    field_label,
)
from flaechen.publish.values import Context, categories_of, js_json

log = logging.getLogger(__name__)

ORDER = ("municipalities", "zoning", "buildings", "grid", "built_grid", "brownfields", "built", "candidates")
"""The layers bottom to top (the layer switcher lists them in this order)."""

FEATURE_PANE = "fl-features"

BUILT_SWATCH = '<span class="fl-key fl-swatch-built"></span>'
"""The swatch of the sites built on (colours from the palette through site.css's variables)."""

LAYER_SWATCHES = {
    "municipalities": '<span class="fl-key fl-swatch-boundary"></span>',
    "brownfields": '<span class="fl-key fl-swatch-brownfield"></span>',
    "grid": '<span class="fl-key fl-swatch-grid"></span>',
    "built": BUILT_SWATCH,
    "built_grid": '<span class="fl-key fl-swatch-built-grid"></span>',
    "buildings": '<span class="fl-key fl-swatch-building"></span>',
}
"""Legend swatches in the layer switcher's labels (fixed markup: the switcher is the legend too)."""

_LINKS = asset_links()


def _links(links: Sequence[tuple[str, str]], folder: str) -> list[tuple[str, str]]:
    return [(name, url) for name, url in links if f"/{folder}/" in url]


class SiteMap(folium.Map):
    """A :class:`folium.Map` that loads Leaflet from the site's own copy (``assets/leaflet``), never a CDN.

    The resources are declared as class attributes, the way Folium's plugins declare theirs; Folium's
    own lists (jQuery, Bootstrap, Font Awesome from CDNs) stay untouched for every other map.
    """

    default_js = _links(_LINKS.js, "leaflet")
    default_css = _links(_LINKS.css, "leaflet")


class SiteFullscreen(Fullscreen):
    """Folium's full-screen button with the plugin from the site's own copy (``assets/fullscreen``)."""

    default_js = _links(_LINKS.js, "fullscreen")
    default_css = _links(_LINKS.css, "fullscreen")


class SiteAssets(JSCSSMixin, MacroElement):
    """The site's own script and style sheet (``assets/flaechen/site.js``, ``site.css``)."""

    default_js = _links(_LINKS.js, "flaechen")
    default_css = _links(_LINKS.css, "flaechen")
    _template = Template("")

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca's MacroElement.__init__ is unannotated
        self._name = "SiteAssets"


class InlineAssets(Element):
    """The site's own script and style sheet inside the page (a notebook map has no site folder).

    The files are this package's own code; they are written out as they are, not compiled.
    """

    def __init__(self) -> None:
        super().__init__()
        self._name = "InlineAssets"

    def render(self, **kwargs: Any) -> str:
        script = (STATIC / "site.js").read_text(encoding="utf-8")
        style = stylesheet(STATIC / "site.css")  # with the palette's colours as CSS variables
        if "</script" in script.lower() or "</style" in style.lower():
            raise ValueError("site.js or site.css closes its own element; it cannot be inlined")
        return f"<style>{style}</style>\n<script>{script}</script>"


class JsonData(Element):
    """A JSON data block (``<script type="application/json" id=…>``) in the page.

    The JSON is written by :func:`flaechen.publish.values.js_json` (``<``, ``>``, ``&`` escaped, so it
    cannot end its element) and rendered directly: it is never part of a template's source. Scripts read
    it with ``JSON.parse(element.textContent)``.
    """

    def __init__(self, *, element_id: str, json_text: str) -> None:
        super().__init__()
        self._name = "JsonData"
        if not element_id.replace("-", "").isalnum():
            raise ValueError(f"not a plain element id: {element_id!r}")
        if "<" in json_text:
            raise ValueError("JSON for a data block must have '<' escaped (use js_json)")
        self.element_id = element_id
        self.json_text = json_text

    def render(self, **kwargs: Any) -> str:
        return f'<script type="application/json" id="{self.element_id}">{self.json_text}</script>'


class LayerData(MacroElement):
    """Adds a layer's features to a :class:`folium.GeoJson` when the page loads (``FlaechenSite.load``).

    The features come from the site's data scripts or a notebook's :class:`JsonData`; this element's
    script names only the layer, the category positions (numbers) and the ``GeoJson``'s variable.
    """

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "FlaechenSite.load({{ this.layer|tojson }}, {{ this.target.get_name() }}, {{ this.categories|tojson }});"
        "{% endmacro %}"
    )

    def __init__(self, layer: str, target: folium.GeoJson, *, categories: Sequence[int] | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca's MacroElement.__init__ is unannotated
        self._name = "LayerData"
        if layer not in (*ORDER,):
            raise ValueError(f"unknown layer {layer!r}")
        self.layer = layer
        self.target = target
        self.categories = None if categories is None else [int(i) for i in categories]


class MapReady(MacroElement):
    """Finishes the map once every layer is loaded: legend, scale, German control titles, start view."""

    _template = Template("{% macro script(this, kwargs) %}FlaechenSite.ready({{ this.map.get_name() }});{% endmacro %}")

    def __init__(self, fmap: folium.Map) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca's MacroElement.__init__ is unannotated
        self._name = "MapReady"
        self.map = fmap


def popup_fields(ctx: Context, layer: str) -> list[list[Any]]:
    """Popup rows of a layer: [field, label, primary], primary fields first, then the others."""
    allowed = ctx.profile.allowed(layer)
    primary = [f for f in PRIMARY_FIELDS.get(layer, allowed) if f in allowed]
    rest = [f for f in allowed if f not in primary]
    return [[f, field_label(f, ctx.language), True] for f in primary] + [
        [f, field_label(f, ctx.language), False] for f in rest
    ]


def built_fields(ctx: Context) -> list[list[Any]]:
    """Popup rows of a site built on since the last survey (fields of ``changes``), all shown at once."""
    ui = ctx.ui
    labels = {
        "category": ui["built_category"],
        "area_m2": field_label("area_m2", ctx.language),
        "previous_survey": ui["built_previous"],
        "survey": ui["built_survey"],
    }
    return [[name, labels[name], True] for name in BUILT_FIELDS]


def site_config(ctx: Context, *, focus: str | None, show_parts: bool) -> dict[str, Any]:
    """The configuration ``site.js`` reads from the page's JSON block (texts, fields, colours, what to show)."""
    ui = ctx.ui
    keys = [
        "municipalities",
        "zoning",
        "brownfields",
        "candidates",
        "buildings",
        "grid",
        "built",
        "built_grid",
        "built_cell",
        "built_cell_text",
        "built_total",
        "built_counted",
        "legend",
        "layers",
        "zoom_in",
        "zoom_out",
        "count",
        "hectares",
        "total",
        "private_count",
        "open_page",
        "cell",
        "cell_text",
        "yes",
        "no",
        "m2_per_inhabitant",
        "population",
        "more",
        "choropleth",
        "other_categories",
        "localities",
        "localities_choose",
        "background",
    ]
    config: dict[str, Any] = {
        "lang": ctx.language,
        "locale": "de-DE" if ctx.language == "de" else "en-GB",
        "ui": {k: ui[k] for k in keys},
        "layers": ctx.shown_layers,
        "fields": {layer: popup_fields(ctx, layer) for layer in ctx.profile.layers} | {"built": built_fields(ctx)},
        "categories": [[c, ctx.colour(c)] for c in ctx.categories],
        "zoningColours": ZONING_COLOURS,
        "zoningOther": ZONING_OTHER,
        "otherColour": OTHER_COLOUR,
        "styles": LAYER_STYLES,
        "focus": focus,
        "showParts": show_parts,
        "collapseWidth": 760,
    }
    if ctx.profile.tiles:
        config["tiles"] = {"url": ctx.profile.tiles, "attribution": ctx.profile.tiles_attribution or ""}
    return config


def has_built_on(prep: prepare.Prepared) -> bool:
    """Whether the map shows the sites built on since the last survey: the register compared two surveys
    and the profile shows them."""
    return prep.built_on is not None and prep.built_on.previous_survey is not None


def centre_of(gdf: gpd.GeoDataFrame) -> tuple[float, float]:
    """Latitude and longitude of the centre of a layer's bounds (in EPSG:4326), for the start view."""
    if gdf.empty:
        return (51.0, 10.0)
    minx, miny, maxx, maxy = gdf.total_bounds
    return (round((miny + maxy) / 2, 6), round((minx + maxx) / 2, 6))


def figure_of(fmap: folium.Map) -> Figure:
    """The branca :class:`~branca.element.Figure` (the page) a Folium map belongs to."""
    root = fmap.get_root()
    if not isinstance(root, Figure):
        raise TypeError("the map is not part of a Figure")
    return root


def _category_groups(ctx: Context) -> list[tuple[str, list[int]]]:
    """Layer-switcher entries of the candidates: one per code-list category, the others together.

    A category of the data that is not in the code list is data: its name never becomes a layer name
    (a Folium element's value); such categories are switched together under a fixed label.
    """
    known = set(load_schema().codelist("candidate_category").values)
    groups: list[tuple[str, list[int]]] = []
    others: list[int] = []
    for i, category in enumerate(ctx.categories):
        if category in known:
            swatch = f'<span class="fl-swatch" style="background:{ctx.colour(category)}"></span>'
            groups.append((swatch + category, [i]))
        else:
            others.append(i)
    if others:
        swatch = f'<span class="fl-swatch" style="background:{ctx.colour("")}"></span>'
        groups.append((swatch + ctx.ui["other_categories"], others))
    return groups


def _geojson_layer(
    parent: folium.Map, layer: str, *, name: str, categories: Sequence[int] | None = None
) -> folium.GeoJson:
    group = folium.FeatureGroup(name=name, overlay=True, control=True, show=True).add_to(parent)
    key = json.dumps(layer)
    geojson = folium.GeoJson(
        EMPTY,
        control=False,
        pane=FEATURE_PANE,
        renderer=JsCode("FlaechenSite.canvas()"),
        style=JsCode(f"FlaechenSite.styler({key})"),
        on_each_feature=JsCode(f"FlaechenSite.binder({key})"),
    )
    geojson.add_to(group)
    LayerData(layer, geojson, categories=categories).add_to(geojson)
    return geojson


def build_map(ctx: Context, *, center: tuple[float, float], show_parts: bool, offline: bool = True) -> folium.Map:
    """The Folium map of a page: empty layers that ``site.js`` fills from the data when the page loads.

    Parameters
    ----------
    ctx
        The site's context (profile, categories).
    center
        Start centre (latitude, longitude); ``site.js`` then fits the view to the municipalities.
    show_parts
        Whether the layers beyond the municipalities are drawn (False: an overview of aggregates).
    offline
        Load Leaflet, the plugin and the site's script from the site folder (True) or, for a notebook,
        Leaflet from Folium's CDN and the site's script inline.
    """
    map_class = SiteMap if offline else folium.Map
    fmap = map_class(
        location=[float(center[0]), float(center[1])],
        zoom_start=11,
        tiles=None,
        control_scale=False,
        zoom_snap=0.25,
        fade_animation=False,
        width="100%",
        height="100%",
    )
    folium.map.CustomPane(FEATURE_PANE, z_index=410, pointer_events=True).add_to(fmap)
    titles = {"title": ctx.ui["fullscreen"], "title_cancel": ctx.ui["fullscreen_exit"]}
    if offline:
        SiteFullscreen(position="topleft", **titles).add_to(fmap)  # type: ignore[no-untyped-call]  # folium
        SiteAssets().add_to(fmap)
    else:
        Fullscreen(position="topleft", **titles).add_to(fmap)
        figure_of(fmap).header.add_child(InlineAssets(), name="flaechen_site")
    shown = ctx.shown_layers
    for layer in ORDER:
        if layer not in shown or (layer != "municipalities" and not show_parts):
            continue
        if layer == "candidates":
            for label, indices in _category_groups(ctx):
                _geojson_layer(fmap, layer, name=label, categories=indices)
        else:
            _geojson_layer(fmap, layer, name=LAYER_SWATCHES.get(layer, "") + ctx.ui[layer])
    # collapsed on narrow screens: Folium passes a JsCode option on to Leaflet as it is
    collapsed = JsCode("window.innerWidth < 760")
    folium.LayerControl(position="topright", collapsed=collapsed).add_to(fmap)  # type: ignore[arg-type]
    MapReady(fmap).add_to(fmap)
    return fmap


def district_map(
    source: str | os.PathLike[str],
    *,
    profile: PublishProfile | Mapping[str, Any] | None = None,
    focus: str | None = None,
) -> folium.Map:
    """A :class:`folium.Map` of the district for notebooks: the map of the site, with its data inside.

    It shows what the published site shows (the same publishing profile: private land aggregated,
    only allowed fields), with the same layers, popups, legend and layer switcher. Displayed in
    Jupyter, or saved with ``m.save("karte.html")`` (Leaflet then comes from Folium's CDN).

    Parameters
    ----------
    source
        The district GeoPackage (``district.gpkg``) or the output folder of ``flaechen run``.
    profile
        The publishing profile (``[publish]`` of the configuration, raw or loaded); defaults by default.
    focus
        An AGS: the map starts on that municipality.

    Returns
    -------
    folium.Map
    """
    checked = load_profile(profile)
    district = prepare.select_district(source, profile=checked)
    candidates = district.layers.get("candidates", prepare.empty_layer("candidates", checked))
    ctx = Context(profile=checked, schema=load_schema(), categories=categories_of(load_schema(), candidates))
    prep = prepare.prepare_display(ctx, district)
    ctx = dataclasses.replace(ctx, built_on=has_built_on(prep))
    municipalities = prep.display["municipalities"]
    parts = []
    for ags, layers in _parts(ctx, prep).items():
        parts.append('{"ags":' + js_json(ags) + ',"layers":{' + ",".join(layers) + "}}")
    data = (
        '{"district":{"municipalities":'
        + feature_collection(ctx, "municipalities", municipalities)
        + ',"stats":'
        + js_json(municipality_stats(ctx, prep.table, prep.hidden_brownfields, prep.built_on))
        + '},"parts":['
        + ",".join(parts)
        + "]}"
    )
    size_mb = len(data.encode("utf-8")) / 1e6
    if size_mb > checked.max_overview_mb:
        log.warning(
            "the district map holds %.1f MB of feature data (more than max_overview_mb=%g): the notebook may "
            "become slow; show fewer layers or fields through the profile",
            size_mb,
            checked.max_overview_mb,
        )
    fmap = build_map(ctx, center=centre_of(municipalities), show_parts=True, offline=False)
    root = figure_of(fmap)
    config = site_config(ctx, focus=focus, show_parts=True)
    root.html.add_child(JsonData(element_id="flaechen-config", json_text=js_json(config)), name="flaechen_config")
    root.html.add_child(JsonData(element_id="flaechen-data", json_text=data), name="flaechen_data")
    log.info("district map: %d municipalities, %d layers", len(municipalities), len(prep.display))
    return fmap


def _parts(ctx: Context, prep: prepare.Prepared) -> dict[str, list[str]]:
    """The serialised feature collections per municipality and layer (as in the site's data scripts)."""
    out: dict[str, list[str]] = {}
    for layer, gdf in prep.display.items():
        if layer == "municipalities":
            continue
        for ags, part in by_ags(gdf).items():
            if len(part):
                out.setdefault(ags, []).append(f"{js_json(layer)}:{feature_collection(ctx, layer, part)}")
    return out
