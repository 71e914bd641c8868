"""GeoJSON of the map site: feature collections of the display layers and the data scripts of the site.

The data scripts ``data/gemeinden.js`` and ``data/gemeinde-<AGS>.js`` hold every feature shown, as JSON
with ``<``, ``>`` and ``&`` escaped; they are written as files, never through a template. Data files are
scripts, not JSON fetched at run time, so the pages work from ``file://`` (a USB stick) where browsers
refuse ``fetch``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from flaechen.publish.built import FIELDS as BUILT_FIELDS
from flaechen.publish.built import BuiltOn
from flaechen.publish.prepare import Prepared
from flaechen.publish.values import (
    Context,
    data_name,
    display_date,
    display_value,
    js_json,
    page_name,
    zoning_class,
)

log = logging.getLogger(__name__)

EMPTY = {"type": "FeatureCollection", "features": []}

BUILT_DATES = ("previous_survey", "survey")
"""Fields of the built-on sites written as dates."""


def feature_collection(ctx: Context, layer: str, gdf: gpd.GeoDataFrame) -> str:
    """Serialise display-ready features: only allowed fields (and a style key) become properties."""
    cells = layer in ("grid", "built_grid")  # aggregate cells: numbers only
    fields = BUILT_FIELDS if layer == "built" else () if cells else ctx.profile.allowed(layer)
    schema_layer = "changes" if layer == "built" else layer  # the built-on sites are rows of `changes`
    parts = []
    geojson = shapely.to_geojson(gdf.geometry.to_numpy()) if len(gdf) else []
    for (_, row), geometry in zip(gdf.iterrows(), geojson, strict=True):
        props: dict[str, Any] = {}
        for name in fields:
            value = display_value(ctx, schema_layer, name, row.get(name))
            if name in BUILT_DATES and layer == "built":
                value = display_date(value, ctx.language)
            if value is not None and value != "":
                props[name] = value
        if layer == "zoning":
            style = zoning_class(ctx, row)
            if style:
                props["_s"] = style
        if cells:
            props["n"] = int(row["n"])
            props["ha"] = round(float(row["ha"]), 2)
            props["cats"] = [int(row[f"n_{i}"]) for i in range(len(ctx.categories))]
        parts.append(f'{{"type":"Feature","properties":{js_json(props)},"geometry":{geometry}}}')
    return '{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}"


def by_ags(gdf: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """The features of a display layer split by municipality (control column ``_ags``)."""
    if gdf.empty or "_ags" not in gdf.columns:
        return {}
    keys = gdf["_ags"].astype("string").fillna("")
    return {str(k): gdf[keys == k] for k in keys.unique()}


def municipality_stats(
    ctx: Context, table: pd.DataFrame, brownfields_hidden: Mapping[str, int], built_on: BuiltOn | None = None
) -> dict[str, Any]:
    """The aggregates per municipality the map shows in its popups and choropleth (numbers only).

    ``built`` (where the register compared two surveys): sites built on since the last survey, all and
    only counted (not drawn): ``[n, ha, n_counted_only, ha_counted_only]``.
    """
    stats = {}
    built = built_on.counts if built_on is not None else None
    for ags, row in table.iterrows():
        if built is not None:
            b = built.loc[str(ags)] if str(ags) in built.index else None
            figures = (0, 0.0, 0, 0.0) if b is None else (b["n"], b["ha"], b["n_private"], b["ha_private"])
            built_row: list[Any] | None = [
                int(figures[0]),
                round(float(figures[1]), 2),
                int(figures[2]),
                round(float(figures[3]), 2),
            ]
        else:
            built_row = None
        stats[str(ags)] = {
            "n": int(row["n"]),
            "ha": round(float(row["ha"]), 2),
            "nPrivate": int(row["n_private"]),
            "haPrivate": round(float(row["ha_private"]), 2),
            "bfPrivate": int(brownfields_hidden.get(str(ags), 0)),
            "cats": [[int(row[f"n_{i}"]), round(float(row[f"ha_{i}"]), 2)] for i in range(len(ctx.categories))],
            "page": page_name(str(ags)),
        }
        if built_row is not None:
            stats[str(ags)]["built"] = built_row
    return stats


def write_data(ctx: Context, prep: Prepared, site_dir: Path) -> tuple[dict[str, dict[str, gpd.GeoDataFrame]], bool]:
    """Write ``data/gemeinden.js`` and one data script per municipality.

    Returns the display layers split by AGS, and whether the district is too large for an overview that
    draws every feature (then it shows municipalities with aggregates only).
    """
    profile = ctx.profile
    data_dir = site_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    figures = municipality_stats(ctx, prep.table, prep.hidden_brownfields, prep.built_on)
    (data_dir / "gemeinden.js").write_text(
        "window.FLAECHEN_DATA.district={"
        f'"municipalities":{feature_collection(ctx, "municipalities", prep.display["municipalities"])},'
        f'"stats":{js_json(figures)}}};\n',
        encoding="utf-8",
    )
    part_layers = [layer for layer in prep.display if layer != "municipalities"]
    split = {layer: by_ags(prep.display[layer]) for layer in part_layers}
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
