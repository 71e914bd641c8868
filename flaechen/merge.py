"""Merging harmonised sources into one district layer, resolving parcels delivered twice at a border.

Neighbouring municipalities often both deliver the parcels along their common border. A parcel counts as
delivered twice when two sources hold the same parcel key, or two parcels of different sources overlap each
other by at least ``border_overlap`` (95 % by default) of both their areas. One copy is kept
deterministically: the copy of the municipality that contains the parcel (its point on surface); where that
does not decide, the lower AGS, then source id and feature id. The other copy is logged as
``border-duplicate``, naming the copy kept.

:func:`municipality_layer` makes layer ``municipalities`` of the harmonised boundary files (first: every
other source is checked against it); :func:`merge_layers` every other layer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from flaechen.config import DistrictConfig
from flaechen.harmonise import BOUNDARY_LAYER, canonical_columns, empty_layer, shapely_to_multi
from flaechen.issues import IssueLog
from flaechen.layers import CANONICAL_LAYERS, Schema

log = logging.getLogger(__name__)


def concat_layer(frames: Sequence[gpd.GeoDataFrame], *, crs: Any) -> gpd.GeoDataFrame:
    """Concatenate canonical frames of one layer (index reset; provenance columns identify features)."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    merged = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=crs)


def _near_borders(geoms: np.ndarray, at_home: np.ndarray, boundaries: Mapping[str, object], band: float) -> np.ndarray:
    """Parcels touching a municipality border band, or lying outside their own municipality."""
    lines = shapely.union_all([shapely.boundary(b) for b in boundaries.values()])
    zone = shapely.buffer(lines, band)
    shapely.prepare(zone)
    return np.asarray(shapely.intersects(zone, geoms) | ~at_home)


def resolve_border_duplicates(
    parcels: gpd.GeoDataFrame,
    *,
    boundaries: Mapping[str, object],
    overlap: float,
    issues: IssueLog,
    band: float = 1.0,
) -> gpd.GeoDataFrame:
    """Drop parcels delivered twice by different sources; log each dropped copy.

    Parameters
    ----------
    parcels
        The concatenated, harmonised parcels (canonical columns with provenance).
    boundaries
        Municipality boundaries by AGS, in the parcels' CRS.
    overlap
        Mutual overlap share from which two parcels are one (e.g. 0.95).
    issues
        The log to add ``border-duplicate`` rows to.
    band
        Width in metres of the band around municipality borders in which overlaps are searched.
    """
    if parcels.empty:
        return parcels
    geoms = np.asarray(parcels.geometry.array, dtype=object)
    ags = parcels["ags"].to_numpy(dtype=object)
    source = parcels["source_id"].to_numpy(dtype=object)
    points = shapely.point_on_surface(geoms)
    at_home = np.zeros(len(parcels), dtype=bool)
    for code, boundary in boundaries.items():
        mine = ags == code
        if mine.any():
            shapely.prepare(boundary)
            at_home[mine] = shapely.contains(boundary, points[mine])

    # Rank: at home first, then AGS, source id, source feature id: lower rank wins.
    order = np.lexsort((parcels["source_fid"].to_numpy(dtype=np.int64), source.astype(str), ags.astype(str), ~at_home))
    rank = np.empty(len(parcels), dtype=np.int64)
    rank[order] = np.arange(len(parcels))

    drop_pairs: list[tuple[int, int, str]] = []
    keys = parcels["parcel_id"]
    dup_key = keys.duplicated(keep=False).to_numpy()
    if dup_key.any():
        sub = pd.DataFrame({"key": keys[dup_key].to_numpy(), "rank": rank[dup_key], "pos": np.flatnonzero(dup_key)})
        for _, group in sub.groupby("key", sort=False):
            if group["pos"].map(lambda p: source[p]).nunique() < 2:
                continue  # duplicates within one delivery are logged by harmonising as duplicate-id
            group = group.sort_values("rank")
            keeper = int(group["pos"].iloc[0])
            for p in group["pos"].iloc[1:]:
                if source[p] != source[keeper]:
                    drop_pairs.append((int(p), keeper, "the same parcel key"))

    near = np.flatnonzero(_near_borders(geoms, at_home, boundaries, band))
    if len(near) > 1:
        tree = shapely.STRtree(geoms[near])
        left, right = tree.query(geoms[near], predicate="intersects")
        a, b = near[left], near[right]
        cross = (a < b) & (source[a] != source[b]) & (keys.to_numpy()[a] != keys.to_numpy()[b])
        a, b = a[cross], b[cross]
        if len(a):
            inter = shapely.area(shapely.intersection(geoms[a], geoms[b]))
            area_a, area_b = shapely.area(geoms[a]), shapely.area(geoms[b])
            with np.errstate(divide="ignore", invalid="ignore"):
                mutual = np.minimum(inter / area_a, inter / area_b)
            same = mutual >= overlap
            for i, j, m in zip(a[same], b[same], mutual[same], strict=True):
                loser, keeper = (int(j), int(i)) if rank[i] < rank[j] else (int(i), int(j))
                drop_pairs.append((loser, keeper, f"{m:.1%} mutual overlap"))

    if not drop_pairs:
        return parcels
    dropped: dict[int, tuple[int, str]] = {}
    for loser, keeper, why in drop_pairs:
        dropped.setdefault(loser, (keeper, why))
    # A keeper that is itself dropped (chains of three copies) defers to its own keeper.
    for loser, (keeper, why) in list(dropped.items()):
        seen = {loser}
        while keeper in dropped and keeper not in seen:
            seen.add(keeper)
            keeper = dropped[keeper][0]
        dropped[loser] = (keeper, why)
    losers = np.array(sorted(dropped), dtype=np.int64)
    for code in pd.unique(ags[losers]):
        sel = losers[ags[losers] == code]
        for src in pd.unique(source[sel]):
            rows = sel[source[sel] == src]
            issues.add_many(
                "border-duplicate",
                ags=str(code),
                source_id=str(src),
                layer="parcels",
                source_fids=parcels["source_fid"].to_numpy()[rows].tolist(),
                feature_ids=keys.to_numpy()[rows].tolist(),
                messages=[
                    f"Delivered twice ({dropped[r][1]}): kept the copy of {source[dropped[r][0]]} "
                    f"(AGS {ags[dropped[r][0]]}, feature {parcels['source_fid'].iloc[dropped[r][0]]}, "
                    f"parcel {keys.iloc[dropped[r][0]]})."
                    for r in rows
                ],
            )
    log.info("border duplicates: %d parcel copies dropped", len(losers))
    keep = np.ones(len(parcels), dtype=bool)
    keep[losers] = False
    return parcels.loc[keep].reset_index(drop=True)


POINT_SITE_SOURCES = ("delivered", "parcel", "circle")
"""Values of the brownfields field ``geometry_source``."""


def place_point_sites(
    brownfields: gpd.GeoDataFrame, parcels: gpd.GeoDataFrame, *, issues: IssueLog
) -> gpd.GeoDataFrame:
    """Give sites registered as points an area: the parcel that contains the point, else a circle of its area.

    Registers (England's statutory Brownfield Land Registers, many Brachflächenkataster) record a site by one
    point and its area. A point inside a parcel takes the parcel's polygon (``geometry_source = "parcel"``,
    ``parcel_id`` set); where no parcel contains it (no cadastre delivered, or a point on a street), a circle
    of the registered area ``site_area_ha`` centred on the point (``"circle"``). A point without either is
    rejected (``point-site-unplaced``). One ``point-site`` entry per source says how many went which way.

    Parameters
    ----------
    brownfields
        The merged layer; polygons keep ``geometry_source = "delivered"``.
    parcels
        The merged parcels in the same (projected) CRS.
    issues
        The log to add to.
    """
    if brownfields.empty:
        return brownfields
    out = brownfields.copy()
    geoms = np.asarray(out.geometry.array, dtype=object)
    types = shapely.get_type_id(geoms)
    points = np.isin(types, [0, 4])
    source = out["geometry_source"].astype("string").copy() if "geometry_source" in out else None
    if source is None:
        source = pd.Series(pd.NA, index=out.index, dtype="string")
    source[~points] = source[~points].fillna("delivered")
    if not points.any():
        out["geometry_source"] = source
        return out
    idx = np.flatnonzero(points)
    centres = shapely.centroid(geoms[idx])
    parcel_of = np.full(len(idx), -1)
    if len(parcels):
        tree = shapely.STRtree(np.asarray(parcels.geometry.array, dtype=object))
        hit_point, hit_parcel = tree.query(centres, predicate="within")
        # a point on a shared edge lies in no parcel's interior; where two contain it, the first wins
        first = np.unique(hit_point, return_index=True)[1]
        parcel_of[hit_point[first]] = hit_parcel[first]
    area_ha = out["site_area_ha"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)[idx]
    on_parcel = parcel_of >= 0
    circle = ~on_parcel & np.isfinite(area_ha) & (area_ha > 0)
    unplaced = ~on_parcel & ~circle
    new = geoms.copy()
    if on_parcel.any():
        new[idx[on_parcel]] = np.asarray(parcels.geometry.array, dtype=object)[parcel_of[on_parcel]]
        out.loc[out.index[idx[on_parcel]], "parcel_id"] = parcels["parcel_id"].to_numpy()[parcel_of[on_parcel]]
        source[out.index[idx[on_parcel]]] = "parcel"
    if circle.any():
        radius = np.sqrt(area_ha[circle] * 10_000.0 / np.pi)
        new[idx[circle]] = shapely.buffer(centres[circle], radius, quad_segs=16)
        source[out.index[idx[circle]]] = "circle"
    out["geometry_source"] = source
    out = out.set_geometry(gpd.GeoSeries(shapely_to_multi(new), index=out.index, crs=out.crs))
    rows = pd.DataFrame(
        {
            "source_id": out["source_id"].to_numpy()[idx],
            "ags": out["ags"].to_numpy()[idx],
            "parcel": on_parcel,
            "circle": circle,
            "unplaced": unplaced,
        }
    )
    for (source_id, ags), g in rows.groupby(["source_id", "ags"], sort=True, dropna=False):
        issues.add(
            "point-site",
            ags=ags,
            source_id=source_id,
            layer="brownfields",
            message=(
                f"{len(g)} sites registered as points: {int(g['parcel'].sum())} take the parcel that contains "
                f"the point, {int(g['circle'].sum())} a circle of their registered area (no parcel contains them), "
                f"{int(g['unplaced'].sum())} have neither and are rejected."
            ),
            value=str(len(g)),
        )
    if unplaced.any():
        lost = out.iloc[idx[unplaced]]
        for source_id, g in lost.groupby("source_id", sort=True):
            issues.add_many(
                "point-site-unplaced",
                ags=g["ags"].astype(str).tolist(),
                source_id=str(source_id),
                layer="brownfields",
                source_fids=g["source_fid"].tolist(),
                feature_ids=g["site_id"].tolist(),
                messages=(
                    "A site registered as a point without an area (site_area_ha) that lies in no delivered "
                    "parcel: it has no extent. Deliver its area or its polygon."
                ),
            )
        out = out.drop(index=out.index[idx[unplaced]])
    return out


def qualify_duplicate_keys(frame: gpd.GeoDataFrame, *, key: str, layer: str, issues: IssueLog) -> gpd.GeoDataFrame:
    """Make a layer's key unique across sources: a key two sources both use is qualified by the source id.

    Two plans may both number their areas ``1``, ``2`` …: each is a different area, none is a duplicate
    (unlike parcels at a border). The first source (in declaration order) keeps its key; in every other
    source that uses it, the key becomes ``<source_id>:<key>``, and each change is logged as
    ``qualified-key``, so the key stays unique in the district dataset (e.g. a primary key in PostGIS).
    """
    if frame.empty or key not in frame.columns:
        return frame
    keys = frame[key].astype("string")
    sources = frame["source_id"].astype("string")
    present = keys.notna()
    owners = pd.DataFrame({"key": keys[present], "source": sources[present]}).drop_duplicates()
    shared = owners["key"][owners["key"].duplicated(keep=False)].unique()
    if len(shared) == 0:
        return frame
    first = owners[owners["key"].isin(shared)].drop_duplicates("key", keep="first").set_index("key")["source"]
    clash = (keys.isin(shared) & (sources != keys.map(first))).fillna(False).to_numpy()
    out = frame.copy()
    qualified = sources[clash] + ":" + keys[clash]
    out.loc[clash, key] = qualified
    rows = out.loc[clash]
    for source_id, group in rows.groupby("source_id", sort=False):
        originals = keys[group.index]
        issues.add_many(
            "qualified-key",
            ags=group["ags"].astype("string").tolist() if "ags" in group.columns else None,
            source_id=str(source_id),
            layer=layer,
            source_fids=group["source_fid"].tolist(),
            feature_ids=group[key].tolist(),
            field=key,
            values=originals.tolist(),
            messages=[
                f"{key} {k!r} is also used by source {first[k]}; this feature's key is now {q!r} so that "
                "keys stay unique in the district dataset."
                for k, q in zip(originals, group[key], strict=True)
            ],
        )
    log.info("%s: %d keys used by more than one source qualified with the source id", layer, int(clash.sum()))
    return out


NO_BOUNDARY_SOURCE = "boundaries"
"""The source id of the rows of municipalities declared with ``boundary = false``."""


def municipality_layer(
    config: DistrictConfig, frames: Sequence[gpd.GeoDataFrame], *, schema: Schema, crs: Any, issues: IssueLog
) -> gpd.GeoDataFrame:
    """Layer ``municipalities``: the harmonised boundary files and the municipalities without a boundary.

    A municipality declared with ``boundary = false`` gets a row without geometry and a ``no-boundary``
    warning. The rows are in the configuration's order.
    """
    layer = schema.layer(BOUNDARY_LAYER)
    rows = []
    for m in config.municipalities:
        if not m.without_boundary:
            continue
        rows.append({"ags": m.ags, "name": m.name, "population": m.population, "source_id": NO_BOUNDARY_SOURCE})
        issues.add(
            "no-boundary",
            ags=m.ags,
            source_id=NO_BOUNDARY_SOURCE,
            layer=BOUNDARY_LAYER,
            message=(
                f"No boundary for {m.name} (boundary = false): its features are not checked against its "
                "extent, and it has no geometry in layer municipalities."
            ),
        )
    typed = empty_layer(layer, crs)
    if rows:
        table = pd.DataFrame(rows).reindex(columns=[c for c in typed.columns if c != "geometry"])
        table = table.astype({c: typed[c].dtype for c in table.columns})
        frames = [*frames, gpd.GeoDataFrame(table, geometry=gpd.GeoSeries([None] * len(table), crs=crs), crs=crs)]
    merged = concat_layer(frames, crs=crs)
    if merged.empty:
        return typed
    order = {m.ags: i for i, m in enumerate(config.municipalities)}
    merged = merged.iloc[np.argsort(merged["ags"].map(order).to_numpy(), kind="stable")].reset_index(drop=True)
    return merged[canonical_columns(layer)]


def merge_layers(
    config: DistrictConfig,
    frames: Mapping[str, Sequence[gpd.GeoDataFrame]],
    *,
    municipalities: gpd.GeoDataFrame,
    schema: Schema,
    issues: IssueLog,
) -> dict[str, gpd.GeoDataFrame]:
    """Every canonical layer of the district from the harmonised sources' frames, `municipalities` first.

    Parcels delivered twice at a border are resolved (:func:`resolve_border_duplicates`), brownfields
    recorded as points get an extent (:func:`place_point_sites`), and keys two sources share are qualified
    (:func:`qualify_duplicate_keys`). A layer no source delivered is empty, with typed columns.
    """
    crs = municipalities.crs
    boundaries = {
        ags: geom for ags, geom in zip(municipalities["ags"], municipalities.geometry.array, strict=True) if geom
    }
    layers: dict[str, gpd.GeoDataFrame] = {BOUNDARY_LAYER: municipalities}
    for name in CANONICAL_LAYERS:
        if name == BOUNDARY_LAYER:
            continue
        layer = schema.layer(name)
        merged = concat_layer(frames.get(name, ()), crs=crs)
        if name == "parcels":
            merged = resolve_border_duplicates(
                merged, boundaries=boundaries, overlap=config.border_overlap, issues=issues
            )
        if name == "brownfields" and len(merged):
            merged = place_point_sites(merged, layers["parcels"], issues=issues)
        if name != "parcels" and layer.key:
            merged = qualify_duplicate_keys(merged, key=layer.key, layer=name, issues=issues)
        layers[name] = empty_layer(layer, crs) if merged.empty else merged[canonical_columns(layer)]
    return layers
