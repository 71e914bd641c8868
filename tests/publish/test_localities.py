"""Localities: settlement clusters per municipality from buildings, or from settlement land use."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
from shapely.geometry import box

from flaechen.publish.localities import localities

CRS = "EPSG:25832"
X0, Y0 = 350_000.0, 5_580_000.0


def _houses(x: float, y: float, n: int) -> list:
    return [box(x + (i % 5) * 30, y + (i // 5) * 30, x + (i % 5) * 30 + 12, y + (i // 5) * 30 + 10) for i in range(n)]


def test_villages_named_by_gemarkung_or_municipality(tmp_path: Path):
    path = tmp_path / "district.gpkg"
    village_a = _houses(X0, Y0, 20)  # Gemarkung "Oberdorf" (a name)
    village_b = _houses(X0 + 1500, Y0, 12)  # Gemarkung given as a key only
    farm = _houses(X0 + 800, Y0 + 900, 2)
    buildings = gpd.GeoDataFrame(
        {"ags": ["07999001"] * 34, "owner": ["geheim"] * 34}, geometry=village_a + village_b + farm, crs=CRS
    )
    parcels = gpd.GeoDataFrame(
        {
            "ags": ["07999001", "07999001", "07999002"],
            "gemarkung": ["Oberdorf", "0815", "Talheim"],
            "actual_use": ["Wohnbaufläche;100", "Wohnbaufläche;100", "Wohnbaufläche;40000"],
        },
        geometry=[
            box(X0 - 20, Y0 - 20, X0 + 200, Y0 + 150),
            box(X0 + 1480, Y0 - 20, X0 + 1700, Y0 + 150),
            box(X0 + 5000, Y0, X0 + 5200, Y0 + 200),  # municipality 2 delivered no buildings
        ],
        crs=CRS,
    )
    municipalities = gpd.GeoDataFrame(
        {"ags": ["07999001", "07999002"], "name": ["Altdorf", "Neustadt"]},
        geometry=[box(X0 - 100, Y0 - 100, X0 + 2000, Y0 + 1000), box(X0 + 4900, Y0 - 100, X0 + 5300, Y0 + 300)],
        crs=CRS,
    )
    for layer, frame in (("municipalities", municipalities), ("parcels", parcels), ("buildings", buildings)):
        pyogrio.write_dataframe(frame, path, layer=layer)
    candidates = gpd.GeoDataFrame(
        {"_ags": ["07999001", "07999001", "07999001"]},
        geometry=[box(X0 + 40, Y0 + 40, X0 + 50, Y0 + 50), box(X0 + 1510, Y0 + 5, X0 + 1520, Y0 + 15), farm[0]],
        crs=CRS,
    )
    found = localities(path, candidates=candidates, gap_m=80, min_buildings=5)
    assert "owner" not in found.columns
    one = found[found["_ags"] == "07999001"]
    assert one["name"].tolist() == ["Oberdorf", "Ortslage 2"]  # the farmstead is no locality
    assert one["n_buildings"].tolist() == [20, 12]
    assert one["n_candidates"].tolist() == [1, 1]
    assert one["rank"].tolist() == [1, 2]
    two = found[found["_ags"] == "07999002"]
    assert two["source"].tolist() == ["land_use"] and two["name"].tolist() == ["Talheim"]
    # outlines hug the houses: the village's outline covers its houses, not the farmstead
    assert one.geometry.iloc[0].covers(village_a[7]) and not one.geometry.iloc[0].intersects(farm[0])


def test_without_names_the_largest_carries_the_municipality(tmp_path: Path):
    path = tmp_path / "district.gpkg"
    buildings = gpd.GeoDataFrame(
        {"ags": ["07999001"] * 30}, geometry=_houses(X0, Y0, 20) + _houses(X0 + 2000, Y0, 10), crs=CRS
    )
    municipalities = gpd.GeoDataFrame(
        {"ags": ["07999001"], "name": ["Altdorf"]}, geometry=[box(X0, Y0, X0 + 3000, Y0 + 500)], crs=CRS
    )
    pyogrio.write_dataframe(municipalities, path, layer="municipalities")
    pyogrio.write_dataframe(buildings, path, layer="buildings")
    found = localities(path)
    assert found["name"].tolist() == ["Altdorf", "Ortslage 2"]
    assert found["n_candidates"].tolist() == [0, 0]


def test_localities_of_real_buildings(shared_real: Path, tmp_path: Path):
    """2,131 ALKIS buildings of Stuttgart-Untertürkheim: one dense town, nothing lost, outlines cover it."""
    source = pyogrio.read_dataframe(shared_real / "buildings" / "stuttgart_untertuerkheim_alkis_gebaeude.gpkg")
    buildings = gpd.GeoDataFrame({"ags": ["08111000"] * len(source)}, geometry=source.geometry.values, crs=source.crs)
    path = tmp_path / "district.gpkg"
    pyogrio.write_dataframe(buildings.to_crs(CRS), path, layer="buildings")
    found = localities(path, gap_m=80, min_buildings=8)
    assert len(found) >= 1
    assert found["n_buildings"].iloc[0] > 0.8 * len(buildings)  # the town is one settlement
    assert found["n_buildings"].sum() <= len(buildings)
    assert found["rank"].tolist() == list(range(1, len(found) + 1))
    assert found.geometry.is_valid.all()
