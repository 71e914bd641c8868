"""Compare the flagged candidates with a reference register: how good are the flags, and what was missed.

A reference is a municipality's Baulückenkataster, a field survey or a brownfield register: points or
polygons in any CRS, with a field naming each feature's category. ``flaechen evaluate`` matches every
reference feature against the candidates of a finished run:

* a point is *found* where it lies in a candidate; a polygon where candidates cover at least half of it
  (``MIN_OVERLAP``);
* categories are matched by name (``Baulücke``, ``Brachfläche`` …; case and umlaut spelling do not
  matter), other names through a mapping (``--map "Baulücke (privat)=Baulücke,Leerstand Wohnen=Leerstand"``);
  values matching no category are listed and ignored;
* per category: reference count, found as any candidate, found as the same category, recall (found /
  reference), the candidates of that category in the municipalities the reference covers, and precision
  (candidates matching a reference feature of the same category / candidates) — a *lower bound*, since
  surveys are rarely complete; and the same pooled over the reference's categories (``overall``);
* every miss is listed with the measures of the parcel under it and the conditions of the category's
  rules that parcel does not meet.

Writes ``OUT_DIR/evaluation.json`` (``{"categories": {"Baulücke": {"reference", "found",
"found_same_category", "recall", "candidates", "precision"}, …}, …}``), ``OUT_DIR/evaluation.csv`` (the
table) and ``OUT_DIR/evaluation_features.csv`` (one row per reference feature, misses with their reasons).

Examples
--------
The demo's candidates against the truth its generator planted (``make demo`` prints the same):

>>> from flaechen.evaluate import evaluate
>>> ev = evaluate("out/demo", "out/demo/input/planted_truth.gpkg", layer="truth", field="category", write=False)
>>> list(ev.table.columns[:4])
['reference', 'found', 'found_same_category', 'recall']
>>> bool(ev.table.loc["Brachfläche", "recall"] == 1.0)
True
"""

from __future__ import annotations

import json
import logging
import os
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import shapely

from flaechen.district import read_district, resolve_district
from flaechen.errors import ConfigError, SourceError
from flaechen.issues import spreadsheet_safe

log = logging.getLogger(__name__)

MIN_OVERLAP = 0.5
"""Share of a reference polygon candidates must cover for it to count as found."""

CATEGORIES = ("Brachfläche", "Leerstand", "Baulücke", "Untergenutzte Fläche", "Außenreserve")
ALL = "alle Kategorien"
"""Row of the table pooling every reference category (in evaluation.json: key ``overall``)."""

MISS_COLUMNS = (
    "parcel_id",
    "ags",
    "area_m2",
    "use",
    "use_shares",
    "inside",
    "inside_basis",
    "building_density",
    "building_count",
    "built_area",
    "bauland_basis",
    "plan_type",
    "plan_name",
    "zoning_class",
    "status",
    "category",
)
"""Measures of a missed feature's parcel reported with the miss."""


def _fold(text: str) -> str:
    """Compare names without case, accents or the ue/ü and ss/ß spellings."""
    t = text.strip().casefold().replace("ß", "ss")
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue")):
        t = t.replace(a, b)
    return "".join(c for c in unicodedata.normalize("NFKD", t) if not unicodedata.combining(c))


def parse_mapping(text: str | None) -> dict[str, str]:
    """Parse ``"Ref=Kategorie,Ref2=Kategorie"`` into a dict (raises ConfigError naming the bad part).

    Examples
    --------
    >>> parse_mapping("Lücke=Baulücke, Brache alt=Brachfläche")
    {'Lücke': 'Baulücke', 'Brache alt': 'Brachfläche'}
    """
    if not text:
        return {}
    out: dict[str, str] = {}
    problems = []
    for part in text.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            problems.append(f"--map: {part.strip()!r} is not of the form Referenzwert=Kategorie")
            continue
        ref, cat = (s.strip() for s in part.split("=", 1))
        match = _category(cat)
        if match is None:
            problems.append(f"--map: {cat!r} is no candidate category ({', '.join(CATEGORIES)})")
            continue
        out[ref] = match
    if problems:
        raise ConfigError(problems)
    return out


def _category(value: str) -> str | None:
    folded = _fold(value)
    for c in CATEGORIES:
        if _fold(c) == folded:
            return c
    return None


@dataclass
class Evaluation:
    """The result of :func:`evaluate`."""

    table: pd.DataFrame
    """One row per reference category: reference, found, found_same_category, recall, candidates, precision."""
    features: pd.DataFrame
    """One row per reference feature: its category, whether and as what it was found, its parcel, the reasons."""
    unmatched: dict[str, int] = field(default_factory=dict)
    """Values of the reference field that match no category, with their counts (ignored)."""

    def to_json(self) -> dict[str, Any]:
        """The structure written to ``evaluation.json``."""
        cats = {}
        for cat, r in self.table.iterrows():
            cats[cat if cat != ALL else "overall"] = {
                "reference": int(r["reference"]),
                "found": int(r["found"]),
                "found_same_category": int(r["found_same_category"]),
                "recall": None if pd.isna(r["recall"]) else round(float(r["recall"]), 4),
                "candidates": int(r["candidates"]),
                "precision": None if pd.isna(r["precision"]) else round(float(r["precision"]), 4),
            }
        misses = self.features[~self.features["found_same_category"]]
        overall = cats.pop("overall", None)
        return {
            "categories": cats,
            "overall": overall,
            "precision_is_lower_bound": True,
            "unmatched_values": self.unmatched,
            "misses": json.loads(misses.to_json(orient="records", force_ascii=False)),
        }


def _read_reference(path: Path, *, layer: str | None, field_name: str, crs: Any) -> gpd.GeoDataFrame:
    if not path.exists():
        raise SourceError(f"{path}: no such reference file")
    try:
        layers = [name for name, _ in pyogrio.list_layers(path)]
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise SourceError(
            f"{path}: cannot be read as geodata ({exc}); give a GeoPackage, Shapefile or GeoJSON"
        ) from None
    if layer is None and len(layers) > 1:
        raise SourceError(f"{path} has {len(layers)} layers ({', '.join(layers)}); choose one with --layer")
    if layer is not None and layer not in layers:
        raise SourceError(f"{path}: no layer {layer!r}; layers: {', '.join(layers)}")
    ref = pyogrio.read_dataframe(path, layer=layer, use_arrow=False)
    if not isinstance(ref, gpd.GeoDataFrame) or ref.geometry.name not in ref.columns:
        raise SourceError(
            f"{path}: the reference has no geometry; give points or polygons (a CSV needs "
            "X_POSSIBLE_NAMES/Y_POSSIBLE_NAMES or a WKT column: convert it with ogr2ogr first)"
        )
    if field_name not in ref.columns:
        fields = [c for c in ref.columns if c != "geometry"]
        raise SourceError(f"{path}: no field {field_name!r}; fields: {', '.join(fields)} (choose one with --field)")
    if ref.crs is None:
        raise SourceError(f"{path}: the reference has no CRS; save it with one (e.g. EPSG:25832) and try again")
    ref = ref[~(ref.geometry.isna() | ref.geometry.is_empty)]
    ref = ref.to_crs(crs)
    ref["geometry"] = shapely.make_valid(ref.geometry.to_numpy())
    return ref


def _match(ref_geoms: np.ndarray, cand_geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (reference, candidate) and the share of the reference each candidate covers (1 for points)."""
    tree = shapely.STRtree(cand_geoms)
    r, c = tree.query(ref_geoms, predicate="intersects")
    points = np.isin(shapely.get_type_id(ref_geoms[r]), [0, 4])
    share = np.ones(len(r))
    poly = ~points
    if poly.any():
        inter = shapely.area(shapely.intersection(ref_geoms[r[poly]], cand_geoms[c[poly]]))
        share[poly] = inter / np.maximum(shapely.area(ref_geoms[r[poly]]), 1e-9)
    return r, c, share


def _found(n: int, r: np.ndarray, share: np.ndarray, mask: np.ndarray, points: np.ndarray) -> np.ndarray:
    total = np.bincount(r[mask], weights=share[mask], minlength=n)
    return np.where(points, total > 0, total >= MIN_OVERLAP - 1e-9)


def evaluate(
    out_dir: str | os.PathLike[str],
    reference: str | os.PathLike[str],
    *,
    field: str,
    layer: str | None = None,
    mapping: Mapping[str, str] | None = None,
    write: bool = True,
) -> Evaluation:
    """Evaluate the candidates of the run in `out_dir` against a reference register (see the module text).

    Parameters
    ----------
    out_dir
        Output folder of ``flaechen run`` (or its ``district.gpkg``).
    reference
        Points or polygons of the reference, any CRS GDAL reads from the file.
    field
        The reference field holding each feature's category.
    layer
        The reference layer where the file has several.
    mapping
        Reference values → candidate categories, for names that are not the categories themselves.
    write
        Write ``evaluation.json``, ``evaluation.csv`` and ``evaluation_features.csv`` into the output folder.

    Raises
    ------
    flaechen.errors.SourceError
        A missing or unreadable reference file, layer or field, or a reference without CRS.
    flaechen.errors.DistrictError
        No district dataset, or one without candidates (run the flagging step first).
    """
    from flaechen.flag.categories import RULES_OF_CATEGORY, failed_conditions
    from flaechen.flag.rules import load_rules

    read = read_district(
        out_dir,
        layers=["candidates", "parcels", "parcel_measures"],
        columns={"parcels": ["parcel_id", "ags"]},
        optional=["rules"],
    )
    gpkg = resolve_district(out_dir)
    out = gpkg.parent
    cands, parcels, measures = read["candidates"], read["parcels"], read["parcel_measures"]
    rules = _effective_rules(gpkg, read.get("rules"), load_rules)
    ref = _read_reference(Path(reference), layer=layer, field_name=field, crs=parcels.crs)

    mapping = dict(mapping or {})
    folded_map = {_fold(k): v for k, v in mapping.items()}
    values = ref[field].astype("string")
    cat = values.map(lambda v: folded_map.get(_fold(v)) or _category(v) if v is not pd.NA else None, na_action="ignore")
    unmatched = values[cat.isna()].fillna("(leer)").value_counts().to_dict()
    if not cat.notna().any():
        shown = ", ".join(f"{v!r} ({k:,d})" for v, k in list(unmatched.items())[:8])
        raise SourceError(
            f"{reference}: no value of field {field!r} names a candidate category ({', '.join(CATEGORIES)}); "
            f'its values: {shown or "none"}. Map them with --map, e.g. --map "Lücke=Baulücke", or choose '
            "another field with --field."
        )
    ref = ref[cat.notna()].copy()
    ref["_category"] = cat[cat.notna()].astype(str).to_numpy()
    ref_id = ref.index.astype(str)
    n = len(ref)
    geoms = ref.geometry.to_numpy()
    points = np.isin(shapely.get_type_id(geoms), [0, 4])
    cgeoms = cands.geometry.to_numpy()
    ccat = cands["category"].astype(str).to_numpy()
    r, c, share = _match(geoms, cgeoms)
    rcat = ref["_category"].to_numpy()
    found_any = _found(n, r, share, np.ones(len(r), dtype=bool), points)
    found_same = _found(n, r, share, ccat[c] == rcat[r], points)
    found_as = np.full(n, None, dtype=object)
    if len(r):
        best = pd.DataFrame({"r": r, "cat": ccat[c], "s": share}).sort_values("s", ascending=False).drop_duplicates("r")
        found_as[best["r"].to_numpy()] = best["cat"].to_numpy()
    found_as[~found_any] = None

    # the parcel under each reference feature: containing the point, else the largest overlap
    pgeoms = parcels.geometry.to_numpy()
    pr, pp, pshare = _match(geoms, pgeoms)
    parcel_of = np.full(n, -1, dtype=np.int64)
    if len(pr):
        order = np.lexsort((-pshare, pr))
        first = order[np.r_[True, pr[order][1:] != pr[order][:-1]]]
        parcel_of[pr[first]] = pp[first]
    if n and len(pgeoms) and (parcel_of < 0).all():
        rx0, ry0, rx1, ry1 = shapely.total_bounds(geoms)
        dx0, dy0, dx1, dy1 = shapely.total_bounds(pgeoms)
        raise SourceError(
            f"{reference}: none of its {n:,d} reference features lies on a parcel of the district (reference "
            f"extent {rx0:,.0f}, {ry0:,.0f} – {rx1:,.0f}, {ry1:,.0f}; parcels {dx0:,.0f}, {dy0:,.0f} – {dx1:,.0f}, "
            f"{dy1:,.0f} in {parcels.crs.to_string() if parcels.crs else 'the district CRS'}): a survey of another "
            "area, or a file whose CRS is wrong. Check the file's CRS (.prj) and that it covers the district."
        )
    pid = parcels["parcel_id"].astype(str).to_numpy()
    m = measures.set_index(measures["parcel_id"].astype(str))
    m = m[~m.index.duplicated()]

    # candidates in the municipalities the reference covers; precision counts those matching a reference
    covered = set(parcels["ags"].astype(str).to_numpy()[parcel_of[parcel_of >= 0]])
    in_scope = cands["ags"].astype(str).isin(covered).to_numpy()
    matched_cand = np.zeros(len(cands), dtype=bool)
    if len(r):
        point_hit = points[r] | (share >= MIN_OVERLAP - 1e-9)
        same = (ccat[c] == rcat[r]) & point_hit
        matched_cand[c[same]] = True

    rows = []
    for i in range(n):
        p = parcel_of[i]
        row: dict[str, Any] = {
            "reference_id": ref_id[i],
            "reference_value": values[cat.notna()].iloc[i],
            "category": rcat[i],
            "found": bool(found_any[i]),
            "found_same_category": bool(found_same[i]),
            "found_as": found_as[i],
        }
        meas = m.loc[pid[p]].to_dict() if p >= 0 and pid[p] in m.index else {}
        for col in MISS_COLUMNS:
            v = meas.get(col, pid[p] if col == "parcel_id" and p >= 0 else None)
            row[f"parcel_{col}" if col not in ("parcel_id",) else col] = None if v is pd.NA else v
        if not found_same[i] and meas:
            reasons = []
            for rule in RULES_OF_CATEGORY[rcat[i]]:
                failed = failed_conditions(meas, rule, rules=rules)
                reasons += [f"{rule}: {f}" for f in failed]
            row["failed_conditions"] = "; ".join(reasons) if reasons else None
        elif not found_same[i]:
            row["failed_conditions"] = "kein Flurstück unter dem Referenzobjekt"
        else:
            row["failed_conditions"] = None
        rows.append(row)
    features = pd.DataFrame(rows)

    table_rows = []
    ref_cats = [c for c in CATEGORIES if c in set(rcat)]
    for category in ref_cats:
        sel = rcat == category
        k = int(sel.sum())
        in_cat = (ccat == category) & in_scope
        n_cand = int(in_cat.sum())
        table_rows.append(
            {
                "category": category,
                "reference": k,
                "found": int(found_any[sel].sum()),
                "found_same_category": int(found_same[sel].sum()),
                "recall": found_any[sel].sum() / k if k else np.nan,
                "recall_same_category": found_same[sel].sum() / k if k else np.nan,
                "candidates": n_cand,
                "precision": (matched_cand & in_cat).sum() / n_cand if n_cand else np.nan,
            }
        )
    table = pd.DataFrame(table_rows).set_index("category") if table_rows else _empty_table()
    if table_rows:
        in_cats = np.isin(ccat, ref_cats) & in_scope
        total: dict[str, float] = {
            "reference": int(table["reference"].sum()),
            "found": int(table["found"].sum()),
            "found_same_category": int(table["found_same_category"].sum()),
            "candidates": int(in_cats.sum()),
        }
        total["recall"] = total["found"] / total["reference"]
        total["recall_same_category"] = total["found_same_category"] / total["reference"]
        total["precision"] = (matched_cand & in_cats).sum() / total["candidates"] if total["candidates"] else np.nan
        table.loc[ALL] = pd.Series(total)
    ev = Evaluation(table=table, features=features, unmatched={str(k): int(v) for k, v in unmatched.items()})
    if write:
        (out / "evaluation.json").write_text(
            json.dumps(ev.to_json(), ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8"
        )
        # opened in spreadsheets: a delivered value (reference value, parcel id) must not start a formula
        spreadsheet_safe(table.reset_index()).to_csv(out / "evaluation.csv", index=False, encoding="utf-8")
        spreadsheet_safe(features).to_csv(out / "evaluation_features.csv", index=False, encoding="utf-8")
    return ev


def _empty_table() -> pd.DataFrame:
    cols = ["reference", "found", "found_same_category", "recall", "recall_same_category", "candidates", "precision"]
    return pd.DataFrame(columns=cols, index=pd.Index([], name="category"))


def _effective_rules(gpkg: Path, table: pd.DataFrame | None, load_rules: Any) -> Any:
    """The rules the run used (table ``rules``: its overridden values), else the defaults."""
    if table is None:
        return load_rules()
    overrides = {r.key: json.loads(r.value) for r in table.itertuples() if r.origin == "override"}
    try:
        return load_rules(overrides or None)
    except ConfigError:  # rules of another version: explain with the defaults
        log.warning("the rules of %s do not match this version; explaining misses with the default rules", gpkg)
        return load_rules()


def format_table(ev: Evaluation) -> str:
    """The evaluation as a plain-text table (printed by ``flaechen evaluate``)."""
    lines = [
        f"{'category':22s} {'reference':>9s} {'found':>6s} {'same cat.':>9s} {'recall':>7s} "
        f"{'candidates':>10s} {'precision ≥':>11s}"
    ]
    for cat, r in ev.table.iterrows():
        rec = "—" if pd.isna(r["recall"]) else f"{r['recall']:.2f}"
        prec = "—" if pd.isna(r["precision"]) else f"{r['precision']:.2f}"
        lines.append(
            f"{cat:22s} {int(r['reference']):>9d} {int(r['found']):>6d} {int(r['found_same_category']):>9d} "
            f"{rec:>7s} {int(r['candidates']):>10d} {prec:>11s}"
        )
    return "\n".join(lines)


def print_evaluation(ev: Evaluation, *, file: Any) -> None:
    """Print the table, the ignored values and every miss with its reasons."""
    print(format_table(ev), file=file)
    print(
        "recall: found as a candidate of any category; precision: a lower bound (surveys are rarely complete)",
        file=file,
    )
    if ev.unmatched:
        ignored = ", ".join(f"{k!r} ({v})" for k, v in ev.unmatched.items())
        print(f"Ignored reference values (no category; use --map): {ignored}", file=file)
    misses = ev.features[~ev.features["found_same_category"]]
    if len(misses):
        print(f"Misses ({len(misses)}):", file=file)
        for r in misses.itertuples():
            found = f"gefunden als {r.found_as}" if r.found else "nicht gefunden"
            where = f"Flurstück {r.parcel_id}" if isinstance(r.parcel_id, str) else "kein Flurstück"
            print(f"  {r.category} #{r.reference_id} ({where}): {found} – {r.failed_conditions or ''}", file=file)
