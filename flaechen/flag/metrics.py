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


def _empty(n: int, columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(pd.NA, index=range(n), dtype=t) for c, t in columns.items()})


def _kept(ov: Overlaps, rules: Rules) -> pd.DataFrame:
    keep = ov.area >= rules["general.min_overlap_m2"]
    return pd.DataFrame({"parcel": ov.parcel[keep], "other": ov.other[keep], "area": ov.area[keep]})


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
    bes_label = bes_art.map(lambda c: bes[c]["label"] if c in bes else pd.NA).astype("string")
    from_bes = bes_art.map(lambda c: bes[c].get("allg_art") if c in bes else pd.NA).astype("Int32")
    allg_code = allg_art.fillna(from_bes)
    bauflaeche = allg_code.map(lambda c: allg[c]["label"] if c in allg else pd.NA).astype("string")
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
    out = _empty(n, ZONING_COLUMNS)
    pairs = _kept(ov, rules)
    if pairs.empty:
        return out
    classes = zoning_classes(zoning)
    priority = list(rules["zoning.plan_priority"])
    plan_type = _column(zoning, "plan_type", "string")
    rank = plan_type.map(lambda t: priority.index(t) if t in priority else len(priority))
    pairs["rank"] = rank.to_numpy()[pairs["other"].to_numpy()]
    pairs["cls"] = classes["zoning_class"].fillna("").to_numpy()[pairs["other"].to_numpy()]
    best = pairs.groupby("parcel")["rank"].transform("min")
    pairs = pairs[pairs["rank"] == best]
    cls_area = pairs.groupby(["parcel", "cls"], sort=False)["area"].sum().rename("cls_area").reset_index()
    cls_area = cls_area.sort_values(["parcel", "cls_area", "cls"], ascending=[True, False, True])
    dominant = cls_area.drop_duplicates("parcel")
    feats = pairs.merge(dominant, on=["parcel", "cls"])
    feats = feats.sort_values(["parcel", "area", "other"], ascending=[True, False, True])
    rep = feats.drop_duplicates("parcel")
    p = rep["parcel"].to_numpy()
    f = rep["other"].to_numpy()

    out.loc[p, "zoning_id"] = _column(zoning, "zoning_id", "string").to_numpy()[f]
    out.loc[p, "plan_type"] = plan_type.to_numpy()[f]
    out.loc[p, "plan_name"] = _column(zoning, "plan_name", "string").to_numpy()[f]
    zclass = classes["zoning_class"].to_numpy()[f]
    bauflaeche = classes["bauflaeche"].to_numpy()[f]
    out.loc[p, "zoning_class"] = zclass
    out.loc[p, "bauflaeche"] = bauflaeche
    out.loc[p, "zoning_share"] = np.minimum(rep["cls_area"].to_numpy() / parcel_area[p], 1.0)

    gebiet_for = rules["zoning.baugebiet_for_bauflaeche"]
    baugebiet = pd.Series(zclass, dtype="string").map(lambda c: gebiet_for.get(c, c), na_action="ignore")
    for ratio in ("grz", "gfz"):
        table = rules[f"zoning.{ratio}_baunvo"]
        plan = _column(zoning, ratio, "Float64").to_numpy()[f]
        fallback = baugebiet.map(lambda g, t=table: t.get(g, pd.NA), na_action="ignore").astype("Float64")
        plan_s = pd.Series(plan, dtype="Float64")
        value = plan_s.fillna(fallback)
        source = pd.Series(
            np.where(plan_s.notna(), SOURCE_PLAN, np.where(fallback.notna(), SOURCE_BAUNVO, None)),
            dtype="string",
        )
        out.loc[p, ratio] = value.to_numpy()
        out.loc[p, f"{ratio}_source"] = source.to_numpy()
    return out.astype(ZONING_COLUMNS)


def brownfield_measures(
    ov: Overlaps, brownfields: pd.DataFrame, *, parcel_area: np.ndarray, rules: Rules
) -> pd.DataFrame:
    """Share of each parcel covered by registered brownfields, with the largest one's attributes.

    The share sums the overlaps of all brownfields (capped at 1); the attributes (site_id, name,
    former_use, since_year, contamination_suspected, ownership) are the largest overlap's.
    """
    n = len(parcel_area)
    columns = {
        "brownfield_share": "Float64",
        "brownfield_site_id": "string",
        "brownfield_name": "string",
        "brownfield_former_use": "string",
        "brownfield_since_year": "Int32",
        "brownfield_contamination_suspected": "boolean",
        "brownfield_ownership": "string",
    }
    out = _empty(n, columns)
    pairs = _kept(ov, rules)
    if pairs.empty:
        out["brownfield_share"] = 0.0
        return out.astype(columns)
    total = pairs.groupby("parcel")["area"].sum()
    out["brownfield_share"] = 0.0
    out.loc[total.index.to_numpy(), "brownfield_share"] = np.minimum(
        total.to_numpy() / parcel_area[total.index.to_numpy()], 1.0
    )
    rep = pairs.sort_values(["parcel", "area", "other"], ascending=[True, False, True]).drop_duplicates("parcel")
    p, f = rep["parcel"].to_numpy(), rep["other"].to_numpy()
    for name, dtype in columns.items():
        if name == "brownfield_share":
            continue
        attr = name.removeprefix("brownfield_")
        out.loc[p, name] = _column(brownfields, attr, dtype).to_numpy()[f]
    return out.astype(columns)


def building_measures(ov: Overlaps, buildings: pd.DataFrame, *, parcel_area: np.ndarray, rules: Rules) -> pd.DataFrame:
    """Buildings on each parcel: count, built area, site coverage, derelict and unused ones.

    A building counts on every parcel it overlaps by at least ``general.min_overlap_m2``, with the
    area it covers there. `derelict_count` counts buildings in a state of
    ``brachflaeche.building_states``; `unused_area` is the footprint in a state of
    ``leerstand.building_states``; `existing_floor_area` multiplies footprints by storeys
    (``capacity.default_storeys`` where unknown).
    """
    n = len(parcel_area)
    out = _empty(n, BUILDING_COLUMNS)
    pairs = _kept(ov, rules)
    state = _column(buildings, "state", "Int32")
    storeys = _column(buildings, "storeys", "Int32").astype("Float64")
    storeys = storeys.fillna(float(rules["capacity.default_storeys"])).to_numpy(dtype=float)
    derelict = state.isin(rules["brachflaeche.building_states"]).fillna(False).to_numpy(dtype=bool)
    unused = state.isin(rules["leerstand.building_states"]).fillna(False).to_numpy(dtype=bool)
    f = pairs["other"].to_numpy()
    pairs["derelict"] = derelict[f].astype(np.int32)
    pairs["unused_area"] = np.where(unused[f], pairs["area"].to_numpy(), 0.0)
    pairs["floor"] = pairs["area"].to_numpy() * storeys[f]
    agg = pairs.groupby("parcel").agg(
        building_count=("other", "size"),
        built_area=("area", "sum"),
        derelict_count=("derelict", "sum"),
        unused_area=("unused_area", "sum"),
        existing_floor_area=("floor", "sum"),
    )
    for c in ("building_count", "derelict_count"):
        out[c] = 0
    for c in ("built_area", "unused_area", "existing_floor_area"):
        out[c] = 0.0
    idx = agg.index.to_numpy()
    for c in agg.columns:
        out.loc[idx, c] = agg[c].to_numpy()
    out["coverage"] = np.minimum(out["built_area"].to_numpy(dtype=float) / parcel_area, 1.0)
    return out.astype(BUILDING_COLUMNS)
