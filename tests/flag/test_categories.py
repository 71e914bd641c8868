"""Hand-made cases: one parcel per category, with the expected reasons."""

from __future__ import annotations

import json

import pytest

from flaechen.flag import flag, load_rules

from .conftest import box, district, village


@pytest.fixture
def town():
    """A dense village (inside) with a gap, plus parcels for every category."""
    parcels, buildings = village(0, 0, skip=[(3, 3)])
    parcels += [
        {"parcel_id": "GAP", "geometry": box(90, 90, 120, 120), "ownership": "public"},
        {"parcel_id": "FAR", "geometry": box(2000, 0, 2040, 30)},
        {"parcel_id": "BRACHE", "geometry": box(0, -40, 40, -15)},
        {"parcel_id": "RUINE", "geometry": box(40, -40, 80, -15)},
        {"parcel_id": "LEER", "geometry": box(80, -40, 120, -15)},
        {"parcel_id": "WENIG", "geometry": box(120, -40, 160, -15)},
        {"parcel_id": "TINY", "geometry": box(2040, 0, 2050, 10)},
    ]
    buildings += [
        {"building_id": "R1", "state": 2200, "geometry": box(45, -35, 60, -20)},
        {"building_id": "L1", "state": 2000, "geometry": box(85, -35, 100, -20)},
        {"building_id": "L2", "geometry": box(102, -35, 105, -32)},  # small, in use
        {"building_id": "W1", "geometry": box(125, -35, 131, -25)},  # 60 m² on 1000 m²
    ]
    zoning = [
        {"zoning_id": "Z1", "bes_art": 1200, "plan_name": "12", "geometry": box(-10, -50, 300, 300)},
        {"zoning_id": "Z2", "allg_art": 1000, "plan_type": "FNP", "geometry": box(1990, -10, 2100, 100)},
    ]
    brownfields = [
        {"site_id": "BR1", "name": "Alte Ziegelei", "former_use": "industry", "geometry": box(0, -40, 34.8, -15)}
    ]
    return district(parcels=parcels, zoning=zoning, brownfields=brownfields, buildings=buildings)


@pytest.fixture
def result(town):
    return flag(town, rules=load_rules(), workers=1)


def _cand(result, pid):
    c = result.candidates.set_index("parcel_id")
    assert pid in c.index, f"{pid} is not a candidate; candidates: {sorted(c.index)}"
    return c.loc[pid]


def test_brachflaeche_from_the_register(result):
    row = _cand(result, "BRACHE")
    assert row["category"] == "Brachfläche"
    assert row["reasons"].startswith(
        "Zu 87 % als Brachfläche registriert (Schwelle 50 %): BR1 „Alte Ziegelei“, frühere Nutzung Industrie."
    )
    entry = json.loads(row["reasons_json"])[0]
    assert entry["rule"] == "brachflaeche.register"
    assert entry["values"]["brownfield_share"] == pytest.approx(0.87)
    assert row["brownfield_site_id"] == "BR1"
    assert row["former_use"] == "industry"


def test_brachflaeche_from_a_derelict_building(result):
    row = _cand(result, "RUINE")
    assert row["category"] == "Brachfläche"
    assert "1 Gebäude im Zustand verfallen oder teilweise zerstört (ALKIS-Zustand 2200, 2300)." in row["reasons"]


def test_leerstand(result):
    row = _cand(result, "LEER")
    assert row["category"] == "Leerstand"
    assert row["reasons"].startswith("96 % der Gebäudegrundfläche (225 von 234 m²) im Zustand außer Betrieb")
    assert row["categories"] == "Leerstand"  # coverage 23 % of GRZ 0.4: not under-used


def test_bauluecke_inside_the_village(result):
    row = _cand(result, "GAP")
    assert row["category"] == "Baulücke"
    assert row["innenbereich"]
    assert row["ownership"] == "public"
    assert row["reasons"] == (
        "Unbebautes Bauland – §30 BauGB: B-Plan 12, WA – im Innenbereich "
        "(geschätzt: Gebäudedichte 27 %, Schwelle 12 %); tatsächliche Nutzung unbekannt; 900 m² (ab 200 m²)."
    )
    # population 1,000: a village, 15 dwellings per ha; BauNVO's GFZ 1.2 is an upper limit, not a density
    assert row["capacity_dwellings"] == 1  # 0.09 ha × 15 = 1.35 → 1
    assert row["capacity_floor_area"] == pytest.approx(100)
    assert row["gfz_source"] == "BauNVO §17"
    assert row["capacity_basis"] == "15 Wohnungen je ha (Dorf), Wohnanteil 100 % (W)"
    assert row["legal_basis"] == "§30 BauGB: B-Plan 12, WA"


def test_untergenutzt(result):
    row = _cand(result, "WENIG")
    assert row["category"] == "Untergenutzte Fläche"
    assert row["reasons"] == (
        "Bebaut zu 6 % der Fläche bei zulässiger GRZ 0,40 (BauNVO §17; WA, 100 % der Fläche, BPlan 12): "
        "Ausnutzung 15 % (Schwelle 25 %)."
    )


def test_aussenreserve_from_the_fnp(result):
    row = _cand(result, "FAR")
    assert row["category"] == "Außenreserve"
    assert not row["innenbereich"]
    assert row["zoning_class"] == "W"
    assert row["reasons"] == (
        "Unbebautes Bauland – FNP: Wohnbaufläche – außerhalb des Innenbereichs "
        "(geschätzt: Gebäudedichte 0 %, Schwelle 12 %); tatsächliche Nutzung unbekannt; 1.200 m² (ab 200 m²)."
    )
    assert row["legal_basis"] == "FNP: Wohnbaufläche"


def test_too_small_and_built_parcels_are_not_candidates(result):
    ids = set(result.candidates["parcel_id"])
    assert "TINY" not in ids  # 100 m² < 200 m²
    assert "V0000" not in ids  # built at 25 % coverage, GRZ 0.4: not under-used
    m = result.measures.set_index("parcel_id")
    assert m.loc["TINY", "status"] == "kein Kandidat"
    assert m.loc["V0000", "coverage"] == pytest.approx(0.25)


def test_summary_adds_up(result):
    s = result.summary.iloc[0]
    assert s["candidates_n"] == len(result.candidates)
    assert s["candidates_ha"] == pytest.approx(result.candidates["area_m2"].sum() / 10_000)
    parts = sum(s[f"{c}_ha"] for c in ("brachflaeche", "leerstand", "bauluecke", "untergenutzt", "aussenreserve"))
    assert parts == pytest.approx(s["candidates_ha"])
    inner = result.candidates[result.candidates["category"].isin(["Brachfläche", "Baulücke"])]["area_m2"].sum()
    assert s["inner_m2_per_inhabitant"] == pytest.approx(inner / 1000)
    assert s["benchmark_m2_per_inhabitant"] == 10


def test_rules_override_changes_the_outcome(town):
    result = flag(town, rules=load_rules({"bauluecke": {"min_area_m2": 1000}}), workers=1)
    assert "GAP" not in set(result.candidates["parcel_id"])
    table = result.rules.set_index("key")
    assert table.loc["bauluecke.min_area_m2", "value"] == "1000"
    assert table.loc["bauluecke.min_area_m2", "origin"] == "override"


def test_candidates_follow_the_schema(result):
    from flaechen.layers import load_schema

    layer = load_schema().layer("candidates")
    assert list(result.candidates.columns[:-1]) == list(layer.field_names)
    for f in layer.fields:
        assert str(result.candidates[f.name].dtype) == f.dtype, f.name
    assert set(result.candidates.geom_type) == {"MultiPolygon"}
    assert result.candidates.crs == "EPSG:25832"


def test_reasons_json_parses_and_matches_the_categories(result):
    for row in result.candidates.itertuples():
        entries = json.loads(row.reasons_json)
        assert {e["category"] for e in entries if e["category"]} == set(row.categories.split(";"))
        assert all({"rule", "category", "values"} <= set(e) for e in entries)
        assert row.category == row.categories.split(";")[0]


def test_streets_water_and_cemeteries_are_no_building_land(town):
    """A street parcel in a zoned, built-up area is neither a Baulücke nor an Außenreserve."""
    parcels = town["parcels"].copy()
    gap = parcels["parcel_id"] == "GAP"
    far = parcels["parcel_id"] == "FAR"
    parcels["actual_use"] = parcels["actual_use"].astype("string") if "actual_use" in parcels else None
    parcels.loc[gap, "actual_use"] = "Straßenverkehr / Verkehrsbegleitfläche Straße;900"
    parcels.loc[far, "actual_use"] = "Wohnbaufläche;1000;Friedhof;200"  # dominant: Wohnbaufläche
    result = flag({**town, "parcels": parcels}, rules=load_rules(), workers=1)
    assert "GAP" not in set(result.candidates["parcel_id"])
    assert _cand(result, "FAR")["category"] == "Außenreserve"
    measures = result.measures.set_index("parcel_id")
    assert measures.loc["GAP", "dominant_use"] == "Straßenverkehr"
    # A district that counts streets as building land says so in its rules.
    lenient = flag({**town, "parcels": parcels}, rules=load_rules({"zoning.excluded_uses": []}), workers=1)
    assert _cand(lenient, "GAP")["category"] == "Baulücke"
