"""Building land without a plan (§34 BauGB), land use, precedence, missing data and capacity."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from flaechen.flag import flag, load_rules

from .conftest import AGS, CRS, box, district, village, with_street


def _village(*, actual_use: bool = True, buildings: bool = True, **extra):
    """A dense village without a plan, with open lots of several actual uses inside and a field outside."""
    parcels, houses = village(0, 0, skip=[(3, 3), (1, 5), (5, 1), (5, 5)])
    for p in parcels:
        p["actual_use"] = None if not actual_use else "Wohnbaufläche;900"
    parcels, houses = with_street(parcels, houses)  # a street through the village: access for the lots
    lots = [
        ("GARTEN", (90, 90, 120, 120), "Landwirtschaft / Gartenland;900"),
        ("STRASSE", (30, 150, 60, 180), "Straßenverkehr;900"),
        ("WALD", (150, 30, 180, 60), "Wald / Laubholz;900"),
        ("SPORT", (150, 150, 180, 180), "Sport-, Freizeit- und Erholungsfläche / Grünanlage;900"),
        ("FELD", (700, 0, 760, 40), "Landwirtschaft / Ackerland;2400"),
    ]
    for pid, b, use in lots:
        parcels.append({"parcel_id": pid, "geometry": box(*b), "actual_use": use if actual_use else None})
    if not actual_use:
        for p in parcels:
            p["actual_use"] = None
    return district(parcels=parcels, buildings=houses if buildings else [], **extra)


def _cands(result):
    return result.candidates.set_index("parcel_id")


def test_34_building_land_by_actual_use(rules):
    result = flag(_village(), rules=rules, workers=1)
    c = _cands(result)
    assert set(c.index) == {"GARTEN", "SPORT"}  # not the street, not the forest, not the field outside
    row = c.loc["GARTEN"]
    assert row["category"] == "Baulücke"
    assert row["legal_basis"].startswith("§34 BauGB: Innenbereich geschätzt (Gebäudedichte ")
    assert row["reasons"].startswith("Unbebautes Bauland ohne B-Plan – §34 BauGB: Innenbereich geschätzt (")
    assert "tatsächliche Nutzung Landwirtschaft (100 %); 900 m² (200–2.500 m²)." in row["reasons"]
    assert row["land_use"] == "Landwirtschaft"
    m = result.measures.set_index("parcel_id")
    assert m.loc["STRASSE", "inside"] and pd.isna(m.loc["STRASSE", "bauland_basis"])
    assert not m.loc["FELD", "inside"]
    s = result.summary.iloc[0]
    assert "Bauland nach B-Plan/FNP: keine Planungsdaten" in s["not_evaluated"]
    assert s["innenbereich_basis"] == "geschätzt aus Gebäuden"


def test_delivered_built_up_area_decides_with_its_name(rules):
    layers = _village()
    layers["built_up_area"] = gpd.GeoDataFrame(
        {"area_id": ["OL1"], "ags": [AGS], "kind": ["ortslage"], "source_name": [pd.NA]},
        geometry=[box(-5, -5, 200, 120)],  # the Ortslage leaves out the top rows (SPORT)
        crs=CRS,
    )
    c = _cands(flag(layers, rules=rules, workers=1))
    assert set(c.index) == {"GARTEN"}
    assert c.loc["GARTEN", "legal_basis"] == "§34 BauGB: Innenbereich laut ATKIS-Ortslage"
    assert c.loc["GARTEN", "innenbereich_basis"] == "ortslage"


def test_land_use_polygons_override_the_text(rules):
    layers = _village()
    layers["land_use"] = gpd.GeoDataFrame(
        {
            "land_use_id": ["N1", "N2", "N3", "N4"],
            "ags": [AGS] * 4,
            "use": ["AX_Wohnbauflaeche", "Strassenverkehr", "AX_Wohnbauflaeche", "AX_Friedhof"],
        },
        geometry=[box(-10, -10, 120, 300), box(120, -10, 150, 300), box(150, -10, 300, 300), box(90, 90, 120, 120)],
        crs=CRS,
    )
    c = _cands(flag(layers, rules=rules, workers=1))
    assert "GARTEN" not in c.index  # a cemetery by the polygons, whatever the text says
    assert c.loc["WALD", "land_use"] == "Wohnbaufläche"  # the polygons say housing


def test_bplan_takes_precedence_over_34(rules):
    layers = _village()
    so = {"zoning_id": "SO1", "allg_art": 4000, "plan_name": "Nr. 3 Sondergebiet", "geometry": box(85, 85, 125, 125)}
    layers["zoning"] = district(parcels=[{"parcel_id": "x", "geometry": box(0, 0, 1, 1)}], zoning=[so])["zoning"]
    c = _cands(flag(layers, rules=rules, workers=1))
    assert "GARTEN" not in c.index  # the B-Plan zones special land: not building land in the rules
    wa = {**so, "allg_art": None, "bes_art": 1200, "plan_name": "Nr. 12"}
    layers["zoning"] = district(parcels=[{"parcel_id": "x", "geometry": box(0, 0, 1, 1)}], zoning=[wa])["zoning"]
    c = _cands(flag(layers, rules=rules, workers=1))
    assert c.loc["GARTEN", "legal_basis"] == "§30 BauGB: B-Plan Nr. 12, WA"


def test_too_large_for_a_34_gap(rules):
    layers = _village()
    parcels = layers["parcels"]
    big = parcels["parcel_id"] == "GARTEN"
    parcels.loc[big, "actual_use"] = "Landwirtschaft;900"
    r = flag(layers, rules=load_rules({"bauluecke.max_area_m2_innenbereich": 800}), workers=1)
    assert "GARTEN" not in set(r.candidates["parcel_id"])


def test_no_buildings_delivered_is_not_evidence(rules):
    """A delivery without footprints: nothing relies on the absence of buildings, and the summary says so."""
    layers = _village(buildings=False)
    layers["zoning"] = district(
        parcels=[{"parcel_id": "x", "geometry": box(0, 0, 1, 1)}],
        zoning=[{"zoning_id": "W", "bes_art": 1200, "plan_name": "Nr. 1", "geometry": box(-10, -10, 800, 300)}],
        brownfields=[{"site_id": "B1", "geometry": box(0, 0, 30, 30)}],
    )["zoning"]
    layers["brownfields"] = district(
        parcels=[{"parcel_id": "x", "geometry": box(0, 0, 1, 1)}],
        brownfields=[{"site_id": "B1", "geometry": box(0, 0, 30, 30)}],
    )["brownfields"]
    result = flag(layers, rules=rules, workers=1)
    cats = set(result.candidates["category"])
    assert cats == {"Brachfläche"}  # the register still counts; no Baulücke, Außenreserve, Untergenutzte Fläche
    m = result.measures.set_index("parcel_id")
    assert pd.isna(m.loc["GARTEN", "inside"])  # the built-up area cannot be known
    assert not m["data_buildings"].any()
    s = result.summary.iloc[0]
    assert s["not_evaluated"].startswith("Baulücke, Außenreserve, Untergenutzte Fläche, Leerstand")
    assert "keine Gebäudedaten" in s["not_evaluated"]
    assert s["innenbereich_basis"] == "unbekannt"
    assert "Gebäude" not in s["data_delivered"].split(", ")


def test_no_land_use_delivered_leaves_34_unevaluated(rules):
    result = flag(_village(actual_use=False), rules=rules, workers=1)
    assert len(result.candidates) == 0
    assert "Bauland im Innenbereich (§34): keine Nutzungsdaten" in result.summary.iloc[0]["not_evaluated"]


@pytest.mark.parametrize(("population", "dwellings", "kind"), [(1_000, 1, "Dorf"), (250_000, 5, "Großstadt")])
def test_capacity_by_settlement_type_in_whole_dwellings(rules, population, dwellings, kind):
    layers = _village()
    layers["municipalities"]["population"] = pd.array([population], dtype="Int64")
    c = _cands(flag(layers, rules=rules, workers=1))
    row = c.loc["GARTEN"]  # 900 m²
    assert row["capacity_dwellings"] == dwellings
    assert float(row["capacity_dwellings"]).is_integer()
    assert kind in row["capacity_basis"]


def _street_row(rules):
    """A row of lots along a street, some behind a verge 2 m or 5 m wide, one behind the row, one 4 m wide."""
    parcels = [
        {"parcel_id": "STRASSE", "geometry": box(0, 0, 300, 10), "actual_use": "Straßenverkehr;3000"},
        {
            "parcel_id": "RAND2",
            "geometry": box(0, 10, 120, 12),
            "actual_use": "Sport-, Freizeit- und Erholungsfläche;240",
        },
        {
            "parcel_id": "RAND5",
            "geometry": box(120, 10, 300, 15),
            "actual_use": "Sport-, Freizeit- und Erholungsfläche;900",
        },
        {"parcel_id": "LUECKE", "geometry": box(60, 12, 90, 42), "actual_use": "Wohnbaufläche;900"},
        {"parcel_id": "HINTEN", "geometry": box(60, 42, 90, 72), "actual_use": "Landwirtschaft / Gartenland;900"},
        {"parcel_id": "HINTER5", "geometry": box(150, 15, 180, 45), "actual_use": "Wohnbaufläche;900"},
        {"parcel_id": "SCHMAL", "geometry": box(200, 15, 204, 105), "actual_use": "Wohnbaufläche;360"},
    ]
    buildings = []
    for k, x in enumerate([0, 30, 90, 120, 180, 210, 240, 270]):
        y = 12 if x < 120 else 15
        parcels.append({"parcel_id": f"H{k}", "geometry": box(x, y, x + 30 if x != 180 else 200, y + 30)})
        buildings.append({"building_id": f"B{k}", "geometry": box(x + 5, y + 5, x + 20, y + 20)})
    layers = district(parcels=parcels, buildings=buildings)
    layers["built_up_area"] = gpd.GeoDataFrame(
        {"area_id": ["S1"], "ags": [AGS], "kind": ["satzung"], "source_name": ["Innenbereichssatzung"]},
        geometry=[box(-10, -10, 310, 110)],
        crs=CRS,
    )
    return flag(layers, rules=rules, workers=1)


def test_access_across_a_narrow_verge_and_the_width_of_a_lot(rules):
    from flaechen.flag.categories import failed_conditions

    result = _street_row(rules)
    m = result.measures.set_index("parcel_id")
    cats = m["categories"].astype("string").fillna("")
    assert "Baulücke" in cats["LUECKE"]  # 2 m of verge between lot and street: access (within 3 m)
    for pid in ("HINTEN", "HINTER5"):  # behind a house, behind a 5 m verge: no access
        assert "Baulücke" not in cats[pid]
        assert any(
            f.startswith("keine Erschließung")
            for f in failed_conditions(m.loc[pid].to_dict() | {"parcel_id": pid}, "bauluecke", rules=rules)
        )
    assert "Baulücke" not in cats["SCHMAL"]
    assert m.loc["SCHMAL", "width_m"] == pytest.approx(4.0, abs=0.1)
    assert "zu schmal: 4,0 m breit (ab 6 m)" in failed_conditions(m.loc["SCHMAL"].to_dict(), "bauluecke", rules=rules)
    # the tolerance and the width are rules: with 1 m the verge cuts the access; with 6 m and a minimum width of
    # 3 m the lot behind the wide verge and the strip are Baulücken
    strict = _street_row(load_rules({"bauluecke.access_tolerance_m": 1}))
    sc = strict.measures.set_index("parcel_id")["categories"].astype("string").fillna("")
    assert "Baulücke" not in sc["LUECKE"]
    loose = _street_row(load_rules({"bauluecke.access_tolerance_m": 6, "bauluecke.min_width_m": 3}))
    lc = loose.measures.set_index("parcel_id")["categories"].astype("string").fillna("")
    assert "Baulücke" in lc["HINTER5"] and "Baulücke" in lc["SCHMAL"] and "Baulücke" not in lc["HINTEN"]


def test_a_lot_in_the_edge_band_of_the_ortslage_is_inside_where_the_buildings_say_so(rules):
    parcels, houses = village(0, 0)
    for p in parcels:
        p["actual_use"] = "Wohnbaufläche;900"
    parcels += [
        {"parcel_id": "STRASSE", "geometry": box(0, -10, 400, 0), "actual_use": "Straßenverkehr;4000"},
        # between the last house inside the Ortslage and a house just outside it: 45 m between the walls
        {"parcel_id": "RAND", "geometry": box(210, 0, 240, 30), "actual_use": "Landwirtschaft / Ackerland;900"},
        {"parcel_id": "HAUS", "geometry": box(240, 0, 270, 30), "actual_use": "Wohnbaufläche;900"},
        # beside the village where no house follows: the estimate ends 15 m beyond the walls
        {"parcel_id": "FELD", "geometry": box(210, 150, 240, 180), "actual_use": "Landwirtschaft / Ackerland;900"},
        {"parcel_id": "WEG", "geometry": box(240, 150, 250, 210), "actual_use": "Weg;600"},
    ]
    houses.append({"building_id": "BHAUS", "geometry": box(247, 7, 262, 22)})
    layers = district(parcels=parcels, buildings=houses)
    layers["built_up_area"] = gpd.GeoDataFrame(
        {"area_id": ["OL1"], "ags": [AGS], "kind": ["ortslage"], "source_name": [pd.NA]},
        geometry=[box(-5, -5, 215, 215)],  # the DLM's line runs 5 m into the lots beyond the last houses
        crs=CRS,
    )
    m = flag(layers, rules=rules, workers=1).measures.set_index("parcel_id")
    assert float(m.loc["RAND", "built_up_share"]) < 0.5 and bool(m.loc["RAND", "inside"])
    assert bool(m.loc["RAND", "built_up_edge"]) and "Baulücke" in m.loc["RAND", "categories"]
    assert "am Rand: innerhalb der Lagegenauigkeit von 15 m" in m.loc["RAND", "legal_basis"]
    assert not bool(m.loc["FELD", "inside"]) and not bool(m.loc["FELD", "built_up_edge"])
    # a Satzung has no edge band
    layers["built_up_area"]["kind"] = "satzung"
    m = flag(layers, rules=rules, workers=1).measures.set_index("parcel_id")
    assert not bool(m.loc["RAND", "inside"])


def test_a_municipality_without_parcels_is_named_as_not_evaluated(rules):
    """Candidates are parcels: a municipality that delivered brownfields and buildings but no parcels gets
    none, and the summary says why instead of an empty row (an English register of 806 sites gave
    'Reuse candidates: 0' with no word)."""
    layers = district(
        parcels=[{"parcel_id": "x", "geometry": box(0, 0, 30, 30)}],
        brownfields=[{"site_id": "B1", "geometry": box(0, 0, 30, 30)}],
        buildings=[{"building_id": "G1", "geometry": box(5, 5, 15, 15)}],
    )
    layers["parcels"] = layers["parcels"].iloc[0:0]
    result = flag(layers, rules=rules, workers=1)
    s = result.summary.iloc[0]
    assert len(result.candidates) == 0
    assert s["not_evaluated"].startswith("alle Regeln: keine Flurstücke")
    assert s["data_delivered"] == "Gebäude, Brachflächen"
