"""The pages of the map site: an overview and one page per municipality, each a Folium map with tables.

Layout of the site folder::

    site/index.html                 district overview (map, table per municipality, chart)
    site/gemeinde-<AGS>.html        one page per municipality (map zoomed to it, its table and lists)
    site/data/gemeinden.js          municipality boundaries and their aggregates
    site/data/gemeinde-<AGS>.js     the municipality's zoning, brownfields, candidates, grid cells
    site/assets/                    Leaflet and plugins (from npm), the site's own script and styles

Every page is our own template ``templates/page.html`` (Jinja, autoescaping) around the rendered parts
of the page's Folium map (:mod:`flaechen.publish.maps`); tables, charts and notes are templates with
autoescaping too. Values are only ever template *variables*, never template source.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import geopandas as gpd
import jinja2
import pandas as pd
from markupsafe import Markup, escape

from flaechen.formatting import format_number
from flaechen.layers import load_schema
from flaechen.publish import prepare
from flaechen.publish.built import BuiltOn
from flaechen.publish.geojson import write_data
from flaechen.publish.maps import BUILT_SWATCH, build_map, centre_of, figure_of, has_built_on, site_config
from flaechen.publish.prepare import Prepared, prepare_display
from flaechen.publish.profile import PublishProfile
from flaechen.publish.texts import PRIMARY_FIELDS, field_label
from flaechen.publish.values import (
    Context,
    categories_of,
    data_name,
    display_date,
    display_value,
    js_json,
    page_name,
)
from flaechen.publish.workshop import Workshop

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Pages:
    """What every page shares: context, templates, municipality names, navigation, notes, logo."""

    ctx: Context
    env: jinja2.Environment
    names: Mapping[str, str]
    nav: tuple[Mapping[str, Any], ...]
    notes: Markup
    m2_label: str
    logo: str | None
    workshop: Workshop


def render_page(
    *,
    pages: Pages,
    title: str,
    data_scripts: Sequence[str],
    focus: str | None,
    show_parts: bool,
    top: str,
    bottom: str,
    center: tuple[float, float],
) -> str:
    """One page: our own template ``page.html`` around the Folium map's parts, every value a variable.

    The Folium map holds no value of the district (see :mod:`flaechen.publish.maps`); its rendered
    header, body and script are inserted as they are. The title, the tables (``top``, ``bottom``:
    rendered by autoescaping templates) and the configuration (JSON with ``<``, ``>``, ``&`` escaped,
    read by ``site.js`` with ``textContent``) are variables of ``page.html``.
    """
    ctx = pages.ctx
    figure = figure_of(build_map(ctx, center=center, show_parts=show_parts))
    figure.render()  # places every element's output into the figure's header, body and script
    values = {
        "map_header": Markup(figure.header.render()),
        "map_html": Markup(figure.html.render()),
        "map_script": Markup(figure.script.render()),
        "lang": ctx.language,
        "title": title,
        "top": Markup(top),
        "bottom": Markup(bottom),
        "data_scripts": list(data_scripts),
        "config": Markup(
            js_json(site_config(ctx, focus=focus, show_parts=show_parts) | pages.workshop.config(focus=focus))
        ),
    }
    page = pages.env.get_template("page.html")
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


def bar_chart(env: jinja2.Environment, ctx: Context, *, caption: str, rows: list[tuple[str, list[float]]]) -> Markup:
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


def notes_section(
    env: jinja2.Environment,
    ctx: Context,
    *,
    large: bool,
    generated: date,
    inner: Mapping[str, Any],
    workshop: Workshop | None = None,
    built_on: BuiltOn | None = None,
) -> Markup:
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
    fmt = "%d.%m.%Y" if ctx.language == "de" else "%Y-%m-%d"
    if ctx.built_on and built_on is not None:
        key = (
            "note_built_all"
            if ctx.profile.built_on_mode == "parcels"
            else "note_built_grid"
            if prepare.built_cells(ctx.profile)
            else "note_built"
        )
        survey, previous = (display_date(d, ctx.language) or "–" for d in (built_on.survey, built_on.previous_survey))
        notes.append(ui[key].format(survey=survey, previous=previous, n=ctx.profile.grid_min_count))
    if large:
        notes.append(ui["note_large"])
    workshop = workshop or Workshop()
    return Markup(
        env.get_template("notes.html").render(
            ui=ui,
            notes=notes,
            generated=generated.strftime(fmt),
            run_date=workshop.run_date.strftime(fmt) if workshop.run_date else None,
            sources=[s.as_dict() for s in workshop.sources],
            attribution=ctx.profile.tiles_attribution if ctx.profile.tiles else None,
        )
    )


def cells(ctx: Context, row: pd.Series) -> list[dict[str, str]]:
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


def private_cell(ctx: Context, row: pd.Series) -> str:
    lang = ctx.language
    n = format_number(row["n_private"], language=lang)
    return f"{n} / {format_number(row['ha_private'], decimals=2, language=lang)} ha"


def overview_page(pages: Pages, prep: Prepared, *, large: bool) -> str:
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
                "cells": cells(ctx, row),
                "n": format_number(row["n"], language=lang),
                "ha": format_number(row["ha"], decimals=2, language=lang),
                "m2": format_number(row["m2_per_inhabitant"], decimals=1, language=lang),
                "dwellings": format_number(row.get("dwellings"), language=lang),
                "private": private_cell(ctx, row),
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
        "cells": cells(ctx, sums),
        "n": format_number(sums["n"], language=lang),
        "ha": format_number(sums["ha"], decimals=2, language=lang),
        "m2": format_number(total_m2, decimals=1, language=lang),
        "dwellings": format_number(sums.get("dwellings"), language=lang),
        "private": private_cell(ctx, sums),
    }
    chart = bar_chart(
        env,
        ctx,
        caption=ui["chart_title"],
        rows=[
            (pages.names[str(a)], [float(r[f"ha_{i}"]) for i in range(len(ctx.categories))])
            for a, r in table.iterrows()
        ],
    )
    top = env.get_template("top.html").render(
        ui=ui,
        title=ctx.profile.title,
        subtitle=ui["overview"],
        back=False,
        pages=pages.nav,
        logo=pages.logo,
        pdf=pages.workshop.pdf_link(None),
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
    return render_page(
        pages=pages,
        title=f"{ctx.profile.title} – {ui['overview']}",
        data_scripts=["data/gemeinden.js"] + ([] if large else [data_name(a) for a in all_ags]),
        focus=None,
        show_parts=not large,
        top=top,
        bottom=bottom,
        center=centre_of(prep.display["municipalities"]),
    )


def listing(ctx: Context, layer: str, gdf: gpd.GeoDataFrame | None, heading: str) -> dict[str, Any]:
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
            values = [display_value(ctx, layer, f, feature.get(f)) for f in fields]
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


def municipality_page(
    pages: Pages, prep: Prepared, split: Mapping[str, Mapping[str, gpd.GeoDataFrame]], ags: str
) -> str:
    ctx, env, ui = pages.ctx, pages.env, pages.ctx.ui
    lang = ctx.language
    row = prep.table.loc[ags]
    name = pages.names[ags]
    totals: dict[str, Any] = {
        "n": format_number(row["n"], language=lang),
        "ha": format_number(row["ha"], decimals=2, language=lang),
        "n_private": format_number(row["n_private"], language=lang),
        "ha_private": format_number(row["ha_private"], decimals=2, language=lang),
        "population": format_number(row["population"], language=lang),
        "m2": format_number(row["m2_per_inhabitant"], decimals=1, language=lang),
        "dwellings": format_number(row.get("dwellings"), language=lang) if prep.taken["dwellings"] else None,
        "built": None,
    }
    if ctx.built_on and prep.built_on is not None:
        counts = prep.built_on.counts
        none = pd.Series({"n": 0, "ha": 0.0, "n_private": 0, "ha_private": 0.0})
        b = counts.loc[ags] if ags in counts.index else none
        totals["built"] = {
            "n": format_number(b["n"], language=lang),
            "ha": format_number(b["ha"], decimals=2, language=lang),
            "n_private": format_number(b["n_private"], language=lang) if b["n_private"] else None,
            "ha_private": format_number(b["ha_private"], decimals=2, language=lang),
        }
    listings = [
        listing(ctx, layer, split.get(layer, {}).get(ags), heading)
        for layer, heading in (("candidates", ui["list_candidates"]), ("brownfields", ui["list_brownfields"]))
        if layer in prep.display
    ]
    chart = bar_chart(
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
        pdf=pages.workshop.pdf_link(ags),
    )
    bottom = env.get_template("municipality.html").render(
        ui=ui,
        name=name,
        cells=cells(ctx, row),
        total=totals,
        chart=chart,
        listings=listings,
        notes=pages.notes,
        m2_label=pages.m2_label,
        built_swatch=Markup(BUILT_SWATCH),  # fixed markup of this package, colours from the palette
    )
    muni = prep.display["municipalities"]
    focus = muni[muni["_ags"].astype(str) == ags]
    return render_page(
        pages=pages,
        title=f"{ctx.profile.title} – {name}",
        data_scripts=["data/gemeinden.js", data_name(ags)],
        focus=ags,
        show_parts=True,
        top=top,
        bottom=bottom,
        center=centre_of(focus if len(focus) else muni),
    )


def build_site(
    district: prepare.District,
    *,
    profile: PublishProfile,
    site_dir: Path,
    generated: date,
    workshop: Workshop | None = None,
) -> Path:
    """Write the pages and data scripts of the site into `site_dir` (assets already copied).

    `workshop` brings the background, the localities, the sources and the printed maps' link.

    Returns
    -------
    Path
        The overview page ``site_dir/index.html``.
    """
    schema = load_schema()
    candidates = district.layers.get("candidates", prepare.empty_layer("candidates", profile))
    ctx = Context(profile=profile, schema=schema, categories=categories_of(schema, candidates))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    prep = prepare_display(ctx, district)
    ctx = dataclasses.replace(ctx, built_on=has_built_on(prep))
    split, large = write_data(ctx, prep, site_dir)

    logo = None
    if profile.logo is not None:
        logo_target = site_dir / "assets" / f"logo{profile.logo.suffix.lower()}"
        logo_target.write_bytes(profile.logo.read_bytes())
        logo = f"assets/{logo_target.name}"
    names = {str(a): str(n) if not pd.isna(n) else str(a) for a, n in prep.table["name"].items()}
    pages = Pages(
        ctx=ctx,
        env=env,
        names=names,
        nav=tuple({"href": page_name(a), "name": names[a], "current": False} for a in names),
        notes=notes_section(
            env, ctx, large=large, generated=generated, inner=prep.taken, workshop=workshop, built_on=prep.built_on
        ),
        m2_label=ctx.ui["inner_m2_per_inhabitant"] if prep.taken["inner"] else ctx.ui["m2_per_inhabitant"],
        logo=logo,
        workshop=workshop or Workshop(),
    )
    index = site_dir / "index.html"
    index.write_text(overview_page(pages, prep, large=large), encoding="utf-8")
    for ags in names:
        (site_dir / page_name(ags)).write_text(municipality_page(pages, prep, split, ags), encoding="utf-8")
    log.info("site: %d pages", 1 + len(names))  # site_dir is the staged temporary folder
    return index


def iter_site_files(site_dir: Path) -> Iterable[Path]:
    """Every file of a generated site (for checks such as the leak test)."""
    return sorted(p for p in site_dir.rglob("*") if p.is_file())
