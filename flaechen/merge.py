"""Merging harmonised sources into one district layer, resolving parcels delivered twice at a border.

Neighbouring municipalities often both deliver the parcels along their common border. A parcel counts as
delivered twice when two sources hold the same parcel key, or two parcels of different sources overlap each
other by at least ``border_overlap`` (95 % by default) of both their areas. One copy is kept
deterministically: the copy of the municipality that contains the parcel (its point on surface); where that
does not decide, the lower AGS, then source id and feature id. The other copy is logged as
``border-duplicate``, naming the copy kept.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from flaechen.issues import IssueLog

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
