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
from typing import Any

import numpy as np
import shapely

from flaechen.flag.rules import Rules
from flaechen.workers import can_fork, fork_map, resolve_workers

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


def fill_small_holes(geoms: np.ndarray, max_area: float) -> np.ndarray:
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


MIN_PARALLEL_BUILDINGS = 20_000
"""Below this number of main buildings the settlement bodies are dissolved in this process."""


def _bodies_of(
    buffers: np.ndarray, components: list[np.ndarray], *, radius: float, margin: float, gap_area: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dissolve buffered main buildings into settlement bodies: the bodies, their closings' areas, their areas.

    Each component (:func:`box_components`) is dissolved on its own, so the bodies do not depend on how the
    components are shared among worker processes.
    """
    bodies = np.concatenate([shapely.get_parts(shapely.union_all(buffers[c])) for c in components])
    # coverage over the closing (down to the outer walls); the area keeps a margin beyond them, so that a
    # single row of houses with a gap stays one area (the closing alone would cut it at the gap)
    closed_area = shapely.area(shapely.buffer(bodies, -radius, quad_segs=QUAD_SEGS))
    areas = shapely.buffer(bodies, -(radius - margin), quad_segs=QUAD_SEGS)
    return bodies, closed_area, fill_small_holes(areas, gap_area)


def box_components(geoms: np.ndarray) -> np.ndarray:
    """Connected components of the geometries whose bounding boxes intersect: a label per geometry (the
    smallest position in its component).

    Geometries of different components are disjoint, so their union can be computed apart. Minimum-label
    propagation with pointer jumping on the pairs of one bulk STRtree query.

    Examples
    --------
    >>> box_components(shapely.box([0, 5, 20], 0, [6, 10, 25], 1)).tolist()
    [0, 0, 2]
    """
    a, b = shapely.STRtree(geoms).query(geoms)
    keep = a != b
    a, b = a[keep], b[keep]
    label = np.arange(len(geoms))
    while len(a):
        np.minimum.at(label, label[a], label[b])  # hook the root of a (every label is a root here)
        while True:
            jumped = label[label]
            if np.array_equal(jumped, label):
                break
            label = jumped
        # only the pairs whose ends still carry different labels take part in the next round
        keep = label[a] != label[b]
        a, b = a[keep], b[keep]
    return label


def _bodies_task(job: dict[str, Any], components: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _bodies_of(job["buffers"], components, radius=job["radius"], margin=job["margin"], gap_area=job["gap_area"])


def _settlement_bodies(
    main: np.ndarray, *, radius: float, margin: float, gap_area: float, workers: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The settlement bodies of the main buildings (:func:`_bodies_of`), in parallel over the components."""
    buffers = shapely.buffer(main, radius, quad_segs=QUAD_SEGS)
    label = np.unique(box_components(buffers), return_inverse=True)[1]
    order = np.argsort(label, kind="stable")
    components = np.split(order, np.flatnonzero(np.diff(label[order])) + 1)
    nworkers = resolve_workers(workers)
    if nworkers == 1 or len(main) < MIN_PARALLEL_BUILDINGS or not can_fork():
        return _bodies_of(buffers, components, radius=radius, margin=margin, gap_area=gap_area)
    # whole components into a few groups of about equal size, the largest first
    ngroups = 4 * nworkers
    load = np.zeros(ngroups)
    groups: list[list[np.ndarray]] = [[] for _ in range(ngroups)]
    for c in sorted(components, key=len, reverse=True):
        g = int(np.argmin(load))
        groups[g].append(c)
        load[g] += len(c)
    job = {"buffers": buffers, "radius": radius, "margin": margin, "gap_area": gap_area}
    parts = fork_map(_bodies_task, [g for g in groups if g], job=job, workers=nworkers)
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )


def estimate_built_up(building_geoms: np.ndarray, *, rules: Rules, workers: int | None = 1) -> BuiltUpEstimate:
    """Estimate the built-up areas from building footprints (see the module text).

    Parameters
    ----------
    building_geoms
        Building footprints (polygons) in a projected CRS, metres.
    rules
        Uses ``innenbereich.gap_area_m2``, ``min_building_area_m2``, ``min_buildings`` and
        ``coverage_threshold``.
    workers
        Worker processes for the settlement bodies (groups of buildings far enough apart never to join are
        dissolved in parallel); None uses every available core.

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
    bodies, closed_area, areas = _settlement_bodies(
        geoms[main],
        radius=radius,
        margin=margin,
        gap_area=float(rules["innenbereich.gap_area_m2"]),
        workers=workers,
    )
    # each main building belongs to the body holding its representative point; the tree holds the points
    # and the few large bodies query it (each body is prepared once: querying the bodies' tree with the
    # points would test every point against an unprepared body with thousands of vertices)
    points = shapely.point_on_surface(geoms[main])
    body_of, point = shapely.STRtree(points).query(bodies, predicate="contains")
    order = np.lexsort((body_of, point))
    first = order[np.r_[True, point[order][1:] != point[order][:-1]]] if len(order) else order
    estimate = select_built_up(areas, closed_area, area, main, building=point[first], body=body_of[first], rules=rules)
    log.info(
        "Innenbereich estimate: %d main buildings, %d settlement bodies, %d built-up areas (%.1f ha)",
        len(main),
        len(areas),
        len(estimate.areas),
        float(shapely.area(estimate.areas).sum()) / 10_000,
    )
    return estimate


def select_built_up(
    areas: np.ndarray,
    closed_area: np.ndarray,
    building_area: np.ndarray,
    main: np.ndarray,
    *,
    building: np.ndarray,
    body: np.ndarray,
    rules: Rules,
) -> BuiltUpEstimate:
    """The settlement bodies that are built-up areas: enough main buildings, enough coverage.

    Parameters
    ----------
    areas, closed_area
        Per settlement body: its built-up area (shrunk to the edge margin, small holes filled) and the area
        of the body closed back to the buildings (the coverage's denominator).
    building_area
        Footprint area of every building.
    main
        Indices of the main buildings among all buildings.
    building, body
        Pairs: the main building ``main[building]`` lies in settlement body ``body`` (each at most once).
    rules
        ``innenbereich.min_buildings`` and ``innenbereich.coverage_threshold``.
    """
    count = np.bincount(body, minlength=len(areas))
    foot = np.bincount(body, weights=building_area[main][building], minlength=len(areas))
    coverage = foot / np.maximum(closed_area, 1e-9)
    keep = (
        (count >= int(rules["innenbereich.min_buildings"]))
        & (coverage >= float(rules["innenbereich.coverage_threshold"]))
        & ~shapely.is_empty(areas)
    )
    new_index = np.full(len(areas), -1, dtype=np.int64)
    new_index[keep] = np.arange(int(keep.sum()))
    area_of_building = np.full(len(building_area), -1, dtype=np.int64)
    area_of_building[main[building]] = new_index[body]
    return BuiltUpEstimate(areas[keep], coverage[keep], count[keep], area_of_building)
