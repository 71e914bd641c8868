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


def test_parallel_estimate_equals_the_serial_one(monkeypatch):
    """Settlement bodies dissolved per group of components in workers give the same areas as one union."""
    from flaechen.flag import innenbereich

    rules = load_rules()
    rng = np.random.default_rng(3)
    towns = [(0.0, 0.0), (2_000.0, 0.0), (0.0, 2_000.0), (2_000.0, 2_000.0), (4_000.0, 800.0)]
    houses = []
    for tx, ty in towns:
        xy = rng.uniform(0, 400, (120, 2)) + np.array([tx, ty])
        houses.append(shapely.box(xy[:, 0], xy[:, 1], xy[:, 0] + 12, xy[:, 1] + 10))
    houses.append(_row(6_000, 4))  # a splinter group
    geoms = np.concatenate(houses)
    serial = estimate_built_up(geoms, rules=rules, workers=1)
    monkeypatch.setattr(innenbereich, "MIN_PARALLEL_BUILDINGS", 1)
    parallel = estimate_built_up(geoms, rules=rules, workers=2)
    assert len(serial.areas) == len(parallel.areas) >= 4
    # the same areas, perhaps in another order
    order_s = np.lexsort(shapely.bounds(serial.areas).T[::-1])
    order_p = np.lexsort(shapely.bounds(parallel.areas).T[::-1])
    a, b = serial.areas[order_s], parallel.areas[order_p]
    assert (shapely.area(shapely.symmetric_difference(a, b)) < 1e-6 * shapely.area(a)).all()
    np.testing.assert_allclose(serial.coverage[order_s], parallel.coverage[order_p])
    np.testing.assert_array_equal(serial.buildings[order_s], parallel.buildings[order_p])
    # every building in the same area (up to the order of the areas)
    rank_s = np.argsort(order_s)
    rank_p = np.argsort(order_p)
    sb, pb = serial.building_area, parallel.building_area
    np.testing.assert_array_equal(np.where(sb >= 0, rank_s[sb], -1), np.where(pb >= 0, rank_p[pb], -1))


def test_components_join_exactly_the_geometries_whose_boxes_meet():
    from flaechen.flag.innenbereich import box_components

    boxes = shapely.box([0, 5, 20, 100, 104, 300], 0, [6, 10, 25, 105, 110, 301], 1)
    label = box_components(boxes)
    # 0-1 overlap, 2 alone (5 m from 1), 3-4 overlap, 5 alone
    assert label[0] == label[1] != label[2]
    assert label[3] == label[4] != label[5]
    assert len(set(label.tolist())) == 4
