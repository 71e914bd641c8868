"""The flagging step: per-parcel measures, categories with reasons, constraints, capacity, summary.

Examples
--------
>>> from flaechen.district import read_district
>>> from flaechen.flag import flag, load_rules
>>> from flaechen.layers import CANONICAL_LAYERS
>>> result = flag(read_district("out/demo", layers=list(CANONICAL_LAYERS)), rules=load_rules())
>>> sorted(result.candidates["category"].unique())
['Außenreserve', 'Baulücke', 'Brachfläche', 'Leerstand', 'Untergenutzte Fläche']
>>> reason = result.candidates.loc[result.candidates["category"] == "Baulücke", "reasons"].iloc[0]
>>> "§34 BauGB" in reason or "§30 BauGB" in reason  # every reason names its legal basis
True
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from flaechen.errors import CRSError, LayerError
from flaechen.flag.availability import DATA_KINDS, availability
from flaechen.flag.capacity import capacity
from flaechen.flag.categories import (
    building_land,
    explain_candidates,
    explain_constraint,
    legal_basis_texts,
    rule_masks,
)
from flaechen.flag.constraints import (
    APPLIES,
    NO_DATA,
    Constraint,
    VectorConstraint,
    constraint_status,
    overlay_key,
)
from flaechen.flag.innenbereich import BuiltUpEstimate, estimate_built_up
from flaechen.flag.metrics import brownfield_measures, building_measures, built_up_measures, zoning_measures
from flaechen.flag.overlay import Overlaps, OverlayLayer, ParcelIndex, indexed_overlaps, large_overlaps
from flaechen.flag.reasons import to_json
from flaechen.flag.rules import Rules
from flaechen.flag.summary import summarise
from flaechen.flag.uses import layer_use_measures, text_use_measures, use_label
from flaechen.layers import load_schema

log = logging.getLogger(__name__)

INPUT_LAYERS = ("municipalities", "parcels", "zoning", "brownfields", "buildings")
OPTIONAL_LAYERS = ("land_use", "built_up_area")
"""Layers a district dataset may lack: a missing or empty one is data nobody delivered."""
STATUS_CANDIDATE = "Kandidat"
STATUS_EXCLUDED = "ausgeschlossen"
STATUS_NONE = "kein Kandidat"


@dataclass(frozen=True)
class FlagResult:
    """What the flagging step returns.

    Attributes
    ----------
    candidates
        One feature per parcel that meets at least one category and is not excluded by a constraint,
        with the fields of ``layers/candidates.yaml`` (written as layer ``candidates``).
    summary
        One row per municipality (``layers/summary.yaml``; written as table ``summary``).
    rules
        The effective rules of the run, one row per parameter (written as table ``rules``).
    measures
        Every parcel's measures, its status (Kandidat, ausgeschlossen, kein Kandidat) and, where it met a
        rule, its reasons: why a parcel is or is not a candidate (written as table ``parcel_measures``).
    """

    candidates: gpd.GeoDataFrame
    summary: pd.DataFrame
    rules: pd.DataFrame
    measures: pd.DataFrame


def check_layers(layers: Mapping[str, gpd.GeoDataFrame]) -> object:
    """Check that the canonical layers are present, share one projected CRS, and carry their keys.

    Returns the common CRS. Raises :class:`flaechen.errors.CRSError` naming the layers whose CRS differs
    and the call that fixes it, :class:`LayerError` for a missing layer or field.
    """
    missing = [name for name in INPUT_LAYERS if name not in layers]
    if missing:
        raise LayerError(
            f"the district dataset lacks layer(s) {', '.join(missing)}; "
            "run `flaechen run` to build district.gpkg (an empty layer is fine, a missing one is not)"
        )
    schema = load_schema()
    problems = []
    for name in INPUT_LAYERS:
        key = schema.layer(name).key
        if key not in layers[name].columns:
            problems.append(f"layer {name!r} has no field {key!r}")
    if "ags" not in layers["parcels"].columns:
        problems.append("layer 'parcels' has no field 'ags'")
    if problems:
        raise LayerError("; ".join(problems))
    crs = {name: layers[name].crs for name in INPUT_LAYERS}
    crs |= {name: layers[name].crs for name in OPTIONAL_LAYERS if _present(layers, name)}
    no_crs = [name for name, c in crs.items() if c is None]
    if no_crs:
        raise CRSError(
            f"layer(s) {', '.join(no_crs)} have no CRS; set the district CRS with "
            "`gdf.set_crs(...)` (or declare it in the district configuration) before flagging"
        )
    ref = crs["parcels"]
    differ = [f"{name} ({c.to_string()})" for name, c in crs.items() if c != ref]
    if differ:
        raise CRSError(
            f"CRS mismatch between the layers: parcels are in {ref.to_string()}, but {', '.join(differ)}. "
            f"Use `gdf.to_crs({ref.to_string()!r})` to reproject them to the district CRS first."
        )
    if not ref.is_projected:
        raise CRSError(
            f"the district CRS {ref.to_string()} is not projected: areas in m² need one, e.g. "
            "`gdf.to_crs('EPSG:25832')` (UTM 32N) or EPSG:25833 (UTM 33N)"
        )
    return ref


def _present(layers: Mapping[str, gpd.GeoDataFrame], name: str) -> bool:
    """Whether an optional layer is in the dataset with at least one feature."""
    return name in layers and layers[name] is not None and len(layers[name]) > 0


def dominant_use(actual_use: pd.Series) -> pd.Series:
    """The dominant ALKIS Nutzungsart of each parcel from its ``actual_use`` text.

    ``actual_use`` holds one or more ``Nutzungsart[ / Unterart];m²`` pairs (ALKIS vereinfacht, e.g.
    ``"Straßenverkehr / Verkehrsbegleitfläche Straße;49"``); the Nutzungsart of the pair with the largest
    area is returned (the first where no area is given), NA where the text is empty.

    Examples
    --------
    >>> dominant_use(pd.Series(["Wohnbaufläche;412;Straßenverkehr;30", "Weg / Fahrweg;80|Platz;20", None])).tolist()
    ['Wohnbaufläche', 'Weg', <NA>]
    """

    return text_use_measures(actual_use)["use"]


def measure(
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    rules: Rules,
    workers: int | None = None,
) -> pd.DataFrame:
    """Per-parcel measures of the district: zoning, brownfields, buildings, building density.

    Parameters
    ----------
    layers
        The district dataset (see :func:`flag`).
    rules
        The effective rules.
    workers
        Worker processes for the overlaps; None uses every core.

    Returns
    -------
    pandas.DataFrame
        One row per parcel, in the order of layer ``parcels`` (default integer index).
    """
    check_layers(layers)
    parcels = layers["parcels"]
    geoms = parcels.geometry.to_numpy()
    t0 = time.perf_counter()
    index = ParcelIndex.build(geoms)
    parcel_area = index.area
    names = ("zoning", "brownfields", "buildings", *tuple(n for n in OPTIONAL_LAYERS if _present(layers, n)))
    indexed = {name: OverlayLayer.build(layers[name].geometry.to_numpy()) for name in names}
    if "built_up_area" in indexed and float(rules["innenbereich.ortslage_tolerance_m"]) > 0:
        indexed[EDGE_LAYER] = OverlayLayer.build(built_up_geometries(layers["built_up_area"], rules=rules))
    t1 = time.perf_counter()
    ov = indexed_overlaps(index, indexed, workers=workers)
    t2 = time.perf_counter()
    exact = sum(int(o.exact.sum()) for o in ov.values())
    pairs = sum(len(o) for o in ov.values())
    log.info(
        "overlaps: %d parcels, %d pairs, %d exact intersections (%.0f %%); index %.1f s, overlaps %.1f s",
        len(geoms),
        pairs,
        exact,
        100.0 * exact / max(pairs, 1),
        t1 - t0,
        t2 - t1,
    )
    return measures_from_overlaps(layers, ov, rules=rules, parcel_area=parcel_area, index=index, workers=workers)


def measures_from_overlaps(
    layers: Mapping[str, gpd.GeoDataFrame],
    overlaps: Mapping[str, Any],
    *,
    rules: Rules,
    parcel_area: np.ndarray,
    index: ParcelIndex | None = None,
    workers: int | None = 1,
    estimate: Callable[[np.ndarray], tuple[BuiltUpEstimate, Overlaps]] | None = None,
) -> pd.DataFrame:
    """Assemble the per-parcel measures from the overlaps of the parcels with the district's layers.

    Shared by the indexed computation and by any reference computation (tests, benchmark baseline) that
    produces the same :class:`~flaechen.flag.overlay.Overlaps` for zoning, brownfields and buildings (and
    land_use, built_up_area where the dataset has them, and ``built_up_area_edge`` with the areas of
    :func:`built_up_geometries`). The built-up areas are estimated from the
    buildings here (:func:`~flaechen.flag.innenbereich.estimate_built_up`) and their overlaps with the
    parcels found by :func:`~flaechen.flag.overlay.large_overlaps`; a reference computation may give its
    own `estimate` (called with the building footprints, it returns the estimate and its areas' overlaps
    with the parcels, one row per intersecting pair).

    Besides the measures of zoning, brownfields and buildings, each parcel gets its actual use (``use``,
    ``use_share``, ``use_shares``, ``use_source``: from layer ``land_use`` where its municipality
    delivered it, else from its ``actual_use`` text), whether it lies in the built-up area (``inside``,
    NA where that cannot be known) and on what basis (``inside_basis``: the delivered area's kind, or
    ``estimate``), and what its municipality delivered (``data_buildings``, ``data_zoning``,
    ``data_land_use``, ``data_built_up_area``, ``data_brownfields``).
    """
    parcels = layers["parcels"]
    n = len(parcels)

    def text(name: str) -> pd.api.extensions.ExtensionArray:
        if name in parcels.columns:
            return parcels[name].astype("string").array
        return pd.array([pd.NA] * n, dtype="string")

    ags = pd.Series(text("ags"))
    codes = sorted(set(ags.dropna()) | set(layers["municipalities"]["ags"].dropna().astype(str)))
    avail = availability(layers, codes)
    data = {
        f"data_{kind}": pd.array(ags.map(avail[kind]).fillna(False).to_numpy(dtype=bool), dtype="boolean")
        for kind in DATA_KINDS
    }
    base = pd.DataFrame(
        {
            "parcel_id": text("parcel_id"),
            "ags": text("ags"),
            "ownership": text("ownership"),
            "area_m2": pd.array(parcel_area, dtype="Float64"),
        }
    )
    zon = zoning_measures(overlaps["zoning"], layers["zoning"], parcel_area=parcel_area, rules=rules)
    bf = brownfield_measures(overlaps["brownfields"], layers["brownfields"], parcel_area=parcel_area, rules=rules)
    bld = building_measures(overlaps["buildings"], layers["buildings"], parcel_area=parcel_area, rules=rules)

    uses = text_use_measures(pd.Series(text("actual_use")))
    if _present(layers, "land_use") and "land_use" in overlaps:
        from_layer = layer_use_measures(
            overlaps["land_use"],
            layers["land_use"],
            parcel_area=parcel_area,
            min_overlap=rules["general.min_overlap_m2"],
        )
        delivered = ags.isin(set(layers["land_use"]["ags"].dropna().astype(str))).to_numpy(dtype=bool)
        for col in uses.columns:
            uses[col] = uses[col].where(~delivered, from_layer[col].to_numpy())
    uses["dominant_use"] = uses["use"]

    unbuilt = bld["built_area"].fillna(0.0).to_numpy(dtype=float) <= rules["bauluecke.max_footprint_m2"] + 1e-9
    land_use = layers["land_use"] if _present(layers, "land_use") else None
    access = _street_access(parcels, uses["use"], land_use=land_use, rules=rules, data=data, only=unbuilt)
    address = pd.Series(text("address"))
    pattern = rules["bauluecke.built_address_pattern"]
    house_number = (
        address.str.contains(pattern, regex=True) if pattern else pd.Series(pd.NA, index=address.index, dtype="boolean")
    )
    uses["street_access"] = pd.array(access, dtype="boolean")
    uses["house_number"] = pd.array(house_number.astype("boolean"), dtype="boolean")

    inside, basis, density, body = _inside(
        layers,
        overlaps,
        rules=rules,
        parcel_area=parcel_area,
        index=index,
        data=data,
        workers=workers,
        estimate=estimate,
    )
    if _present(layers, "built_up_area") and "built_up_area" in overlaps:
        bua = built_up_measures(
            overlaps["built_up_area"], layers["built_up_area"], parcel_area=parcel_area, rules=rules
        )
    else:
        bua = pd.DataFrame(
            {
                "built_up_share": pd.array([pd.NA] * n, dtype="Float64"),
                "built_up_kind": pd.array([pd.NA] * n, dtype="string"),
                "built_up_name": pd.array([pd.NA] * n, dtype="string"),
            }
        )
    delivered_bua = np.asarray(data["data_built_up_area"], dtype=bool)
    share = bua["built_up_share"].fillna(0.0).to_numpy(dtype=float)
    inside_bua = share >= rules["innenbereich.min_share"] - 1e-9
    # at the edge of a delivered ATKIS Ortslage (within its positional accuracy) the buildings decide: a lot
    # inside the grown Ortslage that the estimate from the footprints puts in the built fabric is inside
    edge = np.zeros(n, dtype=bool)
    if EDGE_LAYER in overlaps and _present(layers, "built_up_area"):
        ep, _, ea = _kept_pairs(overlaps[EDGE_LAYER], rules)
        edge_share = np.minimum(np.bincount(ep, weights=ea, minlength=n) / np.maximum(parcel_area, 1e-9), 1.0)
        estimated = np.asarray(inside, dtype=bool) & np.asarray(data["data_buildings"], dtype=bool)
        edge = delivered_bua & ~inside_bua & (edge_share >= rules["innenbereich.min_share"] - 1e-9) & estimated
        # an edge lot takes kind and name from the grown area covering most of it (the same features)
        grown = built_up_measures(overlaps[EDGE_LAYER], layers["built_up_area"], parcel_area=parcel_area, rules=rules)
        for col in ("built_up_kind", "built_up_name"):
            bua[col] = bua[col].where(~edge, grown[col].to_numpy())
    inside = np.where(delivered_bua, inside_bua | edge, inside)
    kind = bua["built_up_kind"].fillna("other").to_numpy(dtype=object)
    basis = np.where(delivered_bua, kind, basis)
    inside_arr = pd.array(inside, dtype="boolean")
    known = delivered_bua | np.asarray(data["data_buildings"], dtype=bool)
    inside_arr[~known] = pd.NA
    dens = pd.DataFrame(
        {
            "building_density": pd.array(density, dtype="Float64"),
            "built_up_buildings": pd.array(body, dtype="Int32"),
            "built_up_share": pd.array(np.where(delivered_bua, share, np.nan), dtype="Float64"),
            "built_up_kind": bua["built_up_kind"].array,
            "built_up_name": bua["built_up_name"].array,
            "inside": inside_arr,
            "built_up_edge": pd.array(edge, dtype="boolean"),
            "inside_basis": pd.array(np.where(known, basis, np.array(None, dtype=object)), dtype="string"),
        }
    )
    # the width only where a Baulücke is possible: unbuilt, large enough, inside or zoned
    zoned = zon["zoning_share"].fillna(0.0).to_numpy(dtype=float) >= rules["zoning.min_share"] - 1e-9
    could_be_gap = unbuilt & (parcel_area >= rules["bauluecke.min_area_m2"]) & (inside | zoned)
    uses["width_m"] = lot_width(parcels.geometry.to_numpy(), only=could_be_gap)
    return pd.concat([base, uses, zon, bf, bld, dens, pd.DataFrame(data)], axis=1)


def _street_access(
    parcels: gpd.GeoDataFrame,
    use: pd.Series,
    *,
    land_use: gpd.GeoDataFrame | None,
    rules: Rules,
    data: Mapping[str, Any],
    only: np.ndarray,
) -> pd.arrays.BooleanArray:
    """Whether each parcel lies within ``bauluecke.access_tolerance_m`` of a traffic area.

    Traffic areas are the parcels whose dominant use is in ``bauluecke.requires_access`` and, where the
    municipality delivered layer ``land_use``, its polygons of those uses (a street that is only part of a
    larger parcel, a lane whose parcel is dominated by another use). Evaluated for the parcels of `only`
    (the unbuilt ones: only a Baulücke needs it). NA elsewhere, where the municipality delivered no land use
    (access unknown) or where the list is empty (not required).
    """
    n = len(parcels)
    out = pd.array([pd.NA] * n, dtype="boolean")
    kinds = list(rules["bauluecke.requires_access"])
    known = np.asarray(data["data_land_use"], dtype=bool) & only & use.notna().to_numpy()
    if not kinds or not known.any():
        return out
    geoms = parcels.geometry.to_numpy()
    traffic = [geoms[use.isin(kinds).fillna(False).to_numpy(dtype=bool)]]
    if land_use is not None:
        labels = use_label(land_use["use"])
        traffic.append(land_use.geometry.to_numpy()[labels.isin(kinds).fillna(False).to_numpy(dtype=bool)])
    areas = np.concatenate(traffic)
    result = np.zeros(n, dtype=bool)
    if len(areas):
        tree = shapely.STRtree(areas)
        cand = np.flatnonzero(known)
        p, _ = tree.query(geoms[cand], predicate="dwithin", distance=float(rules["bauluecke.access_tolerance_m"]))
        result[cand[np.unique(p)]] = True
    out[known] = result[known]
    return out


EDGE_LAYER = "built_up_area_edge"
"""Overlaps key of the delivered built-up areas grown by their positional accuracy (:func:`built_up_geometries`)."""


def _kept_pairs(ov: Overlaps, rules: Rules) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    keep = ov.area >= rules["general.min_overlap_m2"]
    return ov.parcel[keep], ov.other[keep], ov.area[keep]


def lot_width(geoms: np.ndarray, *, only: np.ndarray) -> pd.arrays.FloatingArray:
    """Width of each parcel of `only`: the diameter of the largest circle inside it (GEOS), in metres.

    A strip (a path, verge or drain recorded under another use) is narrow however long it is. NA for the
    other parcels (only a Baulücke needs it).

    Examples
    --------
    >>> widths = lot_width(shapely.box([0, 0], 0, [4, 30], [100, 30]), only=np.array([True, False]))
    >>> round(float(widths[0]), 3), widths[1]
    (4.0, <NA>)
    """
    out = pd.array(np.full(len(geoms), np.nan), dtype="Float64")
    idx = np.flatnonzero(only)
    if len(idx):
        lines = shapely.maximum_inscribed_circle(geoms[idx], tolerance=WIDTH_TOLERANCE_M)
        out[idx] = 2.0 * shapely.length(lines)
    return out


WIDTH_TOLERANCE_M = 0.05
"""Precision of the inscribed circle's radius (GEOS stops refining below it)."""


def built_up_geometries(built_up: gpd.GeoDataFrame, *, rules: Rules) -> np.ndarray:
    """The delivered built-up areas grown by their positional accuracy: each ATKIS Ortslage (kind
    ``ortslage``) by ``innenbereich.ortslage_tolerance_m``, the others (a Satzung, drawn on the cadastre)
    as delivered.

    The Basis-DLM draws an Ortslage with the positional accuracy of its area objects (±15 m), not along
    the parcel boundaries. A lot in this edge band that is mostly inside the grown area is inside where the
    estimate from the building footprints puts it in the built fabric (:func:`measures_from_overlaps`),
    so a lot beside the last house is not outside by the generalisation alone, and a field beyond it is
    not pulled in. The grown areas are made disjoint (each loses what earlier ones, the areas delivered as
    drawn first, already cover), so a parcel between two of them is not counted twice.

    Examples
    --------
    >>> from flaechen.flag.rules import load_rules
    >>> layer = gpd.GeoDataFrame({"kind": ["ortslage", "satzung"]},
    ...     geometry=[shapely.box(0, 0, 100, 100), shapely.box(200, 0, 300, 100)], crs="EPSG:25832")
    >>> [round(a) for a in shapely.area(built_up_geometries(layer, rules=load_rules()))]
    [16689, 10000]
    """
    geoms: np.ndarray = np.asarray(built_up.geometry.to_numpy(), dtype=object).copy()
    kind = built_up["kind"].astype("string").fillna("") if "kind" in built_up.columns else None
    tolerance = float(rules["innenbereich.ortslage_tolerance_m"])
    if kind is None or tolerance <= 0:
        return geoms
    grow = (kind == "ortslage").to_numpy(dtype=bool)
    if not grow.any():
        return geoms
    geoms[grow] = shapely.buffer(geoms[grow], tolerance, quad_segs=4)
    order = np.r_[np.flatnonzero(~grow), np.flatnonzero(grow)]
    tree = shapely.STRtree(geoms)
    later, earlier = tree.query(geoms, predicate="intersects")
    rank = np.empty(len(geoms), dtype=np.int64)
    rank[order] = np.arange(len(geoms))
    before = rank[earlier] < rank[later]
    out: np.ndarray = geoms.copy()
    for i in np.unique(later[before]).tolist():
        prior = earlier[before & (later == i)]
        out[i] = shapely.difference(geoms[i], shapely.union_all(geoms[prior]))
    return out


ESTIMATE_TILE_M = 200.0
"""Side of the tiles the estimated built-up areas are cut into for the exact overlaps at their outlines."""


def _inside(
    layers: Mapping[str, gpd.GeoDataFrame],
    overlaps: Mapping[str, Any],
    *,
    rules: Rules,
    parcel_area: np.ndarray,
    index: ParcelIndex | None,
    data: Mapping[str, Any],
    workers: int | None,
    estimate: Callable[[np.ndarray], tuple[BuiltUpEstimate, Overlaps]] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The Innenbereich estimate for every parcel: inside, basis, building coverage and buildings of its area."""
    parcels = layers["parcels"]
    n = len(parcels)
    inside = np.zeros(n, dtype=bool)
    basis = np.full(n, "estimate", dtype=object)
    density = np.full(n, np.nan)
    body = np.zeros(n, dtype=np.int64)
    bgeoms = layers["buildings"].geometry.to_numpy()
    if len(bgeoms) == 0:
        return inside, basis, density, body
    if estimate is None:
        est = estimate_built_up(bgeoms, rules=rules, workers=workers)
        if len(est.areas):
            idx = index if index is not None else ParcelIndex.build(parcels.geometry.to_numpy())
            ov = large_overlaps(idx, est.areas, tile_size=ESTIMATE_TILE_M, workers=workers)
    else:
        est, ov = estimate(bgeoms)
    if len(est.areas) == 0:
        density[:] = 0.0
        return inside, basis, density, body
    # one row per (parcel, area)
    keep = ov.area >= rules["general.min_overlap_m2"]
    p, o, a = ov.parcel[keep], ov.other[keep], ov.area[keep]
    share = np.minimum(np.bincount(p, weights=a, minlength=n) / np.maximum(parcel_area, 1e-9), 1.0)
    inside = share >= rules["innenbereich.min_share"] - 1e-9
    # the largest overlap names the area (its coverage is the parcel's building density)
    order = np.lexsort((o, -a, p))
    first = order[np.r_[True, p[order][1:] != p[order][:-1]]] if len(p) else order
    area_of = np.full(n, -1, dtype=np.int64)
    area_of[p[first]] = o[first]
    # a parcel holding a main building of a built-up area is inside (the lot of a house at the edge)
    bov = overlaps["buildings"]
    bk = bov.area >= rules["general.min_overlap_m2"]
    bp, bo, ba = bov.parcel[bk], bov.other[bk], bov.area[bk]
    in_area = est.building_area[bo]
    mostly = ba >= 0.5 * shapely.area(bgeoms[bo])
    hold = (in_area >= 0) & mostly
    inside[bp[hold]] = True
    area_of[bp[hold]] = np.where(area_of[bp[hold]] >= 0, area_of[bp[hold]], in_area[hold])
    has = area_of >= 0
    density = np.zeros(n)
    density[has] = est.coverage[area_of[has]]
    body[has] = est.buildings[area_of[has]]
    return inside, basis, density, body


def _constraints_for(
    constraints: Sequence[Constraint],
    geoms: np.ndarray,
    area: np.ndarray,
    *,
    rules: Rules,
    workers: int | None,
) -> dict[str, pd.DataFrame]:
    vectors = [c for c in constraints if isinstance(c, VectorConstraint)]
    indexed = {overlay_key(c): OverlayLayer.build(c.geometries) for c in vectors}
    ov = indexed_overlaps(geoms, indexed, workers=workers) if indexed else {}
    return constraint_status(
        constraints, ov, parcels=geoms, parcel_area=area, min_overlap=rules["general.min_overlap_m2"]
    )


def _to_multi(geoms: np.ndarray) -> np.ndarray:
    geoms = geoms.copy()
    single = shapely.get_type_id(geoms) == 3
    if single.any():
        idx = np.flatnonzero(single)
        geoms[idx] = shapely.multipolygons(geoms[idx], indices=np.arange(len(idx)))
    return geoms


def _apply_constraints(
    constraints: Sequence[Constraint],
    status: Mapping[str, pd.DataFrame],
    texts: list[list[str]],
    entries: list[list[str]],
) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """Add the constraints' sentences and JSON entries; return lowered, excluded and the constraints note."""
    k = len(texts)
    by_name = {c.name: c for c in constraints}
    lowered = np.zeros(k, dtype=bool)
    excluded = np.zeros(k, dtype=bool)
    notes: list[list[str]] = [[] for _ in range(k)]
    for name, frame in status.items():
        c = by_name[name]
        st = frame["status"].to_numpy(dtype=object)
        values = frame["value"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        applies = st == APPLIES
        excluded |= applies & (c.effect == "exclude")
        lowered |= applies & (c.effect == "lower")
        for r in np.flatnonzero(applies | (st == NO_DATA)).tolist():
            value = None if np.isnan(values[r]) else float(values[r])
            text, entry = explain_constraint(c, st[r], value)
            texts[r].append(text)
            entries[r].append(to_json([entry])[1:-1])
            notes[r].append(f"{c.label}: {st[r]}")
    return lowered, excluded, ["; ".join(x) if x else None for x in notes]


def flag(
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    rules: Rules,
    constraints: Sequence[Constraint] = (),
    workers: int | None = None,
) -> FlagResult:
    """Flag, explain and size the reuse candidates of a district.

    Parameters
    ----------
    layers
        The district dataset: ``{layer name: GeoDataFrame}`` with the canonical layers municipalities,
        parcels, zoning, brownfields and buildings (fields as in ``layers/*.yaml``), all in one projected
        district CRS.
    rules
        The effective rules (:func:`flaechen.flag.load_rules`).
    constraints
        Vector and raster constraints (:func:`flaechen.flag.load_constraints`), evaluated for the parcels
        that meet a category.
    workers
        Worker processes for the overlaps; None uses every available core.

    Returns
    -------
    FlagResult
        Candidates, the per-municipality summary, the effective rules and every parcel's measures.

    Raises
    ------
    flaechen.errors.CRSError
        The layers do not share one projected CRS (the message names them and the fix).

    Examples
    --------
    >>> from flaechen.district import read_district
    >>> from flaechen.flag import load_rules
    >>> from flaechen.layers import CANONICAL_LAYERS
    >>> layers = read_district("out/demo", layers=list(CANONICAL_LAYERS))
    >>> result = flag(layers, rules=load_rules(), workers=2)
    >>> result.summary["ags"].tolist() == layers["municipalities"]["ags"].tolist()  # one row per municipality
    True
    """
    t0 = time.perf_counter()
    crs = check_layers(layers)
    measures = measure(layers, rules=rules, workers=workers)
    masks = rule_masks(measures, rules=rules)
    _, basis = building_land(measures, rules=rules)
    measures["bauland_basis"] = pd.array(basis, dtype="string")
    met = masks.to_numpy()
    hit = np.flatnonzero(met.any(axis=1))
    log.info("rules: %d of %d parcels meet at least one rule", len(hit), len(measures))

    geoms = layers["parcels"].geometry.to_numpy()
    area = measures["area_m2"].to_numpy(dtype=float)
    status = _constraints_for(constraints, geoms[hit], area[hit], rules=rules, workers=workers)

    primary, all_cats, texts, entries = explain_candidates(measures.iloc[hit], masks.iloc[hit], rules=rules)
    lowered, excluded, notes = _apply_constraints(constraints, status, texts, entries)
    reasons = [" ".join(t) for t in texts]
    reasons_json = ["[" + ",".join(e) + "]" for e in entries]

    n = len(measures)
    measures["status"] = pd.array([STATUS_NONE] * n, dtype="string")
    measures["category"] = pd.array([pd.NA] * n, dtype="string")
    measures["categories"] = pd.array([pd.NA] * n, dtype="string")
    measures["reasons"] = pd.array([pd.NA] * n, dtype="string")
    measures["constraints"] = pd.array([pd.NA] * n, dtype="string")
    if len(hit):
        measures.loc[hit, "status"] = np.where(excluded, STATUS_EXCLUDED, STATUS_CANDIDATE)
        measures.loc[hit, "category"] = pd.array(primary, dtype="string")
        measures.loc[hit, "categories"] = pd.array(all_cats, dtype="string")
        measures.loc[hit, "reasons"] = pd.array(reasons, dtype="string")
        measures.loc[hit, "constraints"] = pd.array(notes, dtype="string")

    measures["legal_basis"] = pd.array([pd.NA] * n, dtype="string")
    if len(hit):
        measures.loc[hit, "legal_basis"] = pd.array(legal_basis_texts(measures.iloc[hit], rules=rules), dtype="string")
    cand = measures.iloc[hit].copy()
    cand["reasons_json"] = pd.array(reasons_json, dtype="string")
    cand["lowered"] = pd.array(lowered, dtype="boolean")
    munis = layers["municipalities"]
    population = dict(zip(munis["ags"].astype(str), munis.get("population", []), strict=False))
    cand = pd.concat(
        [cand, capacity(cand, rules=rules, population=cand["ags"].astype(str).map(population).astype("Float64"))],
        axis=1,
    )
    keep = ~excluded
    cand = cand[keep]
    candidates = _candidate_frame(cand, geoms[hit][keep], crs)
    codes = sorted(set(munis["ags"].dropna().astype(str)) | set(measures["ags"].dropna()))
    summary = summarise(candidates, munis, rules=rules, availability=availability(layers, codes))
    log.info(
        "flag: %d candidates (%d excluded by constraints) in %.1f s",
        len(candidates),
        int((~keep).sum()),
        time.perf_counter() - t0,
    )
    return FlagResult(candidates=candidates, summary=summary, rules=rules.table(), measures=measures)


_CANDIDATE_SOURCES = {
    "built_area_m2": "built_area",
    "innenbereich": "inside",
    "land_use": "use",
    "land_use_shares": "use_shares",
    "innenbereich_basis": "inside_basis",
    "former_use": "brownfield_former_use",
    "contamination_suspected": "brownfield_contamination_suspected",
}


def _candidate_frame(cand: pd.DataFrame, geoms: np.ndarray, crs: object) -> gpd.GeoDataFrame:
    layer = load_schema().layer("candidates")
    data = {}
    for f in layer.fields:
        source = _CANDIDATE_SOURCES.get(f.name, f.name)
        if source in cand.columns:
            data[f.name] = cand[source].astype(f.dtype).to_numpy()
        else:
            data[f.name] = pd.array([pd.NA] * len(cand), dtype=f.dtype)
    frame = pd.DataFrame(data)
    for f in layer.fields:
        frame[f.name] = frame[f.name].astype(f.dtype)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(_to_multi(geoms), crs=crs), crs=crs)
