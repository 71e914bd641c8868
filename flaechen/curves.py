"""Curved geometries (circular arcs) as delivered in NAS and XPlanGML, linearised with a bound in metres.

ALKIS (NAS) and XPlanGML describe parcel and plan boundaries with circular arcs: ``CircularString``,
``CompoundCurve``, ``CurvePolygon``, ``MultiCurve`` and ``MultiSurface`` (ISO SQL/MM). GEOS and shapely
know only straight segments, and GDAL strokes arcs by a fixed angle step only (``OGR_ARC_STEPSIZE``, 4° by
default), which puts a road curve of 1 km radius up to 60 cm off. This module reads the ISO WKB GDAL passes
on (through Arrow, untouched) and replaces every arc by a polyline that stays within ``max_deviation``
(in the CRS's units) of the arc: each arc gets as many equal segments as its radius needs. The vertices
depend only on the arc, not on its direction, so neighbouring parcels sharing an arc share the vertices.

Examples
--------
>>> import shapely
>>> wkb = shapely.to_wkb(shapely.from_wkt("LINESTRING (0 0, 1 1)"))  # a linear geometry passes unchanged
>>> result = linearise_wkb([wkb], max_deviation=0.001)
>>> result.geometries[0].wkt, result.curved.tolist()
('LINESTRING (0 0, 1 1)', [False])
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely

DEFAULT_MAX_DEVIATION = 0.001
"""Largest distance in metres between an arc and its polyline (1 mm)."""

MAX_AREA_CHANGE = 1e-4
"""Largest relative change of a feature's area by the linearisation (0.01 %); slivers are stroked finer."""

_FINEST = 1e-6
"""The finest deviation the refinement goes down to (a micrometre)."""


_POINT, _LINESTRING, _POLYGON = 1, 2, 3
_MULTIPOINT, _MULTILINESTRING, _MULTIPOLYGON, _COLLECTION = 4, 5, 6, 7
_CIRCULARSTRING, _COMPOUNDCURVE, _CURVEPOLYGON, _MULTICURVE, _MULTISURFACE = 8, 9, 10, 11, 12
_TRIANGLE = 17
_NAMES = {
    1: "Point",
    2: "LineString",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
    8: "CircularString",
    9: "CompoundCurve",
    10: "CurvePolygon",
    11: "MultiCurve",
    12: "MultiSurface",
    15: "PolyhedralSurface",
    16: "TIN",
    17: "Triangle",
}


class WKBError(ValueError):
    """The WKB cannot be parsed (truncated, or a geometry type this reader does not know)."""


@dataclass
class _State:
    """What parsing one geometry found out."""

    max_deviation: float
    curved: bool = False
    unclosed: int = 0
    between: float = 0.0
    """Sum of the areas between each arc and its polyline (exact: n · r²/2 · (δ − sin δ) per arc)."""


@dataclass(frozen=True)
class Linearised:
    """Geometries with every arc replaced by a polyline, and what that changed."""

    geometries: np.ndarray
    """shapely geometries (None where the WKB was None or unparsable)."""
    curved: np.ndarray
    """Mask: the geometry held at least one circular arc."""
    unclosed: np.ndarray
    """Number of rings per geometry whose end did not meet their start (closed here)."""
    area_change: np.ndarray
    """Relative change of area against the arcs: an upper bound (the slivers between arcs and polylines over
    the area); 0 without arcs."""
    errors: dict[int, str]
    """Position → message for WKB that cannot be parsed."""


class _Reader:
    def __init__(self, data: bytes, state: _State) -> None:
        self.data = memoryview(data)
        self.pos = 0
        self.state = state

    def _uint(self, little: bool) -> int:
        if self.pos + 4 > len(self.data):
            raise WKBError("the WKB ends early")
        (value,) = struct.unpack_from("<I" if little else ">I", self.data, self.pos)
        self.pos += 4
        return int(value)

    def _coords(self, n: int, dims: tuple[int, bool], little: bool) -> np.ndarray:
        width, has_z = dims
        size = n * width * 8
        if self.pos + size > len(self.data):
            raise WKBError("the WKB ends early")
        values = np.frombuffer(self.data, dtype="<f8" if little else ">f8", count=n * width, offset=self.pos)
        self.pos += size
        # x, y and z where there is one; a measure (M) is dropped
        return values.reshape(n, width)[:, : 3 if has_z else 2].astype(np.float64)

    def geometry(self) -> shapely.Geometry:
        kind, dims, little = self._header()
        if kind == _POINT:
            c = self._coords(1, dims, little)
            return shapely.Point(c[0]) if np.isfinite(c).any() else shapely.Point()
        if kind in (_LINESTRING, _CIRCULARSTRING):
            return shapely.LineString(self._curve_coords(kind, dims, little))
        if kind == _COMPOUNDCURVE:
            return shapely.LineString(self._compound(dims, little))
        if kind in (_POLYGON, _TRIANGLE):
            rings = [self._ring(self._coords(self._uint(little), dims, little)) for _ in range(self._uint(little))]
            return _polygon(rings)
        if kind == _CURVEPOLYGON:
            rings = [self._ring(self._any_curve()) for _ in range(self._uint(little))]
            return _polygon(rings)
        if kind in (_MULTIPOINT, _MULTILINESTRING, _MULTIPOLYGON, _COLLECTION, _MULTICURVE, _MULTISURFACE, 15, 16):
            parts = [self.geometry() for _ in range(self._uint(little))]
            if kind in (_MULTILINESTRING, _MULTICURVE):
                return shapely.MultiLineString([p for p in parts if not p.is_empty])
            if kind in (_MULTIPOLYGON, _MULTISURFACE, 15, 16):
                return shapely.MultiPolygon([p for p in parts if not p.is_empty])
            if kind == _MULTIPOINT:
                return shapely.MultiPoint([p for p in parts if not p.is_empty])
            return shapely.GeometryCollection(parts)
        raise WKBError(f"geometry type {kind} is not supported")

    def _header(self) -> tuple[int, tuple[int, bool], bool]:
        if self.pos >= len(self.data):
            raise WKBError("the WKB ends early")
        order = self.data[self.pos]
        if order not in (0, 1):
            raise WKBError(f"byte {self.pos}: no WKB byte order mark")
        little = order == 1
        self.pos += 1
        code = self._uint(little)
        has_z = bool(code & 0x80000000)
        has_m = bool(code & 0x40000000)
        if code & 0x20000000:  # EWKB SRID
            self._uint(little)
        code &= 0x0FFFFFFF
        iso, kind = divmod(code, 1000)
        has_z = has_z or iso in (1, 3)
        has_m = has_m or iso in (2, 3)
        if kind not in _NAMES:
            raise WKBError(f"geometry type {code} is not supported")
        return kind, (2 + int(has_z) + int(has_m), has_z), little

    def _curve_coords(self, kind: int, dims: tuple[int, bool], little: bool) -> np.ndarray:
        coords = self._coords(self._uint(little), dims, little)
        if kind == _CIRCULARSTRING:
            self.state.curved = self.state.curved or len(coords) >= 3
            return stroke_arcs(coords, self.state.max_deviation, state=self.state)
        return coords

    def _compound(self, dims: tuple[int, bool], little: bool) -> np.ndarray:
        pieces = []
        for _ in range(self._uint(little)):
            kind, sub_dims, sub_little = self._header()
            if kind not in (_LINESTRING, _CIRCULARSTRING):
                raise WKBError(f"a CompoundCurve holds a {_NAMES.get(kind, kind)}")
            pieces.append(self._curve_coords(kind, sub_dims, sub_little))
        return _join(pieces)

    def _any_curve(self) -> np.ndarray:
        kind, dims, little = self._header()
        if kind == _COMPOUNDCURVE:
            return self._compound(dims, little)
        if kind in (_LINESTRING, _CIRCULARSTRING):
            return self._curve_coords(kind, dims, little)
        raise WKBError(f"a CurvePolygon ring is a {_NAMES.get(kind, kind)}")

    def _ring(self, coords: np.ndarray) -> np.ndarray:
        if len(coords) and not np.array_equal(coords[0, :2], coords[-1, :2]):
            self.state.unclosed += 1
            coords = np.vstack([coords, coords[:1]])
        return coords


def _join(pieces: Sequence[np.ndarray]) -> np.ndarray:
    pieces = [p for p in pieces if len(p)]
    if not pieces:
        return np.empty((0, 2))
    width = min(p.shape[1] for p in pieces)
    out = [pieces[0][:, :width]]
    for p in pieces[1:]:
        p = p[:, :width]
        out.append(p[1:] if np.array_equal(out[-1][-1, :2], p[0, :2]) else p)
    return np.vstack(out)


def _polygon(rings: list[np.ndarray]) -> shapely.Geometry:
    rings = [r for r in rings if len(r)]
    if not rings:
        return shapely.Polygon()
    if any(len(r) < 4 for r in rings):
        raise WKBError(f"a ring of {min(len(r) for r in rings)} points cannot bound an area")
    return shapely.Polygon(rings[0], rings[1:])


def _circle(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray) -> tuple[float, float, float] | None:
    """Centre and radius of the circle through three points; None where they are collinear.

    Computed relative to `p0`: with projected coordinates of millions of metres the squares would lose the
    millimetres otherwise.
    """
    ox, oy = float(p0[0]), float(p0[1])
    bx, by = float(p1[0]) - ox, float(p1[1]) - oy
    cx, cy = float(p2[0]) - ox, float(p2[1]) - oy
    d = 2.0 * (bx * cy - by * cx)
    scale = max(abs(bx), abs(by), abs(cx), abs(cy), 1e-300)
    if abs(d) <= 1e-12 * scale * scale:
        return None
    b2, c2 = bx * bx + by * by, cx * cx + cy * cy
    ux = (cy * b2 - by * c2) / d
    uy = (bx * c2 - cx * b2) / d
    return ox + ux, oy + uy, math.hypot(ux, uy)


def stroke_arc(
    p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, max_deviation: float, *, state: _State | None = None
) -> np.ndarray:
    """The polyline of one circular arc from `p0` through `p1` to `p2`, within `max_deviation` of the arc.

    Returns the vertices from `p0` to `p2` (both exact); the segments are of equal angle, as many as the
    radius needs. Collinear points give the straight line; `p0` = `p2` a full circle through `p1`.

    Examples
    --------
    >>> line = stroke_arc(np.array([1.0, 0]), np.array([0.0, 1]), np.array([-1.0, 0]), 0.01)
    >>> len(line), bool(np.allclose(np.hypot(line[:, 0], line[:, 1]), 1))
    (13, True)
    """
    xy0, xy1, xy2 = p0[:2], p1[:2], p2[:2]
    full = np.array_equal(xy0, xy2)
    if full:
        ux, uy = (xy0 + xy1) / 2.0
        radius = float(np.hypot(*(xy0 - (ux, uy))))
        if radius == 0:
            return np.vstack([p0, p2])
        sweep = 2.0 * math.pi
        start = math.atan2(xy0[1] - uy, xy0[0] - ux)
        direction = 1.0
    else:
        circle = _circle(xy0, xy1, xy2)
        if circle is None:
            return np.vstack([p0, p1, p2]) if not _between(xy0, xy1, xy2) else np.vstack([p0, p2])
        ux, uy, radius = circle
        start = math.atan2(xy0[1] - uy, xy0[0] - ux)
        end = math.atan2(xy2[1] - uy, xy2[0] - ux)
        ccw = (xy1[0] - xy0[0]) * (xy2[1] - xy1[1]) - (xy1[1] - xy0[1]) * (xy2[0] - xy1[0]) > 0
        direction = 1.0 if ccw else -1.0
        sweep = ((end - start) * direction) % (2.0 * math.pi)
        if sweep == 0:
            sweep = 2.0 * math.pi
    step = math.pi / 2 if max_deviation >= radius else 2.0 * math.acos(1.0 - max_deviation / radius)
    n = max(2, math.ceil(sweep / step - 1e-9))
    angles = start + direction * sweep * (np.arange(n + 1) / n)
    out = np.empty((n + 1, len(p0)))
    out[:, 0] = ux + radius * np.cos(angles)
    out[:, 1] = uy + radius * np.sin(angles)
    if len(p0) > 2:
        out[:, 2] = p0[2] + (p2[2] - p0[2]) * np.arange(n + 1) / n
    out[0], out[-1] = p0, p2
    if state is not None:
        delta = sweep / n
        state.between += n * radius * radius / 2.0 * (delta - math.sin(delta))
    return out


def _between(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> bool:
    return bool(np.all(np.minimum(a, c) <= b) and np.all(b <= np.maximum(a, c)))


def stroke_arcs(coords: np.ndarray, max_deviation: float, *, state: _State | None = None) -> np.ndarray:
    """The polyline of a CircularString (arcs of three points sharing their ends)."""
    if len(coords) < 3:
        return coords
    pieces = [
        stroke_arc(coords[i], coords[i + 1], coords[i + 2], max_deviation, state=state)
        for i in range(0, len(coords) - 2, 2)
    ]
    return _join(pieces)


def wkb_type_name(wkb: bytes) -> str:
    """The geometry type a WKB names (e.g. ``MultiSurface``), for messages."""
    try:
        kind, _, _ = _Reader(wkb, _State(1.0))._header()
    except WKBError:
        return "unknown"
    return _NAMES.get(kind, str(kind))


def _one(wkb: bytes, deviation: float) -> tuple[shapely.Geometry, _State, float]:
    state = _State(deviation)
    geom = _Reader(wkb, state).geometry()
    change = 0.0
    if state.curved:
        # an upper bound of the relative change: the slivers between the arcs and their polylines, which
        # the polygon loses (convex arcs) or gains (concave ones), against its area
        area = shapely.area(geom)
        change = state.between / area if area > 0 else 0.0
    return geom, state, change


_LINEAR_TYPES = frozenset({1, 2, 3, 4, 5, 6, 1001, 1002, 1003, 1004, 1005, 1006})
"""WKB type codes that cannot hold a curve (2D and ISO Z points, lines, polygons and their multis)."""


def _top_type(data: bytes) -> int:
    """The WKB type code of a geometry (EWKB flags kept, so they fall through to the full reader)."""
    if len(data) < 5 or data[0] not in (0, 1):
        return -1
    return int(struct.unpack_from("<I" if data[0] == 1 else ">I", data, 1)[0])


_CURVE_HEADERS = tuple(
    struct.pack(fmt, order, code + dim)
    for order, fmt in ((1, "<BI"), (0, ">BI"))
    for code in (_CIRCULARSTRING, _COMPOUNDCURVE, _CURVEPOLYGON, _MULTICURVE)
    for dim in (0, 1000, 2000, 3000)
)
"""Byte patterns of the headers of curve geometries (little and big endian, 2D and ISO Z/M/ZM)."""


def _as_linear(data: bytes) -> bytes | None:
    """WKB GEOS can parse where `data` holds no curve, else None (the full reader handles it).

    A MultiSurface of plain polygons (as NAS exports write every parcel) is a MultiPolygon with another type
    code: the code is rewritten. A curve header anywhere means a curve (a chance match of coordinate bytes only
    sends a linear geometry the slow, exact way).
    """
    kind = _top_type(data)
    if kind in _LINEAR_TYPES:
        return data
    if kind in (_MULTISURFACE, _MULTISURFACE + 1000) and not any(h in data for h in _CURVE_HEADERS):
        code = _MULTIPOLYGON + (kind - _MULTISURFACE)
        return data[:1] + struct.pack("<I" if data[0] == 1 else ">I", code) + data[5:]
    return None


def linearise_wkb(
    wkbs: Sequence[bytes | None],
    *,
    max_deviation: float = DEFAULT_MAX_DEVIATION,
    max_area_change: float | None = MAX_AREA_CHANGE,
) -> Linearised:
    """Parse ISO/EWKB geometries, replacing every circular arc by a polyline within `max_deviation`.

    Parameters
    ----------
    wkbs
        WKB per feature (None for no geometry), e.g. the geometry column of a GDAL Arrow stream.
    max_deviation
        Largest distance between an arc and its polyline, in the coordinates' units.
    max_area_change
        Where the polyline changes a feature's area by more than this share (a sliver with an arc), its arcs
        are stroked more finely until it does not. None: `max_deviation` only.

    Returns
    -------
    Linearised
        The geometries and, per feature, whether it held arcs, how many rings were unclosed and how much
        the area changed against the arcs.
    """
    if not max_deviation > 0:
        raise ValueError(f"max_deviation must be positive, not {max_deviation!r}")
    n = len(wkbs)
    geoms = np.empty(n, dtype=object)
    curved = np.zeros(n, dtype=bool)
    unclosed = np.zeros(n, dtype=np.int32)
    change = np.zeros(n)
    errors: dict[int, str] = {}
    # Geometries without curve types (most of a layer: GDAL fails the whole layer over one arc) are parsed by
    # GEOS at once; only curve types, and what GEOS refuses (an unclosed ring), go through the reader here.
    blobs = [None if w is None else bytes(w) for w in wkbs]
    plain = [None if b is None else _as_linear(b) for b in blobs]
    linear = np.array([b is not None for b in plain], dtype=bool)
    if linear.any():
        fast = shapely.from_wkb(np.array([plain[i] for i in np.flatnonzero(linear)], dtype=object), on_invalid="ignore")
        geoms[linear] = fast
        linear[np.flatnonzero(linear)[shapely.is_missing(fast)]] = False  # e.g. an unclosed ring: read below
    for i, data in enumerate(blobs):
        if data is None or linear[i]:
            continue
        try:
            geom, state, change[i] = _one(data, max_deviation)
            deviation = max_deviation
            while max_area_change is not None and change[i] > max_area_change and deviation > _FINEST:
                # the area error grows about linearly with the deviation: one or two steps suffice
                deviation = max(_FINEST, deviation * max_area_change / change[i] / 2.0)
                geom, state, change[i] = _one(data, deviation)
        except (WKBError, ValueError, shapely.errors.GEOSException) as exc:
            errors[i] = str(exc)
            continue
        geoms[i] = geom
        curved[i] = state.curved
        unclosed[i] = state.unclosed
    return Linearised(geometries=geoms, curved=curved, unclosed=unclosed, area_change=change, errors=errors)
