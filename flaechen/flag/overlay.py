"""Exact overlap areas between parcels and polygon layers, through one STRtree over the parcels.

The expensive part of flagging is the area of intersection between a parcel and a zoning area, a
brownfield, a building or a constraint polygon. This module spends an exact intersection only where it is
needed:

1. one STRtree over the parcels, built once (:class:`ParcelIndex`), is queried in bulk with each layer's
   features, ``tree.query(features, predicate="intersects")``: every candidate pair, no Python loop over
   features (each feature is prepared once by the query; querying with the few large zoning polygons is
   several times faster than querying with the many parcels);
2. where a parcel's bounding box lies inside the feature's, a prepared ``covers`` test decides whether the
   feature covers the whole parcel: the overlap is then the parcel's area, no intersection computed;
3. where the feature's bounding box lies inside the parcel's (a building on its parcel), a prepared
   ``covers`` test decides whether the parcel covers the whole feature: the overlap is the feature's area;
4. only the remaining pairs, those crossing an edge, pay for an exact intersection area: a vectorised
   convex clipping where one side is convex (:mod:`flaechen.flag.clip`), GEOS ``intersection`` otherwise.

Each layer's features are processed in chunks; with ``workers > 1`` the chunks run in forked worker
processes that inherit the tree and the geometries without copying them through pickles (Linux), and
each worker prepares its own geometries (GEOS prepared geometries are not shared between threads or
processes). Where ``fork`` is not available the chunks run one after the other.

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

import itertools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from flaechen.flag.clip import RingArrays, pair_areas
from flaechen.workers import can_fork, fork_map, resolve_workers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OverlayLayer:
    """A polygon layer ready for overlap queries: its geometries, bounds and areas (computed once)."""

    geoms: np.ndarray
    bounds: np.ndarray
    area: np.ndarray

    @classmethod
    def build(cls, geoms: Any) -> OverlayLayer:
        """Prepare the arrays of a layer (an array, GeoSeries or list of shapely geometries)."""
        arr = np.asarray(geoms, dtype=object)
        return cls(geoms=arr, bounds=shapely.bounds(arr), area=shapely.area(arr))


@dataclass(frozen=True)
class ParcelIndex:
    """The parcels with their STRtree, bounds and areas: built once per run, queried by every layer."""

    geoms: np.ndarray
    tree: shapely.STRtree
    bounds: np.ndarray
    area: np.ndarray

    @classmethod
    def build(cls, parcels: Any) -> ParcelIndex:
        """Index the parcels (an array, GeoSeries or list of shapely polygons)."""
        arr = np.asarray(parcels, dtype=object)
        tree = shapely.STRtree(arr)
        # Force the tree's construction now, before any worker process inherits it.
        tree.query(shapely.box(0, 0, 0, 0))
        return cls(geoms=arr, tree=tree, bounds=shapely.bounds(arr), area=shapely.area(arr))

    def __len__(self) -> int:
        return len(self.geoms)


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


def overlaps_chunk(index: ParcelIndex, layer: OverlayLayer, *, start: int = 0, stop: int | None = None) -> Overlaps:
    """Overlaps of the parcels with the features ``start:stop`` of one layer (steps 1–4 of the module docstring).

    Parameters
    ----------
    index
        The parcels and their STRtree.
    layer
        The polygon layer.
    start, stop
        The chunk of the layer's features; the whole layer by default.
    """
    stop = len(layer.geoms) if stop is None else stop
    if len(index) == 0 or stop <= start:
        return Overlaps.empty()
    oi, pi = index.tree.query(layer.geoms[start:stop], predicate="intersects")
    oi = oi.astype(np.int64) + start
    pi = pi.astype(np.int64)
    parcels = index.geoms
    n = len(pi)
    area = np.empty(n, dtype=np.float64)
    done = np.zeros(n, dtype=bool)

    # Parcel wholly inside one feature: take the parcel's area.
    test = np.flatnonzero(_bbox_within(index.bounds[pi], layer.bounds[oi]))
    if len(test):
        others = layer.geoms[oi[test]]
        shapely.prepare(others)
        hit = test[shapely.covers(others, parcels[pi[test]])]
        area[hit] = index.area[pi[hit]]
        done[hit] = True

    # Feature wholly inside the parcel (a building on its parcel): take the feature's area.
    test = np.flatnonzero(~done & _bbox_within(layer.bounds[oi], index.bounds[pi]))
    if len(test):
        owners = parcels[pi[test]]
        shapely.prepare(owners)
        hit = test[shapely.covers(owners, layer.geoms[oi[test]])]
        area[hit] = layer.area[oi[hit]]
        done[hit] = True

    # Pairs crossing an edge: exact intersection area (convex clipping, else GEOS).
    rest = np.flatnonzero(~done)
    if len(rest):
        # flat rings only of the geometries involved, built here (in the worker)
        up, pinv = np.unique(pi[rest], return_inverse=True)
        uo, oinv = np.unique(oi[rest], return_inverse=True)
        pg, og = parcels[up], layer.geoms[uo]
        area[rest] = pair_areas(pg, RingArrays.build(pg), pinv, og, RingArrays.build(og), oinv)
    return Overlaps(parcel=pi, other=oi, area=area, exact=~done)


@dataclass(frozen=True)
class _Job:
    index: ParcelIndex
    layers: Mapping[str, OverlayLayer]


def _run_chunk(job: _Job, task: tuple[str, int, int]) -> tuple[str, Overlaps]:
    name, start, stop = task
    return name, overlaps_chunk(job.index, job.layers[name], start=start, stop=stop)


def indexed_overlaps(
    parcels: Any,
    layers: Mapping[str, OverlayLayer],
    *,
    workers: int | None = 1,
    min_parcels: int = 20_000,
) -> dict[str, Overlaps]:
    """Exact overlaps of every parcel with every feature of each layer.

    Parameters
    ----------
    parcels
        A :class:`ParcelIndex` (built once per run), or parcel polygons (array, GeoSeries or list).
    layers
        Layers by name, each built once with :meth:`OverlayLayer.build`.
    workers
        Worker processes; None uses every available core.
    min_parcels
        Below this number of parcels everything runs in this process (forking would cost more).

    Returns
    -------
    dict
        ``{layer name: Overlaps}``.
    """
    index = parcels if isinstance(parcels, ParcelIndex) else ParcelIndex.build(parcels)
    job = _Job(index=index, layers=layers)
    nworkers = resolve_workers(workers)
    if nworkers > 1 and not can_fork():
        log.info("no 'fork' start method on this platform: overlaps run in one process")
        nworkers = 1
    if len(index) < min_parcels:
        nworkers = 1
    tasks: list[tuple[str, int, int]] = []
    for name, layer in layers.items():
        m = len(layer.geoms)
        nchunks = max(1, min(4 * nworkers, m // 50)) if nworkers > 1 else 1
        edges = np.linspace(0, m, nchunks + 1).astype(int)
        tasks += [(name, int(a), int(b)) for a, b in itertools.pairwise(edges)]
    if nworkers > 1:
        # the biggest chunks first, so the last ones to finish are small
        tasks.sort(key=lambda t: -(t[2] - t[1]) * len(index) / max(1, len(layers[t[0]].geoms)))
        log.debug("overlaps: %d chunks on %d processes", len(tasks), nworkers)
    parts = fork_map(_run_chunk, tasks, job=job, workers=nworkers)
    return {name: Overlaps.concat([ov for n, ov in parts if n == name]) for name in layers}


def tiles(areas: np.ndarray, *, size: float, max_vertices: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Cut polygons into the cells of a square grid: the pieces and the index of the polygon of each.

    Each polygon is halved at a grid line across the longer side of its bounding box, and the halves again,
    until every piece lies in one cell (GEOS' rectangle clipping; every level costs one pass over the
    vertices, not one per cell); with `max_vertices`, a piece with more vertices is halved further at the
    middle of its bounding box (down to a side of 1/16 of a cell). Empty and non-polygonal pieces (a cell
    touching an edge) are dropped, so the pieces of a polygon add up to its area.

    Examples
    --------
    >>> pieces, owner = tiles(np.array([shapely.box(0, 0, 250, 100)]), size=200.0)
    >>> sorted(shapely.area(pieces).tolist()), owner.tolist()
    ([5000.0, 20000.0], [0, 0])
    """
    areas = np.asarray(areas, dtype=object)
    done: list[np.ndarray] = []
    done_owner: list[np.ndarray] = []
    pieces, owner = areas, np.arange(len(areas))
    while len(pieces):
        parts, part_of = shapely.get_parts(pieces, return_index=True)
        keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)
        pieces, owner = parts[keep], owner[part_of[keep]]
        b = shapely.bounds(pieces)
        # cells spanned: a bound on a grid line belongs to the cell below it
        i0, i1 = np.floor(b[:, 0] / size), np.ceil(b[:, 2] / size) - 1
        j0, j1 = np.floor(b[:, 1] / size), np.ceil(b[:, 3] / size) - 1
        nx, ny = np.maximum(i1 - i0 + 1, 1), np.maximum(j1 - j0 + 1, 1)
        one = (nx == 1) & (ny == 1)
        # a piece of one cell with too many vertices: halved at its middle (not at a grid line)
        dense = np.zeros(len(pieces), dtype=bool)
        if max_vertices is not None:
            side = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
            dense = one & (shapely.get_num_coordinates(pieces) > max_vertices) & (side > size / 16)
            one &= ~dense
        done.append(pieces[one])
        done_owner.append(owner[one])
        split = np.flatnonzero(~one)
        halves = []
        for k in split.tolist():
            x0, y0, x1, y1 = b[k].tolist()
            if dense[k]:
                if x1 - x0 >= y1 - y0:
                    cut = (x0 + x1) / 2
                    halves += [
                        shapely.clip_by_rect(pieces[k], x0, y0, cut, y1),
                        shapely.clip_by_rect(pieces[k], cut, y0, x1, y1),
                    ]
                else:
                    cut = (y0 + y1) / 2
                    halves += [
                        shapely.clip_by_rect(pieces[k], x0, y0, x1, cut),
                        shapely.clip_by_rect(pieces[k], x0, cut, x1, y1),
                    ]
            elif nx[k] >= ny[k]:
                cut = float(i0[k] + nx[k] // 2) * size
                halves += [
                    shapely.clip_by_rect(pieces[k], x0, y0, cut, y1),
                    shapely.clip_by_rect(pieces[k], cut, y0, x1, y1),
                ]
            else:
                cut = float(j0[k] + ny[k] // 2) * size
                halves += [
                    shapely.clip_by_rect(pieces[k], x0, y0, x1, cut),
                    shapely.clip_by_rect(pieces[k], x0, cut, x1, y1),
                ]
        pieces = np.array(halves, dtype=object)
        owner = np.repeat(owner[split], 2)
    if not done:
        return np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
    return np.concatenate(done), np.concatenate(done_owner).astype(np.int64)


def large_overlaps(
    parcels: Any,
    areas: np.ndarray,
    *,
    tile_size: float = 200.0,
    max_vertices: int | None = 32,
    workers: int | None = 1,
) -> Overlaps:
    """Exact overlaps of the parcels with a few large polygons of many vertices (e.g. built-up areas).

    Each large polygon queries the parcels' tree once (it is prepared once by the query), and a prepared
    ``covers`` test settles every parcel wholly inside it. Only the parcels crossing its outline pay for an
    exact area: against the polygon cut into ``tile_size`` tiles (:func:`tiles`, few vertices per piece),
    through :func:`indexed_overlaps`. One row per (parcel, polygon) pair; ``exact`` marks the crossing ones.

    Parameters
    ----------
    parcels
        A :class:`ParcelIndex`, or parcel polygons.
    areas
        The large polygons.
    tile_size
        Side of the tiles, in CRS units.
    max_vertices
        Tiles with more vertices are halved further (:func:`tiles`): the exact clipping of a parcel
        against a piece costs in proportion to the piece's vertices.
    workers
        Worker processes for the exact part; None uses every available core.

    Examples
    --------
    >>> parcels = shapely.box([0, 10, 500], 0, [10, 20, 510], 10)
    >>> ov = large_overlaps(parcels, np.array([shapely.box(-5, -5, 15, 30)]))
    >>> ov.parcel.tolist(), ov.area.tolist(), ov.exact.tolist()
    ([0, 1], [100.0, 50.0], [False, True])
    """
    index = parcels if isinstance(parcels, ParcelIndex) else ParcelIndex.build(parcels)
    areas = np.asarray(areas, dtype=object)
    if len(index) == 0 or len(areas) == 0:
        return Overlaps.empty()
    oi, pi = index.tree.query(areas, predicate="intersects")
    oi, pi = oi.astype(np.int64), pi.astype(np.int64)
    covered = np.zeros(len(pi), dtype=bool)
    test = np.flatnonzero(_bbox_within(index.bounds[pi], shapely.bounds(areas)[oi]))
    if len(test):
        shapely.prepare(areas)
        covered[test] = shapely.covers(areas[oi[test]], index.geoms[pi[test]])
    area = np.where(covered, index.area[pi], 0.0)
    cross = np.flatnonzero(~covered)
    if len(cross):
        sub = np.unique(pi[cross])
        pieces, owner = tiles(areas, size=tile_size, max_vertices=max_vertices)
        ov = indexed_overlaps(
            ParcelIndex.build(index.geoms[sub]), {"pieces": OverlayLayer.build(pieces)}, workers=workers
        )["pieces"]
        # the areas of the pieces of one polygon add up, per crossing (parcel, polygon) pair
        n_areas = len(areas)
        piece_key = sub[ov.parcel] * n_areas + owner[ov.other]
        ukey, inv = np.unique(piece_key, return_inverse=True)
        sums = np.bincount(inv, weights=ov.area, minlength=len(ukey))
        cross_key = pi[cross] * n_areas + oi[cross]
        pos = np.minimum(np.searchsorted(ukey, cross_key), max(len(ukey) - 1, 0))
        found = (ukey[pos] == cross_key) if len(ukey) else np.zeros(len(cross), dtype=bool)
        area[cross] = np.where(found, sums[pos] if len(ukey) else 0.0, 0.0)
    order = np.lexsort((oi, pi))
    return Overlaps(parcel=pi[order], other=oi[order], area=area[order], exact=~covered[order])
