"""Benchmark: the flagging step (STRtree overlaps) against a plain geopandas overlay + sjoin implementation.

What it generates (numpy/shapely, no other part of flaechen, seeded):

- ``--parcels`` parcels: a grid of 25 m × 30 m quadrilaterals with jittered corners (a gap-free tessellation),
  in EPSG:25832, cut into 10 municipalities (vertical strips, with a population each);
- towns: one per 3,000 parcels, radius 600 m; inside a town 85 % of parcels carry a main building
  (14–18 m × 12–15 m), half of those also a garage (6 m × 6 m, below IBTool's 56.8 m²); outside 10 %.
  5 % of main buildings straddle a parcel edge; 1 % are derelict (zustand 2200), 1.5 % unused (2000);
- zoning: 200 m × 240 m blocks on a grid offset against the parcels (so about a quarter of zoned parcels
  cross a zoning edge): B-Plan blocks (WA/MI/GE/WR/MU, GRZ given on 30 %) within 700 m of a town centre,
  FNP blocks (W/M/G) within 900 m, and FNP blocks also under 30 % of the B-Plan blocks (precedence);
- brownfields: one per 500 parcels, rotated rectangles 60–150 m × 40–100 m, 60 % in towns.

Both implementations compute the same per-parcel measures (zoning class/share/GRZ/GFZ, brownfield share,
buildings, coverage, derelict and unused footprint, the Innenbereich estimate from the buildings and each
parcel's share of it, building density) and evaluate the same rules
(:func:`flaechen.flag.categories.rule_masks`); they differ in how the parcel × layer areas are found and how
the estimate is computed:

- flaechen: :func:`flaechen.flag.measure` — one STRtree per layer, bulk queries, covers shortcuts, exact
  intersections only across edges, on every core (forked workers); the estimate's settlement bodies
  dissolved per component (in workers), each body querying a tree of the buildings once (prepared), the
  parcels' shares of the estimated areas by a covers test on the whole areas and exact areas only at
  their outlines (:func:`flaechen.flag.overlay.large_overlaps`);
- baseline: ``geopandas.overlay(parcels, zoning|brownfields, how="intersection")`` and
  ``geopandas.sjoin(buildings, parcels)`` + row-wise ``intersection`` areas; the estimate with the same
  parameters through ``GeoSeries.buffer``, ``union_all``, ``explode`` and ``sjoin(..., "within")``, its
  areas cut into the same 200 m tiles and overlaid with ``geopandas.overlay`` (an overlay with the whole
  areas takes minutes); then the same aggregation.

Each runs in its own forked process (peak memory = max RSS of that process and its workers); the script
asserts identical candidates and categories and areas within 0.01 m², then prints a table. The timed
work is the same on both sides (measures + rules); the flaechen process afterwards also times the whole
step, :func:`flaechen.flag.flag` with reasons, capacity and summary, for information.

Usage::

    .venv/bin/python benchmarks/bench_flag.py                    # quick: 100,000 parcels
    .venv/bin/python benchmarks/bench_flag.py --parcels 1000000  # the issue's scale
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import pickle
import resource
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from flaechen.flag import flag, load_rules, measure  # noqa: E402
from flaechen.flag.categories import rule_masks  # noqa: E402
from flaechen.flag.core import ESTIMATE_TILE_M, measures_from_overlaps  # noqa: E402
from flaechen.flag.innenbereich import (  # noqa: E402
    QUAD_SEGS,
    BuiltUpEstimate,
    box_components,
    fill_small_holes,
    select_built_up,
)
from flaechen.flag.overlay import Overlaps, tiles  # noqa: E402
from flaechen.layers import load_schema  # noqa: E402

CRS = "EPSG:25832"
X0, Y0 = 300_000.0, 5_600_000.0
PW, PH = 25.0, 30.0
COMPARED_AREAS = ("area_m2", "zoning_share", "brownfield_share", "built_area", "unused_area", "existing_floor_area")


def _gdf(columns: dict, geoms: np.ndarray) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(pd.DataFrame(columns), geometry=gpd.GeoSeries(geoms, crs=CRS), crs=CRS)


def generate(n: int, *, seed: int = 7) -> dict[str, gpd.GeoDataFrame]:
    """A synthetic district of `n` parcels with zoning, brownfields and buildings (see the module docstring)."""
    rng = np.random.default_rng(seed)
    nx = math.ceil(math.sqrt(n))
    ny = math.ceil(n / nx)
    gx, gy = np.meshgrid(np.arange(nx + 1) * PW + X0, np.arange(ny + 1) * PH + Y0, indexing="ij")
    gx = gx + rng.uniform(-4, 4, gx.shape)
    gy = gy + rng.uniform(-4, 4, gy.shape)
    i, j = np.divmod(np.arange(n), ny)
    corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1), (i, j)]
    coords = np.stack([np.stack([gx[a, b], gy[a, b]], axis=-1) for a, b in corners], axis=1)
    parcels_g = shapely.polygons(coords)
    cx, cy = coords[:, :4, 0].mean(axis=1), coords[:, :4, 1].mean(axis=1)
    width, height = nx * PW, ny * PH

    n_muni = 10
    strip = np.minimum((cx - X0) / width * n_muni, n_muni - 1).astype(int)
    ags = np.array([f"0511{k:04d}" for k in range(n_muni)])
    munis_g = shapely.box(
        X0 + np.arange(n_muni) * width / n_muni - 10,
        Y0 - 10,
        X0 + (np.arange(n_muni) + 1) * width / n_muni + 10,
        Y0 + height + 10,
    )
    municipalities = _gdf(
        {
            "ags": pd.array(ags, dtype="string"),
            "name": pd.array([f"Gemeinde {k}" for k in range(n_muni)], dtype="string"),
            "population": pd.array(np.bincount(strip, minlength=n_muni) // 2 + 100, dtype="Int64"),
        },
        munis_g,
    )
    parcels = _gdf(
        {
            "parcel_id": pd.array([f"05{k:018d}" for k in range(n)], dtype="string"),
            "ags": pd.array(ags[strip], dtype="string"),
            "ownership": pd.array(rng.choice(["public", "private"], n, p=[0.2, 0.8]), dtype="string"),
        },
        parcels_g,
    )

    n_towns = max(1, n // 3000)
    towns = np.column_stack([X0 + rng.uniform(0, width, n_towns), Y0 + rng.uniform(0, height, n_towns)])
    town_tree = shapely.STRtree(shapely.points(towns))
    dist = town_tree.query_nearest(shapely.points(cx, cy), return_distance=True, all_matches=False)[1]
    in_town = dist < 600
    built = rng.random(n) < np.where(in_town, 0.85, 0.10)
    b_idx = np.flatnonzero(built)
    bw, bh = rng.uniform(14, 18, len(b_idx)), rng.uniform(12, 15, len(b_idx))
    ox, oy = rng.uniform(-3, 3, len(b_idx)), rng.uniform(-3, 3, len(b_idx))
    straddle = rng.random(len(b_idx)) < 0.05
    ox = np.where(straddle, PW / 2, ox)
    bx, by = cx[b_idx] + ox, cy[b_idx] + oy
    main = shapely.box(bx - bw / 2, by - bh / 2, bx + bw / 2, by + bh / 2)
    g_idx = b_idx[rng.random(len(b_idx)) < 0.5]
    garages = shapely.box(cx[g_idx] - 9, cy[g_idx] - 12, cx[g_idx] - 3, cy[g_idx] - 6)
    b_geoms = np.concatenate([main, garages])
    nb = len(b_geoms)
    u = rng.random(nb)
    state = pd.array(np.where(u < 0.01, 2200, np.where(u < 0.025, 2000, -1)), dtype="Int32")
    state[state == -1] = pd.NA
    buildings = _gdf(
        {
            "building_id": pd.array([f"DEBW{k:012d}" for k in range(nb)], dtype="string"),
            "ags": pd.array(ags[np.concatenate([strip[b_idx], strip[g_idx]])], dtype="string"),
            "storeys": pd.array(rng.integers(1, 4, nb), dtype="Int32"),
            "state": state,
        },
        b_geoms,
    )

    bw_, bh_ = 200.0, 240.0
    kx, ky = np.meshgrid(np.arange(-1, width / bw_ + 1), np.arange(-1, height / bh_ + 1), indexing="ij")
    kx, ky = kx.ravel(), ky.ravel()
    zx0, zy0 = X0 + 7 + kx * bw_, Y0 + 11 + ky * bh_
    zc = shapely.points(zx0 + bw_ / 2, zy0 + bh_ / 2)
    zdist = town_tree.query_nearest(zc, return_distance=True, all_matches=False)[1]
    bplan = zdist < 700
    fnp = (zdist < 900) & (~bplan | (rng.random(len(zc)) < 0.3))
    zb = np.flatnonzero(bplan)
    zf = np.flatnonzero(fnp)
    bes = rng.choice([1200, 1500, 1700, 1100, 1550], len(zb), p=[0.5, 0.2, 0.15, 0.1, 0.05])
    grz = np.where(rng.random(len(zb)) < 0.3, rng.choice([0.3, 0.4, 0.6], len(zb)), np.nan)
    allg = rng.choice([1000, 2000, 3000], len(zf), p=[0.6, 0.25, 0.15])
    zoning = _gdf(
        {
            "zoning_id": pd.array([f"Z{k}" for k in range(len(zb) + len(zf))], dtype="string"),
            "ags": pd.array(
                ags[np.clip(((np.concatenate([zx0[zb], zx0[zf]]) - X0) / width * n_muni).astype(int), 0, n_muni - 1)],
                dtype="string",
            ),
            "plan_name": pd.array([f"B-Plan {k // 20}" for k in range(len(zb))] + ["FNP"] * len(zf), dtype="string"),
            "plan_type": pd.array(["BPlan"] * len(zb) + ["FNP"] * len(zf), dtype="string"),
            "allg_art": pd.array(np.concatenate([np.full(len(zb), -1), allg]), dtype="Int32").astype("Int32"),
            "bes_art": pd.array(np.concatenate([bes, np.full(len(zf), -1)]), dtype="Int32"),
            "grz": pd.array(np.concatenate([grz, np.full(len(zf), np.nan)]), dtype="Float64"),
        },
        np.concatenate(
            [
                shapely.box(zx0[zb], zy0[zb], zx0[zb] + bw_, zy0[zb] + bh_),
                shapely.box(zx0[zf], zy0[zf], zx0[zf] + bw_, zy0[zf] + bh_),
            ]
        ),
    )
    zoning.loc[zoning["allg_art"] == -1, "allg_art"] = pd.NA
    zoning.loc[zoning["bes_art"] == -1, "bes_art"] = pd.NA
    zoning["grz"] = zoning["grz"].mask(zoning["grz"].isna())

    n_bf = max(1, n // 500)
    near = rng.random(n_bf) < 0.6
    t = towns[rng.integers(0, n_towns, n_bf)]
    fx = np.where(near, t[:, 0] + rng.uniform(-500, 500, n_bf), X0 + rng.uniform(0, width, n_bf))
    fy = np.where(near, t[:, 1] + rng.uniform(-500, 500, n_bf), Y0 + rng.uniform(0, height, n_bf))
    rects = shapely.box(
        -rng.uniform(30, 75, n_bf), -rng.uniform(20, 50, n_bf), rng.uniform(30, 75, n_bf), rng.uniform(20, 50, n_bf)
    )
    angle = rng.uniform(0, np.pi, n_bf)
    c, s = np.cos(angle), np.sin(angle)
    bf_geoms = np.array(
        [
            shapely.affinity.affine_transform(r, (ci, -si, si, ci, x, y))
            for r, ci, si, x, y in zip(rects, c, s, fx, fy, strict=True)
        ]
    )
    brownfields = _gdf(
        {
            "site_id": pd.array([f"BF{k}" for k in range(n_bf)], dtype="string"),
            "ags": pd.array(ags[np.clip(((fx - X0) / width * n_muni).astype(int), 0, n_muni - 1)], dtype="string"),
            "former_use": pd.array(rng.choice(["industry", "commercial", "rail", "military"], n_bf), dtype="string"),
        },
        bf_geoms,
    )
    return {
        "municipalities": municipalities,
        "parcels": parcels,
        "zoning": zoning,
        "brownfields": brownfields,
        "buildings": buildings,
    }


def _overlay_pairs(parcels: gpd.GeoDataFrame, other: gpd.GeoDataFrame) -> Overlaps:
    left = gpd.GeoDataFrame({"_p": np.arange(len(parcels))}, geometry=parcels.geometry.values, crs=parcels.crs)
    right = gpd.GeoDataFrame({"_o": np.arange(len(other))}, geometry=other.geometry.values, crs=other.crs)
    ov = gpd.overlay(left, right, how="intersection", keep_geom_type=True)
    return Overlaps(
        parcel=ov["_p"].to_numpy(np.int64),
        other=ov["_o"].to_numpy(np.int64),
        area=ov.area.to_numpy(),
        exact=np.ones(len(ov), bool),
    )


def _sjoin_pairs(parcels: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame) -> Overlaps:
    left = gpd.GeoDataFrame({"_o": np.arange(len(buildings))}, geometry=buildings.geometry.values, crs=buildings.crs)
    right = gpd.GeoDataFrame({"_p": np.arange(len(parcels))}, geometry=parcels.geometry.values, crs=parcels.crs)
    j = gpd.sjoin(left, right, how="inner", predicate="intersects")
    pg = gpd.GeoSeries(right.geometry.values[j["_p"].to_numpy()], crs=parcels.crs)
    area = pg.intersection(gpd.GeoSeries(j.geometry.values, crs=parcels.crs), align=False).area.to_numpy()
    return Overlaps(
        parcel=j["_p"].to_numpy(np.int64), other=j["_o"].to_numpy(np.int64), area=area, exact=np.ones(len(j), bool)
    )


def _estimate(parcels: gpd.GeoDataFrame, buildings: np.ndarray, rules) -> tuple[BuiltUpEstimate, Overlaps]:
    """The Innenbereich estimate of :mod:`flaechen.flag.innenbereich` with plain geopandas calls.

    The same steps and parameters: main buildings buffered and dissolved (``dissolve`` by the groups of
    buffers whose boxes meet, as flaechen dissolves them), the bodies
    shrunk back, small holes filled; which body each main building lies in by ``sjoin(..., "within")``;
    the parcels' overlaps with the areas by ``overlay``, with the areas cut into the same tiles flaechen
    uses at their outlines (an overlay with the whole areas, a few polygons of many thousand vertices,
    takes minutes); the pieces of an area add up per parcel.
    """
    crs = parcels.crs
    gs = gpd.GeoSeries(buildings, crs=crs)
    area = gs.area.to_numpy()
    main = np.flatnonzero(area >= float(rules["innenbereich.min_building_area_m2"]))
    radius = math.sqrt(float(rules["innenbereich.gap_area_m2"])) / 2.0
    margin = min(float(rules["innenbereich.edge_margin_m"]), radius)
    # dissolved per group of buffers whose boxes meet, as flaechen does (the same unions in the same order:
    # one union_all of everything gives the same bodies up to rounding, which can flip a parcel at a threshold)
    buffers = gpd.GeoDataFrame(geometry=gs.iloc[main].buffer(radius, quad_segs=QUAD_SEGS).values, crs=crs)
    buffers["group"] = box_components(buffers.geometry.to_numpy())
    bodies = buffers.dissolve(by="group").geometry.explode(index_parts=False).reset_index(drop=True)
    closed = bodies.buffer(-radius, quad_segs=QUAD_SEGS)
    areas = fill_small_holes(
        bodies.buffer(-(radius - margin), quad_segs=QUAD_SEGS).to_numpy(), float(rules["innenbereich.gap_area_m2"])
    )
    points = gpd.GeoDataFrame(
        {"_b": np.arange(len(main))}, geometry=gs.iloc[main].representative_point().values, crs=crs
    )
    j = gpd.sjoin(
        points, gpd.GeoDataFrame({"_body": np.arange(len(bodies))}, geometry=bodies, crs=crs), "inner", "within"
    )
    j = j.sort_values(["_b", "_body"]).drop_duplicates("_b")
    # which bodies are built-up areas: the same bookkeeping as flaechen (no geometry work in it)
    est = select_built_up(
        areas,
        closed.area.to_numpy(),
        area,
        main,
        building=j["_b"].to_numpy(),
        body=j["_body"].to_numpy(),
        rules=rules,
    )

    pieces, owner = tiles(est.areas, size=ESTIMATE_TILE_M)
    ov = _overlay_pairs(parcels, gpd.GeoDataFrame(geometry=gpd.GeoSeries(pieces, crs=crs), crs=crs))
    n_areas = len(est.areas)
    key = ov.parcel * n_areas + owner[ov.other]
    ukey, inv = np.unique(key, return_inverse=True)
    pairs = Overlaps(
        parcel=ukey // n_areas,
        other=ukey % n_areas,
        area=np.bincount(inv, weights=ov.area, minlength=len(ukey)),
        exact=np.ones(len(ukey), bool),
    )
    return est, pairs


def baseline_measures(layers: dict, rules) -> pd.DataFrame:
    """The same measures with geopandas: overlay (zoning, brownfields, estimated built-up areas), sjoin +
    intersection (buildings), the Innenbereich estimate with ``union_all`` and ``sjoin`` (:func:`_estimate`)."""
    parcels = layers["parcels"]
    ov = {
        "zoning": _overlay_pairs(parcels, layers["zoning"]),
        "brownfields": _overlay_pairs(parcels, layers["brownfields"]),
        "buildings": _sjoin_pairs(parcels, layers["buildings"]),
    }
    return measures_from_overlaps(
        layers,
        ov,
        rules=rules,
        parcel_area=parcels.area.to_numpy(),
        estimate=lambda buildings: _estimate(parcels, buildings, rules),
    )


def _peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def _child(kind: str, layers: dict, workers: int | None, conn) -> None:
    rules = load_rules()
    start = time.perf_counter()
    m = measure(layers, rules=rules, workers=workers) if kind == "flaechen" else baseline_measures(layers, rules)
    masks = rule_masks(m, rules=rules)
    seconds = time.perf_counter() - start
    peak, workers_peak = _peak_mb(resource.RUSAGE_SELF), _peak_mb(resource.RUSAGE_CHILDREN)
    full = None
    if kind == "flaechen":
        # the whole step as `flaechen flag` runs it: measures, rules, reasons, capacity, summary
        start = time.perf_counter()
        result = flag(layers, rules=rules, workers=workers)
        full = time.perf_counter() - start
        assert len(result.candidates) == int(masks.to_numpy().any(axis=1).sum())
    out = {
        "seconds": seconds,
        "full_seconds": full,
        "peak_mb": peak,
        "workers_peak_mb": workers_peak,
        "full_peak_mb": _peak_mb(resource.RUSAGE_SELF),
        "masks": masks.to_numpy(),
        "mask_names": list(masks.columns),
        "areas": {c: m[c].astype("Float64").fillna(-1.0).to_numpy(dtype=float) for c in COMPARED_AREAS},
        "zoning_class": m["zoning_class"].astype("string").fillna("").to_numpy(dtype=object),
    }
    conn.send_bytes(pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL))
    conn.close()


def _run(kind: str, layers: dict, workers: int | None) -> dict:
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(kind, layers, workers, send))
    proc.start()
    send.close()
    data = pickle.loads(recv.recv_bytes())
    proc.join()
    if proc.exitcode:
        raise SystemExit(f"{kind} run failed with exit code {proc.exitcode}")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parcels", type=int, default=100_000, help="number of parcels (default 100000)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes for flaechen (default: all cores)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    load_schema()  # the layer definitions are read once, before either run (neither pays for it)
    t0 = time.perf_counter()
    layers = generate(args.parcels, seed=args.seed)
    gen = time.perf_counter() - t0
    sizes = {k: len(v) for k, v in layers.items()}
    print(f"generated in {gen:.1f} s: " + ", ".join(f"{k} {v:,d}" for k, v in sizes.items()), flush=True)
    print(f"data in memory before the runs: {_peak_mb(resource.RUSAGE_SELF):,.0f} MB max RSS", flush=True)

    fast = _run("flaechen", layers, args.workers)
    print(f"flaechen: {fast['seconds']:.1f} s", flush=True)
    base = _run("baseline", layers, args.workers)
    print(f"baseline: {base['seconds']:.1f} s", flush=True)

    assert fast["mask_names"] == base["mask_names"]
    diff_rows = np.flatnonzero((fast["masks"] != base["masks"]).any(axis=1))
    assert len(diff_rows) == 0, f"{len(diff_rows)} parcels differ in their categories, e.g. rows {diff_rows[:10]}"
    assert (fast["zoning_class"] == base["zoning_class"]).all(), "zoning classes differ"
    worst = {}
    for c in COMPARED_AREAS:
        a, b = fast["areas"][c], base["areas"][c]
        scale = np.where(np.isin(c, ["zoning_share", "brownfield_share"]), fast["areas"]["area_m2"], 1.0)
        err = np.abs(a - b) * scale
        worst[c] = float(err.max()) if len(err) else 0.0
        assert worst[c] <= 0.01, f"{c}: areas differ by up to {worst[c]:.4f} m²"
    candidates = int(fast["masks"].any(axis=1).sum())
    per_cat = dict(zip(fast["mask_names"], fast["masks"].sum(axis=0).tolist(), strict=True))

    ratio = base["seconds"] / fast["seconds"]
    print()
    print(
        f"parcels {sizes['parcels']:,d} · buildings {sizes['buildings']:,d} · zoning {sizes['zoning']:,d} · "
        f"brownfields {sizes['brownfields']:,d} · candidates {candidates:,d} {per_cat}"
    )
    print(f"{'implementation':40s} {'seconds':>9s} {'peak MB (proc)':>15s} {'peak MB (workers)':>18s}")
    print(
        f"{'flaechen.flag.measure (STRtree)':40s} {fast['seconds']:9.1f} {fast['peak_mb']:15,.0f} "
        f"{fast['workers_peak_mb']:18,.0f}"
    )
    print(f"{'geopandas overlay + sjoin':40s} {base['seconds']:9.1f} {base['peak_mb']:15,.0f} {'—':>18s}")
    print(
        f"ratio baseline / flaechen: {ratio:.1f}×  (identical candidates and categories; "
        f"largest area difference {max(worst.values()):.2e} m²)"
    )
    print(
        f"the whole step, flaechen.flag.flag() with reasons, capacity and summary: {fast['full_seconds']:.1f} s, "
        f"peak {fast['full_peak_mb']:,.0f} MB"
    )
    if ratio < 3:
        print("WARNING: below the required 3×", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
