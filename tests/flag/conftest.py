"""Tiny district layouts for the flagging tests, built in code with an explicit CRS (EPSG:25832)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from flaechen.layers import load_schema

CRS = "EPSG:25832"
X0, Y0 = 350_000.0, 5_700_000.0
AGS = "05112000"


def frame(layer: str, rows: Sequence[dict[str, Any]], *, crs: str = CRS) -> gpd.GeoDataFrame:
    """A GeoDataFrame of a canonical layer with the schema's nullable dtypes (missing fields empty)."""
    schema = load_schema().layer(layer)
    data: dict[str, Any] = {}
    for f in schema.fields:
        data[f.name] = pd.array([r.get(f.name) for r in rows], dtype=f.dtype)
    geoms = [r["geometry"] for r in rows]
    return gpd.GeoDataFrame(pd.DataFrame(data), geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    """A rectangle in local metres, placed in the district."""
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def district(
    *,
    parcels: Sequence[dict[str, Any]],
    zoning: Sequence[dict[str, Any]] = (),
    brownfields: Sequence[dict[str, Any]] = (),
    buildings: Sequence[dict[str, Any]] = (),
    population: int | None = 1000,
) -> dict[str, gpd.GeoDataFrame]:
    """A district dataset with one municipality around everything."""
    parcels = [{"ags": AGS, **p} for p in parcels]
    zoning = [{"ags": AGS, "plan_type": "BPlan", **z} for z in zoning]
    brownfields = [{"ags": AGS, **b} for b in brownfields]
    buildings = [{"ags": AGS, **b} for b in buildings]
    hull = shapely.box(*shapely.total_bounds([p["geometry"] for p in parcels])).buffer(100)
    return {
        "municipalities": frame(
            "municipalities", [{"ags": AGS, "name": "Musterstadt", "population": population, "geometry": hull}]
        ),
        "parcels": frame("parcels", parcels),
        "zoning": frame("zoning", zoning),
        "brownfields": frame("brownfields", brownfields),
        "buildings": frame("buildings", buildings),
    }


def village(
    x0: float, y0: float, *, n: int = 7, size: float = 30.0, skip: Sequence[tuple[int, int]] = (), prefix: str = "V"
) -> tuple[list[dict], list[dict]]:
    """An n × n block of built parcels (size × size m, a 15 × 15 m building each): dense enough to be inside."""
    parcels, buildings = [], []
    for i in range(n):
        for j in range(n):
            if (i, j) in skip:
                continue
            pid = f"{prefix}{i:02d}{j:02d}"
            x, y = x0 + i * size, y0 + j * size
            parcels.append({"parcel_id": pid, "geometry": box(x, y, x + size, y + size)})
            buildings.append({"building_id": f"B{pid}", "geometry": box(x + 7, y + 7, x + 22, y + 22)})
    return parcels, buildings


@pytest.fixture
def rules():
    from flaechen.flag import load_rules

    return load_rules()


def with_street(parcels: list[dict], buildings: list[dict], *, column: int = 4) -> tuple[list[dict], list[dict]]:
    """Turn one column of a :func:`village` into street parcels (no buildings): the lots beside it have access."""
    prefix = f"V{column:02d}"
    for p in parcels:
        if p["parcel_id"].startswith(prefix):
            p["actual_use"] = "Straßenverkehr;900"
    return parcels, [b for b in buildings if not b["building_id"].startswith("B" + prefix)]
