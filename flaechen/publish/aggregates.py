"""Where the potentials on private land lie, without pointing at anyone's parcel: an adaptive block grid.

Candidates on private land (or land of unknown ownership) are published only as counts and hectares.
:func:`block_grid` puts them into square cells per municipality, and draws a cell only where it holds
at least ``min_count`` candidates. Candidates of cells under that count are not simply lost from the
map: they move up into the cell twice as large (the block of 2 × 2 cells around them), drawn as that
block without the cells already published, and so on for a few levels; what still falls short is
suppressed on the map (it stays in the municipality's totals, and the log says how many).

Every drawn cell therefore holds at least ``min_count`` candidates, its shape says nothing finer than
the grid, and the cells of one municipality never overlap. Cells are cut to the municipality's
boundary where the boundaries are given, so that a village's potentials are not drawn over its
neighbour.

Examples
--------
>>> from flaechen.publish.prepare import select_district, split_private
>>> from flaechen.publish.profile import load_profile
>>> data = select_district("out/demo/district.gpkg", profile=load_profile())
>>> shown, hidden = split_private(data.layers["candidates"], mode="grid")
>>> cells, report = block_grid(hidden, size=250, min_count=3, categories=["Baulücke"])
>>> int(cells["n"].min()) >= 3, report.drawn + report.suppressed == report.candidates == len(hidden)
(True, True)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from flaechen.publish.prepare import candidate_areas

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GridReport:
    """What :func:`block_grid` did: candidates in, drawn in cells, suppressed; cells per level."""

    candidates: int
    drawn: int
    suppressed: int
    cells_per_level: tuple[int, ...]


def _empty(categories: Sequence[str], crs: object) -> gpd.GeoDataFrame:
    columns = ["_ags", "n", "ha", "level", "size_m", *(f"n_{i}" for i in range(len(categories)))]
    return gpd.GeoDataFrame({c: pd.Series([], dtype="object") for c in columns}, geometry=gpd.GeoSeries([], crs=crs))


def block_grid(
    hidden: gpd.GeoDataFrame,
    *,
    size: float,
    min_count: int,
    categories: Sequence[str],
    levels: int = 3,
    boundaries: gpd.GeoDataFrame | None = None,
    what: str = "private candidates",
) -> tuple[gpd.GeoDataFrame, GridReport]:
    """Aggregate candidates into grid cells of at least `min_count` candidates each.

    Parameters
    ----------
    hidden
        The candidates shown only as aggregates, in a projected CRS, with control columns ``_ags``,
        ``_category`` (and ``_area_m2``; the geometry's area where empty).
    size
        Side of the finest cells in CRS units (metres).
    min_count
        Fewest candidates a drawn cell may hold.
    categories
        Categories in display order (cell columns ``n_<i>``).
    levels
        How often candidates of too small cells move up to the cell twice as large (0: never).
    boundaries
        Municipalities with ``_ags`` and geometry (same CRS): cells are cut to their municipality.
    what
        What is aggregated, for the log.

    Returns
    -------
    (GeoDataFrame, GridReport)
        Cells with ``_ags``, ``n``, ``ha``, ``n_<i>`` per category, ``level`` (0 finest) and ``size_m``;
        and the report.
    """
    if hidden.empty:
        return _empty(categories, hidden.crs), GridReport(0, 0, 0, (0,) * (levels + 1))
    points = hidden.geometry.representative_point()
    frame = pd.DataFrame(
        {
            "ags": hidden["_ags"].astype("string").to_numpy(),
            "x": points.x.to_numpy(),
            "y": points.y.to_numpy(),
            "m2": candidate_areas(hidden).to_numpy(),
            "category": hidden["_category"].astype("string").to_numpy(),
        }
    )
    borders: dict[str, shapely.Geometry] = {}
    if boundaries is not None and not boundaries.empty:
        borders = {
            str(a): shapely.union_all(g.to_numpy())
            for a, g in boundaries.geometry.groupby(boundaries["_ags"].astype(str).to_numpy())
        }
    rows: list[dict[str, object]] = []
    per_level = [0] * (levels + 1)
    suppressed = 0
    for ags, group in frame.groupby("ags", sort=True):
        taken: list[shapely.Geometry] = []  # cells drawn so far in this municipality
        pending = group
        for level in range(levels + 1):
            if pending.empty:
                break
            side = size * 2**level
            cx = np.floor(pending["x"].to_numpy() / side).astype(np.int64)
            cy = np.floor(pending["y"].to_numpy() / side).astype(np.int64)
            keys = pd.MultiIndex.from_arrays([cx, cy])
            counts = pd.Series(1, index=keys).groupby(level=[0, 1]).transform("sum").to_numpy()
            full = counts >= min_count
            level_cells = []
            for (kx, ky), cell in pending[full].groupby([cx[full], cy[full]], sort=True):
                geom = shapely.box(kx * side, ky * side, (kx + 1) * side, (ky + 1) * side)
                if taken:
                    geom = shapely.difference(geom, shapely.union_all(taken))
                if ags in borders:
                    geom = shapely.intersection(geom, borders[ags])
                row = {"_ags": ags, "n": len(cell), "ha": float(cell["m2"].sum()) / 10_000, "level": level}
                row["size_m"] = float(side)
                for i, category in enumerate(categories):
                    row[f"n_{i}"] = int((cell["category"] == category).sum())
                row["geometry"] = geom
                rows.append(row)
                level_cells.append(shapely.box(kx * side, ky * side, (kx + 1) * side, (ky + 1) * side))
            per_level[level] += len(level_cells)
            taken.extend(level_cells)
            pending = pending[~full]
        suppressed += len(pending)
    drawn = len(frame) - suppressed
    log.info(
        "aggregate grid: %d %s, %d in %d cells of %g–%g m (at least %d each), %d not on the map",
        len(frame),
        what,
        drawn,
        len(rows),
        size,
        size * 2**levels,
        min_count,
        suppressed,
    )
    report = GridReport(len(frame), drawn, suppressed, tuple(per_level))
    if not rows:
        return _empty(categories, hidden.crs), report
    cells = gpd.GeoDataFrame(rows, geometry="geometry", crs=hidden.crs)
    return cells[~cells.geometry.is_empty].reset_index(drop=True), report
