"""The flags on the real full ALKIS of Monzel (RLP) and Massenheim (Hessen): parcels with arcs, land use as
separate polygons, buildings without state — the kind of village a planning team surveys."""

from __future__ import annotations

import pytest

from flaechen.flag import flag, load_rules
from flaechen.flag.agreement import innenbereich_agreement, ortslage_from_land_use, read_full_alkis, settlement_cores

SETS = {"monzel": ("monzel_rlp_nas.gpkg", "07231103"), "massenheim": ("massenheim_hessen_nas.gpkg", "06436006")}


@pytest.fixture(params=sorted(SETS))
def village(request, shared_real):
    file, ags = SETS[request.param]
    path = shared_real / "alkis_full" / file
    if not path.is_file():
        pytest.skip(f"{path} is not here")
    return read_full_alkis(str(path), ags=ags), ags


def test_innenbereich_estimate_agrees_with_the_settlement_land_use(village):
    layers, _ = village
    rules = load_rules()
    result = flag(layers, rules=rules, workers=1)
    m = result.measures
    assert m["use"].notna().mean() > 0.99  # the land-use polygons cover the parcels
    core = settlement_cores(
        layers["parcels"].geometry.to_numpy(),
        layers["buildings"].geometry.to_numpy(),
        m["use"],
        min_building_area=rules["innenbereich.min_building_area_m2"],
        gap_area=rules["innenbereich.gap_area_m2"],
    )
    a = innenbereich_agreement(m, core=core)
    assert a["core_parcels"] > 250
    assert a["core_parcels_inside"] >= 0.90
    assert a["core_area_inside"] >= 0.90
    assert a["other_parcels_inside"] < 0.10  # not everything is inside
    assert a["parcels_agreeing"] >= 0.90


def test_village_baulücken_are_plausible_and_explained(village):
    layers, ags = village
    result = flag({**layers, "built_up_area": ortslage_from_land_use(layers["land_use"], ags=ags)}, rules=load_rules())
    gaps = result.candidates[result.candidates["category"] == "Baulücke"]
    assert 10 <= len(gaps) <= 100  # a village of a few thousand people
    assert gaps["legal_basis"].eq("§34 BauGB: Innenbereich laut ATKIS-Ortslage").all()
    assert not gaps["land_use"].isin(["Straßenverkehr", "Weg", "Platz", "Wald", "Friedhof", "Fließgewässer"]).any()
    assert gaps["capacity_dwellings"].map(float.is_integer).all()


def test_without_footprints_nothing_relies_on_absent_buildings(village):
    layers, ags = village
    layers = {**layers, "buildings": layers["buildings"].iloc[0:0]}
    layers["built_up_area"] = ortslage_from_land_use(layers["land_use"], ags=ags)
    result = flag(layers, rules=load_rules(), workers=1)
    assert not result.candidates["category"].isin(["Baulücke", "Außenreserve", "Untergenutzte Fläche"]).any()
    assert "keine Gebäudedaten" in result.summary.iloc[0]["not_evaluated"]
