"""XPlanGML as a standard: plans, their areas and the attributes XPlanung defines, read through GDAL's GML driver.

An XPlanGML file holds one or more plans (``BP_Plan``, ``FP_Plan``), each with its areas (``Bereiche``,
``BP_Bereich``/``FP_Bereich``) and the features of the plan content (``BP_BaugebietsTeilFlaeche``,
``FP_BebauungsFlaeche`` …), which point to their Bereich with ``gehoertZuBereich`` (and the Bereich to its
plan with ``gehoertZuPlan``). GDAL reads each class as a layer; with ``GML_ATTRIBUTES_TO_OGR_FIELDS`` it keeps
the ``xlink:href`` of these relations as fields, from which this module gives every feature its own plan's
name, number, type and legal status. The XPlanung attributes (``allgArtDerBaulNutzung``, ``GRZ`` …) map to the
canonical zoning fields without any configuration (:data:`XPLAN_FIELDS`).

Why GDAL and not xplan-tools (the XLeitstelle's library): see the closing note of issue 10
(``notes/real.md``): pyogrio's bundled GDAL already reads every XPlanGML version 4.1–6.0 delivered here, in
the same engine as every other source, whereas xplan-tools needs GDAL's Python bindings built against the
system GDAL (a second, older GDAL in the same process) and models far more than the zoning layer uses.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio

XPLAN_OPEN_OPTIONS = {"GML_ATTRIBUTES_TO_OGR_FIELDS": "YES"}
"""GDAL GML open options that keep the relations (``xlink:href``) as fields."""

XPLAN_FIELDS: dict[str, tuple[str, ...]] = {
    "zoning_id": ("gml_id",),
    "allg_art": ("allgArtDerBaulNutzung",),
    "bes_art": ("besondereArtDerBaulNutzung",),
    "grz": ("GRZ", "GRZmax"),
    "gfz": ("GFZ", "GFZmax"),
    "storeys": ("Z", "Zmax", "Zzwingend"),
    "plan_name": ("xplan_plan_name",),
    "plan_number": ("xplan_plan_number",),
    "plan_type": ("xplan_plan_type",),
    "rechtsstand": ("xplan_plan_rechtsstand",),
}
"""Canonical zoning field → XPlanGML attributes (the first a layer has is used); ``xplan_*`` are the plan's."""

PLAN_TYPES = {"BP_": "BPlan", "FP_": "FNP"}
"""Class prefix → canonical plan type."""

_NAMESPACE = re.compile(rb"http://www\.xplanung\.de/xplangml/(\d+)/(\d+)")


def xplan_version(path: Path, *, limit: int = 1 << 16) -> str | None:
    """The XPlanGML version a file declares (``"5.2"``), or None for any other file."""
    if path.suffix.lower() not in {".gml", ".xml"} or not path.is_file():
        return None
    with path.open("rb") as fh:
        m = _NAMESPACE.search(fh.read(limit))
    return f"{int(m.group(1))}.{int(m.group(2))}" if m else None


def plan_type_of(layer: str) -> str | None:
    """``BPlan`` for a BP_ class, ``FNP`` for an FP_ class, None otherwise."""
    return next((t for prefix, t in PLAN_TYPES.items() if layer.startswith(prefix)), None)


def implicit_fields(columns: list[str] | pd.Index) -> dict[str, str]:
    """The canonical zoning fields an XPlanGML layer with these columns gives without configuration."""
    present = set(columns)
    out = {}
    for canonical, candidates in XPLAN_FIELDS.items():
        hit = next((c for c in candidates if c in present), None)
        if hit:
            out[canonical] = hit
    return out


def _href(value: Any) -> list[str]:
    """``#GML_…`` references of one field value (a string or a list of them), without the ``#``."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    values = list(value) if isinstance(value, list | tuple | np.ndarray) else [value]
    return [str(v).lstrip("#") for v in values if v is not None and str(v).strip()]


def _read(path: Path, layer: str, options: dict[str, Any]) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GDAL's notes on the GML schema
        return pyogrio.read_dataframe(path, layer=layer, read_geometry=False, **options)


def read_plans(path: Path, *, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """The plans of an XPlanGML file with their Bereiche.

    Returns
    -------
    pandas.DataFrame
        One row per Bereich (or per plan without one): ``bereich`` (gml_id, may be NA), ``plan`` (gml_id),
        ``name``, ``number``, ``type`` (BPlan/FNP), ``rechtsstand`` of the plan, ``members`` (gml_ids of the
        features the Bereich lists as its ``planinhalt``).
    """
    options = {**(options or {}), **XPLAN_OPEN_OPTIONS, "WRITE_GFS": "NO"}
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copy = Path(tmp) / path.name  # listing layers may write a .gfs: never beside the delivery
        shutil.copyfile(path, copy)
        layers = {str(name) for name, _ in pyogrio.list_layers(copy)}
    plans, bereiche = [], []
    for prefix, kind in PLAN_TYPES.items():
        if f"{prefix}Plan" in layers:
            frame = _read(path, f"{prefix}Plan", options)
            frame["type"] = kind
            plans.append(frame)
        if f"{prefix}Bereich" in layers:
            bereiche.append(_read(path, f"{prefix}Bereich", options))
    rows = []
    plan_rows = {}
    for frame in plans:
        for rec in frame.to_dict("records"):
            plan_rows[rec["gml_id"]] = {
                "plan": rec["gml_id"],
                "name": _text(rec.get("name")),
                "number": _text(rec.get("nummer")),
                "type": rec["type"],
                "rechtsstand": _text(rec.get("rechtsstand")),
                "bereiche": _href(rec.get("bereich_href")),
            }
    seen_plans = set()
    for frame in bereiche:
        for rec in frame.to_dict("records"):
            plan_ids = _href(rec.get("gehoertZuPlan_href"))
            plan_id = (
                plan_ids[0]
                if plan_ids
                else next((p for p, r in plan_rows.items() if rec["gml_id"] in r["bereiche"]), None)
            )
            plan = plan_rows.get(plan_id)
            if plan is None:
                continue
            seen_plans.add(plan_id)
            rows.append({**plan, "bereich": rec["gml_id"], "members": _href(rec.get("planinhalt_href"))})
    for plan_id, plan in plan_rows.items():
        if plan_id not in seen_plans:
            rows.append({**plan, "bereich": None, "members": []})
    columns = ["bereich", "plan", "name", "number", "type", "rechtsstand", "members"]
    return pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns)


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def attach_plans(frame: pd.DataFrame, plans: pd.DataFrame, *, layer: str) -> pd.DataFrame:
    """Give each feature its own plan: columns ``xplan_plan_name``, ``…_number``, ``…_type``, ``…_rechtsstand``
    and ``xplan_plan`` (the plan's gml_id; NA where the feature belongs to no plan of the file).

    The plan is found through the feature's ``gehoertZuBereich``, else the Bereich that lists it as
    ``planinhalt``, else the only plan of the file. ``xplan_plan_type`` follows the class (BP_/FP_) where the
    plan gives none.
    """
    out = frame.copy()
    by_bereich = {r.bereich: r for r in plans.itertuples() if r.bereich}
    by_member = {m: r for r in plans.itertuples() for m in r.members}
    only = next(plans.itertuples()) if plans["plan"].nunique() == 1 else None
    hrefs = out["gehoertZuBereich_href"] if "gehoertZuBereich_href" in out.columns else None
    ids = out["gml_id"] if "gml_id" in out.columns else pd.Series([None] * len(out), index=out.index)
    found = []
    for i, gml_id in zip(out.index, ids, strict=True):
        plan = None
        for ref in _href(hrefs[i]) if hrefs is not None else []:
            plan = by_bereich.get(ref)
            if plan is not None:
                break
        if plan is None and gml_id is not None:
            plan = by_member.get(str(gml_id))
        if plan is None and only is not None:
            plan = only
        found.append(plan)

    def column(attr: str) -> pd.Series:
        return pd.Series([getattr(p, attr) if p is not None else None for p in found], index=out.index, dtype="string")

    out["xplan_plan"] = column("plan")
    out["xplan_plan_name"] = column("name")
    out["xplan_plan_number"] = column("number")
    out["xplan_plan_rechtsstand"] = column("rechtsstand")
    out["xplan_plan_type"] = column("type").fillna(plan_type_of(layer) or pd.NA)
    return out


def select_plans(frame: pd.DataFrame, wanted: tuple[str, ...]) -> np.ndarray:
    """Mask of the features whose plan's name or number is one of `wanted` (case and spaces ignored)."""
    keys = {w.strip().casefold() for w in wanted}
    name = frame["xplan_plan_name"].astype("string").str.strip().str.casefold()
    number = frame["xplan_plan_number"].astype("string").str.strip().str.casefold()
    mask: np.ndarray = (name.isin(keys) | number.isin(keys)).fillna(False).to_numpy(dtype=bool)
    return mask
