"""The vectorised convex clipping gives GEOS' intersection areas, for any mix of polygon pairs."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flaechen.flag.clip import RingArrays, intersection_area

from .conftest import X0, Y0

coord = st.integers(min_value=0, max_value=10)


@st.composite
def polygon(draw):
    """Valid polygons on a small integer grid: convex, concave, clockwise, with holes, multipolygons."""
    pts = draw(st.lists(st.tuples(coord, coord), min_size=3, max_size=7, unique=True))
    shape = shapely.Polygon([(X0 + x, Y0 + y) for x, y in pts])
    kind = draw(st.sampled_from(["as is", "hull", "reversed", "holed", "multi"]))
    if kind == "hull":
        shape = shapely.convex_hull(shape)
    shape = shapely.make_valid(shape)
    polys = [g for g in shapely.get_parts(shape) if g.geom_type == "Polygon" and g.area > 0]
    if not polys:
        return shapely.box(X0, Y0, X0 + 1, Y0 + 1)
    shape = polys[0] if kind != "multi" or len(polys) == 1 else shapely.MultiPolygon(polys)
    if kind == "reversed":
        shape = shapely.reverse(shape)
    if kind == "holed" and shape.geom_type == "Polygon":
        hole = shapely.buffer(shape.representative_point(), 0.3, quad_segs=2)
        if shape.contains(hole):
            shape = shape.difference(hole)
    return shape


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=st.lists(st.tuples(polygon(), polygon()), min_size=1, max_size=12))
def test_clipped_areas_equal_geos(pairs):
    a = np.array([p for p, _ in pairs], dtype=object)
    b = np.array([q for _, q in pairs], dtype=object)
    want = shapely.area(shapely.intersection(a, b))
    assert intersection_area(a, b) == pytest.approx(want, abs=1e-7)
    assert intersection_area(b, a) == pytest.approx(want, abs=1e-7)


def test_convexity_is_recognised():
    geoms = np.array(
        [
            shapely.box(0, 0, 2, 2),  # convex
            shapely.Polygon([(0, 0), (2, 0), (2, 2), (1, 1), (0, 2)]),  # concave
            shapely.Polygon([(0, 0), (1, 0), (2, 0), (2, 2), (0, 2)]),  # collinear vertex: still convex
            shapely.box(0, 0, 4, 4).difference(shapely.box(1, 1, 2, 2)),  # a hole: not a single ring
            shapely.MultiPolygon([shapely.box(0, 0, 1, 1)]),  # one-part multipolygon: convex
            shapely.Point(0, 0).buffer(1, quad_segs=8),  # 32 edges: beyond MAX_EDGES
        ]
    )
    assert (RingArrays.build(geoms).clip_row >= 0).tolist() == [True, False, True, False, True, False]


def test_a_geometry_collection_goes_to_geos():
    collection = shapely.GeometryCollection([shapely.box(0, 0, 2, 2), shapely.LineString([(5, 5), (6, 6)])])
    a = np.array([shapely.box(1, 1, 3, 3)], dtype=object)
    b = np.array([collection], dtype=object)
    assert intersection_area(a, b) == pytest.approx([1.0])
    assert intersection_area(b, a) == pytest.approx([1.0])


def test_many_pairs_with_a_large_polygon_are_clipped_in_batches(monkeypatch):
    """One field of many vertices against many parcels: the same areas when clipped in small batches."""
    from flaechen.flag import clip

    field = shapely.buffer(shapely.Point(X0 + 50, Y0 + 50), 45, quad_segs=64)  # 257 vertices, convex
    field = field.difference(shapely.box(X0 + 40, Y0 + 40, X0 + 60, Y0 + 60))  # with a hole: not convex
    parcels = np.array(
        [shapely.box(X0 + x, Y0 + y, X0 + x + 10, Y0 + y + 10) for x in range(0, 100, 10) for y in range(0, 100, 10)],
        dtype=object,
    )
    fields = np.array([field] * len(parcels), dtype=object)
    want = shapely.area(shapely.intersection(parcels, fields))
    whole = intersection_area(parcels, fields)
    monkeypatch.setattr(clip, "MAX_BATCH_VERTICES", 600)  # about two pairs per batch
    batched = intersection_area(parcels, fields)
    assert whole == pytest.approx(want, abs=1e-7) and batched == pytest.approx(want, abs=1e-7)
    assert want.sum() == pytest.approx(field.area, rel=1e-9)
