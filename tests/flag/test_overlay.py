"""The indexed overlaps equal a brute-force computation (every pair tested) on random layouts.

Coordinates are small integers, so parcels lie on polygon edges, share edges, touch only at a corner,
and sit wholly inside or around polygons; polygons come with holes and as multipolygons.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flaechen.flag.core import measures_from_overlaps
from flaechen.flag.overlay import Overlaps, OverlayLayer, indexed_overlaps
from flaechen.flag.rules import load_rules

from .conftest import X0, Y0, district

coord = st.integers(min_value=0, max_value=12)


@functools.cache
def default_rules():
    return load_rules()


@st.composite
def rect(draw):
    x0, x1 = sorted(draw(st.lists(coord, min_size=2, max_size=2, unique=True)))
    y0, y1 = sorted(draw(st.lists(coord, min_size=2, max_size=2, unique=True)))
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


@st.composite
def shape(draw):
    kind = draw(st.sampled_from(["box", "box", "holed", "multi", "triangle"]))
    if kind == "box":
        return draw(rect())
    if kind == "holed":
        outer = draw(rect())
        x0, y0, x1, y1 = outer.bounds
        if x1 - x0 < 3 or y1 - y0 < 3:
            return outer
        hole = shapely.box(x0 + 1, y0 + 1, x1 - 1, y1 - 1)
        return shapely.Polygon(outer.exterior.coords, [hole.exterior.coords])
    if kind == "multi":
        a, b = draw(rect()), draw(rect())
        if a.intersection(b).area > 0:
            return a
        return shapely.MultiPolygon([a, b])
    pts = draw(st.lists(st.tuples(coord, coord), min_size=3, max_size=3, unique=True))
    tri = shapely.Polygon([(X0 + x, Y0 + y) for x, y in pts])
    return tri if tri.area > 0 else draw(rect())


def brute_force(parcels: np.ndarray, others: np.ndarray) -> Overlaps:
    """Every pair tested: intersects, then the exact intersection area."""
    pi, oi, area = [], [], []
    for i, p in enumerate(parcels):
        for j, o in enumerate(others):
            if shapely.intersects(p, o):
                pi.append(i)
                oi.append(j)
                area.append(shapely.intersection(p, o).area)
    return Overlaps(
        parcel=np.array(pi, dtype=np.int64),
        other=np.array(oi, dtype=np.int64),
        area=np.array(area, dtype=float),
        exact=np.ones(len(pi), dtype=bool),
    )


def as_dict(ov: Overlaps) -> dict[tuple[int, int], float]:
    return {(int(p), int(o)): float(a) for p, o, a in zip(ov.parcel, ov.other, ov.area, strict=True)}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parcels=st.lists(shape(), min_size=1, max_size=8), others=st.lists(shape(), min_size=0, max_size=6))
def test_indexed_overlaps_equal_brute_force(parcels, others):
    p = np.array(parcels, dtype=object)
    o = np.array(others, dtype=object)
    got = as_dict(indexed_overlaps(p, {"layer": OverlayLayer.build(o)}, workers=1)["layer"])
    want = as_dict(brute_force(p, o))
    assert set(got) == set(want)  # the same intersecting pairs, touching ones included
    for key, area in want.items():
        assert got[key] == pytest.approx(area, abs=1e-6), key


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parcels=st.lists(shape(), min_size=1, max_size=6),
    zoning=st.lists(
        st.tuples(shape(), st.sampled_from([1200, 1500, 1700, None]), st.sampled_from(["BPlan", "FNP"])), max_size=4
    ),
    brownfields=st.lists(shape(), max_size=3),
    buildings=st.lists(st.tuples(shape(), st.sampled_from([None, 2000, 2200])), max_size=6),
)
def test_measures_equal_brute_force(parcels, zoning, brownfields, buildings):
    d = district(
        parcels=[{"parcel_id": f"P{i}", "geometry": g} for i, g in enumerate(parcels)],
        zoning=[
            {
                "zoning_id": f"Z{i}",
                "bes_art": b,
                "allg_art": 1000 if b is None else None,
                "plan_type": t,
                "grz": 0.3 if i % 2 else None,
                "geometry": g,
            }
            for i, (g, b, t) in enumerate(zoning)
        ],
        brownfields=[{"site_id": f"B{i}", "geometry": g} for i, g in enumerate(brownfields)],
        buildings=[{"building_id": f"H{i}", "state": s, "geometry": g} for i, (g, s) in enumerate(buildings)],
    )
    rules = default_rules()
    geoms = d["parcels"].geometry.to_numpy()
    area = shapely.area(geoms)
    names = ("zoning", "brownfields", "buildings")
    indexed = indexed_overlaps(geoms, {n: OverlayLayer.build(d[n].geometry.to_numpy()) for n in names}, workers=1)
    brute = {n: brute_force(geoms, d[n].geometry.to_numpy()) for n in names}
    got = measures_from_overlaps(d, indexed, rules=rules, parcel_area=area)
    want = measures_from_overlaps(d, brute, rules=rules, parcel_area=area)
    pd.testing.assert_frame_equal(got, want, check_exact=False, atol=1e-6, rtol=0)


def test_parallel_workers_give_the_same_pairs():
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 1000, size=(400, 2))
    parcels = shapely.box(xy[:, 0], xy[:, 1], xy[:, 0] + 30, xy[:, 1] + 20)
    layer = OverlayLayer.build(shapely.buffer(shapely.points(rng.uniform(0, 1000, size=(50, 2))), 60))
    one = indexed_overlaps(parcels, {"l": layer}, workers=1)["l"]
    two = indexed_overlaps(parcels, {"l": layer}, workers=2, min_parcels=10)["l"]
    assert as_dict(one) == pytest.approx(as_dict(two))
    assert (~one.exact).sum() > 0  # some pairs took the covers shortcut


def test_covered_parcels_skip_the_intersection():
    parcels = np.array([shapely.box(1, 1, 2, 2), shapely.box(0, 0, 10, 10), shapely.box(8, 8, 12, 12)])
    layer = OverlayLayer.build([shapely.box(0, 0, 10, 10), shapely.box(3, 3, 4, 4)])
    ov = indexed_overlaps(parcels, {"l": layer}, workers=1)["l"]
    exact = {(int(p), int(o)): bool(e) for p, o, e in zip(ov.parcel, ov.other, ov.exact, strict=True)}
    assert exact == {(0, 0): False, (1, 0): False, (1, 1): False, (2, 0): True}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parcels=st.lists(rect(), min_size=1, max_size=12),
    areas=st.lists(shape(), min_size=1, max_size=3),
    tile=st.sampled_from([1.0, 2.5, 5.0, 100.0]),
)
def test_large_overlaps_equal_the_plain_overlaps(parcels, areas, tile):
    """Covers shortcut on the whole polygons, exact areas on their tiles: the same pairs and areas."""
    from flaechen.flag.overlay import large_overlaps, tiles

    p = np.array(parcels, dtype=object)
    a = np.array(areas, dtype=object)
    got = large_overlaps(p, a, tile_size=tile)
    want = indexed_overlaps(p, {"a": OverlayLayer.build(a)})["a"]
    g = {(int(i), int(j)): x for i, j, x in zip(got.parcel, got.other, got.area, strict=True)}
    w = {(int(i), int(j)): x for i, j, x in zip(want.parcel, want.other, want.area, strict=True)}
    assert g.keys() == w.keys()
    for k in w:
        assert g[k] == pytest.approx(w[k], abs=1e-6)
    pieces, owner = tiles(a, size=tile)
    np.testing.assert_allclose(np.bincount(owner, weights=shapely.area(pieces), minlength=len(a)), shapely.area(a))
