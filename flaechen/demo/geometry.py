"""Vectorised tiling primitives for the demo district: street grids, blocks and plots.

Everything works on numpy coordinate arrays in a projected CRS (metres) and builds shapely 2 geometry
arrays in bulk, so a million parcels take seconds, not minutes.

A *grid* is a batch of ``B`` quadrilateral meshes of the same shape: node coordinates ``nodes`` of shape
``(B, n + 1, m + 1, 2)`` (``n`` columns, ``m`` rows), and per grid line a street half-width
(``hx`` of shape ``(B, n + 1)`` for the lines between columns, ``hy`` of shape ``(B, m + 1)`` for the lines
between rows). Where a half-width is zero the neighbouring blocks share their edge exactly. A grid is cut
into *blocks* (one per cell, inset by the street half-widths), *vertical street pieces* (a run of cells
along a line between columns, including the crossings) and *horizontal street pieces* (along a line between
rows, between two vertical streets). Blocks and street pieces are built from the same corner coordinates,
so they tile the grid without gaps or overlaps. (Where a street meets the grid's outline, its corners lie
on the outline's two segments next to the node; the tiling is exact where the outline is straight there,
as on a quarter's edges. The municipality grid's outline lies outside the municipality and is clipped.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Pieces:
    """Polygons cut from a batch of grids, with where each came from.

    Attributes
    ----------
    geometry
        Polygons (shapely array).
    batch
        Index of the grid in the batch each polygon belongs to.
    col, row
        Cell column and row (blocks), or line and first cell (street pieces).
    """

    geometry: NDArray[np.object_]
    batch: IntArray
    col: IntArray
    row: IntArray


@dataclass(frozen=True)
class Grid:
    """A batch of quadrilateral meshes with street half-widths per line (see the module docstring)."""

    nodes: FloatArray
    hx: FloatArray
    hy: FloatArray

    @staticmethod
    def _unit(d: FloatArray) -> FloatArray:
        return d / np.maximum(np.hypot(d[..., 0], d[..., 1]), 1e-12)[..., None]

    def directions(self) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Unit vectors from every node along its lines: towards i+1, i-1, j+1, j-1."""
        p = self.nodes
        dx = self._unit(np.diff(p, axis=1))  # (B, n, m+1, 2): node i -> i+1
        dy = self._unit(np.diff(p, axis=2))  # (B, n+1, m, 2): node j -> j+1
        xp = np.concatenate([dx, dx[:, -1:]], axis=1)
        xm = np.concatenate([-dx[:, :1], -dx], axis=1)
        yp = np.concatenate([dy, dy[:, :, -1:]], axis=2)
        ym = np.concatenate([-dy[:, :, :1], -dy], axis=2)
        return xp, xm, yp, ym


def _corner(grid: Grid, dirs: tuple[Any, ...], b: IntArray, i: IntArray, j: IntArray, sx: int, sy: int) -> FloatArray:
    """Corner next to node ``(b, i, j)`` on side ``(sx, sy)`` (each -1 or +1).

    The node is moved by the half-width of the line between columns along the line between rows, and
    by the half-width of the line between rows along the line between columns, so a corner on a line
    without street stays exactly on that line.
    """
    xp, xm, yp, ym = dirs
    ux = (xp if sx > 0 else xm)[b, i, j]
    uy = (yp if sy > 0 else ym)[b, i, j]
    return np.asarray(grid.nodes[b, i, j] + grid.hx[b, i][..., None] * ux + grid.hy[b, j][..., None] * uy)


def _rings_to_polygons(coords: FloatArray) -> NDArray[np.object_]:
    """Polygons from closed-or-open rings of equal length ``coords`` of shape ``(k, p, 2)``."""
    k, p, _ = coords.shape
    if k == 0:
        return np.empty(0, dtype=object)
    closed = np.concatenate([coords, coords[:, :1]], axis=1)
    rings = shapely.linearrings(closed.reshape(-1, 2), indices=np.repeat(np.arange(k), p + 1))
    polys = shapely.polygons(rings)
    return np.asarray(shapely.remove_repeated_points(polys, tolerance=0.0))


def blocks(grid: Grid) -> Pieces:
    """Cut every cell of every grid into its block (the cell inset by the street half-widths).

    Parameters
    ----------
    grid
        Node coordinates, shape ``(B, n + 1, m + 1, 2)``, and street half-widths per line,
        shapes ``(B, n + 1)`` and ``(B, m + 1)``.

    Returns
    -------
    Pieces
        ``B * n * m`` quadrilaterals, ordered by batch, column, row.
    """
    bn, n1, m1, _ = grid.nodes.shape
    dirs = grid.directions()
    b, i, j = (a.ravel() for a in np.meshgrid(np.arange(bn), np.arange(n1 - 1), np.arange(m1 - 1), indexing="ij"))
    ring = np.stack(
        [
            _corner(grid, dirs, b, i, j, +1, +1),
            _corner(grid, dirs, b, i + 1, j, -1, +1),
            _corner(grid, dirs, b, i + 1, j + 1, -1, -1),
            _corner(grid, dirs, b, i, j + 1, +1, -1),
        ],
        axis=1,
    )
    return Pieces(_rings_to_polygons(ring), b, i, j)


def _runs(starts_break: NDArray[np.bool_], max_run: int) -> tuple[IntArray, IntArray]:
    """Split a sequence of cells into runs.

    ``starts_break[k]`` is True where a run must start at cell ``k`` (cell 0 always starts one).
    Returns (start, length) of every run, no run longer than ``max_run``.
    """
    n = starts_break.shape[0]
    brk = starts_break.copy()
    brk[0] = True
    seg = np.cumsum(brk) - 1
    first = np.flatnonzero(brk)
    pos = np.arange(n) - first[seg]
    brk = brk | (pos % max_run == 0)
    start = np.flatnonzero(brk)
    length = np.diff(np.append(start, n))
    return start, length


def vertical_streets(grid: Grid, *, max_run: int = 1) -> Pieces:
    """Street pieces along the lines between columns (only lines with a positive half-width).

    A piece covers ``max_run`` cells at most and includes the crossings below each of its cells.
    """
    m1 = grid.nodes.shape[2]
    dirs = grid.directions()
    m = m1 - 1
    starts, lengths = _runs(np.zeros(m, dtype=bool), max_run)
    lines_b, lines_i = np.nonzero(grid.hx > 0)
    geoms, bs, cs, rs = [], [], [], []
    for run_len in np.unique(lengths):
        j0 = starts[lengths == run_len]
        bb = np.repeat(lines_b, j0.size)
        ii = np.repeat(lines_i, j0.size)
        jj0 = np.tile(j0, lines_b.size)
        pts = []
        for t in range(run_len):  # left chain, upwards
            pts.append(_corner(grid, dirs, bb, ii, jj0 + t, -1, -1))
            pts.append(_corner(grid, dirs, bb, ii, jj0 + t, -1, +1))
        pts.append(_corner(grid, dirs, bb, ii, jj0 + run_len, -1, -1))
        pts.append(_corner(grid, dirs, bb, ii, jj0 + run_len, +1, -1))
        for t in range(run_len - 1, -1, -1):  # right chain, downwards
            pts.append(_corner(grid, dirs, bb, ii, jj0 + t, +1, +1))
            pts.append(_corner(grid, dirs, bb, ii, jj0 + t, +1, -1))
        geoms.append(_rings_to_polygons(np.stack(pts, axis=1)))
        bs.append(bb)
        cs.append(ii)
        rs.append(jj0)
    return _concat(geoms, bs, cs, rs)


def horizontal_streets(grid: Grid, *, max_run: int = 1) -> Pieces:
    """Street pieces along the lines between rows (only lines with a positive half-width).

    A piece runs between two vertical streets (it never crosses one) and covers ``max_run`` cells at most.
    """
    bn, n1 = grid.nodes.shape[:2]
    dirs = grid.directions()
    n = n1 - 1
    geoms, bs, cs, rs = [], [], [], []
    # runs must start after every column line with a street; batch items with equal widths go together
    hx_key = [tuple(r) for r in (grid.hx > 0)]
    hy_key = [tuple(r) for r in (grid.hy > 0)]
    groups: dict[tuple[Any, ...], list[int]] = {}
    for b in range(bn):
        groups.setdefault((hx_key[b], hy_key[b]), []).append(b)
    for (hx_pos, hy_pos), members in groups.items():
        starts, lengths = _runs(np.array(hx_pos[:n]), max_run)
        lines_j = np.flatnonzero(np.array(hy_pos))
        members_a = np.array(members)
        for run_len in np.unique(lengths):
            i0 = starts[lengths == run_len]
            per = lines_j.size * i0.size
            bb = np.repeat(members_a, per)
            jj = np.tile(np.repeat(lines_j, i0.size), members_a.size)
            ii0 = np.tile(np.tile(i0, lines_j.size), members_a.size)
            pts = [_corner(grid, dirs, bb, ii0, jj, +1, -1)]
            for t in range(1, run_len):  # bottom chain, rightwards
                pts.append(_corner(grid, dirs, bb, ii0 + t, jj, -1, -1))
                pts.append(_corner(grid, dirs, bb, ii0 + t, jj, +1, -1))
            pts.append(_corner(grid, dirs, bb, ii0 + run_len, jj, -1, -1))
            pts.append(_corner(grid, dirs, bb, ii0 + run_len, jj, -1, +1))
            for t in range(run_len - 1, 0, -1):  # top chain, leftwards
                pts.append(_corner(grid, dirs, bb, ii0 + t, jj, +1, +1))
                pts.append(_corner(grid, dirs, bb, ii0 + t, jj, -1, +1))
            pts.append(_corner(grid, dirs, bb, ii0, jj, +1, +1))
            geoms.append(_rings_to_polygons(np.stack(pts, axis=1)))
            bs.append(bb)
            cs.append(ii0)
            rs.append(jj)
    return _concat(geoms, bs, cs, rs)


def _concat(geoms: list[Any], bs: list[Any], cs: list[Any], rs: list[Any]) -> Pieces:
    if not geoms:
        empty = np.empty(0, dtype=np.int64)
        return Pieces(np.empty(0, dtype=object), empty, empty, empty)
    return Pieces(
        np.concatenate(geoms),
        np.concatenate(bs).astype(np.int64),
        np.concatenate(cs).astype(np.int64),
        np.concatenate(rs).astype(np.int64),
    )


def bilinear(quads: FloatArray, u: FloatArray, v: FloatArray) -> FloatArray:
    """Points inside quadrilaterals by bilinear interpolation.

    Parameters
    ----------
    quads
        Corners, shape ``(B, 4, 2)`` in the order (u, v) = (0, 0), (1, 0), (1, 1), (0, 1).
    u, v
        Parameters, shapes ``(B, p)`` and ``(B, q)``.

    Returns
    -------
    numpy.ndarray
        Shape ``(B, p, q, 2)``.
    """
    u = u[:, :, None, None]
    v = v[:, None, :, None]
    p00 = quads[:, None, None, 0]
    p10 = quads[:, None, None, 1]
    p11 = quads[:, None, None, 2]
    p01 = quads[:, None, None, 3]
    return (1 - u) * (1 - v) * p00 + u * (1 - v) * p10 + u * v * p11 + (1 - u) * v * p01


def split_params(rng: np.random.Generator, count: int, parts: int, *, spread: float) -> FloatArray:
    """Random monotone split parameters 0 = t0 < t1 < … < t_parts = 1 for ``count`` items.

    ``spread`` (0…1) sets how unequal the parts are.
    """
    w = 1.0 + spread * (rng.random((count, parts)) * 2 - 1)
    t = np.cumsum(w, axis=1)
    t = t / t[:, -1:]
    return np.concatenate([np.zeros((count, 1)), t], axis=1)


def quad_coords(polys: NDArray[np.object_]) -> FloatArray:
    """The four corners of quadrilateral polygons as an array of shape ``(k, 4, 2)``.

    Only for polygons built by :func:`blocks` (exterior ring of exactly 5 points).
    """
    ext = shapely.get_exterior_ring(polys)
    coords = shapely.get_coordinates(ext).reshape(len(polys), 5, 2)
    return np.asarray(coords[:, :4])


def subdivide(
    quads: FloatArray, u: FloatArray, v: FloatArray
) -> tuple[NDArray[np.object_], IntArray, IntArray, IntArray]:
    """Cut quadrilaterals into a ``k × r`` mesh of smaller quadrilaterals (no streets).

    Parameters
    ----------
    quads
        Corners, shape ``(B, 4, 2)``.
    u, v
        Split parameters, shapes ``(B, k + 1)`` and ``(B, r + 1)``, from 0 to 1.

    Returns
    -------
    tuple
        Polygons and, per polygon, the quad index, column and row.
    """
    pts = bilinear(quads, u, v)
    bn, k1, r1, _ = pts.shape
    b, i, j = (a.ravel() for a in np.meshgrid(np.arange(bn), np.arange(k1 - 1), np.arange(r1 - 1), indexing="ij"))
    ring = np.stack([pts[b, i, j], pts[b, i + 1, j], pts[b, i + 1, j + 1], pts[b, i, j + 1]], axis=1)
    return _rings_to_polygons(ring), b, i, j


def wiggly_line(
    rng: np.random.Generator, start: FloatArray, end: FloatArray, *, vertices: int, amplitude: float
) -> FloatArray:
    """A polyline from ``start`` to ``end`` with smooth lateral noise (sum of a few sines), endpoints fixed."""
    t = np.linspace(0.0, 1.0, vertices)
    d = end - start
    normal = np.array([-d[1], d[0]]) / np.hypot(*d)
    offset = np.zeros_like(t)
    for k in range(1, 5):
        offset += rng.normal(0, 1) / k * np.sin(np.pi * k * t + rng.uniform(0, 2 * np.pi))
    offset -= offset[0] * (1 - t) + offset[-1] * t
    offset *= amplitude / max(np.abs(offset).max(), 1e-9)
    offset += rng.normal(0, amplitude * 0.02, t.size) * (t > 0) * (t < 1)
    return np.asarray(start + t[:, None] * d + offset[:, None] * normal)
