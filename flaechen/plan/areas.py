"""Commercial areas (Gewerbegebiete): from the zoning layer, or from a layer the district declares.

From zoning, every B-Plan Baugebiet GE (1700) or GI (1800), every B-Plan or FNP Baufläche G (3000) is a
commercial zoning feature; features that overlap or touch (or lie closer than ``merge_distance_m``) are
merged into one area, across municipal borders (a joint commercial area of several municipalities stays
one area). Each area gets a stable id ``GG-<AGS>-<nn>``: the AGS of the municipality holding most of it
and a running number in the order of the smallest zoning id among its features, so the id stays the same
while the plans do; its name is the name of its largest B-Plan, else "Gewerbliche Baufläche <Gemeinde>".

The permitted site coverage (GRZ) of an area is the area-weighted GRZ of the B-Plan Baugebiete inside it,
with BauNVO §17 (rules ``zoning.grz_baunvo``) where a plan gives none, and for FNP-only land the value of
the Baugebiet the rules assign to the Baufläche (``zoning.baugebiet_for_bauflaeche``: G → GE).

Examples
--------
>>> from flaechen.district import read_district
>>> from flaechen.flag import load_rules
>>> layers = read_district("out/demo", layers=["zoning", "municipalities"])
>>> areas = commercial_areas_from_zoning(layers["zoning"], layers["municipalities"], rules=load_rules())
>>> print(areas[["area_id", "name", "ags"]].head(2).to_string(index=False))
       area_id                           name      ags
GG-07999001-01 Nr. 7 Gewerbegebiet Am Bahnhof 07999001
GG-07999002-01  Nr. 3 Gewerbegebiet Talstraße 07999002
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from flaechen.errors import SourceError

log = logging.getLogger(__name__)

GE, GI, G = 1700, 1800, 3000
_BES_LABEL = {GE: "GE", GI: "GI"}

AREA_COLUMNS = [
    "area_id",
    "name",
    "ags",
    "municipalities",
    "area_m2",
    "grz",
    "grz_source",
    "zoning_ids",
    "origin",
]


def _empty(crs: Any) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame({c: pd.Series(dtype="string") for c in AREA_COLUMNS}, geometry=[], crs=crs)
    frame["area_m2"] = frame["area_m2"].astype("Float64")
    frame["grz"] = frame["grz"].astype("Float64")
    return frame


def commercial_zoning(zoning: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The commercial zoning features: B-Plan GE/GI, B-Plan or FNP Baufläche G."""
    bes = pd.to_numeric(zoning["bes_art"], errors="coerce")
    allg = pd.to_numeric(zoning["allg_art"], errors="coerce")
    hit = bes.isin([GE, GI]) | ((allg == G) & ~bes.isin([GE, GI]).fillna(False) & bes.isna())
    return zoning[hit.fillna(False).to_numpy()]


def _components(geoms: np.ndarray, distance: float) -> np.ndarray:
    """Label connected components of geometries that intersect (or lie within `distance`)."""
    n = len(geoms)
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    tree = shapely.STRtree(geoms)
    if distance > 0:
        left, right = tree.query(geoms, predicate="dwithin", distance=distance)
    else:
        left, right = tree.query(geoms, predicate="intersects")
    for a, b in zip(left, right, strict=True):
        ra, rb = find(int(a)), find(int(b))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([find(i) for i in range(n)])


def _grz_of(feature_bes: Any, feature_allg: Any, grz: Any, rules: Any) -> tuple[float | None, str]:
    if grz is not None and not pd.isna(grz):
        return float(grz), "Plan"
    table = rules["zoning.grz_baunvo"]
    label = _BES_LABEL.get(int(feature_bes)) if feature_bes is not None and not pd.isna(feature_bes) else None
    if label is None:
        label = rules["zoning.baugebiet_for_bauflaeche"].get("G", "GE")
    value = table.get(label)
    return (None if value is None else float(value)), "BauNVO §17"


def permitted_grz(area: Any, zoning: gpd.GeoDataFrame, *, rules: Any) -> tuple[float | None, str]:
    """Area-weighted permitted GRZ of the commercial zoning inside `area`, and where it comes from.

    B-Plan Baugebiete decide where they exist; FNP land only where no B-Plan covers the area. Values the
    plan does not give come from BauNVO §17 (the rules' ``zoning.grz_baunvo``).
    """
    com = commercial_zoning(zoning)
    if com.empty:
        value = rules["zoning.grz_baunvo"].get(rules["zoning.baugebiet_for_bauflaeche"].get("G", "GE"))
        return (None if value is None else float(value)), "BauNVO §17"
    geoms = np.asarray(com.geometry.array, dtype=object)
    hit = shapely.intersects(geoms, area)
    com = com[hit]
    geoms = geoms[hit]
    bplan = (com["plan_type"].astype("string") == "BPlan").fillna(False).to_numpy()
    use = com[bplan] if bplan.any() else com
    use_geoms = geoms[bplan] if bplan.any() else geoms
    weights = shapely.area(shapely.intersection(use_geoms, area))
    values, sources = [], set()
    for row, w in zip(use.itertuples(), weights, strict=True):
        grz, src = _grz_of(row.bes_art, row.allg_art, row.grz, rules)
        if grz is not None and w > 0:
            values.append((grz, w))
            sources.add(src)
    if not values:
        value = rules["zoning.grz_baunvo"].get(rules["zoning.baugebiet_for_bauflaeche"].get("G", "GE"))
        return (None if value is None else float(value)), "BauNVO §17"
    total = sum(w for _, w in values)
    grz = sum(g * w for g, w in values) / total
    source = sources.pop() if len(sources) == 1 else "Plan und BauNVO §17"
    return float(grz), source


def _primary_ags(geom: Any, municipalities: gpd.GeoDataFrame) -> tuple[str, list[str]]:
    mgeoms = np.asarray(municipalities.geometry.array, dtype=object)
    shares = shapely.area(shapely.intersection(mgeoms, geom))
    ags = municipalities["ags"].astype(str).to_numpy()
    order = np.argsort(-shares, kind="stable")
    involved = [ags[i] for i in order if shares[i] > 0.01 * max(float(shapely.area(geom)), 1.0)]
    primary = ags[order[0]] if len(order) else ""
    return str(primary), sorted(involved) or [str(primary)]


def _number(frame: pd.DataFrame, sort_key: str) -> list[str]:
    """``GG-<AGS>-<nn>`` numbered per AGS in the order of `sort_key`."""
    ids = [""] * len(frame)
    for ags, group in frame.groupby("ags", sort=True):
        for n, idx in enumerate(group.sort_values(sort_key).index, start=1):
            ids[frame.index.get_loc(idx)] = f"GG-{ags}-{n:02d}"
    return ids


def commercial_areas_from_zoning(
    zoning: gpd.GeoDataFrame,
    municipalities: gpd.GeoDataFrame,
    *,
    rules: Any,
    merge_distance_m: float = 0.0,
) -> gpd.GeoDataFrame:
    """Merge the commercial zoning features into commercial areas with stable ids and names.

    Parameters
    ----------
    zoning, municipalities
        The district's layers (same CRS).
    rules
        The flagging rules (:func:`flaechen.flag.load_rules`) for the BauNVO §17 fallbacks.
    merge_distance_m
        Features closer than this are one area (0: only overlapping or touching ones).

    Returns
    -------
    GeoDataFrame
        Columns ``area_id``, ``name``, ``ags`` (the municipality holding most of the area),
        ``municipalities`` (every AGS it lies in, ';'-separated), ``area_m2``, ``grz``, ``grz_source``,
        ``zoning_ids`` (';'-separated), ``origin`` ("Bauleitplanung").
    """
    com = commercial_zoning(zoning)
    if com.empty:
        return _empty(zoning.crs)
    geoms = shapely.make_valid(np.asarray(com.geometry.array, dtype=object))
    labels = _components(geoms, merge_distance_m)
    names = municipalities.set_index(municipalities["ags"].astype(str))["name"].astype(str)
    rows = []
    for label in np.unique(labels):
        members = com[labels == label]
        member_geoms = geoms[labels == label]
        geom = shapely.union_all(member_geoms)
        ags, involved = _primary_ags(geom, municipalities)
        bplan = members[(members["plan_type"].astype("string") == "BPlan").fillna(False).to_numpy()]
        name = None
        if not bplan.empty:
            sizes = shapely.area(np.asarray(bplan.geometry.array, dtype=object))
            name = bplan["plan_name"].astype("string").iloc[int(np.argmax(sizes))]
            name = None if pd.isna(name) else str(name)
        grz, grz_source = permitted_grz(geom, members, rules=rules)
        ids = sorted(members["zoning_id"].astype(str))
        rows.append(
            {
                "name": name,
                "ags": ags,
                "municipalities": ";".join(involved),
                "area_m2": float(shapely.area(geom)),
                "grz": grz,
                "grz_source": grz_source,
                "zoning_ids": ";".join(ids),
                "origin": "Bauleitplanung",
                "_sort": ids[0],
                "geometry": geom,
            }
        )
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=zoning.crs)
    frame["area_id"] = _number(frame, "_sort")
    for i in frame.index[frame["name"].isna()]:
        ags = frame.at[i, "ags"]
        same = frame[(frame["ags"] == ags) & frame["name"].isna()]
        suffix = f" {frame.at[i, 'area_id'][-2:]}" if len(same) > 1 else ""
        frame.at[i, "name"] = f"Gewerbliche Baufläche {names.get(ags, ags)}{suffix}"
    return _typed(frame.sort_values("area_id").reset_index(drop=True))


def _typed(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = frame[[*AREA_COLUMNS, "geometry"]].copy()
    for c in AREA_COLUMNS:
        out[c] = out[c].astype("Float64" if c in ("area_m2", "grz") else "string")
    return gpd.GeoDataFrame(out, geometry="geometry", crs=frame.crs)


def read_declared_areas(
    path: Path,
    *,
    layer: str | None,
    id_field: str,
    name_field: str,
    crs: CRS,
    declared_crs: str | None,
    municipalities: gpd.GeoDataFrame,
    zoning: gpd.GeoDataFrame,
    rules: Any,
) -> gpd.GeoDataFrame:
    """Commercial areas from a layer the district declares (its own delineation, its own ids and names).

    Raises
    ------
    flaechen.errors.SourceError
        Naming the file, layer and feature: missing file or field, no CRS, empty or duplicate id, no geometry.
    """
    where = f"{path}" + (f", layer {layer}" if layer else "")
    if not path.is_file():
        raise SourceError(f"{where}: the commercial-areas file does not exist; fix assessment.areas.path")
    try:
        frame = pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:  # pyogrio raises DataSourceError/DataLayerError and GDAL errors
        raise SourceError(f"{where}: cannot be read ({exc}); check the file and assessment.areas.layer") from None
    problems = []
    for key, field in (("id_field", id_field), ("name_field", name_field)):
        if field not in frame.columns:
            problems.append(
                f"field {field!r} (assessment.areas.{key}) is not in the layer; "
                f"fields: {', '.join(map(str, frame.columns[:-1]))}"
            )
    file_crs = CRS.from_user_input(declared_crs) if declared_crs else frame.crs
    if file_crs is None:
        problems.append("the layer has no CRS; declare assessment.areas.crs")
    if problems:
        raise SourceError(f"{where}: " + "; ".join(problems))
    ids = frame[id_field].astype("string")
    bad = []
    for fid, value in zip(frame.index, ids, strict=True):
        if pd.isna(value) or not str(value).strip():
            bad.append(f"feature {fid}: empty {id_field}")
    dup = ids[ids.duplicated(keep=False) & ids.notna()]
    bad += [f"feature {fid}: {id_field} {v!r} is used twice" for fid, v in dup.items()]
    geoms = frame.geometry.set_crs(file_crs, allow_override=True).to_crs(crs)
    for fid, g in zip(frame.index, geoms.array, strict=True):
        if g is None or g.is_empty:
            bad.append(f"feature {fid}: no geometry")
    if bad:
        raise SourceError(f"{where}: " + "; ".join(bad) + "; fix the layer")
    rows = []
    for fid, g in zip(frame.index, geoms.array, strict=True):
        geom = shapely.make_valid(g)
        ags, involved = _primary_ags(geom, municipalities)
        grz, grz_source = permitted_grz(geom, zoning, rules=rules)
        name = frame.at[fid, name_field]
        inside = zoning[shapely.intersects(np.asarray(zoning.geometry.array, dtype=object), geom)]
        rows.append(
            {
                "area_id": str(ids[fid]).strip(),
                "name": str(name) if not pd.isna(name) else str(ids[fid]),
                "ags": ags,
                "municipalities": ";".join(involved),
                "area_m2": float(shapely.area(geom)),
                "grz": grz,
                "grz_source": grz_source,
                "zoning_ids": ";".join(sorted(inside["zoning_id"].astype(str))),
                "origin": f"Layer {path.name}",
                "geometry": geom,
            }
        )
    return _typed(gpd.GeoDataFrame(rows, geometry="geometry", crs=crs))
