"""Exact overlap areas between parcels and polygon layers, through one STRtree per layer.

The expensive part of flagging is the area of intersection between a parcel and a zoning area, a
brownfield, a building or a constraint polygon. This module spends an exact intersection only where it is
needed:

1. one bulk ``STRtree.query(parcels, predicate="intersects")`` per layer yields every candidate pair
   (no Python loop over features);
2. where a parcel's bounding box lies inside the polygon's, a prepared ``covers`` test decides whether the
   polygon covers the whole parcel: the overlap is then the parcel's area, no intersection computed;
3. where the polygon's bounding box lies inside the parcel's (a building on its parcel), a prepared
   ``covers`` test decides whether the parcel covers the whole polygon: the overlap is the polygon's area;
4. only the remaining pairs, those crossing an edge, pay for ``intersection`` + ``area``.

Parcels are processed in chunks; with ``workers > 1`` the chunks run in forked worker processes that
inherit the trees and geometries without copying them through pickles (Linux). Where ``fork`` is not
available the chunks run one after the other.

Examples
--------
>>> import shapely
>>> parcels = shapely.box([0, 10], 0, [10, 20], 10)
>>> layer = OverlayLayer.build(shapely.box([-5, 15], -5, [12, 30], 30))
>>> ov = indexed_overlaps(parcels, {"zoning": layer})["zoning"]
>>> ov.parcel.tolist(), ov.other.tolist(), ov.area.round(1).tolist()
([0, 1, 1], [0, 0, 1], [100.0, 20.0, 50.0])
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OverlayLayer:
    """A polygon layer ready for overlap queries: geometries, their STRtree, bounds and areas.

    Build it once per layer with :meth:`build`.
    """

    geoms: np.ndarray
    tree: shapely.STRtree
    bounds: np.ndarray
    area: np.ndarray

    @classmethod
    def build(cls, geoms: Any) -> OverlayLayer:
        """Index the geometries (an array, GeoSeries or list of shapely geometries)."""
        arr = np.asarray(geoms, dtype=object)
        tree = shapely.STRtree(arr)
        # Force the tree's construction now, before any worker process inherits it.
        tree.query(shapely.box(0, 0, 0, 0))
        return cls(geoms=arr, tree=tree, bounds=shapely.bounds(arr), area=shapely.area(arr))


@dataclass(frozen=True)
class Overlaps:
    """Pairs (parcel, feature) that intersect, with the exact area they share.

    Attributes
    ----------
    parcel, other
        Positions of the parcel and of the layer's feature (int64 arrays of equal length).
    area
        Area shared by each pair, in CRS units² (0 for pairs that only touch).
    exact
        True where the area needed an intersection (the pair crosses an edge); False where it came from
        a covers test.
    """

    parcel: np.ndarray
    other: np.ndarray
    area: np.ndarray
    exact: np.ndarray

    @classmethod
    def empty(cls) -> Overlaps:
        return cls(
            parcel=np.empty(0, np.int64),
            other=np.empty(0, np.int64),
            area=np.empty(0, np.float64),
            exact=np.empty(0, bool),
        )

    @classmethod
    def concat(cls, parts: list[Overlaps]) -> Overlaps:
        if not parts:
            return cls.empty()
        return cls(
            parcel=np.concatenate([p.parcel for p in parts]),
            other=np.concatenate([p.other for p in parts]),
            area=np.concatenate([p.area for p in parts]),
            exact=np.concatenate([p.exact for p in parts]),
        )

    def __len__(self) -> int:
        return len(self.parcel)


def _bbox_within(inner: np.ndarray, outer: np.ndarray) -> np.ndarray:
    return (
        (inner[:, 0] >= outer[:, 0])
        & (inner[:, 1] >= outer[:, 1])
        & (inner[:, 2] <= outer[:, 2])
        & (inner[:, 3] <= outer[:, 3])
    )


def overlaps_chunk(
    parcels: np.ndarray,
    parcel_bounds: np.ndarray,
    parcel_area: np.ndarray,
    layer: OverlayLayer,
    *,
    offset: int = 0,
) -> Overlaps:
    """Overlaps of a chunk of parcels with one indexed layer (the four steps of the module docstring).

    Parameters
    ----------
    parcels, parcel_bounds, parcel_area
        The chunk's geometries, their bounds (n × 4) and areas.
    layer
        The indexed polygon layer.
    offset
        Added to the returned parcel positions (position of the chunk in the whole parcel array).
    """
    if len(parcels) == 0 or len(layer.geoms) == 0:
        return Overlaps.empty()
    pi, oi = layer.tree.query(parcels, predicate="intersects")
    n = len(pi)
    area = np.empty(n, dtype=np.float64)
    done = np.zeros(n, dtype=bool)

    # Parcel wholly inside one polygon: take the parcel's area.
    test = np.flatnonzero(_bbox_within(parcel_bounds[pi], layer.bounds[oi]))
    if len(test):
        others = layer.geoms[oi[test]]
        shapely.prepare(others)
        hit = test[shapely.covers(others, parcels[pi[test]])]
        area[hit] = parcel_area[pi[hit]]
        done[hit] = True

    # Polygon wholly inside the parcel (a building on its parcel): take the polygon's area.
    test = np.flatnonzero(~done & _bbox_within(layer.bounds[oi], parcel_bounds[pi]))
    if len(test):
        owners = parcels[pi[test]]
        shapely.prepare(owners)
        hit = test[shapely.covers(owners, layer.geoms[oi[test]])]
        area[hit] = layer.area[oi[hit]]
        done[hit] = True

    # Pairs crossing an edge: exact intersection.
    rest = np.flatnonzero(~done)
    if len(rest):
        a, b = parcels[pi[rest]], layer.geoms[oi[rest]]
        try:
            area[rest] = shapely.area(shapely.intersection(a, b))
        except shapely.errors.GEOSException as exc:
            # An invalid geometry slipped through (the harmonise step repairs them): repair, log, go on.
            log.warning("intersection failed (%s); repeating it on repaired geometries (make_valid)", exc)
            area[rest] = shapely.area(shapely.intersection(shapely.make_valid(a), shapely.make_valid(b)))
    return Overlaps(parcel=pi.astype(np.int64) + offset, other=oi.astype(np.int64), area=area, exact=~done)


@dataclass(frozen=True)
class _Job:
    parcels: np.ndarray
    bounds: np.ndarray
    area: np.ndarray
    layers: Mapping[str, OverlayLayer]


def _run_chunk(job: _Job, start: int, stop: int) -> dict[str, Overlaps]:
    sl = slice(start, stop)
    return {
        name: overlaps_chunk(job.parcels[sl], job.bounds[sl], job.area[sl], layer, offset=start)
        for name, layer in job.layers.items()
    }


# The job a forked worker process inherited from its parent; set once per worker by `_init_worker`,
# never in the parent process.
_WORKER_JOB: dict[str, _Job] = {}


def _init_worker(job: _Job) -> None:
    _WORKER_JOB["job"] = job


def _run_chunk_in_worker(start: int, stop: int) -> dict[str, Overlaps]:
    return _run_chunk(_WORKER_JOB["job"], start, stop)


def resolve_workers(workers: int | None) -> int:
    """Number of worker processes: `workers`, or all available cores when None."""
    if workers is None:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not on Linux
            return max(1, os.cpu_count() or 1)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    return workers


def indexed_overlaps(
    parcels: Any,
    layers: Mapping[str, OverlayLayer],
    *,
    workers: int | None = 1,
    min_chunk: int = 20_000,
) -> dict[str, Overlaps]:
    """Exact overlaps of every parcel with every feature of each indexed layer.

    Parameters
    ----------
    parcels
        Parcel polygons (array, GeoSeries or list).
    layers
        Indexed layers by name, each built once with :meth:`OverlayLayer.build`.
    workers
        Worker processes; None uses every available core. Below `min_chunk` parcels per worker the work
        runs in this process.
    min_chunk
        Smallest number of parcels worth a worker process.

    Returns
    -------
    dict
        ``{layer name: Overlaps}``, pairs ordered by parcel chunk.
    """
    arr = np.asarray(parcels, dtype=object)
    job = _Job(parcels=arr, bounds=shapely.bounds(arr), area=shapely.area(arr), layers=layers)
    n = len(arr)
    nworkers = min(resolve_workers(workers), max(1, n // max(1, min_chunk)))
    if nworkers > 1 and "fork" not in multiprocessing.get_all_start_methods():
        log.info("no 'fork' start method on this platform: overlaps run in one process")
        nworkers = 1
    if nworkers == 1:
        return _run_chunk(job, 0, n)

    nchunks = nworkers * 2
    edges = np.linspace(0, n, nchunks + 1).astype(int)
    log.debug("overlaps: %d parcels in %d chunks on %d processes", n, nchunks, nworkers)
    with ProcessPoolExecutor(
        max_workers=nworkers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_init_worker,
        initargs=(job,),
    ) as pool:
        parts = list(pool.map(_run_chunk_in_worker, edges[:-1], edges[1:]))
    return {name: Overlaps.concat([p[name] for p in parts]) for name in layers}
