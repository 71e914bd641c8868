"""An estimate of the built-up area (Innenbereich, §34 BauGB) from building density, in the spirit of IBTool.

IBTool (a QGIS plugin) derives the Innenbereich from building coverage with three parameters: a coverage
threshold (18 %), a gap that is still bridged (4,900 m²) and a minimum building size (56.8 m²). This
module applies the same three parameters on a grid, fully vectorised:

* the plane is cut into square cells of ``innenbereich.gap_area_m2`` (70 m × 70 m by default), anchored
  at the CRS origin so the grid does not depend on the data's extent;
* each building of at least ``innenbereich.min_building_area_m2`` adds its footprint to the cell holding
  the centre of its bounding box;
* a parcel's *building density* is the footprint in the ``window_cells`` × ``window_cells`` cells around
  the cell of its bounding box's centre, divided by their area; it is inside the built-up area where the density
  reaches ``innenbereich.coverage_threshold``. An empty cell (a gap up to the cell's area) among built
  cells therefore stays inside.

It is an estimate for flagging, not a legal finding: the planner decides §34 case by case.

Examples
--------
>>> import numpy as np
>>> from flaechen.flag.rules import load_rules
>>> density = building_density(
...     np.array([[35.0, 35.0], [10_000.0, 10_000.0]]),
...     np.array([[100.0, 100.0]]), np.array([9_000.0]), rules=load_rules())
>>> density.round(3).tolist()
[0.204, 0.0]
"""

from __future__ import annotations

import math

import numpy as np

from flaechen.flag.rules import Rules

_SHIFT = np.int64(1) << np.int64(31)


def _keys(ix: np.ndarray, iy: np.ndarray) -> np.ndarray:
    return (ix.astype(np.int64) + _SHIFT) * (np.int64(1) << np.int64(32)) + (iy.astype(np.int64) + _SHIFT)


def building_density(
    parcel_xy: np.ndarray,
    building_xy: np.ndarray,
    building_area: np.ndarray,
    *,
    rules: Rules,
    max_cells: int = 4_000_000,
) -> np.ndarray:
    """Building coverage of the neighbourhood of each parcel (0 … 1).

    Parameters
    ----------
    parcel_xy
        Parcel positions (centres of their bounding boxes), n × 2.
    building_xy, building_area
        Building positions (centres of their bounding boxes, m × 2) and footprint areas.
    rules
        Uses ``innenbereich.gap_area_m2``, ``min_building_area_m2`` and ``window_cells``.
    max_cells
        Up to this many grid cells over the data's extent, window sums come from a summed-area table;
        beyond (scattered data), from lookups among the occupied cells. Both give the same sums.

    Returns
    -------
    numpy.ndarray
        Density per parcel (float64).
    """
    cell = math.sqrt(float(rules["innenbereich.gap_area_m2"]))
    width = int(rules["innenbereich.window_cells"])
    half = width // 2
    n = len(parcel_xy)
    if n == 0:
        return np.zeros(0)
    big = building_area >= float(rules["innenbereich.min_building_area_m2"])
    bxy = building_xy[big]
    if len(bxy) == 0:
        return np.zeros(n)
    weights = building_area[big]
    bx = np.floor(bxy[:, 0] / cell).astype(np.int64)
    by = np.floor(bxy[:, 1] / cell).astype(np.int64)
    px = np.floor(parcel_xy[:, 0] / cell).astype(np.int64)
    py = np.floor(parcel_xy[:, 1] / cell).astype(np.int64)
    x0, y0 = min(bx.min(), px.min()) - half, min(by.min(), py.min()) - half
    nx, ny = max(bx.max(), px.max()) + half - x0 + 1, max(by.max(), py.max()) + half - y0 + 1
    if nx * ny <= max_cells:
        total = _window_sums_dense(bx - x0, by - y0, weights, px - x0, py - y0, int(nx), int(ny), width, half)
    else:
        total = _window_sums_sparse(bx, by, weights, px, py, width, half)
    return np.asarray(np.maximum(total, 0.0) / (width * width * cell * cell))


def _window_sums_dense(
    bx: np.ndarray,
    by: np.ndarray,
    weights: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
    nx: int,
    ny: int,
    width: int,
    half: int,
) -> np.ndarray:
    """Window sums through a summed-area table over the grid (districts of ordinary size)."""
    grid = np.bincount(bx * ny + by, weights=weights, minlength=nx * ny).reshape(nx, ny)
    table = np.zeros((nx + 1, ny + 1))
    table[1:, 1:] = grid.cumsum(axis=0).cumsum(axis=1)
    xa, ya = px - half, py - half
    xb, yb = xa + width, ya + width
    return np.asarray(table[xb, yb] - table[xa, yb] - table[xb, ya] + table[xa, ya])


def _window_sums_sparse(
    bx: np.ndarray, by: np.ndarray, weights: np.ndarray, px: np.ndarray, py: np.ndarray, width: int, half: int
) -> np.ndarray:
    """Window sums by looking up each neighbouring cell among the occupied ones (any extent)."""
    keys, inverse = np.unique(_keys(bx, by), return_inverse=True)
    sums = np.bincount(inverse, weights=weights, minlength=len(keys))
    total = np.zeros(len(px))
    for dx in range(-half, width - half):
        for dy in range(-half, width - half):
            k = _keys(px + dx, py + dy)
            pos = np.minimum(np.searchsorted(keys, k), len(keys) - 1)
            total += np.where(keys[pos] == k, sums[pos], 0.0)
    return total
