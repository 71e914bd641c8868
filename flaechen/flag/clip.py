"""Exact intersection areas of many polygon pairs, vectorised: convex clipping where it applies, GEOS elsewhere.

GEOS' ``intersection`` (OverlayNG) is robust for any input but carries a large constant cost per pair. Where
one polygon of a pair is convex — most parcels are convex quadrilaterals, most buildings rectangles — the
area of the intersection follows from clipping the other polygon's rings against the convex one, one
half-plane per convex edge (Sutherland–Hodgman). This module runs that clipping for all pairs at once with
numpy, stage by stage, on flat coordinate arrays (:class:`RingArrays`, built once per layer with
``shapely.to_ragged_array``, so no geometry objects are created per pair). Only the area is needed, so the
zero-width bridges the algorithm can leave along clip edges (concave subjects) contribute nothing. Holes
are clipped like exterior rings and subtracted; multipolygon subjects add up their parts. Coordinates are
shifted to the convex polygon's first vertex before any arithmetic, as GEOS does for areas, so large
projected coordinates lose no precision.

Pairs where neither polygon is a convex single ring with at most ``max_edges`` edges go to GEOS.

Examples
--------
>>> import numpy as np, shapely
>>> a = np.array([shapely.box(0, 0, 10, 10), shapely.Polygon([(0, 0), (4, 0), (4, 1), (1, 1), (1, 4), (0, 4)])])
>>> b = np.array([shapely.box(5, 5, 20, 20), shapely.box(0.5, 0.5, 3, 3)])
>>> intersection_area(a, b).round(6).tolist()
[25.0, 2.25]
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import shapely
from shapely import GeometryType

log = logging.getLogger(__name__)

MAX_EDGES = 16
"""Convex polygons with more edges are not used as clip polygons (their pairs go to GEOS)."""


@dataclass(frozen=True)
class RingArrays:
    """The rings of an array of (multi)polygons as flat arrays, and which geometries are convex.

    Attributes
    ----------
    x, y
        Vertex coordinates, ring after ring, without the closing vertex.
    ring_offsets
        Ring r holds vertices ``ring_offsets[r] : ring_offsets[r + 1]``.
    ring_sign
        +1 for exterior rings, -1 for holes.
    geom_offsets
        Geometry g holds rings ``geom_offsets[g] : geom_offsets[g + 1]``.
    clip_row
        Row of geometry g in `clip_xy`, or -1 where g cannot serve as a convex clip polygon.
    polygonal
        True for polygons and multipolygons: only these can be clipped (others, e.g. a geometry
        collection from ``make_valid``, go to GEOS).
    clip_xy, clip_orientation
        Vertices of the convex geometries (closed, padded to the longest by repeating the closing vertex:
        zero-length edges clip nothing) and +1 / -1 for counter-clockwise / clockwise.
    """

    x: np.ndarray
    y: np.ndarray
    ring_offsets: np.ndarray
    ring_sign: np.ndarray
    geom_offsets: np.ndarray
    clip_row: np.ndarray
    clip_xy: np.ndarray
    clip_orientation: np.ndarray
    polygonal: np.ndarray

    @classmethod
    def build(cls, geoms: np.ndarray, *, max_edges: int = MAX_EDGES) -> RingArrays:
        """Flatten the rings of `geoms` (polygons and multipolygons; others get no rings)."""
        geoms = np.asarray(geoms, dtype=object)
        n = len(geoms)
        if n == 0:
            zi, zf = np.zeros(1, dtype=np.int64), np.empty(0)
            empty = np.empty(0, dtype=np.int64)
            return cls(zf, zf, zi, zf, zi, empty, np.empty((0, 1, 2)), zf, np.empty(0, dtype=bool))
        coords, ring_off, part_off, geom_off = _ragged(geoms)
        types = shapely.get_type_id(geoms)
        polygonal = np.isin(types, (GeometryType.POLYGON, GeometryType.MULTIPOLYGON))
        ring_off = ring_off.astype(np.int64)
        part_off = part_off.astype(np.int64)
        geom_off = geom_off.astype(np.int64)
        nrings = len(ring_off) - 1
        # drop the closing vertex of every ring
        keep = np.ones(len(coords), dtype=bool)
        if nrings:
            keep[ring_off[1:] - 1] = False
        x, y = coords[keep, 0].copy(), coords[keep, 1].copy()
        open_off = ring_off - np.arange(nrings + 1)
        ring_sign = -np.ones(nrings)
        ring_sign[part_off[:-1][part_off[:-1] < nrings]] = 1.0
        geom_rings = part_off[geom_off]  # geometry g → rings part_off[geom_off[g]] … part_off[geom_off[g+1]]

        # convex single rings
        nparts = np.diff(geom_off)
        ngrings = np.diff(geom_rings)
        single = (nparts == 1) & (ngrings == 1)
        cand = np.flatnonzero(single)
        first_ring = geom_rings[cand]
        count = open_off[first_ring + 1] - open_off[first_ring]
        ok = (count >= 3) & (count <= max_edges)
        cand, first_ring, count = cand[ok], first_ring[ok], count[ok]
        clip_row = np.full(n, -1, dtype=np.int64)
        if len(cand) == 0:
            return cls(x, y, open_off, ring_sign, geom_rings, clip_row, np.empty((0, 1, 2)), np.empty(0), polygonal)
        k = int(count.max())
        pos = np.minimum(np.arange(k + 1)[None, :], count[:, None])  # vertex k wraps to vertex 0
        pos = np.where(pos == count[:, None], 0, pos)
        vidx = open_off[first_ring][:, None] + pos
        xy = np.stack([x[vidx], y[vidx]], axis=-1)
        # pad: every position after the closing vertex repeats it
        beyond = np.arange(k + 1)[None, :] > count[:, None]
        xy = np.where(beyond[..., None], xy[:, :1, :], xy)
        rel = xy - xy[:, :1, :]
        e = np.diff(rel, axis=1)  # k edges, the real ones first
        real = np.arange(k)[None, :] < count[:, None]
        e_next = np.roll(e, -1, axis=1)
        e_next[np.arange(len(cand)), count - 1] = e[:, 0]
        cross = np.where(real, e[..., 0] * e_next[..., 1] - e[..., 1] * e_next[..., 0], 0.0)
        area2 = (rel[:, :-1, 0] * rel[:, 1:, 1] - rel[:, 1:, 0] * rel[:, :-1, 1]).sum(axis=1)
        convex = ~((cross > 0).any(axis=1) & (cross < 0).any(axis=1)) & (area2 != 0)
        clip_row[cand[convex]] = np.arange(int(convex.sum()))
        return cls(x, y, open_off, ring_sign, geom_rings, clip_row, xy[convex], np.sign(area2[convex]), polygonal)


def _ragged(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates (closed rings) and ring, part and geometry offsets, as ``shapely.to_ragged_array``.

    Polygons without holes and one-part multipolygons without holes (nearly every parcel and building)
    take a fast path through ``get_coordinates``, which creates no ring geometries.
    """
    n = len(geoms)
    types = shapely.get_type_id(geoms)
    polygonal = np.isin(types, (GeometryType.POLYGON, GeometryType.MULTIPOLYGON)) & ~shapely.is_empty(geoms)
    first = geoms.copy()
    multi = np.flatnonzero(polygonal & (types == GeometryType.MULTIPOLYGON))
    if len(multi):
        first[multi] = shapely.get_geometry(geoms[multi], 0)
    simple = polygonal & (shapely.get_num_geometries(geoms) == 1) & (shapely.get_num_interior_rings(first) == 0)
    if simple.all():
        coords, idx = shapely.get_coordinates(geoms, return_index=True)
        counts = np.bincount(idx, minlength=n)
        ring_off = np.concatenate([[0], np.cumsum(counts)])
        return coords, ring_off, np.arange(n + 1), np.arange(n + 1)
    use = np.where(polygonal, geoms, shapely.from_wkt("MULTIPOLYGON EMPTY"))
    _, coords, (ring_off, part_off, geom_off) = shapely.to_ragged_array(_as_multi(use))
    return coords, ring_off, part_off, geom_off


def _as_multi(geoms: np.ndarray) -> np.ndarray:
    """Every geometry as a MultiPolygon (to_ragged_array needs one type)."""
    out = geoms.copy()
    single = shapely.get_type_id(out) == GeometryType.POLYGON
    idx = np.flatnonzero(single)
    if len(idx):
        out[idx] = shapely.multipolygons(out[idx], indices=np.arange(len(idx)))
    return out


def _expand(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For runs (start, count): the flat positions start … start+count-1 and the run each belongs to."""
    run = np.repeat(np.arange(len(counts)), counts)
    offset = np.arange(len(run)) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + offset, run


def _clip_stage(
    x: np.ndarray,
    y: np.ndarray,
    ring: np.ndarray,
    ax: np.ndarray,
    ay: np.ndarray,
    bx: np.ndarray,
    by: np.ndarray,
    s: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clip open rings (grouped by `ring`) against the half-plane left of a → b (right where s = -1)."""
    m = len(x)
    new = np.ones(m, dtype=bool)
    new[1:] = ring[1:] != ring[:-1]
    first = np.flatnonzero(new)
    last = np.concatenate([first[1:], [m]]) - 1
    succ = np.arange(1, m + 1)
    succ[last] = first
    qx, qy = x[succ], y[succ]
    ex, ey = bx - ax, by - ay
    cp = s[ring] * (ex[ring] * (y - ay[ring]) - ey[ring] * (x - ax[ring]))
    cq = cp[succ]
    pin, qin = cp >= 0, cq >= 0
    crossing = pin != qin
    denom = np.where(crossing, cp - cq, 1.0)
    t = np.where(crossing, cp / denom, 0.0)
    ix, iy = x + t * (qx - x), y + t * (qy - y)
    both = pin & qin
    n_emit = np.where(both, 1, np.where(crossing, np.where(qin, 2, 1), 0))
    start = np.cumsum(n_emit) - n_emit
    total = int(n_emit.sum())
    ox, oy = np.empty(total), np.empty(total)
    emit = n_emit > 0
    ox[start[emit]] = np.where(both, qx, ix)[emit]
    oy[start[emit]] = np.where(both, qy, iy)[emit]
    two = n_emit == 2
    ox[start[two] + 1] = qx[two]
    oy[start[two] + 1] = qy[two]
    return ox, oy, np.repeat(ring, n_emit)


def _ring_areas(x: np.ndarray, y: np.ndarray, ring: np.ndarray, nrings: int) -> np.ndarray:
    m = len(x)
    if m == 0:
        return np.zeros(nrings)
    new = np.ones(m, dtype=bool)
    new[1:] = ring[1:] != ring[:-1]
    first = np.flatnonzero(new)
    last = np.concatenate([first[1:], [m]]) - 1
    succ = np.arange(1, m + 1)
    succ[last] = first
    twice = x * y[succ] - x[succ] * y
    return np.abs(np.bincount(ring, weights=twice, minlength=nrings)) / 2


MAX_BATCH_VERTICES = 2_000_000
"""Subject vertices clipped at once: every pair repeats its subject's vertices, so one large polygon (a
forest or field of the land use, thousands of vertices) paired with thousands of parcels would otherwise
need arrays of hundreds of millions of entries (4 GiB and more at 250,000 parcels)."""


def clipped_areas(subject: RingArrays, si: np.ndarray, clip: RingArrays, ci: np.ndarray) -> np.ndarray:
    """Area of ``subject[si[i]] ∩ clip[ci[i]]`` for pairs whose clip geometry is convex (``clip_row >= 0``).

    The pairs are clipped in batches of at most :data:`MAX_BATCH_VERTICES` subject vertices (a pair with
    more is a batch of its own).
    """
    first = subject.ring_offsets[subject.geom_offsets[si]]
    counts = subject.ring_offsets[subject.geom_offsets[si + 1]] - first
    if int(counts.sum()) <= MAX_BATCH_VERTICES:
        return _clipped_areas(subject, si, clip, ci)
    out = np.empty(len(si))
    batch = np.cumsum(counts) // MAX_BATCH_VERTICES
    edges = np.flatnonzero(np.diff(batch)) + 1
    for part in np.split(np.arange(len(si)), edges):
        out[part] = _clipped_areas(subject, si[part], clip, ci[part])
    return out


def _clipped_areas(subject: RingArrays, si: np.ndarray, clip: RingArrays, ci: np.ndarray) -> np.ndarray:
    n = len(si)
    rows = clip.clip_row[ci]
    cxy = clip.clip_xy[rows]
    origin = cxy[:, 0, :]
    # rings of each pair's subject
    r0 = subject.geom_offsets[si]
    nr = subject.geom_offsets[si + 1] - r0
    rings, ring_pair = _expand(r0, nr)
    # vertices of each ring
    v0 = subject.ring_offsets[rings]
    nv = subject.ring_offsets[rings + 1] - v0
    verts, vring = _expand(v0, nv)
    x = subject.x[verts] - origin[ring_pair[vring], 0]
    y = subject.y[verts] - origin[ring_pair[vring], 1]
    cx = cxy[:, :, 0] - origin[:, 0:1]
    cy = cxy[:, :, 1] - origin[:, 1:2]
    orient = clip.clip_orientation[rows][ring_pair]
    ring = vring
    for k in range(cxy.shape[1] - 1):
        if len(x) == 0:
            break
        x, y, ring = _clip_stage(
            x, y, ring, cx[ring_pair, k], cy[ring_pair, k], cx[ring_pair, k + 1], cy[ring_pair, k + 1], orient
        )
    area = _ring_areas(x, y, ring, len(rings)) * subject.ring_sign[rings]
    return np.bincount(ring_pair, weights=area, minlength=n)


def pair_areas(
    a: np.ndarray, a_rings: RingArrays, ai: np.ndarray, b: np.ndarray, b_rings: RingArrays, bi: np.ndarray
) -> np.ndarray:
    """Exact area of ``a[ai[i]] ∩ b[bi[i]]`` for every pair i.

    Where the `a` side is a convex single ring, the `b` side is clipped against it; else where the `b`
    side is one, the `a` side is clipped; the remaining pairs use GEOS ``intersection``.
    """
    out = np.empty(len(ai))
    todo = np.ones(len(ai), dtype=bool)
    sel = np.flatnonzero((a_rings.clip_row[ai] >= 0) & b_rings.polygonal[bi])
    if len(sel):
        out[sel] = clipped_areas(b_rings, bi[sel], a_rings, ai[sel])
        todo[sel] = False
    sel = np.flatnonzero(todo & (b_rings.clip_row[bi] >= 0) & a_rings.polygonal[ai])
    if len(sel):
        out[sel] = clipped_areas(a_rings, ai[sel], b_rings, bi[sel])
        todo[sel] = False
    rest = np.flatnonzero(todo)
    if len(rest):
        ga, gb = a[ai[rest]], b[bi[rest]]
        try:
            out[rest] = shapely.area(shapely.intersection(ga, gb))
        except shapely.errors.GEOSException as exc:
            # An invalid geometry slipped through (the harmonise step repairs them): repair, log, go on.
            log.warning("intersection failed (%s); repeating it on repaired geometries (make_valid)", exc)
            out[rest] = shapely.area(shapely.intersection(shapely.make_valid(ga), shapely.make_valid(gb)))
    return out


def intersection_area(a: np.ndarray, b: np.ndarray, *, max_edges: int = MAX_EDGES) -> np.ndarray:
    """Exact area of ``a[i] ∩ b[i]`` for every i (polygons and multipolygons), convex clipping where it applies."""
    a = np.asarray(a, dtype=object)
    b = np.asarray(b, dtype=object)
    idx = np.arange(len(a))
    return pair_areas(
        a, RingArrays.build(a, max_edges=max_edges), idx, b, RingArrays.build(b, max_edges=max_edges), idx
    )
