"""Preparing layers for display: private land, aggregates, simplification with shared borders."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, box

from flaechen.errors import DistrictError
from flaechen.gpkg import write_gpkg
from flaechen.publish import prepare
from flaechen.publish.profile import load_profile

CRS = "EPSG:25832"
CATS = ("Baulücke", "Brachfläche")


def _candidates(ownership, categories=None, ags=None):
    n = len(ownership)
    return gpd.GeoDataFrame(
        {
            "_ags": ags or ["07999001"] * n,
            "_ownership": pd.array(ownership, dtype="string"),
            "_category": categories or ["Baulücke"] * n,
        },
        geometry=[box(500_000 + 10 * i, 5_400_000, 500_010 + 10 * i, 5_400_010) for i in range(n)],
        crs=CRS,
    )


def test_only_explicitly_public_land_is_shown():
    gdf = _candidates(["public", "private", "unknown", None])
    shown, hidden = prepare.split_private(gdf, mode="municipality")
    assert list(shown.index) == [0]
    assert list(hidden.index) == [1, 2, 3]
    shown, hidden = prepare.split_private(gdf, mode="parcels")
    assert len(shown) == 4 and hidden.empty


def test_summarise_counts_and_hectares():
    gdf = _candidates(["public", "private", "private"], categories=["Baulücke", "Baulücke", "Brachfläche"])
    munis = gpd.GeoDataFrame(
        {"_ags": ["07999001", "07999002"], "_name": ["A", "B"], "_population": [100, None]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        crs=CRS,
    )
    _, hidden = prepare.split_private(gdf, mode="municipality")
    table = prepare.summarise(munis, gdf, categories=CATS, hidden_index=hidden.index)
    row = table.loc["07999001"]
    assert row["n"] == 3 and row["n_0"] == 2 and row["n_1"] == 1
    assert row["ha"] == pytest.approx(0.03)
    assert row["n_private"] == 2 and row["ha_private"] == pytest.approx(0.02)
    assert row["m2_per_inhabitant"] == pytest.approx(3.0)
    empty = table.loc["07999002"]
    assert empty["n"] == 0 and np.isnan(empty["m2_per_inhabitant"])


def test_grid_drops_cells_with_too_few_candidates():
    # four candidates in one 500 m cell, one alone in another
    gdf = _candidates(["private"] * 5)
    gdf.loc[4, "geometry"] = box(501_200, 5_401_200, 501_210, 5_401_210)
    cells = prepare.grid_cells(gdf, size=500, min_count=3, categories=CATS)
    assert len(cells) == 1
    assert cells.iloc[0]["n"] == 4 and cells.iloc[0]["n_0"] == 4
    assert cells.crs == gdf.crs
    assert prepare.grid_cells(gdf, size=500, min_count=5, categories=CATS).empty


def _jagged_coverage(noise: list[float]) -> gpd.GeoDataFrame:
    """Two polygons sharing a jagged border (noise in metres on a vertical line)."""
    n = len(noise)
    border = [(1000 + noise[i], 1000 * i / (n - 1)) for i in range(n)]
    left = Polygon([(0, 0), *border, (0, 1000)])
    right = Polygon([*border, (2000, 1000), (2000, 0)])
    return gpd.GeoDataFrame({"k": ["a", "b"]}, geometry=[left, right.normalize()], crs=CRS)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(min_value=-3, max_value=3), min_size=5, max_size=40))
def test_simplify_keeps_shared_borders(noise):
    noise[0] = noise[-1] = 0.0
    gdf = _jagged_coverage(noise)
    if not shapely.coverage_is_valid(gdf.geometry.to_numpy()):
        return
    out = prepare.simplify(gdf, tolerance=5.0)
    a, b = out.geometry
    assert shapely.coverage_is_valid(out.geometry.to_numpy())
    assert a.intersection(b).area == pytest.approx(0, abs=1e-6)
    assert a.union(b).area == pytest.approx(2000 * 1000, rel=1e-9)
    assert sum(len(g.exterior.coords) for g in out.geometry) <= sum(len(g.exterior.coords) for g in gdf.geometry)


def test_simplify_falls_back_for_overlaps():
    gdf = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10), box(5, 5, 15, 15)], crs=CRS)
    out = prepare.simplify(gdf, tolerance=1.0)
    assert out.geometry.is_valid.all() and len(out) == 2


def test_simplify_refuses_degrees():
    gdf = gpd.GeoDataFrame(geometry=[box(9, 48, 9.1, 48.1)], crs="EPSG:4326")
    with pytest.raises(prepare.PublishError, match="projected"):
        prepare.simplify(gdf, tolerance=1.0)


def test_to_display_rounds_and_keeps_shared_vertices():
    gdf = _jagged_coverage([0, 0.3, -0.2, 0.4, 0])
    gdf = gdf.set_geometry(gdf.geometry.translate(500_000, 5_400_000))
    out = prepare.to_display(gdf, decimals=6)
    assert out.crs.to_epsg() == 4326
    coords = shapely.get_coordinates(out.geometry.to_numpy())
    assert np.allclose(coords, np.round(coords, 6))
    a, b = out.geometry
    shared_a = {tuple(c) for c in shapely.get_coordinates(a)}
    shared_b = {tuple(c) for c in shapely.get_coordinates(b)}
    assert len(shared_a & shared_b) == 5


def test_read_district_reads_no_other_columns(district_gpkg):
    path, _ = district_gpkg
    district = prepare.select_district(path, profile=load_profile(None))
    brownfields = district.layers["brownfields"]
    assert "owner" not in brownfields.columns and "notes" not in brownfields.columns
    assert "contamination_suspected" not in brownfields.columns
    assert "_ownership" in brownfields.columns
    assert "reasons_json" not in district.layers["candidates"].columns
    assert district.crs.to_epsg() == 25832


def test_read_district_missing(tmp_path):
    with pytest.raises(DistrictError, match="flaechen run"):
        prepare.select_district(tmp_path / "district.gpkg", profile=load_profile(None))


def test_read_district_refuses_broken_datasets(district_gpkg, tmp_path):
    import pyogrio

    path, _ = district_gpkg
    municipalities = pyogrio.read_dataframe(path, layer="municipalities")
    candidates = pyogrio.read_dataframe(path, layer="candidates")
    profile = load_profile(None)

    broken = tmp_path / "crs.gpkg"
    write_gpkg(broken, layers={"municipalities": municipalities, "candidates": candidates.to_crs("EPSG:25833")})
    with pytest.raises(DistrictError, match="one CRS"):
        prepare.select_district(broken, profile=profile)

    broken = tmp_path / "columns.gpkg"
    write_gpkg(broken, layers={"municipalities": municipalities, "candidates": candidates.drop(columns="category")})
    with pytest.raises(prepare.PublishError, match="category"):
        prepare.select_district(broken, profile=profile)

    broken = tmp_path / "empty.gpkg"
    write_gpkg(broken, layers={"municipalities": municipalities.iloc[0:0], "candidates": candidates})
    with pytest.raises(prepare.PublishError, match="empty"):
        prepare.select_district(broken, profile=profile)

    missing = tmp_path / "nocandidates.gpkg"
    write_gpkg(missing, layers={"municipalities": municipalities})
    with pytest.raises(prepare.PublishError, match="'candidates' is missing"):
        prepare.select_district(missing, profile=profile)


def test_no_candidates_at_all(district_gpkg, tmp_path):
    import pyogrio

    from flaechen.publish import publish

    path, _ = district_gpkg
    municipalities = pyogrio.read_dataframe(path, layer="municipalities")
    candidates = pyogrio.read_dataframe(path, layer="candidates").iloc[0:0]
    gpkg = tmp_path / "district.gpkg"
    write_gpkg(gpkg, layers={"municipalities": municipalities, "candidates": candidates})
    index = publish(gpkg, tmp_path)
    assert index.is_file() and (index.parent / "gemeinde-07999001.html").is_file()
