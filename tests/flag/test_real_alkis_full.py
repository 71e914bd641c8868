"""The flags on the real full ALKIS of Monzel (RLP) and Massenheim (Hessen): parcels with arcs, land use as
separate polygons, buildings without state — the kind of village a planning team surveys."""

from __future__ import annotations

import pytest

from flaechen.flag import flag, load_rules
from flaechen.flag.agreement import (
    innenbereich_agreement,
    naive_bauluecken,
    ortslage_from_land_use,
    read_full_alkis,
    settlement_cores,
)
from flaechen.flag.categories import failed_conditions

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
    rules = load_rules()
    # an Ortslage-like stand-in that, like the ATKIS Ortslage, encloses the plots between the houses
    ortslage = ortslage_from_land_use(layers["land_use"], ags=ags, close_m=35.0, fill_holes_m2=4900.0)
    result = flag({**layers, "built_up_area": ortslage}, rules=rules, workers=1)
    gaps = result.candidates[result.candidates["category"] == "Baulücke"]
    assert 10 <= len(gaps) <= 100  # a village of a few thousand people
    basis = gaps["legal_basis"].astype(str)
    assert basis.str.startswith("§34 BauGB: Innenbereich laut ATKIS-Ortslage").all()
    assert basis.str.contains("am Rand: innerhalb der Lagegenauigkeit").any()  # lots in the Ortslage's edge band
    assert not gaps["land_use"].isin(["Straßenverkehr", "Weg", "Platz", "Wald", "Friedhof", "Fließgewässer"]).any()
    assert gaps["capacity_dwellings"].map(float.is_integer).all()
    m = result.measures
    ours = m["categories"].astype("string").str.contains("Baulücke").fillna(False).to_numpy(dtype=bool)
    assert (m.loc[ours, "width_m"].astype(float) >= rules["bauluecke.min_width_m"]).all()
    # the lots of the naive rule (issue 11) the flags leave out fail only the access or the width condition:
    # gardens behind houses and strips, never the Ortslage or the size
    naive = naive_bauluecken(m)
    for _, row in m[naive & ~ours].iterrows():
        failed = failed_conditions(row.to_dict(), "bauluecke", rules=rules)
        assert failed and all(f.startswith(("keine Erschließung", "zu schmal")) for f in failed), failed
    assert (naive & ours).sum() >= 0.7 * naive.sum()


def test_without_footprints_nothing_relies_on_absent_buildings(village):
    layers, ags = village
    layers = {**layers, "buildings": layers["buildings"].iloc[0:0]}
    layers["built_up_area"] = ortslage_from_land_use(layers["land_use"], ags=ags)
    result = flag(layers, rules=load_rules(), workers=1)
    assert not result.candidates["category"].isin(["Baulücke", "Außenreserve", "Untergenutzte Fläche"]).any()
    assert "keine Gebäudedaten" in result.summary.iloc[0]["not_evaluated"]
