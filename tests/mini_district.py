"""A tiny two-municipality district written into tmp_path in several formats, with planted defects.

Municipality A (07999101) is the square x 350000–351000, y 5600000–5601000 (EPSG:25832); municipality B
(07999102) the square east of it, x 351000–352000. Parcels are 100 m × 100 m cells (10,000 m²).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
from shapely.geometry import Polygon, box

from flaechen.crs import choose_transformation, reproject, use_grid_dirs

X0, Y0 = 350_000.0, 5_600_000.0
CELL = 100.0


def cell(col: int, row: int) -> Polygon:
    return box(X0 + col * CELL, Y0 + row * CELL, X0 + (col + 1) * CELL, Y0 + (row + 1) * CELL)


def key(ags: str, n: int) -> str:
    return f"07{ags[-4:]}001{n:05d}0000__"


def _to_gauss_krueger(geoms):
    """Reproject to DHDN / GK zone 2 with the most accurate available transformation (BETA2007 if installed)."""
    use_grid_dirs()
    choice = choose_transformation("EPSG:25832", "EPSG:31466", bounds=(6.8, 50.5, 6.9, 50.6))
    return reproject(np.asarray(geoms, dtype=object), choice)


def write_mini_district(root: Path, *, extra_toml: str = "") -> Path:
    src = root / "sources"
    src.mkdir(parents=True, exist_ok=True)
    boundaries = gpd.GeoDataFrame(
        {"ags": ["07999101", "07999102", "07999199"], "name": ["Ahausen", "Bedorf", "Elsewhere"]},
        geometry=[
            box(X0, Y0, X0 + 1000, Y0 + 1000),
            box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000),
            box(X0 + 5000, Y0, X0 + 6000, Y0 + 1000),
        ],
        crs="EPSG:25832",
    ).to_crs("EPSG:4326")
    boundaries.to_file(src / "gemeinden.geojson", driver="GeoJSON")

    # A: GeoPackage in EPSG:25832 with ALKIS-like names; planted: a bow-tie, an empty geometry, a null id,
    # a duplicate id, and one parcel (col 10) lying in B that B delivers too (border duplicate by key).
    a_rows = []
    for n in range(10):
        a_rows.append(
            {
                "flstkennz": key("07999101", n),
                "flaeche": CELL * CELL,
                "tntxt": "Wohnbaufläche;10000",
                "geometry": cell(n % 10, n // 10),
            }
        )
    a_rows.append(
        {
            "flstkennz": key("07999101", 50),
            "flaeche": 100.0,
            "tntxt": None,
            "geometry": Polygon([(X0, Y0 + 200), (X0 + 100, Y0 + 300), (X0 + 100, Y0 + 200), (X0, Y0 + 300)]),
        }
    )
    a_rows.append({"flstkennz": key("07999101", 51), "flaeche": 1.0, "tntxt": None, "geometry": Polygon()})
    a_rows.append({"flstkennz": None, "flaeche": 1.0, "tntxt": None, "geometry": cell(0, 4)})
    a_rows.append({"flstkennz": key("07999101", 1), "flaeche": 1.0, "tntxt": None, "geometry": cell(1, 4)})
    a_rows.append({"flstkennz": key("07999102", 0), "flaeche": CELL * CELL, "tntxt": None, "geometry": cell(10, 0)})
    gpd.GeoDataFrame(a_rows, crs="EPSG:25832").to_file(src / "a.gpkg", layer="flurstuecke", driver="GPKG")

    # B: Shapefile in Gauß-Krüger zone 2 with a cp1252 .dbf and no .cpg, German column names.
    b_rows = [
        {
            "KENNZEICH": key("07999102", n),
            "FLAECHE": CELL * CELL * (1.02 if n == 3 else 1.0),
            "NUTZUNG": "Gebäude- und Freifläche;Straße",
            "EIGENTUEM": "Jürgen Müßig",
            "geometry": cell(10 + n % 10, n // 10),
        }
        for n in range(10)
    ]
    # A copy of A's parcel (col 9) under another key: 100 % mutual overlap → border duplicate by overlap.
    b_rows.append(
        {
            "KENNZEICH": key("07999102", 60),
            "FLAECHE": CELL * CELL,
            "NUTZUNG": None,
            "EIGENTUEM": None,
            "geometry": cell(9, 0),
        }
    )
    b = gpd.GeoDataFrame(b_rows, crs="EPSG:25832")
    b = b.set_geometry(gpd.GeoSeries(_to_gauss_krueger(b.geometry.array), crs="EPSG:31466"))
    pyogrio.write_dataframe(b, src / "b.shp", encoding="cp1252")
    (src / "b.cpg").unlink(missing_ok=True)

    # B zoning: CSV with WKT and no CRS; codes as text labels, one outside the code list.
    lines = ["id,art,grz,wkt"]
    lines.append(f'z1,WA,"0,4","{cell(10, 0).union(cell(11, 0)).wkt}"')
    lines.append(f'z2,GE,,"{cell(12, 0).wkt}"')
    lines.append(f'z3,XYZ,0.6,"{cell(13, 0).wkt}"')
    (src / "b_zoning.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    # A buildings: GeoJSON in EPSG:4326, one derelict; wrongly labelled source for B (GK coordinates as UTM).
    buildings = gpd.GeoDataFrame(
        {"gid": ["g1", "g2"], "zustand": [None, 2200]},
        geometry=[box(X0 + 10, Y0 + 10, X0 + 30, Y0 + 30), box(X0 + 110, Y0 + 10, X0 + 130, Y0 + 30)],
        crs="EPSG:25832",
    ).to_crs("EPSG:4326")
    buildings.to_file(src / "a_gebaeude.geojson", driver="GeoJSON")
    wrong = (
        gpd.GeoDataFrame(
            {"gid": ["w1", "w2", "w3"]},
            geometry=[box(X0 + 1010 + i * 100, Y0 + 10, X0 + 1030 + i * 100, Y0 + 30) for i in range(3)],
            crs="EPSG:25832",
        )
        .to_crs("EPSG:31466")
        .set_crs("EPSG:25832", allow_override=True)
    )
    wrong.to_file(src / "b_gebaeude.gpkg", layer="gebaeude", driver="GPKG")

    config = root / "district.toml"
    config.write_text(
        textwrap.dedent("""\
        [district]
        name = "Landkreis Mini"
        crs = "EPSG:25832"

        [boundaries]
        path = "sources/gemeinden.geojson"
        ags_field = "ags"
        name_field = "name"

        [defaults]
        geometry_policy = "fix"

        [defaults.parcels]
        fields = { parcel_id = "flstkennz", official_area = "flaeche", actual_use = "tntxt" }

        [[municipalities]]
        ags = "07999101"
        name = "Ahausen"
        population = 1200

        [[municipalities.sources]]
        id = "a-parcels"
        layer = "parcels"
        path = "sources/a.gpkg"
        source_layer = "flurstuecke"
        values = { ownership = "private" }

        [[municipalities.sources]]
        id = "a-buildings"
        layer = "buildings"
        path = "sources/a_gebaeude.geojson"
        fields = { building_id = "gid", state = "zustand" }

        [[municipalities]]
        ags = "07999102"
        name = "Bedorf"

        [municipalities.defaults.parcels]
        fields = { parcel_id = "KENNZEICH", official_area = "FLAECHE", actual_use = "NUTZUNG", owner = "EIGENTUEM" }

        [[municipalities.sources]]
        id = "b-parcels"
        layer = "parcels"
        path = "sources/b.shp"
        encoding = "cp1252"

        [[municipalities.sources]]
        id = "b-zoning"
        layer = "zoning"
        path = "sources/b_zoning.csv"
        crs = "EPSG:25832"
        open_options = { GEOM_POSSIBLE_NAMES = "wkt", KEEP_GEOM_COLUMNS = "NO" }
        fields = { zoning_id = "id", bes_art = "art", grz = "grz" }
        values = { plan_type = "BPlan", plan_name = "Nr. 1 Am Markt" }
        codes = { bes_art = { WA = 1200, GE = 1700 } }

        [[municipalities.sources]]
        id = "b-buildings"
        layer = "buildings"
        path = "sources/b_gebaeude.gpkg"
        fields = { building_id = "gid" }
        """)
        + extra_toml,
        encoding="utf-8",
    )
    return config
