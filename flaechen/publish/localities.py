"""Localities: the settlements of each municipality, to open a page on the village and jump between them.

A municipality's area is mostly fields and forest; its people look for their village. The settlement
clusters are found in the district's own data: buildings closer than ``gap_m`` to each other form one
cluster (buffer by half the gap, union, split into parts); where a municipality delivered no buildings,
its settlement land use (housing, mixed, commercial, public) stands in. Clusters with fewer than
``min_buildings`` buildings (farmsteads, barns in the fields) are left out.

A cluster is named after the Gemarkung most of its parcels belong to, where the parcels carry a
Gemarkung *name* (German Gemarkungen mostly are the old villages); otherwise the largest after the
municipality (its main village mostly carries its name) and the others "Ortslage 2", "Ortslage 3" … by
size.

Examples
--------
>>> from flaechen.publish.prepare import select_district
>>> from flaechen.publish.profile import load_profile
>>> data = select_district("out/demo/district.gpkg", profile=load_profile())
>>> found = localities("out/demo/district.gpkg", candidates=data.layers["candidates"])
>>> found.loc[found["_ags"] == "07999001", "name"].tolist()
['Hohenmaar']
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from flaechen.district import read_district
from flaechen.publish.background import classify_uses, dominant_uses

log = logging.getLogger(__name__)

SETTLEMENT_CLASSES = ("housing", "commercial", "public")
"""Background classes of settlement land use (stand-in where no buildings were delivered)."""

_KEY_LIKE = re.compile(r"^[0-9\s_-]*$")


def _read(path: Path, layer: str, columns: list[str]) -> gpd.GeoDataFrame | None:
    read = read_district(path, optional=[layer], layers=[], columns={layer: columns}, missing_columns="skip")
    return read.get(layer)


def _clusters(geoms: np.ndarray, *, gap_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Cluster outlines (closed by the gap) and the cluster index of each input geometry."""
    if len(geoms) == 0:
        return np.array([], dtype=object), np.array([], dtype=np.int64)
    grown = shapely.union_all(shapely.buffer(geoms, gap_m / 2, quad_segs=2))
    parts = np.asarray(shapely.get_parts(grown))
    tree = shapely.STRtree(parts)
    probe = shapely.point_on_surface(geoms)
    src, dst = tree.query(probe, predicate="intersects")
    which = np.full(len(geoms), -1, dtype=np.int64)
    which[src] = dst
    # shrink back by most of the gap: the settlement's outline, not the bubble around it
    outlines = shapely.buffer(parts, -gap_m / 2 + 10, quad_segs=2)
    outlines = np.where(shapely.is_empty(outlines), parts, outlines)
    return outlines, which


def localities(
    path: str | os.PathLike[str],
    *,
    candidates: gpd.GeoDataFrame | None = None,
    gap_m: float = 80.0,
    min_buildings: int = 8,
) -> gpd.GeoDataFrame:
    """Find the settlement clusters of every municipality.

    Parameters
    ----------
    path
        The district GeoPackage (reads ``buildings``: ``ags``; ``parcels``: ``ags``, ``gemarkung``,
        ``actual_use``; ``land_use``: ``ags``, ``use`` — no other field).
    candidates
        All candidates (with ``_ags``), in the district CRS: counted per locality.
    gap_m
        Buildings closer than this belong to one settlement.
    min_buildings
        Fewest buildings of a cluster listed as a locality.

    Returns
    -------
    GeoDataFrame
        One row per locality, in the district CRS: ``_ags``, ``name``, ``n_buildings``,
        ``n_candidates``, ``source`` (``"buildings"`` or ``"land_use"``), ``rank`` (1 = the largest of
        its municipality) and the outline; sorted by AGS and rank.
    """
    path = Path(path)
    buildings = _read(path, "buildings", ["ags"])
    parcels = _read(path, "parcels", ["ags", "gemarkung", "actual_use"])
    land_use = _read(path, "land_use", ["ags", "use"])
    crs = next((f.crs for f in (buildings, parcels, land_use) if f is not None), None)
    with_buildings = set() if buildings is None else set(buildings["ags"].astype(str))
    settlement = None
    if land_use is not None and len(land_use):
        settlement = land_use[classify_uses(land_use["use"]).isin(SETTLEMENT_CLASSES).fillna(False).to_numpy()]
    elif parcels is not None and "actual_use" in parcels.columns:
        classes = classify_uses(dominant_uses(parcels["actual_use"]))
        settlement = parcels[classes.isin(SETTLEMENT_CLASSES).fillna(False).to_numpy()]
    named = None
    if parcels is not None and "gemarkung" in parcels.columns:
        names = parcels["gemarkung"].astype("string")
        textual = names.notna() & ~names.fillna("").str.match(_KEY_LIKE)
        named = parcels[textual.to_numpy()]
    cand_points = None
    if candidates is not None and len(candidates):
        cand_points = candidates.geometry.representative_point()

    rows: list[dict[str, object]] = []
    all_ags = sorted(with_buildings | (set() if settlement is None else set(settlement["ags"].astype(str))))
    for ags in all_ags:
        if ags in with_buildings and buildings is not None:
            geoms = buildings.geometry[buildings["ags"].astype(str).to_numpy() == ags].to_numpy()
            source = "buildings"
        elif settlement is not None:
            geoms = settlement.geometry[settlement["ags"].astype(str).to_numpy() == ags].to_numpy()
            source = "land_use"
        else:
            continue
        geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
        outlines, which = _clusters(geoms, gap_m=gap_m)
        counts = np.bincount(which[which >= 0], minlength=len(outlines))
        n_cand = np.zeros(len(outlines), dtype=np.int64)
        if candidates is not None and cand_points is not None and len(outlines):
            mine = cand_points[candidates["_ags"].astype(str).to_numpy() == ags].to_numpy()
            grown = shapely.buffer(outlines, gap_m / 2)
            _, hit = shapely.STRtree(grown).query(mine, predicate="intersects")
            n_cand = np.bincount(hit, minlength=len(outlines))
        for i, outline in enumerate(outlines):
            size = counts[i] if source == "buildings" else round(shapely.area(outline) / 1000)
            if source == "buildings" and counts[i] < min_buildings:
                continue
            rows.append(
                {
                    "_ags": ags,
                    "n_buildings": int(counts[i]) if source == "buildings" else 0,
                    "n_candidates": int(n_cand[i]),
                    "source": source,
                    "_size": size,
                    "geometry": outline,
                }
            )
    if not rows:
        empty = {
            c: pd.Series([], dtype="object") for c in ("_ags", "name", "n_buildings", "n_candidates", "source", "rank")
        }
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=crs))
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    out = out.sort_values(["_ags", "_size"], ascending=[True, False], kind="stable").reset_index(drop=True)
    out["rank"] = out.groupby("_ags").cumcount() + 1
    municipalities = _read(path, "municipalities", ["ags", "name"])
    main = {}
    if municipalities is not None and "name" in municipalities.columns:
        main = dict(zip(municipalities["ags"].astype(str), municipalities["name"].astype(str), strict=True))
    out["name"] = _names(out, named, main)
    log.info(
        "localities: %d settlement clusters in %d municipalities (%d from land use where no buildings)",
        len(out),
        out["_ags"].nunique(),
        int((out["source"] == "land_use").sum()),
    )
    return out.drop(columns="_size")[["_ags", "name", "n_buildings", "n_candidates", "source", "rank", "geometry"]]


def _names(found: gpd.GeoDataFrame, named: gpd.GeoDataFrame | None, main: dict[str, str]) -> list[str]:
    """The dominant Gemarkung name under each cluster; where there is none, the municipality's name for
    its largest cluster and "Ortslage <rank>" for the others.

    Two clusters of one municipality in the same Gemarkung are told apart by their rank.
    """
    names: list[str] = [""] * len(found)
    if named is not None and len(named):
        tree = shapely.STRtree(named.geometry.to_numpy())
        cluster, parcel = tree.query(found.geometry.to_numpy(), predicate="intersects")
        if len(cluster):
            frame = pd.DataFrame({"cluster": cluster, "name": named["gemarkung"].astype(str).to_numpy()[parcel]})
            top = frame.groupby("cluster")["name"].agg(lambda s: s.value_counts().index[0])
            for i, name in top.items():
                names[int(i)] = str(name).strip()
    out: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    for i, (ags, rank) in enumerate(zip(found["_ags"].astype(str), found["rank"], strict=True)):
        name = names[i] or (main.get(ags, "") if rank == 1 else "") or f"Ortslage {rank}"
        key = (ags, name)
        seen[key] = seen.get(key, 0) + 1
        out.append(name if seen[key] == 1 else f"{name} ({seen[key]})")
    return out
