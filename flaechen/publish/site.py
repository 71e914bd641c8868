"""The pages of the map site: Folium maps with the district's layers, tables and charts.

Layout of the site folder::

    site/index.html                 district overview (map, table per municipality, chart)
    site/gemeinde-<AGS>.html        one page per municipality (map zoomed to it, its table and lists)
    site/data/gemeinden.js          municipality boundaries and their aggregates
    site/data/gemeinde-<AGS>.js     the municipality's zoning, brownfields, candidates, grid cells
    site/assets/                    Leaflet and plugins (from npm), the site's own script and styles

Data files are scripts, not JSON fetched at run time, so the pages work from ``file://`` (a USB stick)
where browsers refuse ``fetch``. Every data value is written as JSON with ``<``, ``>`` and ``&``
escaped, and the browser script puts values into the page only as text (``textContent``), never as
markup; the tables here are rendered by Jinja with autoescaping.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import folium
import geopandas as gpd
import jinja2
import numpy as np
import pandas as pd
import shapely
from branca.element import Figure, MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import Fullscreen
from folium.template import Template
from markupsafe import Markup, escape

from flaechen.layers import Schema, load_schema
from flaechen.publish import prepare
from flaechen.publish.assets import AssetLinks
from flaechen.publish.profile import PublishProfile
from flaechen.publish.texts import (
    CATEGORY_COLOURS,
    LAYER_STYLES,
    OTHER_COLOUR,
    PRIMARY_FIELDS,
    UI,
    ZONING_COLOURS,
    field_label,
)

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"

_SAFE_KEY = re.compile(r"[^0-9A-Za-z_-]")

AS_TEXT = {"since_year"}
"""Numeric fields shown as plain text (a year is not written 1.998)."""

ROUNDING = {"area_m2": 0, "capacity_floor_area": 0, "capacity_dwellings": 1, "grz": 2, "gfz": 2}


def js_json(value: Any) -> str:
    """JSON for embedding in a script: ``<``, ``>``, ``&`` and line separators escaped.

    Non-ASCII text stays readable (no ``\\u`` escapes for umlauts), so a search for a value finds it.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def page_name(ags: str) -> str:
    """File name of a municipality's page (the AGS reduced to safe characters)."""
    return f"gemeinde-{_SAFE_KEY.sub('_', str(ags))}.html"


def data_name(ags: str) -> str:
    """File name of a municipality's data script."""
    return f"data/gemeinde-{_SAFE_KEY.sub('_', str(ags))}.js"


def format_number(value: Any, *, decimals: int = 0, language: str = "de") -> str:
    """Format a number for a table: German separators by default, '–' for missing values."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)) or pd.isna(value):
        return "–"
    text = f"{float(value):,.{decimals}f}"
    if language == "de":
        text = text.replace(",", "\u2009").replace(".", ",")
    return text


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


@dataclass(frozen=True)
class _Context:
    profile: PublishProfile
    schema: Schema
    categories: tuple[str, ...]

    @property
    def language(self) -> str:
        return self.profile.language

    @property
    def ui(self) -> Mapping[str, str]:
        return UI[self.profile.language]

    def colour(self, category: str) -> str:
        return CATEGORY_COLOURS.get(category, OTHER_COLOUR)


def _display_value(ctx: _Context, layer: str, field: str, value: Any) -> Any:
    """A property value as shown: code-list codes as labels, booleans as ja/nein, floats rounded."""
    value = _plain(value)
    if value is None:
        return None
    layer_def = ctx.schema.layer(layer)
    field_def = layer_def.field(field) if field in layer_def.field_names else None
    if field_def is not None and field_def.codelist:
        entry = ctx.schema.codelist(field_def.codelist).values.get(value)
        if entry is not None:
            return entry.get("label" if ctx.language == "de" else "title", value)
    if isinstance(value, bool):
        return ctx.ui["yes"] if value else ctx.ui["no"]
    if field in AS_TEXT:
        return str(int(value)) if isinstance(value, int | float) else str(value)
    if field_def is not None and field_def.unit == "share" and isinstance(value, int | float):
        percent = f"{value * 100:.0f} %"
        return percent if ctx.language != "de" else percent.replace(".", ",")
    if isinstance(value, float):
        digits = ROUNDING.get(field, 2)
        value = round(value, digits)
        return int(value) if digits == 0 else value
    return value


def _zoning_class(ctx: _Context, row: pd.Series) -> str | None:
    allowed = ctx.profile.allowed("zoning")
    if "allg_art" not in allowed and "bes_art" not in allowed:
        return None
    code = _plain(row.get("_allg_art"))
    if code is None:
        bes = _plain(row.get("_bes_art"))
        entry = ctx.schema.codelist("xplan_bes_art").values.get(bes) if bes is not None else None
        code = entry.get("allg_art") if entry else None
    if code is None:
        return None
    return ctx.schema.codelist("xplan_allg_art").label(code)


def feature_collection(ctx: _Context, layer: str, gdf: gpd.GeoDataFrame) -> str:
    """Serialise display-ready features: only allowed fields (and a style key) become properties."""
    fields = ctx.profile.allowed(layer) if layer != "grid" else ()
    parts = []
    geojson = shapely.to_geojson(gdf.geometry.to_numpy()) if len(gdf) else []
    for (_, row), geometry in zip(gdf.iterrows(), geojson, strict=True):
        props: dict[str, Any] = {}
        for name in fields:
            value = _display_value(ctx, layer, name, row.get(name))
            if value is not None and value != "":
                props[name] = value
        if layer == "zoning":
            style = _zoning_class(ctx, row)
            if style:
                props["_s"] = style
        if layer == "grid":
            props["n"] = int(row["n"])
            props["ha"] = round(float(row["ha"]), 2)
            props["cats"] = [int(row[f"n_{i}"]) for i in range(len(ctx.categories))]
        parts.append(f'{{"type":"Feature","properties":{js_json(props)},"geometry":{geometry}}}')
    return '{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}"


class _SiteLayers(JSCSSMixin, MacroElement):
    """Loads the site script and builds the layers on the Folium map.

    Its template holds no value of the district: the configuration (texts, field labels, categories) is
    read at run time from the page's JSON data block ``#flaechen-config``.
    """

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "FlaechenSite.init({{ this._parent.get_name() }}, "
        "JSON.parse(document.getElementById('flaechen-config').textContent));"
        "{% endmacro %}"
    )

    def __init__(self, *, js: Sequence[tuple[str, str]], css: Sequence[tuple[str, str]]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca's MacroElement.__init__ is unannotated
        self._name = "FlaechenSite"
        self._id = "flaechen"
        self.default_js = list(js)
        self.default_css = list(css)


def _map_parts(*, ctx: _Context, links: AssetLinks, center: tuple[float, float]) -> dict[str, Markup]:
    """The Folium map of a page, rendered into its header, body and script parts.

    Branca compiles the output of every element's macros once more as a Jinja template, so nothing
    passed to a Folium element may come from the data or the configuration: the elements here get only
    the site's own constants (UI texts, asset paths, the map centre as numbers). Every value of the
    district reaches the page as a variable of ``page.html`` (autoescaped) or as JSON in a data block.
    """
    leaflet_js = [(n, u) for n, u in links.js if "leaflet/" in u]
    leaflet_css = [(n, u) for n, u in links.css if "leaflet/" in u]
    full_js = [(n, u) for n, u in links.js if "fullscreen/" in u]
    full_css = [(n, u) for n, u in links.css if "fullscreen/" in u]
    own_js = [(n, u) for n, u in links.js if "flaechen/" in u]
    own_css = [(n, u) for n, u in links.css if "flaechen/" in u]

    figure = Figure()
    fmap = folium.Map(
        location=[float(center[0]), float(center[1])],
        zoom_start=11,
        tiles=None,
        control_scale=False,
        zoom_snap=0.25,
        fade_animation=False,
        width="100%",
        height="100%",
    )
    fmap._id = "flaechen"
    # instance attributes: the class-level CDN lists of Folium stay untouched
    fmap.default_js = leaflet_js
    fmap.default_css = leaflet_css
    fullscreen = Fullscreen(position="topleft", title=ctx.ui["fullscreen"], title_cancel=ctx.ui["fullscreen_exit"])
    fullscreen._id = "flaechen"
    fullscreen.default_js = full_js
    fullscreen.default_css = full_css
    fullscreen.add_to(fmap)
    _SiteLayers(js=own_js, css=own_css).add_to(fmap)
    figure.add_child(fmap)
    figure.render()
    header = figure.header.render()
    # let people zoom the page (tables on a phone); the map handles its own pinch zoom
    header = header.replace("initial-scale=1.0, maximum-scale=1.0, user-scalable=no", "initial-scale=1.0", 1)
    return {
        "map_header": Markup(header),
        "map_html": Markup(figure.html.render()),
        "map_script": Markup(figure.script.render()),
    }


def _render_map_page(
    *,
    ctx: _Context,
    env: jinja2.Environment,
    title: str,
    links: AssetLinks,
    data_scripts: Sequence[str],
    config: Mapping[str, Any],
    top: str,
    bottom: str,
    center: tuple[float, float],
) -> str:
    """One page: our own template ``page.html`` around the Folium map, every value passed as a variable."""
    values = dict(
        _map_parts(ctx=ctx, links=links, center=center),
        lang=ctx.language,
        title=title,
        top=Markup(top),
        bottom=Markup(bottom),
        data_scripts=list(data_scripts),
        # JSON with <, > and & escaped cannot end the data block; read with textContent, never as markup
        config=Markup(js_json(dict(config))),
    )
    page = env.get_template("page.html")
    draft = page.render(values, csp="")
    return page.render(values, csp=Markup(content_security_policy(draft, tiles=ctx.profile.tiles)))


_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def content_security_policy(html: str, *, tiles: str | None = None) -> str:
    """A ``<meta>`` Content-Security-Policy for a page: defence in depth behind the escaping.

    Scripts run only from the site's own files and the page's own inline scripts (by their SHA-256
    hash), so an injected ``onerror=`` or ``<script>`` would not run; nothing may be fetched from the
    network (``connect-src 'none'``), images only from the site (and the tile server, if configured).
    """
    hashes = " ".join(
        "'sha256-{}'".format(base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii"))
        for body in _INLINE_SCRIPT.findall(html)
    )
    images = "'self' data:"
    if tiles:
        parts = urlsplit(tiles.replace("{s}", "*"))
        images += f" {parts.scheme}://{parts.netloc}"
    policy = (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        f"img-src {images}; font-src 'self'; connect-src 'none'; object-src 'none'; base-uri 'none'; "
        "form-action 'none'"
    )
    return f'<meta http-equiv="Content-Security-Policy" content="{escape(policy)}">'


def _bounds(gdf: gpd.GeoDataFrame) -> tuple[float, float]:
    if gdf.empty:
        return (51.0, 10.0)
    minx, miny, maxx, maxy = gdf.total_bounds
    return (round((miny + maxy) / 2, 6), round((minx + maxx) / 2, 6))


def _chart(env: jinja2.Environment, ctx: _Context, *, caption: str, rows: list[tuple[str, list[float]]]) -> Markup:
    label_width, bar_width, bar, gap = 190, 560, 22, 10
    largest = max((sum(values) for _, values in rows), default=0.0) or 1.0
    out_rows = []
    for i, (label, values) in enumerate(rows):
        y = 10 + i * (bar + gap)
        x = float(label_width)
        segments = []
        for category, value in zip(ctx.categories, values, strict=True):
            if value <= 0:
                continue
            w = bar_width * value / largest
            segments.append(
                {
                    "x": round(x, 1),
                    "w": round(max(w, 0.5), 1),
                    "colour": ctx.colour(category),
                    "title": f"{category}: {format_number(value, decimals=2, language=ctx.language)} ha",
                }
            )
            x += w
        out_rows.append(
            {
                "label": label,
                "y": y,
                "segments": segments,
                "end": round(x, 1),
                "total": format_number(sum(values), decimals=2, language=ctx.language) + " ha",
            }
        )
    height = 20 + len(rows) * (bar + gap)
    keys = [{"label": c, "colour": ctx.colour(c)} for c in ctx.categories]
    return Markup(
        env.get_template("chart.html").render(
            caption=caption,
            rows=out_rows,
            keys=keys,
            width=label_width + bar_width + 110,
            height=height,
            label_width=label_width,
            bar=bar,
        )
    )


def _notes(env: jinja2.Environment, ctx: _Context, *, large: bool, generated: date, inner: Mapping[str, Any]) -> Markup:
    ui = ctx.ui
    notes = [ui["note_offline"]]
    if inner.get("inner"):
        notes.append(ui["note_inner"])
    if inner.get("benchmark") is not None:
        notes.append(
            ui["note_benchmark"].format(b=format_number(inner["benchmark"], decimals=0, language=ctx.language))
        )
    mode = ctx.profile.private_candidates
    if mode == "parcels":
        notes.append(ui["note_parcels"])
    elif mode == "grid":
        notes.append(ui["note_private_grid"].format(n=ctx.profile.grid_min_count))
    else:
        notes.append(ui["note_private"])
    if large:
        notes.append(ui["note_large"])
    return Markup(
        env.get_template("notes.html").render(
            ui=ui,
            notes=notes,
            generated=generated.strftime("%d.%m.%Y" if ctx.language == "de" else "%Y-%m-%d"),
            attribution=ctx.profile.tiles_attribution if ctx.profile.tiles else None,
        )
    )


def _merge_summary(table: pd.DataFrame, summary: pd.DataFrame | None) -> dict[str, Any]:
    """Take m² per inhabitant (inner development only), the benchmark and dwellings from `summary`.

    Changes `table` in place; returns what was taken: ``{"inner": bool, "benchmark": float | None,
    "dwellings": bool}``.
    """
    taken: dict[str, Any] = {"inner": False, "benchmark": None, "dwellings": False}
    if summary is None:
        return taken
    aligned = summary.reindex(table.index.astype(str))
    if "inner_m2_per_inhabitant" in aligned.columns:
        table["m2_per_inhabitant"] = aligned["inner_m2_per_inhabitant"].to_numpy()
        taken["inner"] = True
    if "capacity_dwellings" in aligned.columns:
        table["dwellings"] = aligned["capacity_dwellings"].to_numpy()
        taken["dwellings"] = True
    if "benchmark_m2_per_inhabitant" in aligned.columns:
        values = aligned["benchmark_m2_per_inhabitant"].dropna().unique()
        if len(values) == 1:
            taken["benchmark"] = float(values[0])
    return taken


def _by_ags(gdf: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    if gdf.empty or "_ags" not in gdf.columns:
        return {}
    keys = gdf["_ags"].astype("string").fillna("")
    return {str(k): gdf[keys == k] for k in keys.unique()}


def _categories(ctx_schema: Schema, candidates: gpd.GeoDataFrame) -> tuple[str, ...]:
    known = list(ctx_schema.codelist("candidate_category").values)
    if "_category" in candidates.columns:
        seen = candidates["_category"].dropna().astype(str).unique()
        known += sorted(c for c in seen if c not in known)
    return tuple(known)


def _stats(ctx: _Context, table: pd.DataFrame, brownfields_hidden: Mapping[str, int]) -> dict[str, Any]:
    stats = {}
    for ags, row in table.iterrows():
        stats[str(ags)] = {
            "n": int(row["n"]),
            "ha": round(float(row["ha"]), 2),
            "nPrivate": int(row["n_private"]),
            "haPrivate": round(float(row["ha_private"]), 2),
            "bfPrivate": int(brownfields_hidden.get(str(ags), 0)),
            "cats": [[int(row[f"n_{i}"]), round(float(row[f"ha_{i}"]), 2)] for i in range(len(ctx.categories))],
            "page": page_name(str(ags)),
        }
    return stats


def _popup_fields(ctx: _Context, layer: str) -> list[list[Any]]:
    """Popup rows of a layer: [field, label, primary], primary fields first, then the others."""
    allowed = ctx.profile.allowed(layer)
    primary = [f for f in PRIMARY_FIELDS.get(layer, allowed) if f in allowed]
    rest = [f for f in allowed if f not in primary]
    return [[f, field_label(f, ctx.language), True] for f in primary] + [
        [f, field_label(f, ctx.language), False] for f in rest
    ]


def _js_config(ctx: _Context, *, focus: str | None, show_parts: bool) -> dict[str, Any]:
    ui = ctx.ui
    keys = [
        "municipalities",
        "zoning",
        "brownfields",
        "candidates",
        "buildings",
        "grid",
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
    ]
    config: dict[str, Any] = {
        "lang": ctx.language,
        "locale": "de-DE" if ctx.language == "de" else "en-GB",
        "ui": {k: ui[k] for k in keys},
        "layers": list(ctx.profile.layers) + (["grid"] if ctx.profile.private_candidates == "grid" else []),
        "fields": {layer: _popup_fields(ctx, layer) for layer in ctx.profile.layers},
        "categories": [[c, ctx.colour(c)] for c in ctx.categories],
        "zoningColours": ZONING_COLOURS,
        "styles": LAYER_STYLES,
        "focus": focus,
        "showParts": show_parts,
        "collapseWidth": 760,
    }
    if ctx.profile.tiles:
        config["tiles"] = {"url": ctx.profile.tiles, "attribution": ctx.profile.tiles_attribution or ""}
    return config


@dataclass(frozen=True)
class _Prepared:
    """The layers ready for display (EPSG:4326) and the figures per municipality."""

    table: pd.DataFrame
    taken: Mapping[str, Any]
    display: Mapping[str, gpd.GeoDataFrame]
    hidden_brownfields: Mapping[str, int]
    n_hidden: int


@dataclass(frozen=True)
class _Pages:
    """What every page shares: templates, asset links, navigation, notes."""

    ctx: _Context
    env: jinja2.Environment
    links: AssetLinks
    names: Mapping[str, str]
    nav: tuple[Mapping[str, Any], ...]
    notes: Markup
    m2_label: str
    logo: str | None


def _prepare(ctx: _Context, district: prepare.District) -> _Prepared:
    """Split private land off, compute the figures, simplify and reproject every layer shown."""
    profile = ctx.profile
    layers = district.layers
    candidates = layers.get("candidates", prepare.empty_layer("candidates", profile))
    mode = profile.private_candidates
    shown_candidates, hidden_candidates = prepare.split_private(candidates, mode=mode)
    shown_candidates, _ = prepare.withhold_derived(shown_candidates, layers.get("brownfields"), mode=mode)
    table = prepare.summarise(
        layers["municipalities"], candidates, categories=ctx.categories, hidden_index=hidden_candidates.index
    )
    taken = _merge_summary(table, district.summary)
    display: dict[str, gpd.GeoDataFrame] = {}
    hidden_brownfields: dict[str, int] = {}
    for layer in profile.layers:
        gdf = layers[layer]
        if layer == "candidates":
            gdf = shown_candidates
        elif layer == "brownfields":
            gdf, hidden = prepare.split_private(gdf, mode=mode)
            hidden_brownfields = hidden["_ags"].astype(str).value_counts().to_dict() if len(hidden) else {}
        gdf = prepare.simplify(
            gdf, tolerance=profile.simplify_tolerance_m, group_by=prepare.COVERAGE_GROUPS.get(layer), name=layer
        )
        display[layer] = prepare.to_display(gdf, decimals=profile.coordinate_decimals)
    if mode == "grid":
        cells = prepare.grid_cells(
            hidden_candidates, size=profile.grid_size_m, min_count=profile.grid_min_count, categories=ctx.categories
        )
        display["grid"] = prepare.to_display(cells, decimals=profile.coordinate_decimals)
    return _Prepared(
        table=table,
        taken=taken,
        display=display,
        hidden_brownfields=hidden_brownfields,
        n_hidden=len(hidden_candidates),
    )


def _write_data(ctx: _Context, prep: _Prepared, site_dir: Path) -> tuple[dict[str, dict[str, gpd.GeoDataFrame]], bool]:
    """Write ``data/gemeinden.js`` and one data script per municipality.

    Returns the display layers split by AGS, and whether the district is too large for an overview that
    draws every feature (then it shows municipalities with aggregates only).
    """
    profile = ctx.profile
    data_dir = site_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    stats = _stats(ctx, prep.table, prep.hidden_brownfields)
    (data_dir / "gemeinden.js").write_text(
        "window.FLAECHEN_DATA.district={"
        f'"municipalities":{feature_collection(ctx, "municipalities", prep.display["municipalities"])},'
        f'"stats":{js_json(stats)}}};\n',
        encoding="utf-8",
    )
    part_layers = [layer for layer in prep.display if layer != "municipalities"]
    split = {layer: _by_ags(prep.display[layer]) for layer in part_layers}
    all_ags = [str(a) for a in prep.table.index]
    drawn = 0
    data_bytes = 0
    budget = profile.max_overview_mb * 1_000_000
    for ags in all_ags:
        payload = []
        features = 0
        for layer in part_layers:
            gdf = split[layer].get(ags)
            if gdf is not None and len(gdf):
                features += len(gdf)
                payload.append(f'"{layer}":{feature_collection(ctx, layer, gdf)}')
        text = f'window.FLAECHEN_DATA.parts.push({{"ags":{js_json(ags)},"layers":{{{",".join(payload)}}}}});\n'
        (site_dir / data_name(ags)).write_text(text, encoding="utf-8")
        size = len(text.encode("utf-8"))
        drawn += features
        data_bytes += size
        if size > budget or features > profile.max_overview_features:
            log.warning(
                "municipality %s alone has %d features (%.1f MB of data): its page may load slowly; "
                "consider fewer layers or fields in [publish]",
                ags,
                features,
                size / 1e6,
            )
    known = set(all_ags)
    for layer in part_layers:
        orphans = sum(len(g) for a, g in split[layer].items() if a not in known)
        if orphans:
            log.warning("%d %s features carry an AGS of no municipality; not drawn", orphans, layer)
    large = drawn > profile.max_overview_features or data_bytes > budget
    if large:
        log.info(
            "%d features, %.1f MB of data exceed max_overview_features=%d or max_overview_mb=%g: "
            "the overview shows municipalities with aggregates only",
            drawn,
            data_bytes / 1e6,
            profile.max_overview_features,
            profile.max_overview_mb,
        )
    log.info(
        "site data: %d features drawn in all, %.1f MB (%d private candidates aggregated)",
        drawn,
        data_bytes / 1e6,
        prep.n_hidden,
    )
    return split, large


def _cells(ctx: _Context, row: pd.Series) -> list[dict[str, str]]:
    lang = ctx.language
    return [
        {
            "name": category,
            "colour": ctx.colour(category),
            "n": format_number(row[f"n_{i}"], language=lang),
            "ha": format_number(row[f"ha_{i}"], decimals=2, language=lang),
        }
        for i, category in enumerate(ctx.categories)
    ]


def _private(ctx: _Context, row: pd.Series) -> str:
    lang = ctx.language
    n = format_number(row["n_private"], language=lang)
    return f"{n} / {format_number(row['ha_private'], decimals=2, language=lang)} ha"


def _overview_page(pages: _Pages, prep: _Prepared, *, large: bool) -> str:
    ctx, env, ui = pages.ctx, pages.env, pages.ctx.ui
    lang = ctx.language
    table = prep.table
    rows = []
    for ags, row in table.iterrows():
        rows.append(
            {
                "href": page_name(str(ags)),
                "name": pages.names[str(ags)],
                "population": format_number(row["population"], language=lang),
                "cells": _cells(ctx, row),
                "n": format_number(row["n"], language=lang),
                "ha": format_number(row["ha"], decimals=2, language=lang),
                "m2": format_number(row["m2_per_inhabitant"], decimals=1, language=lang),
                "dwellings": format_number(row.get("dwellings"), language=lang),
                "private": _private(ctx, row),
            }
        )
    sums = table.select_dtypes("number").sum()
    population = pd.to_numeric(table["population"], errors="coerce")
    if not (population.notna().all() and population.sum() > 0):
        total_m2 = None
    elif prep.taken["inner"]:
        total_m2 = float((table["m2_per_inhabitant"].fillna(0) * population).sum() / population.sum())
    else:
        total_m2 = sums["ha"] * 10_000 / population.sum()
    total = {
        "population": format_number(population.sum() if population.notna().all() else None, language=lang),
        "cells": _cells(ctx, sums),
        "n": format_number(sums["n"], language=lang),
        "ha": format_number(sums["ha"], decimals=2, language=lang),
        "m2": format_number(total_m2, decimals=1, language=lang),
        "dwellings": format_number(sums.get("dwellings"), language=lang),
        "private": _private(ctx, sums),
    }
    chart = _chart(
        env,
        ctx,
        caption=ui["chart_title"],
        rows=[
            (pages.names[str(a)], [float(r[f"ha_{i}"]) for i in range(len(ctx.categories))])
            for a, r in table.iterrows()
        ],
    )
    top = env.get_template("top.html").render(
        ui=ui, title=ctx.profile.title, subtitle=ui["overview"], back=False, pages=pages.nav, logo=pages.logo
    )
    bottom = env.get_template("overview.html").render(
        ui=ui,
        categories=[{"name": c, "colour": ctx.colour(c)} for c in ctx.categories],
        rows=rows,
        total=total,
        m2_label=pages.m2_label,
        dwellings=prep.taken["dwellings"],
        chart=chart,
        notes=pages.notes,
    )
    all_ags = [str(a) for a in table.index]
    return _render_map_page(
        ctx=ctx,
        env=env,
        title=f"{ctx.profile.title} – {ui['overview']}",
        links=pages.links,
        data_scripts=["data/gemeinden.js"] + ([] if large else [data_name(a) for a in all_ags]),
        config=_js_config(ctx, focus=None, show_parts=not large),
        top=top,
        bottom=bottom,
        center=_bounds(prep.display["municipalities"]),
    )


def _listing(ctx: _Context, layer: str, gdf: gpd.GeoDataFrame | None, heading: str) -> dict[str, Any]:
    """The list of a municipality's drawn features of one layer (largest first, bounded)."""
    lang = ctx.language
    listed = (("parcel_id",) if layer == "candidates" else ()) + PRIMARY_FIELDS.get(layer, ())
    fields = [f for f in dict.fromkeys(listed) if f in ctx.profile.allowed(layer)]
    rows = []
    total = 0 if gdf is None else len(gdf)
    if gdf is not None and total:
        if "area_m2" in gdf.columns:  # the largest potentials first
            gdf = gdf.sort_values("area_m2", ascending=False, na_position="last", kind="stable")
        for _, feature in gdf.head(ctx.profile.max_listing_rows).iterrows():
            values = [_display_value(ctx, layer, f, feature.get(f)) for f in fields]
            rows.append(
                [
                    ""
                    if v is None
                    else format_number(v, decimals=0 if isinstance(v, int) else 2, language=lang)
                    if isinstance(v, int | float)
                    else str(v)
                    for v in values
                ]
            )
    more = None
    if total > len(rows):
        more = ctx.ui["listing_more"].format(
            n=format_number(len(rows), language=lang), total=format_number(total, language=lang)
        )
    return {
        "title": heading,
        "header": [field_label(f, lang) for f in fields],
        "rows": rows,
        "total": format_number(total, language=lang),
        "more": more,
    }


def _municipality_page(
    pages: _Pages, prep: _Prepared, split: Mapping[str, Mapping[str, gpd.GeoDataFrame]], ags: str
) -> str:
    ctx, env, ui = pages.ctx, pages.env, pages.ctx.ui
    lang = ctx.language
    row = prep.table.loc[ags]
    name = pages.names[ags]
    totals = {
        "n": format_number(row["n"], language=lang),
        "ha": format_number(row["ha"], decimals=2, language=lang),
        "n_private": format_number(row["n_private"], language=lang),
        "ha_private": format_number(row["ha_private"], decimals=2, language=lang),
        "population": format_number(row["population"], language=lang),
        "m2": format_number(row["m2_per_inhabitant"], decimals=1, language=lang),
        "dwellings": format_number(row.get("dwellings"), language=lang) if prep.taken["dwellings"] else None,
    }
    listings = [
        _listing(ctx, layer, split.get(layer, {}).get(ags), heading)
        for layer, heading in (("candidates", ui["list_candidates"]), ("brownfields", ui["list_brownfields"]))
        if layer in prep.display
    ]
    chart = _chart(
        env,
        ctx,
        caption=ui["chart_title"],
        rows=[
            (c, [float(row[f"ha_{i}"]) if j == i else 0.0 for j in range(len(ctx.categories))])
            for i, c in enumerate(ctx.categories)
        ],
    )
    top = env.get_template("top.html").render(
        ui=ui,
        title=ctx.profile.title,
        subtitle=f"{ui['municipality']} {name}",
        back=True,
        pages=[{**p, "current": p["href"] == page_name(ags)} for p in pages.nav],
        logo=pages.logo,
    )
    bottom = env.get_template("municipality.html").render(
        ui=ui,
        name=name,
        cells=_cells(ctx, row),
        total=totals,
        chart=chart,
        listings=listings,
        notes=pages.notes,
        m2_label=pages.m2_label,
    )
    muni = prep.display["municipalities"]
    focus = muni[muni["_ags"].astype(str) == ags]
    return _render_map_page(
        ctx=ctx,
        env=env,
        title=f"{ctx.profile.title} – {name}",
        links=pages.links,
        data_scripts=["data/gemeinden.js", data_name(ags)],
        config=_js_config(ctx, focus=ags, show_parts=True),
        top=top,
        bottom=bottom,
        center=_bounds(focus if len(focus) else muni),
    )


def build_site(
    district: prepare.District,
    *,
    profile: PublishProfile,
    site_dir: Path,
    links: AssetLinks,
    generated: date,
) -> Path:
    """Write the pages and data scripts of the site into `site_dir` (assets already copied).

    Returns
    -------
    Path
        The overview page ``site_dir/index.html``.
    """
    schema = load_schema()
    candidates = district.layers.get("candidates", prepare.empty_layer("candidates", profile))
    ctx = _Context(profile=profile, schema=schema, categories=_categories(schema, candidates))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    prep = _prepare(ctx, district)
    split, large = _write_data(ctx, prep, site_dir)

    logo = None
    if profile.logo is not None:
        logo_target = site_dir / "assets" / f"logo{profile.logo.suffix.lower()}"
        logo_target.write_bytes(profile.logo.read_bytes())
        logo = f"assets/{logo_target.name}"
    names = {str(a): str(n) if not pd.isna(n) else str(a) for a, n in prep.table["name"].items()}
    pages = _Pages(
        ctx=ctx,
        env=env,
        links=links,
        names=names,
        nav=tuple({"href": page_name(a), "name": names[a], "current": False} for a in names),
        notes=_notes(env, ctx, large=large, generated=generated, inner=prep.taken),
        m2_label=ctx.ui["inner_m2_per_inhabitant"] if prep.taken["inner"] else ctx.ui["m2_per_inhabitant"],
        logo=logo,
    )
    index = site_dir / "index.html"
    index.write_text(_overview_page(pages, prep, large=large), encoding="utf-8")
    for ags in names:
        (site_dir / page_name(ags)).write_text(_municipality_page(pages, prep, split, ags), encoding="utf-8")
    log.info("site: %d pages in %s", 1 + len(names), site_dir)
    return index


def iter_site_files(site_dir: Path) -> Iterable[Path]:
    """Every file of a generated site (for checks such as the leak test)."""
    return sorted(p for p in site_dir.rglob("*") if p.is_file())
