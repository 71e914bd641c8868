"""An estimate of the built-up area (Innenbereich, §34 BauGB) from building footprints, after IBTool.

IBTool (a QGIS plugin) derives the Innenbereich from the buildings with three parameters: a gap that is
still bridged (4,900 m²), a minimum building size (56.8 m²: sheds and garages do not make a built-up
area) and a building coverage (18 %). This module applies them as a morphological closing:

1. the *main buildings* (footprint ≥ ``innenbereich.min_building_area_m2``) are buffered by half the side
   of a square gap of ``innenbereich.gap_area_m2`` (35 m at 4,900 m²) and dissolved: buildings up to 70 m
   apart join one *settlement body*;
2. a body is a built-up area (an *Ortsteil*) where it holds at least ``innenbereich.min_buildings`` main
   buildings and their footprint covers at least ``innenbereich.coverage_threshold`` of its closing (the
   body shrunk back by the same distance, so its outline runs along the outer walls); smaller or sparser
   groups are a Splittersiedlung in the Außenbereich;
3. the built-up area is the body shrunk back to ``innenbereich.edge_margin_m`` beyond the outer walls
   (the closing alone would cut a single row of houses at each gap), with enclosed holes smaller than the
   gap area filled (an unbuilt lot among houses stays inside);
4. a parcel is inside where at least ``innenbereich.min_share`` of it lies in a built-up area, or where a
   main building of a built-up area stands on it (the whole lot of a house at the edge counts, not just
   the part up to its outer wall).

Measured against the settlement land use of the full ALKIS of Monzel (RLP) and Massenheim (Hessen), see
the flag README. It is an estimate for flagging, not a legal finding: the planner decides §34 case by case.

Examples
--------
>>> import shapely
>>> from flaechen.flag.rules import load_rules
>>> houses = shapely.box([0, 30, 60, 90, 120, 150], 0, [12, 42, 72, 102, 132, 162], 10)
>>> est = estimate_built_up(houses, rules=load_rules())
>>> len(est.areas), est.buildings.tolist(), round(float(est.coverage[0]), 2)
(1, [6], 0.52)
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import shapely

from flaechen.flag.rules import Rules

log = logging.getLogger(__name__)

QUAD_SEGS = 4
"""Segments per quarter circle of the buffers: 4 keeps the outline within 2 % of the radius."""


@dataclass(frozen=True)
class BuiltUpEstimate:
    """The estimated built-up areas (Ortsteile) and which main building lies in which.

    Attributes
    ----------
    areas
        Polygons of the built-up areas.
    coverage
        Building coverage of each area (footprint of its main buildings / its area).
    buildings
        Number of main buildings in each area.
    building_area
        Index into `areas` for every input building (-1: not a main building, or not in a built-up area).
    """

    areas: np.ndarray
    coverage: np.ndarray
    buildings: np.ndarray
    building_area: np.ndarray


def _fill_small_holes(geoms: np.ndarray, max_area: float) -> np.ndarray:
    """Drop the interior rings smaller than `max_area` of each (multi)polygon."""
    out = geoms.copy()
    for i, geom in enumerate(geoms):
        if shapely.is_empty(geom):
            continue
        polys = shapely.get_parts(geom)
        if not any(len(p.interiors) for p in polys):
            continue
        filled = [
            shapely.Polygon(p.exterior, [r for r in p.interiors if shapely.Polygon(r).area >= max_area]) for p in polys
        ]
        out[i] = filled[0] if len(filled) == 1 else shapely.MultiPolygon(filled)
    return out


def estimate_built_up(building_geoms: np.ndarray, *, rules: Rules) -> BuiltUpEstimate:
    """Estimate the built-up areas from building footprints (see the module text).

    Parameters
    ----------
    building_geoms
        Building footprints (polygons) in a projected CRS, metres.
    rules
        Uses ``innenbereich.gap_area_m2``, ``min_building_area_m2``, ``min_buildings`` and
        ``coverage_threshold``.

    Returns
    -------
    BuiltUpEstimate
    """
    geoms = np.asarray(building_geoms, dtype=object)
    n = len(geoms)
    none = BuiltUpEstimate(
        np.empty(0, dtype=object), np.empty(0), np.empty(0, dtype=np.int64), np.full(n, -1, dtype=np.int64)
    )
    if n == 0:
        return none
    area = shapely.area(geoms)
    main = np.flatnonzero(area >= float(rules["innenbereich.min_building_area_m2"]))
    if len(main) == 0:
        return none
    radius = math.sqrt(float(rules["innenbereich.gap_area_m2"])) / 2.0
    margin = min(float(rules["innenbereich.edge_margin_m"]), radius)
    bodies = shapely.get_parts(shapely.union_all(shapely.buffer(geoms[main], radius, quad_segs=QUAD_SEGS)))
    # coverage over the closing (down to the outer walls); the area keeps a margin beyond them, so that a
    # single row of houses with a gap stays one area (the closing alone would cut it at the gap)
    closed = shapely.buffer(bodies, -radius, quad_segs=QUAD_SEGS)
    areas = shapely.buffer(bodies, -(radius - margin), quad_segs=QUAD_SEGS)
    areas = _fill_small_holes(areas, float(rules["innenbereich.gap_area_m2"]))
    # each main building belongs to the body holding its representative point
    points = shapely.point_on_surface(geoms[main])
    tree = shapely.STRtree(bodies)
    b_idx, p_idx = tree.query(points, predicate="within")
    first = np.unique(b_idx, return_index=True)[1]
    b_idx, p_idx = b_idx[first], p_idx[first]
    count = np.bincount(p_idx, minlength=len(bodies))
    foot = np.bincount(p_idx, weights=area[main][b_idx], minlength=len(bodies))
    coverage = foot / np.maximum(shapely.area(closed), 1e-9)
    keep = (
        (count >= int(rules["innenbereich.min_buildings"]))
        & (coverage >= float(rules["innenbereich.coverage_threshold"]))
        & ~shapely.is_empty(areas)
    )
    new_index = np.full(len(bodies), -1, dtype=np.int64)
    new_index[keep] = np.arange(int(keep.sum()))
    building_area = np.full(n, -1, dtype=np.int64)
    building_area[main[b_idx]] = new_index[p_idx]
    parts = areas
    log.info(
        "Innenbereich estimate: %d main buildings, %d settlement bodies, %d built-up areas (%.1f ha)",
        len(main),
        len(parts),
        int(keep.sum()),
        float(shapely.area(parts[keep]).sum()) / 10_000,
    )
    return BuiltUpEstimate(parts[keep], coverage[keep], count[keep], building_area)
