"""Each derived indicator on the small hand-made area of conftest.py, and missing data as no evidence."""

from __future__ import annotations

import pandas as pd
import pytest

from flaechen.flag import load_rules
from flaechen.plan.areas import commercial_areas_from_zoning
from flaechen.plan.catalogue import load_catalogue
from flaechen.plan.indicators import derive_indicators, parse_actual_use, propose_levels
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
            {"land_use_id": "l1", "ags": AGS, "use": "Industrie- und Gewerbefläche"},
            {"land_use_id": "l2", "ags": AGS, "use": "Wald"},
            {"land_use_id": "l3", "ags": AGS, "use": "Straßenverkehr"},
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


def test_parse_actual_use_forms():
    assert parse_actual_use("Weg;463|Weg / Hauptwirtschaftsweg;71") == [
        ("Weg", "", 463.0),
        ("Weg", "Hauptwirtschaftsweg", 71.0),
    ]
    assert parse_actual_use(None) == []
    assert parse_actual_use("Wohnbaufläche;412,5") == [("Wohnbaufläche", "", 412.5)]
