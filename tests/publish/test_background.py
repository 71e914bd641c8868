"""The offline background: land use and buildings drawn into XYZ PNG tiles."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import mercantile
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from PIL import Image
from shapely.geometry import box

from flaechen.publish.background import (
    CLASSES,
    OUTSIDE,
    background_features,
    classify_uses,
    dominant_uses,
    render_background,
)

CRS = "EPSG:25832"
X0, Y0 = 350_000.0, 5_580_000.0
COLOUR = {c.key: c.colour for c in CLASSES}


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4))


def _pixel(tiles: Path, lon: float, lat: float, z: int) -> tuple[int, int, int]:
    tile = mercantile.tile(lon, lat, z)
    bounds = mercantile.xy_bounds(tile)
    x, y = mercantile.xy(lon, lat)
    px = int((x - bounds.left) / (bounds.right - bounds.left) * 256)
    py = int((bounds.top - y) / (bounds.top - bounds.bottom) * 256)
    image = Image.open(tiles / str(z) / str(tile.x) / f"{tile.y}.png").convert("RGB")
    return image.getpixel((px, py))


def _lonlat(x: float, y: float) -> tuple[float, float]:
    point = gpd.GeoSeries([shapely.Point(x, y)], crs=CRS).to_crs("EPSG:4326").iloc[0]
    return point.x, point.y


def test_classify_uses_labels_classes_and_subtypes():
    uses = pd.Series(["Wald / Laubholz", "AX_Fliessgewaesser", "Wohnbaufläche", "Straßenverkehr", "Mondbasis", None])
    assert classify_uses(uses).tolist() == ["forest", "water", "housing", "street", "paper", pd.NA]


def test_classify_uses_where_no_use_names_an_unterart():
    # a land_use layer of ALKIS class names (no " / Unterart" anywhere) once crashed the site build
    uses = pd.Series(["AX_Wohnbauflaeche", "AX_Wald", "AX_Landwirtschaft", None])
    assert classify_uses(uses).tolist() == ["housing", "forest", "farmland", pd.NA]


def test_dominant_use_reads_both_separators():
    # ALKIS vereinfacht of NRW separates pairs with "|", others with ";"
    text = pd.Series(["Weg;12|Wald / Nadelholz;1800|Weg;2", "Wohnbaufläche;412;Straßenverkehr;30"])
    assert dominant_uses(text).tolist() == ["Wald / Nadelholz", "Wohnbaufläche"]
    assert classify_uses(pd.Series(["Landwirtschaft / Grünland", "Landwirtschaft / Ackerland"])).tolist() == [
        "grass",
        "farmland",
    ]


@pytest.fixture
def small_district(tmp_path: Path) -> Path:
    """One municipality of 800 m × 800 m: forest west, water strip, housing with a house, a street."""
    path = tmp_path / "district.gpkg"
    municipality = box(X0, Y0, X0 + 800, Y0 + 800)
    parcels = gpd.GeoDataFrame(
        {
            "actual_use": [
                "Wald / Laubholz;160000",
                "Fließgewässer / Bach;16000",
                "Wohnbaufläche;120000",
                "Straßenverkehr;8000",
                "Landwirtschaft / Ackerland;200000",
            ],
            "owner": ["Geheim"] * 5,
        },
        geometry=[
            box(X0, Y0, X0 + 200, Y0 + 800),
            box(X0 + 200, Y0, X0 + 220, Y0 + 800),
            box(X0 + 220, Y0 + 400, X0 + 800, Y0 + 800),
            box(X0 + 220, Y0 + 390, X0 + 800, Y0 + 400),
            box(X0 + 220, Y0, X0 + 800, Y0 + 390),
        ],
        crs=CRS,
    )
    buildings = gpd.GeoDataFrame(
        {"building_id": ["G1"]}, geometry=[box(X0 + 500, Y0 + 600, X0 + 540, Y0 + 640)], crs=CRS
    )
    municipalities = gpd.GeoDataFrame({"ags": ["07999001"]}, geometry=[municipality], crs=CRS)
    pyogrio.write_dataframe(municipalities, path, layer="municipalities")
    pyogrio.write_dataframe(parcels, path, layer="parcels")
    pyogrio.write_dataframe(buildings, path, layer="buildings")
    return path


def test_tiles_show_land_use_and_buildings_where_they_are(small_district: Path, tmp_path: Path):
    features, source = background_features(small_district)
    assert source == "parcels"
    assert sorted(features["class"].unique()) == ["building", "farmland", "forest", "housing", "street", "water"]
    assert "owner" not in features.columns
    extent = box(X0, Y0, X0 + 800, Y0 + 800)
    tiles = render_background(
        features, out_dir=tmp_path / "tiles", extent=extent, max_zoom=17, min_zoom=13, detail_from=None
    )
    assert (tiles.min_zoom, tiles.max_zoom) == (13, 17)
    assert tiles.files == len(list((tmp_path / "tiles").rglob("*.png"))) > 0
    assert tiles.bytes == sum(p.stat().st_size for p in (tmp_path / "tiles").rglob("*.png"))

    house = _lonlat(X0 + 520, Y0 + 620)
    assert _pixel(tiles.path, *house, 17) == _rgb(COLOUR["building"])
    assert _pixel(tiles.path, *house, 13) == _rgb(COLOUR["housing"])  # no houses when zoomed out
    assert _pixel(tiles.path, *_lonlat(X0 + 100, Y0 + 400), 17) == _rgb(COLOUR["forest"])
    assert _pixel(tiles.path, *_lonlat(X0 + 210, Y0 + 200), 17) == _rgb(COLOUR["water"])
    assert _pixel(tiles.path, *_lonlat(X0 + 400, Y0 + 395), 17) == _rgb(COLOUR["street"])
    assert _pixel(tiles.path, *_lonlat(X0 + 500, Y0 + 100), 17) == _rgb(COLOUR["farmland"])
    # beside the district (inside the tile box): greyed out
    assert _pixel(tiles.path, *_lonlat(X0 - 30, Y0 + 400), 13) == _rgb(OUTSIDE.colour)
    # anti-aliased edges: a tile across the house's edge holds mixed colours, but few of them
    tile = mercantile.tile(*house, 17)
    image = Image.open(tiles.path / "17" / str(tile.x) / f"{tile.y}.png")
    assert image.mode == "P"
    assert 2 < len(image.getcolors(256)) <= 256


def test_background_of_real_alkis_parcels(shared_real: Path, tmp_path: Path):
    """NRW's ALKIS vereinfacht parcels of Dahlem: every common use gets its class, tiles are drawn."""
    parcels = pyogrio.read_dataframe(
        shared_real / "alkis" / "nrw_euskirchen_kleve.gpkg", columns=["gemeinde", "tntxt"]
    ).to_crs(CRS)
    parcels = parcels[parcels["gemeinde"] == "Dahlem"].rename(columns={"tntxt": "actual_use"})
    assert len(parcels) == 1286
    path = tmp_path / "district.gpkg"
    pyogrio.write_dataframe(parcels[["actual_use", "geometry"]], path, layer="parcels")
    features, source = background_features(path)
    assert source == "parcels"
    assert len(features) == len(parcels) - int(parcels["actual_use"].isna().sum())
    shares = features["class"].value_counts(normalize=True)
    # the rural Eifel: grassland, forest, streets and housing all present; little falls back to paper
    for key in ("grass", "forest", "street", "housing", "water"):
        assert shares.get(key, 0) > 0.005, key
    assert shares.get("paper", 0) < 0.05
    tiles = render_background(features, out_dir=tmp_path / "tiles", max_zoom=14)
    assert tiles.files > 0
    colours = set()
    for png in list((tmp_path / "tiles" / "14").rglob("*.png"))[:40]:
        colours |= {c for _, c in Image.open(png).convert("RGB").getcolors(65536)}
    drawn = {_rgb(COLOUR[k]) for k in ("grass", "forest", "housing", "water")}
    assert drawn <= colours
    assert np.isfinite(tiles.bounds).all()


def test_publish_draws_the_background_into_the_site(district_gpkg, tmp_path: Path):
    from flaechen.publish import publish

    gpkg, _ = district_gpkg
    site = publish(gpkg, tmp_path / "with").parent
    tiles = sorted((site / "tiles").rglob("*.png"))
    assert tiles, "no background tiles"
    zooms = sorted({int(p.relative_to(site / "tiles").parts[0]) for p in tiles})
    assert zooms[-1] == 16 and len(zooms) >= 3
    bare = publish(gpkg, tmp_path / "without", background=False).parent
    assert not (bare / "tiles").exists()


def test_finest_levels_only_where_houses_stand(small_district: Path, tmp_path: Path):
    features, _ = background_features(small_district)
    extent = box(X0, Y0, X0 + 800, Y0 + 800)
    tiles = render_background(
        features, out_dir=tmp_path / "tiles", extent=extent, max_zoom=17, min_zoom=13, detail_from=16, metatile=2
    )
    assert tiles.detail_from == 16 and sorted(tiles.detail_blocks) == [16, 17]
    house = _lonlat(X0 + 520, Y0 + 620)
    assert _pixel(tiles.path, *house, 17) == _rgb(COLOUR["building"])
    for z in (16, 17):
        written = {(int(p.parent.name), int(p.stem)) for p in (tiles.path / str(z)).rglob("*.png")}
        listed = {(x, y) for x0, y0, x1, y1 in tiles.detail_blocks[z] for x in range(x0, x1) for y in range(y0, y1)}
        assert written == listed  # the map asks for exactly these tiles
        complete = len(list(mercantile.tiles(*tiles.bounds, [z])))
        assert len(written) < complete  # the fields far from the house are left to the level below
    options = tiles.layer_options()
    assert options["detailFrom"] == 16 and options["detailBlocks"]["16"]


def test_land_use_where_delivered_parcels_elsewhere(tmp_path: Path):
    """A municipality delivering land use polygons draws from them; the others from their parcels."""
    path = tmp_path / "district.gpkg"
    land_use = gpd.GeoDataFrame(
        {"ags": ["07999001"], "use": ["AX_Wald"]}, geometry=[box(X0, Y0, X0 + 500, Y0 + 500)], crs=CRS
    )
    parcels = gpd.GeoDataFrame(
        {"ags": ["07999001", "07999002"], "actual_use": ["Wohnbaufläche;250000", "Fließgewässer;250000"]},
        geometry=[box(X0, Y0, X0 + 500, Y0 + 500), box(X0 + 500, Y0, X0 + 1000, Y0 + 500)],
        crs=CRS,
    )
    pyogrio.write_dataframe(land_use, path, layer="land_use")
    pyogrio.write_dataframe(parcels, path, layer="parcels")
    features, source = background_features(path)
    assert source == "land_use+parcels"
    assert sorted(features["class"]) == ["forest", "water"]  # not the parcel's housing under the forest


def test_municipalities_far_apart_get_tiles_only_where_they_are(tmp_path: Path):
    """A district of deliveries from several regions: the box between them stays untiled (it was hundreds of
    thousands of grey tiles for five NRW municipalities and one in Niedersachsen), and the map is told
    exactly which tiles exist at every zoom, so it never asks for a missing one."""
    west = gpd.GeoDataFrame(
        {"class": ["housing", "forest"]},
        geometry=[box(X0, Y0, X0 + 600, Y0 + 600), box(X0 + 600, Y0, X0 + 1200, Y0 + 600)],
        crs=CRS,
    )
    east = west.translate(xoff=150_000, yoff=80_000)  # about 170 km away
    features = gpd.GeoDataFrame(
        {"class": ["housing", "forest"] * 2},
        geometry=[*west.geometry, *east],
        crs=CRS,
    )
    extent = shapely.union_all(
        [box(X0, Y0, X0 + 1200, Y0 + 600), box(X0 + 150_000, Y0 + 80_000, X0 + 151_200, Y0 + 80_600)]
    )
    tiles = render_background(features, out_dir=tmp_path / "tiles", extent=extent, min_zoom=9, max_zoom=15)
    assert tiles.detail_from is None and sorted(tiles.base_blocks) == list(range(9, 16))
    for z in range(9, 16):
        written = {(int(p.parent.name), int(p.stem)) for p in (tiles.path / str(z)).rglob("*.png")}
        listed = {(x, y) for x0, y0, x1, y1 in tiles.base_blocks[z] for x in range(x0, x1) for y in range(y0, y1)}
        assert written == listed  # the map asks for exactly these tiles
    in_box = len(list(mercantile.tiles(*tiles.bounds, [15])))
    assert in_box > 20_000 and tiles.files < 200  # not the box between the two regions
    assert _pixel(tiles.path, *_lonlat(X0 + 300, Y0 + 300), 15) == _rgb(COLOUR["housing"])
    options = tiles.layer_options()
    assert options["baseBlocks"]["15"] == tiles.base_blocks[15]
