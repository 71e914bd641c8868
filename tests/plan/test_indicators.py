"""Each derived indicator on the small hand-made area of conftest.py, and missing data as no evidence."""

from __future__ import annotations

import pandas as pd
import pytest

from flaechen.flag import load_rules
from flaechen.plan.areas import commercial_areas_from_zoning
from flaechen.plan.catalogue import load_catalogue
from flaechen.plan.indicators import derive_indicators, propose_levels
from tests.plan.conftest import AGS, b, gdf


@pytest.fixture
def catalogue():
    return load_catalogue()


def _run(district, catalogue, delivered, candidates=True):
    areas = commercial_areas_from_zoning(district["zoning"], district["municipalities"], rules=load_rules())
    values = derive_indicators(
        areas,
        district,
        catalogue=catalogue,
        delivered=delivered,
        candidates=district["candidates"] if candidates else None,
    )
    return areas, values.set_index("indicator"), propose_levels(values, catalogue=catalogue).set_index("measure_id")


def test_the_area_is_one_hectare_with_the_plans_grz(small_district):
    areas = commercial_areas_from_zoning(small_district["zoning"], small_district["municipalities"], rules=load_rules())
    assert len(areas) == 1
    a = areas.iloc[0]
    assert a["area_m2"] == pytest.approx(10_000)
    assert a["grz"] == pytest.approx(0.8) and a["grz_source"] == "Plan"


def test_land_efficiency(small_district, catalogue, delivered_all):
    _, v, p = _run(small_district, catalogue, delivered_all)
    # buildings 400 + 2,000 + 1,200 + 25 = 3,625 m² on 10,000 − 500 (Straßenverkehr) m² net, against GRZ 0.8
    assert v.loc["land_efficiency", "value"] == pytest.approx(3625 / 9500 / 0.8)
    assert p.loc["flaecheneffizienz", "level_proposed"] == 1  # 0.48: from 0.33 level 1, from 0.5 level 2
    assert "GRZ 0,80 (Plan)" in v.loc["land_efficiency", "evidence"]
    assert "Gebäude (buildings)" in v.loc["land_efficiency", "data"]


def test_unused_plots_counts_only_inner_categories(small_district, catalogue, delivered_all):
    _, v, p = _run(small_district, catalogue, delivered_all)
    assert v.loc["unused_plots", "value"] == pytest.approx(0.15)  # the Baulücke; the Außenreserve is left out
    assert p.loc["ungenutzte_grundstuecke", "level_proposed"] == 1  # ≤ 20 %: 1, ≤ 10 %: 2
    _, v, p = _run(small_district, catalogue, delivered_all, candidates=False)
    assert not v.loc["unused_plots", "available"] and pd.isna(p.loc["ungenutzte_grundstuecke", "level_proposed"])


def test_brownfield_share(small_district, catalogue, delivered_all):
    _, v, p = _run(small_district, catalogue, delivered_all)
    assert v.loc["brownfield", "value"] == pytest.approx(0.08)
    assert p.loc["brachflaechen", "level_proposed"] == 1


def test_sealed_and_green_share_from_the_parcels_land_use(small_district, catalogue, delivered_all):
    _, v, p = _run(small_district, catalogue, delivered_all)
    # green: Gehölz 1,000 + Landwirtschaft 2,250; open: Fließgewässer 250
    assert v.loc["green_share", "value"] == pytest.approx(0.325)
    assert p.loc["gruenflaechen", "level_proposed"] == 3
    assert v.loc["sealed_share", "value"] == pytest.approx((10_000 - 3250 - 250) / 10_000)
    assert p.loc["versiegelung", "level_proposed"] == 2
    assert "41 %" in v.loc["sealed_share", "evidence"]  # the lower estimate: buildings 3,625 + traffic 500


def test_sealed_and_green_share_from_a_land_use_layer(small_district, catalogue, delivered_all):
    land_use = gdf(
        [
            {"land_use_id": "l1", "ags": AGS, "use": "AX_IndustrieUndGewerbeflaeche"},
            {"land_use_id": "l2", "ags": AGS, "use": "AX_Wald"},
            {"land_use_id": "l3", "ags": AGS, "use": "AX_Strassenverkehr"},
        ],
        [b(0, 0, 100, 60), b(0, 60, 100, 90), b(0, 90, 100, 100)],
    )
    _, v, _ = _run({**small_district, "land_use": land_use}, catalogue, delivered_all | {(AGS, "land_use")})
    assert v.loc["green_share", "value"] == pytest.approx(0.30)
    assert v.loc["sealed_share", "value"] == pytest.approx(0.70)
    assert "Layer land_use" in v.loc["green_share", "data"]
    assert v.loc["land_efficiency", "value"] == pytest.approx(3625 / 9000 / 0.8)  # 1,000 m² traffic


def test_solar_roof_leaves_out_small_roofs(small_district, catalogue, delivered_all):
    _, v, p = _run(small_district, catalogue, delivered_all)
    assert v.loc["solar_roof", "value"] == pytest.approx((400 + 2000 + 1200) * 0.6)  # per ha, the area is 1 ha
    assert p.loc["solar_dachflaechen", "level_proposed"] == 2
    assert "360 kWp" in v.loc["solar_roof", "evidence"]  # 2,160 m² / 6 m² per kWp


def test_missing_deliveries_are_no_evidence(small_district, catalogue):
    delivered = {(AGS, "parcels"), (AGS, "zoning")}  # no buildings, no brownfields
    _, v, p = _run(small_district, catalogue, delivered)
    for indicator in ("land_efficiency", "sealed_share", "solar_roof", "brownfield"):
        assert not v.loc[indicator, "available"], indicator
        assert pd.isna(v.loc[indicator, "value"])
        assert "ohne Daten kein Vorschlag" in v.loc[indicator, "evidence"]
    for measure in ("flaecheneffizienz", "versiegelung", "solar_dachflaechen", "brachflaechen"):
        assert pd.isna(p.loc[measure, "level_proposed"]), measure
    assert v.loc["green_share", "available"]  # the parcels' land use is there


def test_no_land_use_text_means_no_green_share(small_district, catalogue, delivered_all):
    parcels = small_district["parcels"].assign(actual_use=None)
    _, v, _ = _run({**small_district, "parcels": parcels}, catalogue, delivered_all)
    assert not v.loc["green_share", "available"] and not v.loc["sealed_share", "available"]


@pytest.mark.real_data
def test_real_alkis_massenheim_commercial_land(shared_real, catalogue):
    """Real ALKIS (Gemarkung Massenheim, Hessen): the land use as one layer per object class, real buildings.

    The area is the largest connected piece of AX_IndustrieUndGewerbeflaeche with the function 17xx
    (Industrie und Gewerbe; the largest piece of the class overall is a waste site, function 2620); the
    indicators must agree with an independent overlay in geopandas.
    """
    import geopandas as gpd
    import pyogrio
    import shapely

    path = shared_real / "alkis_full" / "massenheim_hessen_nas.gpkg"
    classes = [
        n
        for n, _ in pyogrio.list_layers(path)
        if n.startswith("AX_") and n not in ("AX_Flurstueck", "AX_Gebaeude", "AX_Bauteil")
    ]
    land_use = pd.concat(
        [
            pyogrio.read_dataframe(path, layer=n, columns=["gml_id", "funktion"]).assign(use=n, ags="06436008")
            for n in classes
        ],
        ignore_index=True,
    )
    land_use = gpd.GeoDataFrame(land_use, geometry="geometry", crs=land_use.crs)
    buildings = pyogrio.read_dataframe(path, layer="AX_Gebaeude", columns=["gml_id"]).assign(ags="06436008")
    function = pd.to_numeric(land_use["funktion"], errors="coerce")
    commercial = land_use[(land_use["use"] == "AX_IndustrieUndGewerbeflaeche") & (function // 100 == 17)]
    pieces = shapely.get_parts(shapely.union_all(shapely.buffer(commercial.geometry.array, 0.5)))
    area = max(pieces, key=lambda g: g.area)
    areas = gpd.GeoDataFrame(
        {"area_id": ["GG-06436008-01"], "municipalities": ["06436008"], "grz": [0.8], "grz_source": ["BauNVO §17"]},
        geometry=[area],
        crs=land_use.crs,
    )
    layers = {"land_use": land_use, "buildings": buildings, "parcels": None}
    delivered = {("06436008", "buildings"), ("06436008", "land_use")}
    values = derive_indicators(areas, layers, catalogue=catalogue, delivered=delivered).set_index("indicator")
    clip = gpd.clip(land_use, area)
    green = clip[clip["use"].isin(catalogue.parameter("green_uses"))].area.sum() / area.area
    assert values.loc["green_share", "value"] == pytest.approx(green, rel=1e-6)
    built = gpd.clip(buildings, area).union_all().area
    traffic = clip[clip["use"].isin(catalogue.parameter("traffic_uses"))].area.sum()
    assert values.loc["land_efficiency", "value"] == pytest.approx(built / (area.area - traffic) / 0.8, rel=1e-6)
    assert 0 < values.loc["sealed_share", "value"] <= 1
    assert built / area.area > 0.1  # a real commercial area is built on
    assert not values.loc["brownfield", "available"]  # no brownfield register delivered: no evidence
    assert "Layer land_use" in values.loc["green_share", "data"]
