"""The Innenbereich estimate: a gap among houses stays inside, sheds and lone farms make no built-up area."""

from __future__ import annotations

import numpy as np
import shapely

from flaechen.flag import flag, load_rules
from flaechen.flag.innenbereich import estimate_built_up

from .conftest import box, district, village


def _row(x0: float, n: int, *, step: float = 30.0, size: float = 12.0, y: float = 0.0) -> np.ndarray:
    xs = x0 + step * np.arange(n)
    return shapely.box(xs, y, xs + size, y + size)


def test_houses_up_to_the_gap_apart_form_one_area_and_a_wider_gap_splits():
    rules = load_rules()
    # two rows of 6 houses 30 m apart; the second row starts 60 m (< 70 m) after the first, a third 90 m after
    houses = np.concatenate([_row(0, 6), _row(150 + 60, 6), _row(210 + 150 + 90, 6)])
    est = estimate_built_up(houses, rules=rules)
    assert len(est.areas) == 2
    assert sorted(est.buildings.tolist()) == [6, 12]
    assert (est.building_area >= 0).all()


def test_sheds_and_splinter_groups_make_no_built_up_area():
    rules = load_rules()
    sheds = _row(0, 10, size=6.0)  # 36 m² each: under 56.8 m²
    farm = _row(5_000, 3)  # 3 main buildings: a Splittersiedlung
    est = estimate_built_up(np.concatenate([sheds, farm]), rules=rules)
    assert len(est.areas) == 0
    assert (est.building_area == -1).all()


def test_an_unbuilt_lot_among_houses_is_inside_and_a_far_field_is_not(rules):
    parcels, buildings = village(0, 0, skip=[(3, 3)])
    parcels += [
        {"parcel_id": "GAP", "actual_use": "Landwirtschaft / Gartenland;900", "geometry": box(90, 90, 120, 120)},
        {"parcel_id": "FELD", "actual_use": "Landwirtschaft / Ackerland;1200", "geometry": box(600, 0, 640, 30)},
    ]
    result = flag(district(parcels=parcels, buildings=buildings), rules=rules, workers=1)
    m = result.measures.set_index("parcel_id")
    assert m.loc["GAP", "inside"] and not m.loc["FELD", "inside"]
    assert m.loc["GAP", "inside_basis"] == "estimate"
    assert m.loc["GAP", "building_density"] > rules["innenbereich.coverage_threshold"]
    assert m.loc["GAP", "built_up_buildings"] == 48
    # the edge house's whole lot counts, through its main building
    assert m.loc["V0000", "inside"]
