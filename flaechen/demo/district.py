"""Build the *true* demo district in EPSG:25832: boundaries, parcels, buildings, zoning, brownfields.

The truth is what a perfect delivery would contain. :mod:`flaechen.demo.deliver` then writes it the way
each municipality delivers (formats, CRSs, field names) and plants the defects.

Layout of a municipality
------------------------
A rotated, jittered *level-1 grid* of roads covers the municipality. Its central cells are settlement
*quarters* (about 300 m × 300 m, main roads between them); each quarter is a local grid of blocks with
residential streets, and each block is cut into two rows of plots (housing ~650 m², old village
centre ~500 m², commercial ~2,400 m²). The outer cells are open land (fields and forest of several
hectares, farm tracks between some of them) whose size is chosen so that the municipality reaches its
parcel budget. Everything is clipped to the municipality boundary, so parcels tile the municipality.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from numpy.typing import NDArray
from pyproj import Transformer

from flaechen.demo import geometry as geo
from flaechen.demo.names import (
    DISTRICT_NAME,
    FIRMS,
    FIRST_NAMES,
    HOSTILE_NAMES,
    LAST_NAMES,
    MUNICIPALITIES,
    STREETS,
    MunicipalitySpec,
)
from flaechen.demo.truth import NO_PLAN, mark_underuse, plant

logger = logging.getLogger(__name__)

CRS = "EPSG:25832"
CENTRE_LONLAT = (6.95, 50.35)
"""Centre of the district (Eifel), inside Gauß-Krüger zone 2 and UTM zone 32."""

QUARTER = 300.0
"""Side of a settlement quarter (m)."""

MIN_SCALE = 3_000

QUAD_COLUMNS = tuple(f"_q{k}{axis}" for k in range(4) for axis in "xy")
"""Helper columns: the four corners of a plot as built (NaN where the parcel was clipped or is no plot)."""

# quarter kinds: local grid (columns, rows of blocks), plots per block row (choices), plot spread
_KINDS: dict[str, dict[str, Any]] = {
    "res": {"grid": (2, 4), "k": (6, 7, 8), "spread": 0.35},
    "mix": {"grid": (2, 4), "k": (6, 7, 8), "spread": 0.6},
    "com": {"grid": (2, 2), "k": (3, 4, 5), "spread": 0.4},
}
_PARCELS_PER_QUARTER = {"res": 122.0, "mix": 122.0, "com": 40.0}

USE = {
    "res": "Wohnbaufläche",
    "mix": "Fläche gemischter Nutzung",
    "com": "Industrie- und Gewerbefläche",
    "street": "Straßenverkehr",
    "road": "Straßenverkehr",
    "track": "Weg",
    "field": "Landwirtschaft / Ackerland",
    "grass": "Landwirtschaft / Grünland",
    "garden": "Landwirtschaft / Gartenland",
    "farm": "Fläche gemischter Nutzung / Landwirtschaftliche Betriebsfläche",
    "forest": "Wald",
    "enclave": "Friedhof",
    "water": "Fließgewässer",
    "military": "Fläche besonderer funktionaler Prägung",
    "rail": "Bahnverkehr",
}
RURAL_KINDS = ("track", "field", "grass", "forest", "enclave", "military", "water")


@dataclass(frozen=True)
class Truth:
    """The true district: one GeoDataFrame per canonical layer, all in EPSG:25832.

    Besides the canonical fields, frames carry internal helper columns starting with ``_``
    (e.g. ``_kind``) that deliveries drop.
    """

    municipalities: gpd.GeoDataFrame
    parcels: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    zoning: gpd.GeoDataFrame
    brownfields: gpd.GeoDataFrame


def district_area_km2(scale: int) -> float:
    """Area of the district for a parcel count: grows with the scale, capped to stay in the Eifel box."""
    return float(min(1500.0, max(50.0, 350.0 * (scale / 20_000) ** 0.7)))


def _centre() -> tuple[float, float]:
    t = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    x, y = t.transform(*CENTRE_LONLAT)
    return float(x), float(y)


def municipality_boundaries(scale: int, seed: int) -> gpd.GeoDataFrame:
    """Six municipalities tiling the district: wiggly borders noded and polygonised (shared edges identical)."""
    rng = np.random.default_rng([seed, 1])
    cx, cy = _centre()
    area = district_area_km2(scale) * 1e6
    w = np.sqrt(area * 1.45 / 0.93)
    h = area / 0.93 / w
    theta = np.linspace(0, 2 * np.pi, 240, endpoint=False)
    noise = np.zeros_like(theta)
    for k in range(2, 7):
        noise += rng.normal(0, 0.025) * np.sin(k * theta + rng.uniform(0, 2 * np.pi))
    c, s = np.cos(theta), np.sin(theta)
    x = w / 2 * np.sign(c) * np.abs(c) ** 0.5 * (1 + noise)
    y = h / 2 * np.sign(s) * np.abs(s) ** 0.5 * (1 + noise)
    outline = np.column_stack([x, y])
    outline = np.vstack([outline, outline[:1]])
    y0 = rng.uniform(-0.06, 0.06) * h
    amp = 0.035 * h
    lines = [geo.wiggly_line(rng, np.array([-0.75 * w, y0]), np.array([0.75 * w, y0]), vertices=90, amplitude=amp)]
    for sign in (+1, -1):
        for fx in (-1 / 6, 1 / 6):
            x0 = (fx + rng.uniform(-0.04, 0.04)) * w
            start = np.array([x0, y0 - sign * 0.12 * h])
            end = np.array([x0 + rng.uniform(-0.05, 0.05) * w, sign * 0.75 * h])
            lines.append(geo.wiggly_line(rng, start, end, vertices=60, amplitude=amp))
    geoms = [shapely.linestrings(outline)] + [shapely.linestrings(ln) for ln in lines]
    noded = shapely.union_all(geoms)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    faces = faces[shapely.area(faces) > 0.01 * area]
    if len(faces) != 6:
        raise RuntimeError(f"demo boundary construction produced {len(faces)} faces instead of 6")
    cent = shapely.get_coordinates(shapely.centroid(faces))
    top = cent[:, 1] > y0
    order = np.lexsort((cent[:, 0], ~top))  # top row first, west to east
    faces = shapely.transform(faces[order], lambda p: p + np.array([cx, cy]))
    return gpd.GeoDataFrame(
        {
            "ags": [m.ags for m in MUNICIPALITIES],
            "name": [m.name for m in MUNICIPALITIES],
            "population": np.array([m.population for m in MUNICIPALITIES], dtype=np.int64),
        },
        geometry=gpd.GeoSeries(faces, crs=CRS),
    )


@dataclass
class _Parts:
    """Parcels of one municipality under construction (columns of equal length)."""

    geometry: list[Any]
    kind: list[Any]
    quarter: list[Any]
    block: list[Any]
    row: list[Any]
    quad: list[Any]  # (k, 4, 2) plot corners for plots, NaN otherwise

    @classmethod
    def empty(cls) -> _Parts:
        return cls([], [], [], [], [], [])

    def add(
        self,
        geoms: NDArray[Any],
        kind: str | NDArray[Any],
        *,
        quarter: NDArray[Any] | int = -1,
        block: NDArray[Any] | int = -1,
        row: NDArray[Any] | int = -1,
        quad: NDArray[Any] | None = None,
    ) -> None:
        k = len(geoms)
        self.geometry.append(np.asarray(geoms, dtype=object))
        self.kind.append(np.broadcast_to(np.asarray(kind, dtype=object), (k,)).copy())
        self.quarter.append(np.broadcast_to(np.asarray(quarter, dtype=np.int64), (k,)).copy())
        self.block.append(np.broadcast_to(np.asarray(block, dtype=np.int64), (k,)).copy())
        self.row.append(np.broadcast_to(np.asarray(row, dtype=np.int64), (k,)).copy())
        self.quad.append(quad if quad is not None else np.full((k, 4, 2), np.nan))

    def frame(self) -> pd.DataFrame:
        quad = np.concatenate(self.quad) if self.quad else np.empty((0, 4, 2))
        return pd.DataFrame(
            {
                "geometry": np.concatenate(self.geometry),
                "_kind": np.concatenate(self.kind),
                "_quarter": np.concatenate(self.quarter),
                "_block": np.concatenate(self.block),
                "_row": np.concatenate(self.row),
                **dict(zip(QUAD_COLUMNS, quad.reshape(-1, 8).T, strict=True)),
            }
        )


def _axes(angle: float) -> tuple[NDArray[Any], NDArray[Any]]:
    return np.array([np.cos(angle), np.sin(angle)]), np.array([-np.sin(angle), np.cos(angle)])


def _core_lines(rng: np.random.Generator, core: int) -> NDArray[Any]:
    """Positions of the ``core + 1`` grid lines around the settlement core, centred on 0."""
    inner = -core * QUARTER / 2 + QUARTER * np.arange(core + 1)
    inner[1:-1] += rng.uniform(-12, 12, core - 1)
    return inner


def _lines(
    rng: np.random.Generator, inner: NDArray[Any], lo: float, hi: float, spacing: float
) -> tuple[NDArray[Any], int]:
    """Grid line positions: the core lines ``inner``, then open spacing out to [lo, hi].

    Returns positions and the index of the first core line.
    """
    # a ring of quarter-sized cells around the core (small fields by the village, the Außenreserven),
    # then the open spacing
    right, pos = [inner[-1] + QUARTER], inner[-1] + QUARTER
    while pos < hi + spacing:
        pos += spacing * rng.uniform(0.75, 1.25)
        right.append(pos)
    left, pos = [inner[0] - QUARTER], inner[0] - QUARTER
    while pos > lo - spacing:
        pos -= spacing * rng.uniform(0.75, 1.25)
        left.append(pos)
    return np.concatenate([np.array(left[::-1]), inner, np.array(right)]), len(left)


def _clip(frame: pd.DataFrame, poly: shapely.Polygon) -> pd.DataFrame:
    """Clip parcels to the municipality: keep inner ones as they are, cut the crossing ones."""
    geoms = frame["geometry"].to_numpy()
    shapely.prepare(poly)
    inside = shapely.contains_properly(poly, geoms)
    touching = ~inside & shapely.intersects(poly, geoms)
    cut = shapely.intersection(geoms[touching], poly)
    parts = shapely.get_parts(cut, return_index=True)
    pieces, idx = parts
    is_poly = shapely.get_type_id(pieces) == 3
    pieces, idx = pieces[is_poly], idx[is_poly]
    keep = shapely.area(pieces) > 0.5
    pieces, idx = pieces[keep], idx[keep]
    uniq, first = np.unique(idx, return_index=True)
    counts = np.diff(np.append(first, len(idx)))
    merged = np.empty(len(uniq), dtype=object)
    single = counts == 1
    merged[single] = pieces[first[single]]
    for u_i in np.flatnonzero(~single):  # few: parcels split into several parts by a border
        merged[u_i] = shapely.multipolygons(pieces[first[u_i] : first[u_i] + counts[u_i]])
    crossing = frame.loc[touching].iloc[uniq].copy()
    crossing["geometry"] = merged
    crossing[list(QUAD_COLUMNS)] = np.nan
    return pd.concat([frame.loc[inside], crossing], ignore_index=True)


def _open_land(
    rng: np.random.Generator, cells: NDArray[Any], cell_kind: NDArray[Any], small: NDArray[Any], out: _Parts
) -> None:
    """Cut open cells into fields, grassland and forest parcels (1–6 per cell; 1–2 in ``small`` cells)."""
    n = len(cells)
    if n == 0:
        return
    quads = geo.quad_coords(cells)
    layouts = np.array([(1, 1), (2, 1), (1, 2), (3, 1), (2, 2), (4, 1), (3, 2)])
    probs = np.array([0.14, 0.2, 0.12, 0.18, 0.14, 0.12, 0.1])
    choice = rng.choice(len(layouts), size=n, p=probs)
    use = np.where(rng.random(n) < 0.3, "forest", np.where(rng.random(n) < 0.45, "grass", "field"))
    use = np.where(cell_kind == "military", "military", use)
    choice = np.where(small, choice % 2, choice)
    choice = np.where(cell_kind == "military", 4, choice)
    for c in np.unique(choice):
        sel = np.flatnonzero(choice == c)
        k, r = layouts[c]
        u = geo.split_params(rng, len(sel), int(k), spread=0.45)
        v = geo.split_params(rng, len(sel), int(r), spread=0.45)
        polys, b, _, _ = geo.subdivide(quads[sel], u, v)
        kinds = use[sel][b]
        out.add(polys, kinds, block=sel[b] + 1_000_000)


def _stream(
    rng: np.random.Generator,
    frame: pd.DataFrame,
    *,
    centre: NDArray[Any],
    axes: tuple[NDArray[Any], NDArray[Any]],
    x_range: tuple[float, float],
    core_half: float,
) -> pd.DataFrame:
    """A brook (Fließgewässer, 5–8 m wide) across the open land, past the settlement.

    Fields and forest it crosses are cut: the part in the brook becomes a parcel of its own, the rest
    stays the field (multipart where the brook divides it).
    Roads and tracks cross it (culverts), so the brook is interrupted there.
    """
    ex, ey = axes
    side = rng.choice([-1.0, 1.0])
    y0 = side * (core_half + rng.uniform(450, 800))
    line = geo.wiggly_line(rng, np.array([x_range[0], y0]), np.array([x_range[1], y0]), vertices=160, amplitude=250.0)
    world = centre + line[:, :1] * ex + line[:, 1:] * ey
    brook = shapely.buffer(shapely.linestrings(world), rng.uniform(2.5, 4.0), quad_segs=2)
    shapely.prepare(brook)
    geoms = frame["geometry"].to_numpy()
    crossed = frame["_kind"].isin(["field", "grass", "forest"]).to_numpy() & shapely.intersects(brook, geoms)
    hit = np.flatnonzero(crossed)
    if len(hit) == 0:
        return frame
    kept = _polygonal(shapely.difference(geoms[hit], brook), min_area=0.01)
    water = _polygonal(shapely.intersection(geoms[hit], brook), min_area=0.01)
    frame = frame.copy()
    has_rest = ~shapely.is_missing(kept)
    frame.loc[hit[has_rest], "geometry"] = kept[has_rest]
    water_rows = frame.iloc[hit].copy()
    water_rows["geometry"] = water
    water_rows["_kind"] = "water"
    water_rows["_block"] = -1
    water_rows = water_rows[~shapely.is_missing(water)]
    frame = frame.drop(index=frame.index[hit[~has_rest]])
    return pd.concat([frame, water_rows], ignore_index=True)


def _polygonal(geoms: NDArray[Any], *, min_area: float) -> NDArray[Any]:
    """The polygon parts of each overlay result (lines and points dropped), as Polygon or MultiPolygon.

    Parts smaller than ``min_area`` are dropped; results without parts become None.
    """
    parts, owner = shapely.get_parts(geoms, return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) >= min_area)
    parts, owner = parts[keep], owner[keep]
    out = np.full(len(geoms), None, dtype=object)
    uniq, first, counts = np.unique(owner, return_index=True, return_counts=True)
    single = counts == 1
    out[uniq[single]] = parts[first[single]]
    for u, f, c in zip(uniq[~single], first[~single], counts[~single], strict=True):
        out[u] = shapely.multipolygons(parts[f : f + c])
    return out


def _enclaves(rng: np.random.Generator, frame: pd.DataFrame, share: float) -> pd.DataFrame:
    """Cut a small square enclave (own parcel) out of some fields: the field gets a hole."""
    cand = np.flatnonzero(frame["_kind"].isin(["field", "grass", "forest"]).to_numpy())
    if len(cand) == 0:
        return frame
    pick = np.sort(rng.choice(cand, size=max(1, int(len(cand) * share)), replace=False))
    geoms = frame["geometry"].to_numpy()[pick]
    centre = shapely.get_coordinates(shapely.point_on_surface(geoms))
    side = rng.uniform(12, 30, len(pick))
    squares = shapely.box(
        centre[:, 0] - side / 2, centre[:, 1] - side / 2, centre[:, 0] + side / 2, centre[:, 1] + side / 2
    )
    ok = shapely.contains_properly(geoms, squares)
    pick, squares = pick[ok], squares[ok]
    frame = frame.copy()
    frame.loc[pick, "geometry"] = shapely.difference(frame["geometry"].to_numpy()[pick], squares)
    extra = pd.DataFrame(
        {
            "geometry": squares,
            "_kind": "enclave",
            "_quarter": -1,
            "_block": frame["_block"].to_numpy()[pick],
            "_row": -1,
            **dict.fromkeys(QUAD_COLUMNS, np.nan),
        }
    )
    return pd.concat([frame, extra], ignore_index=True)


@dataclass
class _Muni:
    """Result of building one municipality."""

    parcels: pd.DataFrame
    quarters: pd.DataFrame  # quarter polygons with kind, quarter index
    reserves: NDArray[Any]  # open cell polygons zoned as Außenreserve
    military: NDArray[Any]  # open cell polygons of a former military site


def settlement_share(scale: int) -> float:
    """Share of the parcels in the settlements: 55 % at 20,000 parcels, up to 85 % at a million.

    The district's area is capped, so at large scales most parcels must be plots; open land keeps
    parcels of several hectares only where the settlements take the bulk of the count.
    """
    grow = np.log10(max(scale, 20_000) / 20_000) / np.log10(50)
    return float(np.clip(0.55 + 0.30 * grow, 0.55, 0.85))


def _build_municipality(spec: MunicipalitySpec, poly: shapely.Polygon, budget: int, seed: int, scale: int) -> _Muni:
    rng = np.random.default_rng([seed, spec.number, 10])
    angle = rng.uniform(-0.45, 0.45)
    ex, ey = _axes(angle)
    centre = np.array(shapely.get_coordinates(shapely.ops.polylabel(poly, tolerance=25.0))[0])
    local = shapely.get_coordinates(poly) - centre
    lx, ly = local @ ex, local @ ey
    # settlement: quarters in a near-square core
    mix_share, com_share = 0.15, 0.2
    per_q = (
        mix_share * _PARCELS_PER_QUARTER["mix"]
        + com_share * _PARCELS_PER_QUARTER["com"]
        + (1 - mix_share - com_share) * _PARCELS_PER_QUARTER["res"]
    )
    nq = max(3, round(settlement_share(scale) * budget / per_q))
    ncx = int(np.ceil(np.sqrt(nq * 1.2)))
    ncy = int(np.ceil(nq / ncx))
    rng_core = np.random.default_rng([seed, spec.number, 11])
    grid_i, grid_j = np.meshgrid(np.arange(ncx), np.arange(ncy), indexing="ij")
    core_i, core_j = grid_i.ravel(), grid_j.ravel()
    qx = (core_i + 0.5 - ncx / 2) * QUARTER
    qy = (core_j + 0.5 - ncy / 2) * QUARTER
    dist = np.hypot(qx, qy * 1.1) + rng_core.uniform(0, 40, qx.size)
    order = np.argsort(dist, kind="stable")
    is_q = np.zeros(qx.size, dtype=bool)
    is_q[order[:nq]] = True
    kinds = np.full(qx.size, "", dtype=object)
    kinds[is_q] = "res"
    kinds[order[: max(1, round(nq * mix_share))]] = "mix"
    east = qx + rng_core.uniform(0, 150, qx.size)
    com_rank = np.argsort(np.where(kinds == "res", -east, np.inf), kind="stable")
    kinds[com_rank[: max(1, round(nq * com_share))]] = "com"
    core_kind = kinds.reshape(ncx, ncy)

    total_area = poly.area
    target_open = max(budget - nq * per_q, 0.25 * budget)
    open_area = max(total_area - nq * QUARTER**2, 0.3 * total_area)
    spacing = float(np.clip(np.sqrt(open_area / target_open * 4.5), 40.0, 2500.0))
    # the core (quarters and the roads between them) must not change when the open spacing is tuned
    rng_cj = np.random.default_rng([seed, spec.number, 13])
    inner_x, inner_y = _core_lines(rng_cj, ncx), _core_lines(rng_cj, ncy)
    core_jitter = rng_cj.uniform(-6, 6, (ncx + 1, ncy + 1, 2))
    settlement = None
    best: tuple[Any, ...] | None = None
    tried: list[tuple[float, float]] = []
    for attempt in range(6):
        rng_open = np.random.default_rng([seed, spec.number, 12])
        xs, i0 = _lines(rng_open, inner_x, lx.min() - 50, lx.max() + 50, spacing)
        ys, j0 = _lines(rng_open, inner_y, ly.min() - 50, ly.max() + 50, spacing)
        n, m = len(xs) - 1, len(ys) - 1
        jitter = rng_open.uniform(-1, 1, (n + 1, m + 1, 2)) * min(spacing * 0.12, 40.0)
        jitter[i0 : i0 + ncx + 1, j0 : j0 + ncy + 1] = core_jitter
        gx, gy = np.meshgrid(xs, ys, indexing="ij")
        lx_n, ly_n = gx + jitter[..., 0], gy + jitter[..., 1]
        nodes = (centre + lx_n[..., None] * ex + ly_n[..., None] * ey)[None]
        track_every = max(1, round(550 / spacing))
        hx = np.where(np.arange(n + 1) % track_every == 0, 3.0, 0.0)
        hy = np.where(np.arange(m + 1) % track_every == 0, 3.0, 0.0)
        hx[i0 : i0 + ncx + 1] = 6.0
        hy[j0 : j0 + ncy + 1] = 6.0
        hx[[0, n]] = 0.0
        hy[[0, m]] = 0.0
        grid = geo.Grid(nodes, hx[None], hy[None])
        cells = geo.blocks(grid)
        vs = geo.vertical_streets(grid, max_run=3)
        hs = geo.horizontal_streets(grid, max_run=3)
        out = _Parts.empty()
        road_v = (vs.col >= i0) & (vs.col <= i0 + ncx)
        road_h = (hs.row >= j0) & (hs.row <= j0 + ncy)
        out.add(vs.geometry, np.where(road_v, "road", "track"))
        out.add(hs.geometry, np.where(road_h, "road", "track"))
        ci, cj = cells.col - i0, cells.row - j0
        in_core = (ci >= 0) & (ci < ncx) & (cj >= 0) & (cj < ncy)
        cell_kind = np.full(len(cells.geometry), "open", dtype=object)
        cell_kind[in_core] = core_kind[ci[in_core], cj[in_core]]
        cell_kind[cell_kind == ""] = "reserve"
        # Außenreserve: a few open cells next to the core, besides unfilled core cells
        ring = ~in_core & (ci >= -1) & (ci <= ncx) & (cj >= -1) & (cj <= ncy)
        cell_centres = shapely.get_coordinates(shapely.centroid(cells.geometry))
        shapely.prepare(poly)
        inside = shapely.contains_xy(poly, cell_centres[:, 0], cell_centres[:, 1])
        rng_res = np.random.default_rng([seed, spec.number, 14])
        ring_idx = np.flatnonzero(ring & inside)
        n_res = min(len(ring_idx), max(1, nq // 8))
        cell_kind[rng_res.choice(ring_idx, size=n_res, replace=False)] = "reserve"
        if spec.number in (2, 5):  # a former barracks far out in the open land
            far = np.flatnonzero((cell_kind == "open") & inside & ((np.abs(ci) > ncx) | (np.abs(cj) > ncy)))
            if len(far):
                cell_kind[far[rng_res.integers(len(far))]] = "military"
        open_sel = np.isin(cell_kind, ["open", "reserve", "military"])
        _open_land(rng_open, cells.geometry[open_sel], cell_kind[open_sel], ring[open_sel] | in_core[open_sel], out)
        open_frame = _clip(out.frame(), poly)
        open_frame = _enclaves(np.random.default_rng([seed, spec.number, 15]), open_frame, 0.012)
        open_frame = _stream(
            np.random.default_rng([seed, spec.number, 17]),
            open_frame,
            centre=centre,
            axes=(ex, ey),
            x_range=(lx.min() - 100, lx.max() + 100),
            core_half=ncy * QUARTER / 2,
        )
        if settlement is None:
            q_sel = np.flatnonzero(np.isin(cell_kind, ["res", "mix", "com"]))
            settlement, quarters = _settlement(
                np.random.default_rng([seed, spec.number, 16]), cells.geometry[q_sel], cell_kind[q_sel]
            )
            settlement = _clip(settlement, poly)
        n_total = len(open_frame) + len(settlement)
        logger.debug(
            "%s: attempt %d spacing %.0f m -> %d parcels (budget %d)", spec.name, attempt, spacing, n_total, budget
        )
        if best is None or abs(n_total - budget) < abs(best[0] - budget):
            best = (n_total, open_frame, cells.geometry, cell_kind)
        if abs(n_total / budget - 1) < 0.03:
            break
        # secant step on log(open parcels) over log(spacing); roads, brook and ring cells do not scale
        want_open = max(budget - len(settlement), 0.05 * budget)
        tried.append((np.log(spacing), np.log(len(open_frame))))
        slope = -2.0
        if len(tried) >= 2 and abs(tried[-1][0] - tried[-2][0]) > 1e-6:
            slope = float(np.clip((tried[-1][1] - tried[-2][1]) / (tried[-1][0] - tried[-2][0]), -2.5, -1.0))
        new = float(np.clip(spacing * np.exp((np.log(want_open) - tried[-1][1]) / slope), 40.0, 3000.0))
        if abs(new - spacing) < 1.0:
            break
        spacing = new
    assert best is not None
    _, open_frame, cell_geoms, cell_kind = best
    reserves = cell_geoms[cell_kind == "reserve"]
    military = cell_geoms[cell_kind == "military"]
    parcels = pd.concat([settlement, open_frame], ignore_index=True)
    parcels["geometry"] = _junction_vertices(parcels["geometry"].to_numpy(), parcels["_kind"].to_numpy())
    return _Muni(parcels, quarters, reserves, military)


_SNAPPED_KINDS = ("street", "road", "track", "field", "grass", "forest", "water", "military", "enclave")


def _junction_vertices(geoms: NDArray[Any], kind: NDArray[Any], *, tolerance: float = 1e-4) -> NDArray[Any]:
    """Insert the neighbours' corner points into streets, tracks and open-land parcels.

    Plots of a block and fields of a cell meet at shared corners, but a street or a neighbouring
    cell's field only has its own corners: the plots' corners lie on its edges (T-junctions). As in
    real cadastral data, the shared boundary gets the points of both sides here, so neighbours'
    edges are vertex-identical and street parcels get their typical 10–40 vertices. Geometries that a
    snap would make invalid (none expected) keep their original vertices.
    """
    target = np.flatnonzero(np.isin(kind, _SNAPPED_KINDS))
    if len(target) == 0:
        return geoms
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms[target])
    keep = target[a] != b
    a, b = a[keep], b[keep]
    # within the tolerance, not "intersects": a plot's edge may lie 1e-10 m beside the street's edge
    near = shapely.distance(geoms[target[a]], geoms[b]) <= tolerance
    a, b = a[near], b[near]
    order = np.argsort(a, kind="stable")
    a, b = a[order], b[order]
    uniq = np.unique(a)
    # the neighbours themselves are the reference: snapping uses their vertices
    reference = shapely.geometrycollections(geoms[b], indices=np.searchsorted(uniq, a))
    original = geoms[target[uniq]]
    snapped = shapely.snap(original, reference, tolerance)
    ok = shapely.is_valid(snapped) & np.isclose(shapely.area(snapped), shapely.area(original), rtol=1e-9, atol=1e-6)
    out = geoms.copy()
    out[target[uniq][ok]] = snapped[ok]
    if not ok.all():
        logger.debug("%d geometries kept without junction vertices", int((~ok).sum()))
    return out


def _settlement(
    rng: np.random.Generator, qcells: NDArray[Any], qkind: NDArray[Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cut quarters into blocks, residential streets and plots."""
    out = _Parts.empty()
    quads = geo.quad_coords(qcells)
    block_offset = 0
    for kind, spec in _KINDS.items():
        sel = np.flatnonzero(qkind == kind)
        if len(sel) == 0:
            continue
        nc, nr = spec["grid"]
        u = geo.split_params(rng, len(sel), nc, spread=0.15)
        v = geo.split_params(rng, len(sel), nr, spread=0.15)
        nodes = geo.bilinear(quads[sel], u, v)
        hx = np.full((len(sel), nc + 1), 4.5)
        hy = np.full((len(sel), nr + 1), 4.5)
        hx[:, [0, nc]] = 0.0
        hy[:, [0, nr]] = 0.0
        grid = geo.Grid(nodes, hx, hy)
        bl = geo.blocks(grid)
        vs = geo.vertical_streets(grid, max_run=2)
        hs = geo.horizontal_streets(grid, max_run=2)
        out.add(vs.geometry, "street", quarter=sel[vs.batch])
        out.add(hs.geometry, "street", quarter=sel[hs.batch])
        bquads = geo.quad_coords(bl.geometry)
        kchoice = rng.choice(np.array(spec["k"]), size=len(bl.geometry))
        block_ids = block_offset + np.arange(len(bl.geometry))
        block_offset += len(bl.geometry)
        for k in np.unique(kchoice):
            bsel = np.flatnonzero(kchoice == k)
            uu = geo.split_params(rng, len(bsel), int(k), spread=spec["spread"])
            vv = geo.split_params(rng, len(bsel), 2, spread=0.12)
            polys, b, col, row = geo.subdivide(bquads[bsel], uu, vv)
            pts = geo.bilinear(bquads[bsel], uu, vv)
            pq = np.stack(
                [pts[b, col, row], pts[b, col + 1, row], pts[b, col + 1, row + 1], pts[b, col, row + 1]], axis=1
            )
            # multipart parcels: in about 12 % of blocks, the first plot of the lower row also owns the
            # third (a garden plot two doors down); the plot between them is another parcel
            multi = rng.random(len(bsel)) < 0.12
            first = multi[b] & (col == 0) & (row == 0)
            third = multi[b] & (col == 2) & (row == 0)
            polys = polys.copy()
            polys[np.flatnonzero(first)] = (
                shapely.multipolygons(np.stack([polys[first], polys[third]], axis=1).tolist())
                if first.any()
                else polys[first]
            )
            keep = ~third
            # gardens behind houses: in about 7 % of the inner plots of housing and village quarters the
            # rear third is a parcel of its own (Gartenland, no street access; not a Baulücke)
            garden = keep & ~first & (col > 0) & (col < k - 1) & (rng.random(len(polys)) < 0.07)
            if kind == "com":
                garden[:] = False
            front_q, rear_q = _split_depth(pq[garden], row[garden], depth=0.62)
            polys[np.flatnonzero(garden)] = shapely.polygons(front_q)
            pq = pq.copy()
            pq[garden] = front_q
            quarter_ids, block_of = sel[bl.batch[bsel][b]], block_ids[bsel][b]
            out.add(polys[keep], kind, quarter=quarter_ids[keep], block=block_of[keep], row=row[keep], quad=pq[keep])
            if garden.any():
                out.add(
                    shapely.polygons(rear_q),
                    "garden",
                    quarter=quarter_ids[garden],
                    block=block_of[garden],
                    row=row[garden],
                )
    quarters = pd.DataFrame({"quarter": np.arange(len(qcells)), "kind": qkind, "geometry": qcells})
    frame = out.frame()
    frame["geometry"] = _garden_junctions(frame["geometry"].to_numpy(), frame["_kind"].to_numpy())
    return frame, quarters


def _garden_junctions(geoms: NDArray[Any], kind: NDArray[Any], *, tolerance: float = 1e-4) -> NDArray[Any]:
    """Give the plots beside a garden the garden's corners (its cut ends on their edges: no T-junctions)."""
    gardens = np.flatnonzero(kind == "garden")
    if len(gardens) == 0:
        return geoms
    tree = shapely.STRtree(geoms[gardens])
    others = np.flatnonzero(kind != "garden")
    o, g = tree.query(geoms[others], predicate="dwithin", distance=tolerance)
    if len(o) == 0:
        return geoms
    order = np.argsort(o, kind="stable")
    o, g = o[order], g[order]
    uniq = np.unique(o)
    reference = shapely.geometrycollections(geoms[gardens[g]], indices=np.searchsorted(uniq, o))
    target = others[uniq]
    snapped = shapely.snap(geoms[target], reference, tolerance)
    ok = shapely.is_valid(snapped) & np.isclose(
        shapely.area(snapped), shapely.area(geoms[target]), rtol=1e-9, atol=1e-6
    )
    out = geoms.copy()
    out[target[ok]] = snapped[ok]
    return out


def _split_depth(quads: NDArray[Any], row: NDArray[Any], *, depth: float) -> tuple[NDArray[Any], NDArray[Any]]:
    """Cut plot quadrilaterals (corners p00, p10, p11, p01) into the front `depth` and the rear rest.

    Row 0 fronts the street at p00–p10, row 1 at p01–p11 (the two rows of a block back onto each other).
    """
    p00, p10, p11, p01 = (quads[:, i] for i in range(4))
    lower = (row == 0)[:, None]
    m0 = np.where(lower, p00 + depth * (p01 - p00), p01 + depth * (p00 - p01))
    m1 = np.where(lower, p10 + depth * (p11 - p10), p11 + depth * (p10 - p11))
    front = np.where(lower[:, :, None], np.stack([p00, p10, m1, m0], 1), np.stack([m0, m1, p11, p01], 1))
    rear = np.where(lower[:, :, None], np.stack([m0, m1, p11, p01], 1), np.stack([p00, p10, m1, m0], 1))
    return front, rear


def build_truth(*, scale: int, seed: int) -> Truth:
    """Build the whole true district for a parcel count ``scale`` and a random ``seed``.

    Parameters
    ----------
    scale
        Target number of parcels in the district (reached within a few per cent).
    seed
        Seed of every random draw: same seed and scale, same district.

    Returns
    -------
    Truth
        All layers in EPSG:25832.
    """
    if scale < MIN_SCALE:
        raise ValueError(f"scale must be at least {MIN_SCALE} parcels, got {scale}")
    munis = municipality_boundaries(scale, seed)
    weights = np.array([m.population for m in MUNICIPALITIES], dtype=float) ** 0.25
    budgets = np.round(scale * weights / weights.sum()).astype(int)
    parcel_frames, building_frames, zoning_frames, brownfield_frames = [], [], [], []
    for spec, poly, budget in zip(MUNICIPALITIES, munis.geometry, budgets, strict=True):
        built = _build_municipality(spec, poly, int(budget), seed, scale)
        rng = np.random.default_rng([seed, spec.number, 20])
        parcels = _parcel_attributes(rng, spec, built.parcels, poly)
        bf, parcels = _brownfields(rng, spec, parcels, built)
        parcels = plant(np.random.default_rng([seed, spec.number, 30]), spec, parcels, reserves=built.reserves)
        buildings = _buildings(rng, spec, parcels)
        parcels["_built"] = np.isin(np.arange(len(parcels)), buildings["_parcel"].to_numpy())
        zoning = _zoning(rng, spec, built)
        if spec.number in NO_PLAN:
            zoning = zoning.iloc[0:0]
        parcels["_underuse_truth"] = mark_underuse(parcels, buildings, zoning)
        parcel_frames.append(parcels)
        building_frames.append(buildings)
        zoning_frames.append(zoning)
        brownfield_frames.append(bf)
        logger.info("%s (%s): %d parcels, %d buildings", spec.name, spec.ags, len(parcels), len(buildings))

    def gdf(frames: list[pd.DataFrame]) -> gpd.GeoDataFrame:
        df = pd.concat(frames, ignore_index=True)
        return gpd.GeoDataFrame(df, geometry="geometry", crs=CRS)

    return Truth(munis, gdf(parcel_frames), gdf(building_frames), gdf(zoning_frames), gdf(brownfield_frames))


# ---------------------------------------------------------------------------------------------- attributes


def _person(rng: np.random.Generator, n: int) -> NDArray[Any]:
    first = np.asarray(FIRST_NAMES, dtype=object)[rng.integers(len(FIRST_NAMES), size=n)]
    last = np.asarray(LAST_NAMES, dtype=object)[rng.integers(len(LAST_NAMES), size=n)]
    names = last + ", " + first
    heirs = rng.random(n) < 0.04
    names[heirs] = (
        "Erbengemeinschaft "
        + last[heirs]
        + " – "
        + np.asarray(LAST_NAMES, dtype=object)[rng.integers(len(LAST_NAMES), size=int(heirs.sum()))]
    )
    return np.asarray(names)


def _parcel_attributes(
    rng: np.random.Generator, spec: MunicipalitySpec, frame: pd.DataFrame, poly: shapely.Polygon
) -> pd.DataFrame:
    """Cadastral attributes: key parts, official area, actual use, owner, ownership class."""
    n = len(frame)
    geoms = frame["geometry"].to_numpy()
    area = shapely.area(geoms)
    kind = frame["_kind"].to_numpy()
    rep = shapely.get_coordinates(shapely.point_on_surface(geoms))
    # Gemarkung: split the municipality from west to east; Flur: a coarse grid
    xmin, _ymin, xmax, ymax = poly.bounds
    ng = len(spec.gemarkungen)
    gidx = np.minimum(((rep[:, 0] - xmin) / (xmax - xmin) * ng).astype(int), ng - 1)
    gem = np.array([g for g, _ in spec.gemarkungen])[gidx]
    flur_side = float(np.sqrt(poly.area * 1500 / max(n, 1)))
    fx = ((rep[:, 0] - xmin) // flur_side).astype(np.int64)
    fy = ((ymax - rep[:, 1]) // flur_side).astype(np.int64)
    fkey = gem.astype(np.int64) * 1_000_000 + fy * 1000 + fx
    flur = np.zeros(n, dtype=np.int64)
    for g in np.unique(gem):
        sel = gem == g
        _, inv = np.unique(fkey[sel], return_inverse=True)
        flur[sel] = inv + 1
    # Zähler/Nenner: plots of some blocks share a Zähler (e.g. 123/4); others count on
    block = frame["_block"].to_numpy()
    uses_nenner = (block >= 0) & (block < 1_000_000) & ((block * 2654435761) % 10 < 3)
    group = np.where(uses_nenner, block, -1 - np.arange(n))
    order = np.lexsort((rep[:, 0], -np.round(rep[:, 1], -1), group, flur, gem))
    df = pd.DataFrame({"gem": gem[order], "flur": flur[order], "group": group[order]})
    new = (df["group"] != df["group"].shift()) | (df["flur"] != df["flur"].shift()) | (df["gem"] != df["gem"].shift())
    zaehler = new.astype(np.int64).groupby([df["gem"], df["flur"]]).cumsum().to_numpy()
    nenner = df.groupby(["gem", "flur", "group"]).cumcount().to_numpy() + 1
    nenner = np.where(uses_nenner[order], nenner, 0)
    inv = np.empty(n, dtype=np.int64)
    inv[order] = np.arange(n)
    zaehler, nenner = zaehler[inv], nenner[inv]
    if zaehler.max(initial=0) > 99_999 or flur.max(initial=0) > 999:
        raise RuntimeError("demo parcel numbering overflow: Flur > 999 or Zähler > 99999")
    gem_s = pd.Series(gem).astype(str).str.zfill(4)
    flur_s = pd.Series(flur).astype(str).str.zfill(3)
    zae_s = pd.Series(zaehler).astype(str).str.zfill(5)
    nen_s = pd.Series(nenner).astype(str).str.zfill(4)
    parcel_id = "07" + gem_s + flur_s + zae_s + nen_s + "__"
    # official area: integer m²; about a quarter of rural parcels deviate by more than 0.5 %
    rural = np.isin(kind, RURAL_KINDS)
    big = rng.random(n) < np.where(rural, 0.26, 0.05)
    dev = np.where(
        big,
        rng.choice([-1.0, 1.0], n) * rng.uniform(0.006, 0.035, n),
        np.clip(rng.normal(0, 0.0012, n), -0.0045, 0.0045),
    )
    official = np.maximum(np.round(area * (1 + dev)), 1.0)
    use = pd.Series(kind).map(USE).to_numpy(dtype=object)
    actual_use = use + ";" + pd.Series(np.round(area).astype(np.int64)).astype(str).to_numpy(dtype=object)
    # owners
    owner = _person(rng, n)
    firms = np.asarray(FIRMS, dtype=object)[rng.integers(len(FIRMS), size=n)]
    gemeinde = f"Ortsgemeinde {spec.name}"
    public = np.zeros(n, dtype=bool)
    owner = np.where(kind == "com", np.where(rng.random(n) < 0.7, firms, owner), owner)
    for k, body, share in (
        ("street", gemeinde, 1.0),
        ("track", gemeinde, 0.9),
        ("road", "Landesbetrieb Mobilität Rheinland-Pfalz", 1.0),
        ("forest", "Land Rheinland-Pfalz (Landesforsten)", 0.35),
        ("forest", gemeinde, 0.3),
        ("field", gemeinde, 0.05),
        ("grass", gemeinde, 0.05),
        ("res", gemeinde, 0.03),
        ("com", gemeinde, 0.1),
        ("military", "Bundesanstalt für Immobilienaufgaben", 1.0),
        ("water", gemeinde, 1.0),
    ):
        sel = (kind == k) & ~public & (rng.random(n) < share)
        owner[sel] = body
        public[sel] = True
    enclave = kind == "enclave"
    owner[enclave] = f"Katholische Kirchengemeinde St. Michael {spec.name}"
    out = frame.copy()
    out["parcel_id"] = parcel_id.to_numpy()
    out["ags"] = spec.ags
    out["gemarkung"] = gem_s.to_numpy()
    out["gemarkung_name"] = np.array([nm for _, nm in spec.gemarkungen], dtype=object)[gidx]
    out["flur"] = flur_s.to_numpy()
    out["zaehler"] = zae_s.str.lstrip("0").to_numpy()
    out["nenner"] = np.where(nenner > 0, pd.Series(nenner).astype(str).to_numpy(), None)
    out["official_area"] = official
    out["actual_use"] = actual_use
    out["owner"] = owner
    out["ownership"] = np.where(public, "public", "private")
    out["_area"] = area
    if out["parcel_id"].duplicated().any():
        raise RuntimeError(f"{spec.name}: duplicate parcel keys in the demo truth")
    return out


def _brownfields(
    rng: np.random.Generator, spec: MunicipalitySpec, parcels: pd.DataFrame, built: _Muni
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pick a few brownfield sites (whole blocks or plots) and mark their parcels; returns the register."""
    kind = parcels["_kind"].to_numpy()
    block = parcels["_block"].to_numpy()
    sites: list[dict[str, Any]] = []
    parcels = parcels.copy()
    parcels["_site"] = -1

    def add_site(mask: NDArray[Any], former: str, name: str) -> None:
        idx = len(sites)
        parcels.loc[mask, "_site"] = idx
        geom = shapely.union_all(parcels.loc[mask, "geometry"].to_numpy(), grid_size=None)
        sites.append({"geometry": geom, "former_use": former, "name": name})

    com_blocks = np.unique(block[(kind == "com") & (block >= 0)])
    mix_blocks = np.unique(block[(kind == "mix") & (block >= 0)])
    res_blocks = np.unique(block[(kind == "res") & (block >= 0)])
    if len(com_blocks):
        b = rng.choice(com_blocks)
        add_site(block == b, "industry", f"Ehemalige Ziegelei {spec.name}")
        # the municipality owns a plot of the former brickworks: public land inside a private brownfield,
        # whose id and name the map site must not show through the plot's reasons
        inside = np.flatnonzero(block == b)
        if len(inside) and not (parcels["ownership"].to_numpy()[inside] == "public").any():
            plot = parcels.index[inside[0]]
            parcels.loc[plot, "owner"] = f"Ortsgemeinde {spec.name}"
            parcels.loc[plot, "ownership"] = "public"
    if len(com_blocks) > 1:
        cand = np.flatnonzero((kind == "com") & (parcels["_site"].to_numpy() < 0))
        add_site(
            np.isin(np.arange(len(kind)), rng.choice(cand, 1)),
            "commercial",
            f"Früherer Baumarkt {STREETS[spec.number]}",
        )
    if len(mix_blocks):
        cand = np.flatnonzero((kind == "mix") & (parcels["_site"].to_numpy() < 0))
        add_site(
            np.isin(np.arange(len(kind)), rng.choice(cand, 1)),
            "agriculture",
            f"Althofstelle {STREETS[spec.number + 2]}",
        )
    if spec.number in (1, 4) and len(res_blocks):
        b = rng.choice(res_blocks)
        mask = block == b
        parcels.loc[mask, "_kind"] = "rail"
        add_site(mask, "rail", f"Güterbahnhof {spec.name}")
    mil = np.flatnonzero(kind == "military")
    if len(mil):
        add_site(kind == "military", "military", f"Konversionsfläche Kaserne {spec.name}")
    parcels["actual_use"] = np.where(
        parcels["_kind"] == "rail",
        USE["rail"] + ";" + parcels["_area"].round().astype(np.int64).astype(str),
        parcels["actual_use"],
    )
    n = len(sites)
    owners_private = [
        f"Eigentümer: {LAST_NAMES[(spec.number * 7 + i) % len(LAST_NAMES)]} Grundbesitz GbR (intern)" for i in range(n)
    ]
    notes = [
        f"intern: Eigentümer {['verhandlungsbereit', 'nicht erreichbar', 'lehnt Verkauf ab'][i % 3]}, "
        f"Gespräch {2019 + i} – Kaufpreisvorstellung {60 + 15 * i} €/m²"
        for i in range(n)
    ]
    public = [s["former_use"] in ("military", "rail") for s in sites]
    owner = [
        "Bundesanstalt für Immobilienaufgaben (Eigentümer)"
        if s["former_use"] == "military"
        else "DB Netz AG – Eigentümer Liegenschaften"
        if s["former_use"] == "rail"
        else owners_private[i]
        for i, s in enumerate(sites)
    ]
    register = pd.DataFrame(
        {
            "site_id": [f"BF-{spec.ags}-{i + 1:02d}" for i in range(n)],
            "ags": spec.ags,
            "name": [s["name"] for s in sites],
            "former_use": [s["former_use"] for s in sites],
            "since_year": rng.integers(1985, 2022, n).astype(np.int64),
            "contamination_suspected": [s["former_use"] in ("industry", "rail", "military") for s in sites],
            "ownership": np.where(public, "public", "private"),
            "owner": owner,
            "notes": notes,
            "geometry": [s["geometry"] for s in sites],
        }
    )
    if spec.number == 3 and n:
        register.loc[0, "name"] = HOSTILE_NAMES["brownfield_markup"]
    if spec.number == 4 and any(public):
        register.loc[int(np.flatnonzero(public)[0]), "name"] = HOSTILE_NAMES["brownfield_template"]
    return register, parcels


def _buildings(rng: np.random.Generator, spec: MunicipalitySpec, parcels: pd.DataFrame) -> pd.DataFrame:
    """Building footprints on built plots, with ALKIS zustand (empty = in use)."""
    kind = parcels["_kind"].to_numpy()
    site = parcels["_site"].to_numpy()
    row = parcels["_row"].to_numpy()
    quad = parcels[list(QUAD_COLUMNS)].to_numpy(dtype=float).reshape(-1, 4, 2)
    plot = np.isin(kind, ["res", "mix", "com"]) & ~np.isnan(quad[:, 0, 0])
    n = len(kind)
    rng.random(n)  # the draw that once chose vacant lots: later draws stay as they were
    vacant_lot = parcels["_vacant"].to_numpy(dtype=bool)
    underused = parcels["_underused"].to_numpy(dtype=bool)
    farm = parcels["_farm"].to_numpy(dtype=bool)
    plot |= farm
    built = plot & ~vacant_lot
    parts = []

    def footprint(
        mask: NDArray[Any],
        u0: float,
        u1: float,
        v0: float,
        v1: float,
        function: str | NDArray[Any],
        storeys: NDArray[Any],
        jitter: float = 0.05,
    ) -> None:
        idx = np.flatnonzero(mask)
        if len(idx) == 0:
            return
        q = quad[idx]
        # front is v = 0 for the lower row, v = 1 for the upper row: flip the upper row's quads
        flip = row[idx] == 1
        q[flip] = q[flip][:, [3, 2, 1, 0]]
        du = rng.uniform(-jitter, jitter, (len(idx), 1))
        u = np.column_stack([np.full(len(idx), u0), np.full(len(idx), u1)]) + du
        v = np.column_stack([np.full(len(idx), v0), np.full(len(idx), v1)]) + rng.uniform(0, jitter, (len(idx), 1))
        polys, b, _, _ = geo.subdivide(q, np.clip(u, 0.01, 0.99), np.clip(v, 0.01, 0.99))
        fn = np.broadcast_to(np.asarray(function, dtype=object), (len(idx),))
        parts.append(pd.DataFrame({"geometry": polys, "_parcel": idx[b], "function": fn[b], "storeys": storeys[b]}))

    res, mix, com = built & (kind == "res"), built & (kind == "mix"), built & (kind == "com")
    footprint(res, 0.18, 0.8, 0.1, 0.5, "Wohnhaus", rng.integers(1, 3, n)[res])
    garage = res & (rng.random(n) < 0.3)
    footprint(garage, 0.865, 0.98, 0.1, 0.3, "Garage", np.ones(int(garage.sum()), dtype=np.int64), jitter=0.01)
    footprint(
        mix,
        0.05,
        0.85,
        0.04,
        0.38,
        np.where(rng.random(int(mix.sum())) < 0.5, "Wohnhaus", "Wohn- und Geschäftsgebäude"),
        rng.integers(2, 4, n)[mix],
    )
    barn = mix & (rng.random(n) < 0.25)
    footprint(barn, 0.1, 0.7, 0.6, 0.88, "Scheune", np.ones(int(barn.sum()), dtype=np.int64))
    # a farmstead inside the village: farmhouse, barn across the back, a shed (not a Baulücke, not under-used)
    farm_b = built & farm
    footprint(farm_b, 0.08, 0.6, 0.08, 0.4, "Wohnhaus", np.full(int(farm_b.sum()), 2, dtype=np.int64))
    footprint(farm_b, 0.08, 0.92, 0.55, 0.9, "Scheune", np.ones(int(farm_b.sum()), dtype=np.int64))
    footprint(farm_b, 0.7, 0.92, 0.08, 0.4, "Stall", np.ones(int(farm_b.sum()), dtype=np.int64))
    com_full = com & ~underused
    footprint(
        com_full,
        0.1,
        0.8,
        0.12,
        0.72,
        np.where(rng.random(int(com_full.sum())) < 0.6, "Gebäude für Gewerbe und Industrie", "Lagerhalle"),
        rng.integers(1, 3, n)[com_full],
    )
    footprint(
        com & underused,
        0.1,
        0.3,
        0.1,
        0.24,
        "Gebäude für Gewerbe und Industrie",
        np.ones(int((com & underused).sum()), dtype=np.int64),
    )
    mil = kind == "military"
    envelopes = shapely.oriented_envelope(parcels["geometry"].to_numpy()[mil])
    mil[mil] = (shapely.get_type_id(envelopes) == 3) & (shapely.get_num_coordinates(envelopes) == 5)
    if mil.any():
        mq = geo.quad_coords(shapely.oriented_envelope(parcels.loc[mil, "geometry"].to_numpy()))
        idx = np.flatnonzero(mil)
        for k in range(3):
            polys, b, _, _ = geo.subdivide(
                mq, np.tile([0.2 + 0.2 * k, 0.3 + 0.2 * k], (len(idx), 1)), np.tile([0.3, 0.7], (len(idx), 1))
            )
            inside = shapely.within(polys, parcels.loc[mil, "geometry"].to_numpy()[b])
            parts.append(
                pd.DataFrame(
                    {"geometry": polys[inside], "_parcel": idx[b][inside], "function": "Kaserne", "storeys": 2}
                )
            )
    b = pd.concat(parts, ignore_index=True)
    nb = len(b)
    state = np.full(nb, np.nan)
    on_site = site[b["_parcel"].to_numpy()] >= 0
    rs = rng.random(nb)
    state[on_site] = np.select([rs[on_site] < 0.35, rs[on_site] < 0.65, rs[on_site] < 0.85], [2100, 2200, 2000], 2300)
    ordinary = ~on_site & (b["function"].to_numpy() != "Garage")
    empty = parcels["_leer"].to_numpy(dtype=bool)[b["_parcel"].to_numpy()]
    state[ordinary & ~empty & (rs >= 0.012) & (rs < 0.016)] = 4000
    state[empty] = 2000  # a vacant building (Leerstand): every building of the parcel out of use
    b["state"] = pd.array(np.where(np.isnan(state), pd.NA, state), dtype="Int32") if nb else pd.array([], dtype="Int32")
    b["storeys"] = b["storeys"].astype(np.int64)
    order = np.lexsort(
        (shapely.get_coordinates(shapely.centroid(b["geometry"].to_numpy()))[:, 0], b["_parcel"].to_numpy())
    )
    b = b.iloc[order].reset_index(drop=True)
    b["building_id"] = (
        [f"DERP{spec.ags[-3:]}{i:09d}" for i in range(nb)]
        if nb < 50_000
        else (f"DERP{spec.ags[-3:]}" + pd.Series(np.arange(nb)).astype(str).str.zfill(9)).to_numpy()
    )
    b["ags"] = spec.ags
    logger.debug(
        "%s: %d Baulücken, %d under-used commercial plots", spec.name, int(vacant_lot.sum()), int(underused.sum())
    )
    return b


_BES = {"res": (1200, 1100), "mix": (1500, 1400), "com": (1700, 1800)}
_ALLG = {"res": 1000, "mix": 2000, "com": 3000, "reserve": 1000, "military": 4000}
_GRZ = {1200: 0.4, 1100: 0.3, 1500: 0.6, 1400: 0.6, 1700: 0.8, 1800: 0.8, 4000: 0.6}


def _zoning(rng: np.random.Generator, spec: MunicipalitySpec, built: _Muni) -> pd.DataFrame:
    """FNP Bauflächen (per quarter kind, dissolved) and B-Plan Baugebiete (one feature per quarter or cell)."""
    q = built.quarters
    geoms = list(q["geometry"]) + list(built.reserves) + list(built.military)
    kinds = list(q["kind"]) + ["reserve"] * len(built.reserves) + ["military"] * len(built.military)
    allg = np.array([_ALLG[k] for k in kinds])
    rows = []
    for code in np.unique(allg):
        # an FNP Baufläche spans the main roads between quarters: close gaps narrower than 16 m
        union = shapely.union_all(np.asarray(geoms, dtype=object)[allg == code])
        closed = shapely.buffer(shapely.buffer(union, 8.0, join_style="mitre"), -8.0, join_style="mitre")
        merged = shapely.get_parts(shapely.make_valid(closed))
        merged = merged[shapely.get_type_id(merged) == 3]
        for g in merged:
            rows.append(
                {
                    "geometry": g,
                    "plan_type": "FNP",
                    "plan_name": f"FNP {spec.name} 2015",
                    "allg_art": int(code),
                    "bes_art": None,
                    "grz": np.nan,
                    "gfz": np.nan,
                    "storeys": None,
                    "rechtsstand": "InKraftGetreten",
                }
            )
    fnp = pd.DataFrame(rows)
    # B-Plans: commercial and centre quarters, the reserves, the barracks, and half of the housing quarters
    kinds_a = np.asarray(kinds, dtype=object)
    in_plan = (kinds_a != "res") | (rng.random(len(kinds_a)) < 0.5)
    idx = np.flatnonzero(in_plan)
    bes = np.array(
        [_BES[k][int(rng.random() < 0.2)] if k in _BES else (1200 if k == "reserve" else 4000) for k in kinds_a[idx]]
    )
    n = len(idx)
    grz_on = rng.random(n) < 0.34
    gfz_on = rng.random(n) < 0.05
    # every plan (commercial/special parts and the rest are delivered as separate plans by some
    # municipalities) fills GRZ, GFZ and Z at least once, so each plan file has those attributes
    commercial = np.isin(kinds_a[idx], ["com", "military"])
    groups = {1: (commercial, ~commercial), 4: (np.ones(n, dtype=bool),)}.get(spec.number, ())
    firsts = [np.flatnonzero(group)[0] for group in groups if group.any()]
    grz_on[firsts] = True
    gfz_on[firsts] = True
    grz = np.where(grz_on, [_GRZ[b] for b in bes], np.nan)
    grz = np.where(grz_on & (rng.random(n) < 0.3), np.round(grz - 0.1, 2), grz)
    gfz = np.where(gfz_on, np.round(np.nan_to_num(grz, nan=0.4) * rng.choice([1.2, 2.0, 2.4], n), 1), np.nan)
    storeys = np.where(rng.random(n) < 0.5, rng.integers(1, 4, n), -1)
    storeys[firsts] = np.maximum(storeys[firsts], 2)
    plan_no = np.arange(1, n + 1)
    kinds_sel = kinds_a[idx]
    street = np.asarray(STREETS, dtype=object)[(plan_no * 5 + spec.number) % len(STREETS)]
    names = [
        f"Nr. {p} {'Gewerbegebiet ' if k == 'com' else ''}{s}"
        for p, k, s in zip(plan_no, kinds_sel, street, strict=True)
    ]
    if spec.number == 2 and names:
        names[0] = HOSTILE_NAMES["plan_template"]
    bplan = pd.DataFrame(
        {
            "geometry": np.asarray(geoms, dtype=object)[idx],
            "plan_type": "BPlan",
            "plan_name": names,
            "bes_art": bes,
            "grz": grz,
            "gfz": gfz,
            "storeys": storeys,
            "rechtsstand": np.where(kinds_sel == "reserve", "Satzung", "InKraftGetreten"),
            "_kind": kinds_sel,
        }
    )
    bplan["allg_art"] = [1000 if b < 1400 else 2000 if b < 1700 else 3000 if b < 2000 else 4000 for b in bes]
    out = pd.concat([fnp.assign(_kind="fnp"), bplan], ignore_index=True)
    out["storeys"] = pd.array(
        [None if (s is None or (isinstance(s, (int, np.integer)) and s < 0)) else int(s) for s in out["storeys"]],
        dtype="Int32",
    )
    out["bes_art"] = pd.array(
        [None if b is None or (isinstance(b, float) and np.isnan(b)) else int(b) for b in out["bes_art"]], dtype="Int32"
    )
    out["zoning_id"] = [
        f"{'FNP' if t == 'FNP' else 'BP'}-{spec.ags}-{i + 1:04d}" for i, t in enumerate(out["plan_type"])
    ]
    out["ags"] = spec.ags
    out["geometry"] = shapely.make_valid(out["geometry"].to_numpy())
    return out


__all__ = ["CRS", "DISTRICT_NAME", "MIN_SCALE", "Truth", "build_truth", "district_area_km2", "municipality_boundaries"]
