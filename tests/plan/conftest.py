"""A small hand-made district for the planning tests: one municipality, one commercial area of exactly 1 ha.

Inside the area (100 m × 100 m): four parcels of 50 m × 50 m with ALKIS-vereinfacht land use texts, four
buildings (400, 2,000, 1,200 and 25 m²), a registered brownfield of 800 m², a Baulücke candidate of
1,500 m² and an Außenreserve candidate (not counted as unused). Every figure the tests expect follows
from these numbers; see tests/plan/test_indicators.py.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import MultiPolygon, box

CRS = "EPSG:25832"
X0, Y0 = 500_000.0, 5_600_000.0
AGS = "07999001"


def gdf(rows: list[dict], geoms: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry=[MultiPolygon([g]) for g in geoms], crs=CRS)


def b(x0: float, y0: float, x1: float, y1: float):
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


@pytest.fixture
def small_district() -> dict[str, gpd.GeoDataFrame]:
    municipalities = gdf([{"ags": AGS, "name": "Testdorf", "population": 5000}], [b(-1000, -1000, 1000, 1000)])
    zoning = gdf(
        [
            {
                "zoning_id": "BP-1",
                "ags": AGS,
                "plan_type": "BPlan",
                "plan_name": "Nr. 4 Gewerbegebiet Süd",
                "allg_art": 3000,
                "bes_art": 1700,
                "grz": 0.8,
            },
            {
                "zoning_id": "FNP-1",
                "ags": AGS,
                "plan_type": "FNP",
                "plan_name": "FNP",
                "allg_art": 3000,
                "bes_art": None,
                "grz": None,
            },
            {
                "zoning_id": "BP-2",
                "ags": AGS,
                "plan_type": "BPlan",
                "plan_name": "Nr. 1 Wohnen",
                "allg_art": 1000,
                "bes_art": 1200,
                "grz": 0.4,
            },
        ],
        [b(0, 0, 100, 100), b(0, 0, 100, 100), b(300, 300, 400, 400)],
    )
    parcels = gdf(
        [
            {"parcel_id": "p1", "ags": AGS, "actual_use": "Industrie- und Gewerbefläche;2500"},
            {"parcel_id": "p2", "ags": AGS, "actual_use": "Industrie- und Gewerbefläche;2000|Straßenverkehr;500"},
            {"parcel_id": "p3", "ags": AGS, "actual_use": "Gehölz;1000|Industrie- und Gewerbefläche / Handel;1500"},
            {"parcel_id": "p4", "ags": AGS, "actual_use": "Fließgewässer;250;Landwirtschaft / Grünland;2250"},
        ],
        [b(0, 0, 50, 50), b(0, 50, 50, 100), b(50, 50, 100, 100), b(50, 0, 100, 50)],
    )
    buildings = gdf(
        [{"building_id": f"b{i}", "ags": AGS} for i in range(5)],
        [b(5, 5, 25, 25), b(30, 5, 70, 55), b(5, 60, 65, 80), b(80, 80, 85, 85), b(200, 200, 240, 240)],
    )
    brownfields = gdf([{"site_id": "bf1", "ags": AGS}], [b(50, 80, 90, 120)])  # 40 × 20 m inside the area
    candidates = gdf(
        [
            {
                "parcel_id": "p4",
                "ags": AGS,
                "category": "Baulücke",
                "area_m2": 1500.0,
                "capacity_dwellings": 4.0,
                "lowered": False,
                "constraints": None,
            },
            {
                "parcel_id": "p9",
                "ags": AGS,
                "category": "Außenreserve",
                "area_m2": 2000.0,
                "capacity_dwellings": 6.0,
                "lowered": False,
                "constraints": None,
            },
        ],
        [b(50, 0, 80, 50), b(60, 50, 100, 100)],
    )
    return {
        "municipalities": municipalities,
        "zoning": zoning,
        "parcels": parcels,
        "buildings": buildings,
        "brownfields": brownfields,
        "candidates": candidates,
    }


@pytest.fixture
def delivered_all() -> set[tuple[str, str]]:
    return {(AGS, layer) for layer in ("parcels", "buildings", "brownfields", "zoning")}


@pytest.fixture
def sources_frame(delivered_all) -> pd.DataFrame:
    return pd.DataFrame([{"ags": a, "layer": layer} for a, layer in sorted(delivered_all)])


def screenshot_dir(default):
    """Where screenshots go: $FLAECHEN_SCREENSHOTS if set (to look at them), else the test's tmp_path."""
    import os
    from pathlib import Path

    target = Path(os.environ.get("FLAECHEN_SCREENSHOTS", default))
    target.mkdir(parents=True, exist_ok=True)
    return target
