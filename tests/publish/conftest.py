"""A small synthetic district.gpkg after layers/*.yaml, with hostile and secret values planted.

Two municipalities of 1 km² side by side (shared border at x = 501000), a 100 m parcel grid, candidates
on every third parcel, zoning (B-Plan coverage plus an overlapping FNP), two brownfields, a few buildings.
Non-public values (owners, notes, reasons_json) carry markers the leak tests search for.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import MultiPolygon, Polygon, box

from flaechen.gpkg import write_gpkg

CRS = "EPSG:25832"
X0, Y0 = 500_000.0, 5_400_000.0
XSS = "<img src=x onerror=alert(1)>"
CATEGORIES = ["Brachfläche", "Baulücke", "Untergenutzte Fläche", "Außenreserve", "Leerstand"]
MUNICIPALITIES = [("07999001", "Altdorf", 1200), ("07999002", "Berg & <Tal>", 800)]


def _multi(geom: Polygon) -> MultiPolygon:
    return MultiPolygon([geom])


def _wiggly_square(x0: float, y0: float, size: float) -> Polygon:
    """A square with many near-collinear vertices on its edges (something to simplify)."""
    pts = []
    steps = 20
    for i in range(steps):
        pts.append((x0 + size * i / steps, y0 + (0.2 if i % 2 else 0.0)))
    for i in range(steps):
        pts.append((x0 + size, y0 + size * i / steps))
    for i in range(steps):
        pts.append((x0 + size - size * i / steps, y0 + size))
    for i in range(steps):
        pts.append((x0, y0 + size - size * i / steps))
    return Polygon(pts)


def build_district(path: Path, *, with_summary: bool = True) -> dict[str, list[str]]:
    """Write the synthetic district; return the non-public values planted, by field."""
    secrets: dict[str, list[str]] = {"owner": [], "notes": [], "reasons_json": []}
    # municipalities: the shared border x = X0 + 1000 has the same vertices on both sides
    left = _wiggly_square(X0, Y0, 1000)
    right = Polygon([(X0 + 1000, Y0), (X0 + 2000, Y0), (X0 + 2000, Y0 + 1000), (X0 + 1000, Y0 + 1000)])
    shared = [c for c in left.exterior.coords if abs(c[0] - (X0 + 1000)) < 1e-9]
    right = Polygon(
        [*sorted(shared, key=lambda c: c[1]), (X0 + 1000, Y0 + 1000), (X0 + 2000, Y0 + 1000), (X0 + 2000, Y0)]
    )
    right = right if right.is_valid else right.buffer(0)
    municipalities = gpd.GeoDataFrame(
        {
            "ags": [m[0] for m in MUNICIPALITIES],
            "name": [m[1] for m in MUNICIPALITIES],
            "population": pd.array([m[2] for m in MUNICIPALITIES], dtype="Int64"),
        },
        geometry=[_multi(left), _multi(right)],
        crs=CRS,
    )
    parcels, candidates = [], []
    n = 0
    for mi, (ags, _, _) in enumerate(MUNICIPALITIES):
        for ix in range(10):
            for iy in range(10):
                n += 1
                geom = box(
                    X0 + mi * 1000 + ix * 100, Y0 + iy * 100, X0 + mi * 1000 + (ix + 1) * 100, Y0 + (iy + 1) * 100
                )
                pid = f"0799{mi + 1:02d}001{n:05d}0000__"
                owner = f"Eigentümerin Geheim-{n:03d}"
                secrets["owner"].append(owner)
                ownership = ["public", "private", "unknown"][n % 3]
                parcels.append(
                    {
                        "parcel_id": pid,
                        "ags": ags,
                        "gemarkung": "Mustermark",
                        "flur": "001",
                        "zaehler": str(n),
                        "nenner": None,
                        "official_area": 10_000.0,
                        "actual_use": "Wohnbaufläche;512",
                        "owner": owner,
                        "ownership": ownership,
                        "geometry": _multi(geom),
                    }
                )
                if n % 3 == 0 or n % 7 == 0:
                    category = CATEGORIES[n % 5]
                    rj = json.dumps([{"rule": f"geheime-regel-{n:03d}", "category": category, "values": {"x": n}}])
                    secrets["reasons_json"].append(f"geheime-regel-{n:03d}")
                    reason = XSS if n == 21 else f"Flurstück {n} ist unbebaut & liegt im Innenbereich."
                    candidates.append(
                        {
                            "parcel_id": pid,
                            "ags": ags,
                            "category": category,
                            "categories": category,
                            "area_m2": 10_000.0,
                            "zoning_class": "WA",
                            "ownership": ownership,
                            "capacity_dwellings": 12.5,
                            "capacity_floor_area": 4000.0,
                            "reasons": reason,
                            "reasons_json": rj,
                            "geometry": _multi(geom),
                        }
                    )
    parcels = gpd.GeoDataFrame(parcels, geometry="geometry", crs=CRS)
    candidates = gpd.GeoDataFrame(candidates, geometry="geometry", crs=CRS)
    zoning = gpd.GeoDataFrame(
        {
            "zoning_id": ["bp1-1", "bp1-2", "fnp-1"],
            "ags": ["07999001"] * 3,
            "plan_name": ['B-Plan Nr. 1 "Am Bach"', 'B-Plan Nr. 1 "Am Bach"', "FNP Altdorf"],
            "plan_type": ["BPlan", "BPlan", "FNP"],
            "allg_art": pd.array([1000, 3000, 1000], dtype="Int32"),
            "bes_art": pd.array([1200, 1700, None], dtype="Int32"),
            "grz": [0.4, 0.8, None],
            "gfz": [1.2, None, None],
            "storeys": pd.array([2, None, None], dtype="Int32"),
            "rechtsstand": ["inKraft", "inKraft", "inKraft"],
        },
        geometry=[
            _multi(box(X0, Y0, X0 + 500, Y0 + 500)),
            _multi(box(X0 + 500, Y0, X0 + 1000, Y0 + 500)),
            _multi(box(X0, Y0, X0 + 1000, Y0 + 600)),
        ],
        crs=CRS,
    )
    brownfields = gpd.GeoDataFrame(
        {
            "site_id": ["BF-1", "BF-2"],
            "ags": ["07999001", "07999002"],
            "name": [XSS, "Alte Ziegelei"],
            "former_use": ["industry", "rail"],
            "since_year": pd.array([1998, 2005], dtype="Int32"),
            "contamination_suspected": pd.array([True, False], dtype="boolean"),
            "ownership": ["public", "private"],
            "owner": ["Geheime Brachen GmbH", "Privatier Anonymus Zwei"],
            "notes": ["Interne Notiz: Altlastengutachten ausstehend", "Interne Notiz: Eigentümer verhandelt"],
        },
        geometry=[
            _multi(box(X0 + 200, Y0 + 700, X0 + 400, Y0 + 900)),
            _multi(box(X0 + 1200, Y0 + 700, X0 + 1400, Y0 + 900)),
        ],
        crs=CRS,
    )
    secrets["owner"] += list(brownfields["owner"])
    secrets["notes"] += list(brownfields["notes"])
    buildings = gpd.GeoDataFrame(
        {
            "building_id": ["G1", "G2"],
            "ags": ["07999001", "07999002"],
            "function": ["Wohnhaus", "Scheune"],
            "storeys": pd.array([2, 1], dtype="Int32"),
            "state": pd.array([None, 2100], dtype="Int32"),
        },
        geometry=[_multi(box(X0 + 10, Y0 + 10, X0 + 30, Y0 + 30)), _multi(box(X0 + 1010, Y0 + 10, X0 + 1030, Y0 + 30))],
        crs=CRS,
    )
    summary = pd.DataFrame(
        {
            "ags": ["07999001", "07999002"],
            "name": ["Altdorf", "Berg & <Tal>"],
            "inner_m2_per_inhabitant": [123.45, 250.0],
            "benchmark_m2_per_inhabitant": [10.0, 10.0],
            "capacity_dwellings": [512.0, 256.0],
            "ratio_to_benchmark": ["not a number", "x"],
        }
    )
    write_gpkg(
        path,
        layers={
            "municipalities": municipalities,
            "parcels": parcels,
            "zoning": zoning,
            "brownfields": brownfields,
            "buildings": buildings,
            "candidates": candidates,
        },
        tables={"summary": summary} if with_summary else {},
    )
    return secrets


@pytest.fixture(scope="session")
def district_gpkg(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]]]:
    """The synthetic district.gpkg (session-wide, read-only) and its planted secrets."""
    out = tmp_path_factory.mktemp("district")
    path = out / "district.gpkg"
    secrets = build_district(path)
    return path, secrets


@pytest.fixture(scope="session")
def fixture_site(district_gpkg, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site published from the synthetic district with the default profile."""
    from flaechen.publish import publish

    path, _ = district_gpkg
    out = tmp_path_factory.mktemp("published")
    return publish(path, out).parent


def screenshot_dir(default: Path) -> Path:
    """Where screenshots go: $FLAECHEN_SCREENSHOTS if set (to look at them), else the test's tmp_path."""
    target = Path(os.environ.get("FLAECHEN_SCREENSHOTS", default))
    target.mkdir(parents=True, exist_ok=True)
    return target
