"""The flagging step: per-parcel measures, categories with reasons, constraints, capacity, summary.

Examples
--------
>>> from flaechen.flag import flag, load_rules
>>> result = flag(district_layers, rules=load_rules())  # doctest: +SKIP
>>> result.candidates[["parcel_id", "category", "reasons"]].head()  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from flaechen.errors import CRSError, FlaechenError
from flaechen.flag.capacity import capacity
from flaechen.flag.categories import explain_candidates, explain_constraint, rule_masks
from flaechen.flag.constraints import (
    APPLIES,
    NO_DATA,
    Constraint,
    VectorConstraint,
    constraint_status,
    overlay_key,
)
from flaechen.flag.innenbereich import building_density
from flaechen.flag.metrics import brownfield_measures, building_measures, zoning_measures
from flaechen.flag.overlay import OverlayLayer, ParcelIndex, indexed_overlaps
from flaechen.flag.reasons import to_json
from flaechen.flag.rules import Rules
from flaechen.flag.summary import summarise
from flaechen.layers import load_schema

log = logging.getLogger(__name__)

INPUT_LAYERS = ("municipalities", "parcels", "zoning", "brownfields", "buildings")
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


class LayerError(FlaechenError):
    """The district dataset handed to the flagging step lacks a layer or a field."""


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


def dominant_use(actual_use: pd.Series) -> pd.Series:
    """The dominant ALKIS Nutzungsart of each parcel from its ``actual_use`` text.

    ``actual_use`` holds one or more ``Nutzungsart[ / Unterart];m²`` pairs (ALKIS vereinfacht, e.g.
    ``"Straßenverkehr / Verkehrsbegleitfläche Straße;49"``); the Nutzungsart of the pair with the largest
    area is returned (the first where no area is given), NA where the text is empty.

    Examples
    --------
    >>> dominant_use(pd.Series(["Wohnbaufläche;412;Straßenverkehr;30", "Weg / Fahrweg;80", None])).tolist()
    ['Wohnbaufläche', 'Weg', <NA>]
    """

    def one(text: Any) -> Any:
        if text is None or text is pd.NA or (isinstance(text, float) and np.isnan(text)):
            return pd.NA
        parts = [p.strip() for p in str(text).split(";")]
        best, best_area = None, -1.0
        for i in range(0, len(parts), 2):
            name = parts[i].split(" / ")[0].strip()
            try:
                area = float(parts[i + 1].replace(",", ".")) if i + 1 < len(parts) else 0.0
            except ValueError:
                area = 0.0
            if name and area > best_area:
                best, best_area = name, area
        return best if best else pd.NA

    text = actual_use.astype("string")
    lookup = {u: one(u) for u in text.dropna().unique()}  # a few hundred distinct texts per district
    return text.map(lookup).astype("string")


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
    indexed = {
        name: OverlayLayer.build(layers[name].geometry.to_numpy()) for name in ("zoning", "brownfields", "buildings")
    }
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
    return measures_from_overlaps(layers, ov, rules=rules, parcel_area=parcel_area)


def _bbox_centres(geoms: np.ndarray) -> np.ndarray:
    """Centres of the bounding boxes (n × 2): where a parcel or building sits on the density grid."""
    if len(geoms) == 0:
        return np.empty((0, 2))
    b = shapely.bounds(geoms)
    return np.column_stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2])


def measures_from_overlaps(
    layers: Mapping[str, gpd.GeoDataFrame],
    overlaps: Mapping[str, Any],
    *,
    rules: Rules,
    parcel_area: np.ndarray,
) -> pd.DataFrame:
    """Assemble the per-parcel measures from the overlaps of the parcels with zoning, brownfields, buildings.

    Shared by the indexed computation and by any reference computation (tests, benchmark baseline) that
    produces the same :class:`~flaechen.flag.overlay.Overlaps`.
    """
    parcels = layers["parcels"]
    n = len(parcels)

    def text(name: str) -> pd.api.extensions.ExtensionArray:
        if name in parcels.columns:
            return parcels[name].astype("string").array
        return pd.array([pd.NA] * n, dtype="string")

    base = pd.DataFrame(
        {
            "parcel_id": text("parcel_id"),
            "ags": text("ags"),
            "ownership": text("ownership"),
            "dominant_use": dominant_use(pd.Series(text("actual_use"))).array,
            "area_m2": pd.array(parcel_area, dtype="Float64"),
        }
    )
    zon = zoning_measures(overlaps["zoning"], layers["zoning"], parcel_area=parcel_area, rules=rules)
    bf = brownfield_measures(overlaps["brownfields"], layers["brownfields"], parcel_area=parcel_area, rules=rules)
    bld = building_measures(overlaps["buildings"], layers["buildings"], parcel_area=parcel_area, rules=rules)
    bgeoms = layers["buildings"].geometry.to_numpy()
    density = building_density(
        _bbox_centres(parcels.geometry.to_numpy()),
        _bbox_centres(bgeoms),
        shapely.area(bgeoms),
        rules=rules,
    )
    dens = pd.DataFrame(
        {
            "building_density": pd.array(density, dtype="Float64"),
            "inside": pd.array(density >= rules["innenbereich.coverage_threshold"], dtype="boolean"),
        }
    )
    return pd.concat([base, zon, bf, bld, dens], axis=1)


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
    >>> result = flag(layers, rules=load_rules(), workers=2)  # doctest: +SKIP
    >>> result.summary[["ags", "candidates_ha", "inner_m2_per_inhabitant"]]  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    crs = check_layers(layers)
    measures = measure(layers, rules=rules, workers=workers)
    masks = rule_masks(measures, rules=rules)
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

    cand = measures.iloc[hit].copy()
    cand["reasons_json"] = pd.array(reasons_json, dtype="string")
    cand["lowered"] = pd.array(lowered, dtype="boolean")
    cand = pd.concat([cand, capacity(cand, rules=rules)], axis=1)
    keep = ~excluded
    cand = cand[keep]
    candidates = _candidate_frame(cand, geoms[hit][keep], crs)
    summary = summarise(candidates, layers["municipalities"], rules=rules)
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
