"""Per-parcel measures from the exact overlaps: zoning, brownfields, buildings.

Each function takes the :class:`~flaechen.flag.overlay.Overlaps` of the parcels with one layer and
returns a DataFrame with one row per parcel (index = parcel position 0 … n-1), so the indexed computation
and any other one (the brute-force test, the geopandas baseline of the benchmark) share the same rules.

Examples
--------
>>> import numpy as np, geopandas as gpd, shapely
>>> from flaechen.flag.overlay import Overlaps
>>> from flaechen.flag.rules import load_rules
>>> bf = gpd.GeoDataFrame({"site_id": ["B1"]}, geometry=[shapely.box(0, 0, 5, 10)])
>>> ov = Overlaps(np.array([0]), np.array([0]), np.array([50.0]), np.array([True]))
>>> m = brownfield_measures(ov, bf, parcel_area=np.array([100.0]), rules=load_rules())
>>> float(m.loc[0, "brownfield_share"]), m.loc[0, "brownfield_site_id"]
(0.5, 'B1')
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from flaechen.flag.overlay import Overlaps
from flaechen.flag.rules import Rules
from flaechen.layers import load_schema

ZONING_COLUMNS = {
    "zoning_id": "string",
    "plan_type": "string",
    "plan_name": "string",
    "zoning_class": "string",
    "bauflaeche": "string",
    "zoning_share": "Float64",
    "grz": "Float64",
    "grz_source": "string",
    "gfz": "Float64",
    "gfz_source": "string",
}
BROWNFIELD_ATTRIBUTES = ("name", "former_use", "since_year", "contamination_suspected", "ownership")
BUILDING_COLUMNS = {
    "building_count": "Int32",
    "built_area": "Float64",
    "coverage": "Float64",
    "derelict_count": "Int32",
    "unused_area": "Float64",
    "existing_floor_area": "Float64",
}

SOURCE_PLAN = "Plan"
SOURCE_BAUNVO = "BauNVO §17"


AREA_EPSILON = 1e-6
"""m²: two exact methods (GEOS, the numpy clipping) may differ by float noise at a threshold."""


def _kept(ov: Overlaps, rules: Rules) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    keep = ov.area >= rules["general.min_overlap_m2"] - AREA_EPSILON
    return ov.parcel[keep], ov.other[keep], ov.area[keep]


def _first_per_parcel(p: np.ndarray, *keys: np.ndarray) -> np.ndarray:
    """Positions (into p) of each parcel's row with the smallest `keys`, compared in order (ties: next key).

    Two passes of ``numpy.minimum.at`` per key instead of a sort; the keys must together be unique within
    a parcel (the last one is a feature position).
    """
    if len(p) == 0:
        return np.empty(0, dtype=np.int64)
    size = int(p.max()) + 1
    sel = np.arange(len(p))
    for key in keys:
        k = key[sel]
        best = np.full(size, np.inf)
        np.minimum.at(best, p[sel], k.astype(float))
        sel = sel[k == best[p[sel]]]
    return sel


def _column(frame: pd.DataFrame, name: str, dtype: str) -> pd.Series:
    if name in frame.columns:
        return frame[name].astype(dtype).reset_index(drop=True)
    return pd.Series(pd.NA, index=range(len(frame)), dtype=dtype)


def zoning_classes(zoning: pd.DataFrame) -> pd.DataFrame:
    """Class label (Baugebiet, else Baufläche) and Baufläche (W, M, G, S) of each zoning feature.

    The Baufläche comes from `allg_art`, else from the Baugebiet's `allg_art` in the code list.
    """
    schema = load_schema()
    bes = schema.codelist("xplan_bes_art").values
    allg = schema.codelist("xplan_allg_art").values
    bes_art = _column(zoning, "bes_art", "Int32")
    allg_art = _column(zoning, "allg_art", "Int32")
    bes_label = bes_art.map({k: v["label"] for k, v in bes.items()}).astype("string")
    from_bes = bes_art.map({k: v.get("allg_art") for k, v in bes.items()}).astype("Int32")
    allg_code = allg_art.fillna(from_bes)
    bauflaeche = allg_code.map({k: v["label"] for k, v in allg.items()}).astype("string")
    return pd.DataFrame({"zoning_class": bes_label.fillna(bauflaeche), "bauflaeche": bauflaeche})


def zoning_measures(ov: Overlaps, zoning: pd.DataFrame, *, parcel_area: np.ndarray, rules: Rules) -> pd.DataFrame:
    """Dominant zoning class of each parcel, its share, and the permitted GRZ/GFZ.

    Only features of the highest-ranking plan type that covers the parcel count
    (``zoning.plan_priority``, B-Plan before FNP). Their overlaps are summed per class; the class with
    the largest area is dominant (ties: alphabetical). GRZ and GFZ come from the dominant class's
    largest feature, else from BauNVO §17 for the Baugebiet (``zoning.grz_baunvo``/``gfz_baunvo``, a
    Baufläche mapped by ``zoning.baugebiet_for_bauflaeche``), with their source recorded.
    """
    n = len(parcel_area)
    p, o, a = _kept(ov, rules)
    if len(p) == 0:
        return pd.DataFrame({c: pd.array([pd.NA] * n, dtype=t) for c, t in ZONING_COLUMNS.items()})
    classes = zoning_classes(zoning)
    priority = list(rules["zoning.plan_priority"])
    plan_type = _column(zoning, "plan_type", "string")
    rank = plan_type.map({t: i for i, t in enumerate(priority)}).fillna(len(priority)).to_numpy(dtype=np.int64)
    labels, cls_code = np.unique(classes["zoning_class"].fillna("").to_numpy(dtype=object), return_inverse=True)
    cls_code = cls_code.astype(np.int64)

    # keep only the features of the best-ranking plan type per parcel
    best = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(best, p, rank[o])
    sel = rank[o] == best[p]
    p, o, a = p[sel], o[sel], a[sel]
    # area per (parcel, class); the dominant class has the largest (ties: alphabetical)
    key = p * len(labels) + cls_code[o]
    ukey, inv = np.unique(key, return_inverse=True)
    cls_area = np.bincount(inv, weights=a)
    kp, kc = ukey // len(labels), ukey % len(labels)
    dom = _first_per_parcel(kp, -cls_area, kc)
    dom_cls = np.full(n, -1)
    dom_cls[kp[dom]] = kc[dom]
    dom_area = np.zeros(n)
    dom_area[kp[dom]] = cls_area[dom]
    # the dominant class's largest feature (ties: first feature)
    in_dom = cls_code[o] == dom_cls[p]
    p, o, a = p[in_dom], o[in_dom], a[in_dom]
    rep = _first_per_parcel(p, -a, o)
    rp, f = p[rep], o[rep]

    idx = np.full(n, -1, dtype=np.int64)
    idx[rp] = f
    share = np.full(n, np.nan)
    share[rp] = np.minimum(dom_area[rp] / parcel_area[rp], 1.0)
    feats = zoning_features(zoning, rules=rules)
    cols = {c: feats[c].array.take(idx, allow_fill=True) for c in feats.columns}
    cols["zoning_share"] = pd.array(share, dtype="Float64")
    return pd.DataFrame(cols)[list(ZONING_COLUMNS)]


def zoning_features(zoning: pd.DataFrame, *, rules: Rules) -> pd.DataFrame:
    """Per zoning feature: id, plan, class, Baufläche and the permitted GRZ/GFZ with their source."""
    classes = zoning_classes(zoning)
    cols: dict[str, Any] = {
        "zoning_id": _column(zoning, "zoning_id", "string"),
        "plan_type": _column(zoning, "plan_type", "string"),
        "plan_name": _column(zoning, "plan_name", "string"),
        "zoning_class": classes["zoning_class"],
        "bauflaeche": classes["bauflaeche"],
    }
    baugebiet = classes["zoning_class"].map(rules["zoning.baugebiet_for_bauflaeche"]).astype("string")
    baugebiet = baugebiet.fillna(classes["zoning_class"])
    for ratio in ("grz", "gfz"):
        plan = _column(zoning, ratio, "Float64")
        fallback = baugebiet.map(rules[f"zoning.{ratio}_baunvo"]).astype("Float64")
        source = np.where(plan.notna(), SOURCE_PLAN, np.where(fallback.notna(), SOURCE_BAUNVO, np.array(None)))
        cols[ratio] = plan.fillna(fallback)
        cols[f"{ratio}_source"] = pd.Series(source, dtype="string")
    return pd.DataFrame(cols).reset_index(drop=True)


BROWNFIELD_COLUMNS = {
    "brownfield_share": "Float64",
    "brownfield_site_id": "string",
    "brownfield_name": "string",
    "brownfield_former_use": "string",
    "brownfield_since_year": "Int32",
    "brownfield_contamination_suspected": "boolean",
    "brownfield_ownership": "string",
}


def brownfield_measures(
    ov: Overlaps, brownfields: pd.DataFrame, *, parcel_area: np.ndarray, rules: Rules
) -> pd.DataFrame:
    """Share of each parcel covered by registered brownfields, with the largest one's attributes.

    The share sums the overlaps of all brownfields (capped at 1); the attributes (site_id, name,
    former_use, since_year, contamination_suspected, ownership) are the largest overlap's.
    """
    n = len(parcel_area)
    p, o, a = _kept(ov, rules)
    total = np.bincount(p, weights=a, minlength=n)
    share = np.minimum(np.divide(total, parcel_area, out=np.zeros(n), where=parcel_area > 0), 1.0)
    cols: dict[str, Any] = {"brownfield_share": pd.array(share, dtype="Float64")}
    rep = _first_per_parcel(p, -a, o)
    idx = np.full(n, -1, dtype=np.int64)
    idx[p[rep]] = o[rep]
    for name, dtype in BROWNFIELD_COLUMNS.items():
        if name != "brownfield_share":
            column = _column(brownfields, name.removeprefix("brownfield_"), dtype)
            cols[name] = column.array.take(idx, allow_fill=True)
    return pd.DataFrame(cols)


def building_measures(ov: Overlaps, buildings: pd.DataFrame, *, parcel_area: np.ndarray, rules: Rules) -> pd.DataFrame:
    """Buildings on each parcel: count, built area, site coverage, derelict and unused ones.

    A building counts on every parcel it overlaps by at least ``general.min_overlap_m2``, with the
    area it covers there. `derelict_count` counts buildings in a state of
    ``brachflaeche.building_states``; `unused_area` is the footprint in a state of
    ``leerstand.building_states``; `existing_floor_area` multiplies footprints by storeys
    (``capacity.default_storeys`` where unknown).
    """
    n = len(parcel_area)
    p, o, a = _kept(ov, rules)
    state = _column(buildings, "state", "Int32")
    storeys = _column(buildings, "storeys", "Int32").astype("Float64")
    storeys = storeys.fillna(float(rules["capacity.default_storeys"])).to_numpy(dtype=float)
    derelict = state.isin(rules["brachflaeche.building_states"]).fillna(False).to_numpy(dtype=bool)
    unused = state.isin(rules["leerstand.building_states"]).fillna(False).to_numpy(dtype=bool)
    built = np.bincount(p, weights=a, minlength=n)
    coverage = np.minimum(np.divide(built, parcel_area, out=np.zeros(n), where=parcel_area > 0), 1.0)
    return pd.DataFrame(
        {
            "building_count": pd.array(np.bincount(p, minlength=n), dtype="Int32"),
            "built_area": pd.array(built, dtype="Float64"),
            "coverage": pd.array(coverage, dtype="Float64"),
            "derelict_count": pd.array(
                np.bincount(p, weights=derelict[o], minlength=n).astype(np.int32), dtype="Int32"
            ),
            "unused_area": pd.array(np.bincount(p, weights=np.where(unused[o], a, 0.0), minlength=n), dtype="Float64"),
            "existing_floor_area": pd.array(np.bincount(p, weights=a * storeys[o], minlength=n), dtype="Float64"),
        }
    )


BUILT_UP_COLUMNS = {"built_up_share": "Float64", "built_up_kind": "string", "built_up_name": "string"}


def built_up_measures(ov: Overlaps, built_up: pd.DataFrame, *, parcel_area: np.ndarray, rules: Rules) -> pd.DataFrame:
    """Share of each parcel inside the delivered built-up area (``built_up_area``), with the kind and name
    (``kind``: ortslage, satzung, paragraph34, other; ``source_name``) of the feature covering most of it."""
    n = len(parcel_area)
    p, o, a = _kept(ov, rules)
    total = np.bincount(p, weights=a, minlength=n)
    share = np.minimum(np.divide(total, parcel_area, out=np.zeros(n), where=parcel_area > 0), 1.0)
    rep = _first_per_parcel(p, -a, o)
    idx = np.full(n, -1, dtype=np.int64)
    idx[p[rep]] = o[rep]
    return pd.DataFrame(
        {
            "built_up_share": pd.array(share, dtype="Float64"),
            "built_up_kind": _column(built_up, "kind", "string").array.take(idx, allow_fill=True),
            "built_up_name": _column(built_up, "source_name", "string").array.take(idx, allow_fill=True),
        }
    )
