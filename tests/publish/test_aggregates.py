"""The adaptive block grid of private candidates: no cell under the minimum, nothing lost in silence."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from shapely.geometry import box

from flaechen.publish.aggregates import block_grid

CRS = "EPSG:25832"
CATS = ["Baulücke", "Brachfläche"]


def _candidates(points: list[tuple[float, float]], ags: str = "07999001", category: str = "Baulücke"):
    return gpd.GeoDataFrame(
        {
            "_ags": [ags] * len(points),
            "_category": [category] * len(points),
            "_area_m2": [1000.0] * len(points),
        },
        geometry=[box(x - 5, y - 5, x + 5, y + 5) for x, y in points],
        crs=CRS,
    )


def _invariants(cells: gpd.GeoDataFrame, report, hidden: gpd.GeoDataFrame, min_count: int) -> None:
    assert (cells["n"] >= min_count).all()
    assert int(cells["n"].sum()) == report.drawn == report.candidates - report.suppressed
    assert report.candidates == len(hidden)
    for _, group in cells.groupby("_ags"):
        geoms = group.geometry.to_numpy()
        union = shapely.union_all(geoms)
        assert np.isclose(union.area, shapely.area(geoms).sum())  # no overlaps within a municipality
    cat_columns = [c for c in cells.columns if c.startswith("n_")]
    assert (cells[cat_columns].sum(axis=1) == cells["n"]).all()


def test_small_cells_move_up_and_lonely_ones_vanish():
    points = [(120, 120), (130, 140), (150, 160), (160, 110), (140, 180)]  # 5 in the cell (0, 0) of 250 m
    points += [(300, 60), (320, 70)]  # 2 in cell (1, 0) …
    points += [(60, 400)]  # … and 1 in cell (0, 1): together 3 in the 500 m block (0, 0)
    points += [(5_000, 5_000)]  # alone, far away: never on the map
    hidden = _candidates(points)
    cells, report = block_grid(hidden, size=250, min_count=3, categories=CATS, levels=2)
    _invariants(cells, report, hidden, 3)
    assert sorted(cells["n"].tolist()) == [3, 5]
    assert report.suppressed == 1 and report.cells_per_level == (1, 1, 0)
    fine = cells[cells["level"] == 0].geometry.iloc[0]
    coarse = cells[cells["level"] == 1].geometry.iloc[0]
    assert fine.equals(box(0, 0, 250, 250))
    # the 500 m block without the cell already drawn: an L of three quarters
    assert np.isclose(coarse.area, 500 * 500 - 250 * 250)
    assert not coarse.intersects(box(10, 10, 240, 240))


def test_cells_are_cut_to_their_municipality():
    hidden = _candidates([(900, 100), (950, 120), (980, 150), (960, 200)])
    boundaries = gpd.GeoDataFrame({"_ags": ["07999001"]}, geometry=[box(0, 0, 1000, 1000)], crs=CRS)
    cells, _ = block_grid(hidden, size=400, min_count=3, categories=CATS, boundaries=boundaries)
    assert len(cells) == 1
    assert cells.geometry.iloc[0].equals(box(800, 0, 1000, 400))


def test_minimum_of_one_draws_every_candidate():
    hidden = _candidates([(10, 10), (900, 900)])
    cells, report = block_grid(hidden, size=100, min_count=1, categories=CATS)
    assert report.suppressed == 0 and len(cells) == 2


def test_grid_over_real_parcels(shared_real: Path):
    """Real ALKIS parcels of three NRW municipalities as stand-ins for private candidates."""
    parcels = pyogrio.read_dataframe(
        shared_real / "alkis" / "nrw_euskirchen_kleve.gpkg", columns=["gmdschl", "tntxt"]
    ).to_crs(CRS)
    housing = parcels[parcels["tntxt"].astype("string").str.startswith("Wohnbaufläche").fillna(False)]
    hidden = gpd.GeoDataFrame(
        {
            "_ags": housing["gmdschl"].astype(str).to_numpy(),
            "_category": np.where(np.arange(len(housing)) % 3, "Baulücke", "Brachfläche"),
            "_area_m2": pd.Series([np.nan] * len(housing)).to_numpy(),
        },
        geometry=housing.geometry.to_numpy(),
        crs=CRS,
    )
    assert len(hidden) > 500
    for min_count in (3, 10):
        cells, report = block_grid(hidden, size=250, min_count=min_count, categories=CATS, levels=3)
        _invariants(cells, report, hidden, min_count)
        assert report.drawn > 0.8 * len(hidden)
        # every drawn candidate lies in a cell of its municipality
        points = hidden.geometry.representative_point()
        inside = np.zeros(len(hidden), dtype=bool)
        for ags, group in cells.groupby("_ags"):
            mask = hidden["_ags"].to_numpy() == ags
            union = shapely.union_all(group.geometry.to_numpy())
            inside[mask] = shapely.covers(union, points[mask].to_numpy())
        assert inside.sum() == report.drawn
