"""Small surveys built in code: parcels on a 100 m grid, candidates, measures and buildings (EPSG:25832)."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import MultiPolygon, box

from flaechen.register import SurveyContext

CRS = "EPSG:25832"
X0, Y0 = 500_000.0, 5_600_000.0
AGS = "07999001"
NAMES = {AGS: "Hohenmaar", "07999002": "Mühlental"}


def cell(i: int, j: int = 0, *, w: float = 100.0, h: float = 100.0, dx: float = 0.0):
    """A lot at grid position (i, j), optionally narrower or shifted."""
    x, y = X0 + i * 100.0 + dx, Y0 + j * 100.0
    return box(x, y, x + w, y + h)


def pid(n: int, nenner: int = 0, flur: int = 1) -> str:
    return f"074711{flur:03d}{n:05d}{nenner:04d}__"


@dataclass
class Survey:
    """One delivery: parcels (id → geometry, category or None), buildings, zoning per parcel."""

    parcels: dict[str, tuple] = field(default_factory=dict)
    buildings: list = field(default_factory=list)
    excluded: set[str] = field(default_factory=set)
    ags: dict[str, str] = field(default_factory=dict)

    def add(self, parcel_id: str, geom, category: str | None = "Baulücke", zoning: str | None = "WA") -> Survey:
        self.parcels[parcel_id] = (geom, category, zoning)
        return self

    def candidates(self) -> gpd.GeoDataFrame:
        rows = [
            {
                "parcel_id": p,
                "ags": self.ags.get(p, AGS),
                "category": cat,
                "categories": cat,
                "area_m2": g.area,
                "zoning_class": zone,
                "built_area_m2": 0.0,
                "reasons": f"Unbebautes Bauland ({zone}).",
            }
            for p, (g, cat, zone) in self.parcels.items()
            if cat and p not in self.excluded
        ]
        geoms = [MultiPolygon([self.parcels[r["parcel_id"]][0]]) for r in rows]
        columns = ["parcel_id", "ags", "category", "categories", "area_m2", "zoning_class", "built_area_m2", "reasons"]
        return gpd.GeoDataFrame(pd.DataFrame(rows, columns=columns), geometry=geoms, crs=CRS)

    def context(self) -> SurveyContext:
        ids = list(self.parcels)
        parcels = gpd.GeoDataFrame(
            {"parcel_id": ids, "ags": [self.ags.get(p, AGS) for p in ids]},
            geometry=[self.parcels[p][0] for p in ids],
            crs=CRS,
        )
        measures = pd.DataFrame(
            {
                "parcel_id": ids,
                "status": [
                    "ausgeschlossen" if p in self.excluded else ("Kandidat" if self.parcels[p][1] else "kein Kandidat")
                    for p in ids
                ],
                "zoning_class": [self.parcels[p][2] for p in ids],
                "area_m2": [self.parcels[p][0].area for p in ids],
                "constraints": ["Überschwemmungsgebiet: betroffen" if p in self.excluded else None for p in ids],
            }
        )
        buildings = gpd.GeoDataFrame({"ags": [AGS] * len(self.buildings)}, geometry=list(self.buildings) or [], crs=CRS)
        if not self.buildings:
            buildings = gpd.GeoDataFrame({"ags": [AGS]}, geometry=[box(0, 0, 1, 1)], crs=CRS)  # delivered, elsewhere
        return SurveyContext(
            parcels=parcels,
            measures=measures,
            buildings=buildings,
            municipalities=NAMES,
            min_area={"Baulücke": 200.0},
        )


@pytest.fixture
def survey() -> type[Survey]:
    return Survey
