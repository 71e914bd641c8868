"""Scenarios: which potentials to activate by a horizon year, and the greenfield that spares.

For each scenario and municipality (:func:`scenario_results`):

* **activated** — the selected candidates (by category, register status and availability, municipality,
  size, constraints) times the scenario's ``activation_share``: hectares and dwellings
  (``capacity_dwellings`` of the flagging step).
* **demand** — new dwellings needed from the base year to the horizon:
  ``population / 1000 × demand_per_1000_per_year × (horizon − base_year)``; *covered* = dwellings / demand.
* **greenfield saved** — the land the same dwellings would take at the district's greenfield density:
  ``dwellings of inner potentials / greenfield_density`` (ha). Activated Außenreserven are greenfield
  themselves: they are reported as *greenfield taken*, not as saved.
* **allowance** — the municipality's share of the national target path for new settlement and traffic
  land, by population: ``Σ over the years base_year+1 … horizon of ha_per_day(year) × 365 ×
  population / national_population``, where ``ha_per_day`` is the target (30 ha/day, Deutsche
  Nachhaltigkeitsstrategie) up to the target year 2030 and falls linearly to 0 in the net-zero year 2050
  (Klimaschutzplan 2050). The path applies the 2030 target from the base year on: the real path starts
  higher (about 52 ha/day in 2019, DOMAIN.md), so the allowance is a strict reading.

Examples
--------
>>> round(allowance_ha(population=10_000, base_year=2025, horizon=2030, planning=PlanningSettings()), 2)
6.55
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd

from flaechen.plan.settings import PlanningSettings, ScenarioSpec

log = logging.getLogger(__name__)

OUTER = ("Außenreserve",)
DEFAULT_CATEGORIES = ("Brachfläche", "Baulücke", "Untergenutzte Fläche", "Leerstand")
UNKNOWN_STATUS = "unbekannt"

RESULT_COLUMNS = [
    "scenario_id",
    "scenario",
    "horizon",
    "ags",
    "name",
    "population",
    "selected_n",
    "activated_ha",
    "activated_dwellings",
    "inner_dwellings",
    "demand_dwellings",
    "demand_covered",
    "greenfield_saved_ha",
    "greenfield_taken_ha",
    "allowance_ha",
    "saved_share_of_allowance",
    "taken_share_of_allowance",
]


def target_ha_per_day(year: int, planning: PlanningSettings) -> float:
    """The national target rate (ha/day) in `year` on the path to net zero."""
    if year <= planning.target_year:
        return planning.target_ha_per_day
    if year >= planning.net_zero_year:
        return 0.0
    return (
        planning.target_ha_per_day * (planning.net_zero_year - year) / (planning.net_zero_year - planning.target_year)
    )


def allowance_ha(*, population: float, base_year: int, horizon: int, planning: PlanningSettings) -> float:
    """A municipality's share (by population) of the national target path from `base_year` to `horizon`.

    Examples
    --------
    >>> p = PlanningSettings(base_year=2025)
    >>> round(allowance_ha(population=83_600_000, base_year=2029, horizon=2031, planning=p), 1)  # 30 + 28.5 ha/day
    21352.5
    """
    days = sum(target_ha_per_day(y, planning) * 365 for y in range(base_year + 1, horizon + 1))
    return days * population / planning.national_population


def _register_status(candidates: pd.DataFrame, sites: pd.DataFrame | None) -> tuple[pd.Series, pd.Series]:
    """Register status and availability of each candidate (by parcel key), ``unbekannt`` where not registered."""
    unknown = pd.Series(UNKNOWN_STATUS, index=candidates.index, dtype="string")
    if sites is None or sites.empty:
        return unknown, unknown.copy()
    exploded = pd.DataFrame(
        {
            "parcel_id": sites["parcel_ids"].astype("string").fillna("").str.split(";"),
            "status": sites["status"].astype("string") if "status" in sites else UNKNOWN_STATUS,
            "availability": sites["availability"].astype("string") if "availability" in sites else UNKNOWN_STATUS,
        }
    ).explode("parcel_id")
    if "state" in sites:
        active = sites["state"].astype("string").reindex(exploded.index)
        exploded = exploded[(active != "entfallen").fillna(True).to_numpy()]
    exploded = exploded[exploded["parcel_id"].astype(str).str.len() > 0].drop_duplicates("parcel_id")
    lookup = exploded.set_index("parcel_id")
    pid = candidates["parcel_id"].astype("string")
    status = pid.map(lookup["status"]).astype("string").fillna(UNKNOWN_STATUS)
    availability = pid.map(lookup["availability"]).astype("string").fillna(UNKNOWN_STATUS)
    return status, availability


def _affected(constraints_text: pd.Series, names: list[str]) -> np.ndarray:
    """Candidates whose ``constraints`` text says one of `names` applies ('Name: betroffen')."""
    if not names:
        return np.zeros(len(constraints_text), dtype=bool)
    pattern = re.compile("|".join(rf"(?:^|;\s*){re.escape(n)}: betroffen" for n in names))
    found = constraints_text.astype("string").fillna("").map(lambda t: bool(pattern.search(t)))
    return np.asarray(found.to_numpy(dtype=bool))


def select_potentials(
    candidates: pd.DataFrame,
    spec: ScenarioSpec,
    *,
    sites: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The candidates a scenario activates (before the activation share), with their register status."""
    frame = pd.DataFrame(candidates).copy()
    status, availability = _register_status(frame, sites)
    frame["status"] = status
    frame["availability"] = availability
    keep = np.ones(len(frame), dtype=bool)
    categories = spec.categories or list(DEFAULT_CATEGORIES)
    keep &= frame["category"].astype("string").isin(categories).fillna(False).to_numpy()
    if spec.status:
        keep &= frame["status"].isin(spec.status).to_numpy()
    if spec.availability:
        keep &= frame["availability"].isin(spec.availability).to_numpy()
    if spec.municipalities:
        keep &= frame["ags"].astype("string").isin(spec.municipalities).fillna(False).to_numpy()
    area = pd.to_numeric(frame["area_m2"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    keep &= area >= spec.min_area_m2
    if spec.max_area_m2 is not None:
        keep &= area <= spec.max_area_m2
    if spec.exclude_lowered and "lowered" in frame:
        keep &= ~frame["lowered"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    if spec.exclude_constraints and "constraints" in frame:
        keep &= ~_affected(frame["constraints"], spec.exclude_constraints)
    return frame[keep]


def scenario_results(
    candidates: pd.DataFrame,
    municipalities: pd.DataFrame,
    scenarios: tuple[ScenarioSpec, ...] | list[ScenarioSpec],
    *,
    planning: PlanningSettings,
    sites: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per scenario and municipality: activated hectares and dwellings, demand covered, greenfield saved.

    Returns
    -------
    DataFrame
        Columns :data:`RESULT_COLUMNS`; one row per scenario and municipality, in the order of the
        scenarios and the AGS. Shares are NA where their base is 0 or unknown (no population).
    """
    munis = pd.DataFrame(municipalities)[["ags", "name", "population"]].copy()
    munis["ags"] = munis["ags"].astype(str)
    munis = munis.sort_values("ags")
    rows = []
    for spec in scenarios:
        chosen = select_potentials(candidates, spec, sites=sites)
        share = spec.activation_share
        years = spec.horizon - planning.base_year
        area_ha = pd.to_numeric(chosen["area_m2"], errors="coerce").fillna(0.0) / 10_000
        dwellings = pd.to_numeric(chosen["capacity_dwellings"], errors="coerce").fillna(0.0)
        outer = chosen["category"].astype("string").isin(OUTER).fillna(False)
        ags = chosen["ags"].astype(str)
        for m in munis.itertuples():
            here = (ags == m.ags).to_numpy()
            pop = None if pd.isna(m.population) else float(m.population)
            activated_ha = float(area_ha[here].sum()) * share
            activated_dw = float(dwellings[here].sum()) * share
            inner_dw = float(dwellings[here & ~outer.to_numpy()].sum()) * share
            taken_ha = float(area_ha[here & outer.to_numpy()].sum()) * share
            demand = None if pop is None else pop / 1000 * planning.demand_per_1000_per_year * years
            saved = inner_dw / planning.greenfield_density
            allowance = (
                None
                if pop is None
                else allowance_ha(population=pop, base_year=planning.base_year, horizon=spec.horizon, planning=planning)
            )
            rows.append(
                {
                    "scenario_id": spec.id,
                    "scenario": spec.title,
                    "horizon": spec.horizon,
                    "ags": m.ags,
                    "name": m.name,
                    "population": pop,
                    "selected_n": int(here.sum()),
                    "activated_ha": activated_ha,
                    "activated_dwellings": activated_dw,
                    "inner_dwellings": inner_dw,
                    "demand_dwellings": demand,
                    "demand_covered": activated_dw / demand if demand else None,
                    "greenfield_saved_ha": saved,
                    "greenfield_taken_ha": taken_ha,
                    "allowance_ha": allowance,
                    "saved_share_of_allowance": saved / allowance if allowance else None,
                    "taken_share_of_allowance": taken_ha / allowance if allowance else None,
                }
            )
    frame = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    for c in RESULT_COLUMNS:
        if c in ("scenario_id", "scenario", "ags", "name"):
            frame[c] = frame[c].astype("string")
        elif c in ("horizon", "selected_n"):
            frame[c] = frame[c].astype("Int64")
        else:
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("Float64")
    return frame


def scenario_totals(results: pd.DataFrame) -> pd.DataFrame:
    """The district totals per scenario (sums; shares recomputed from the sums)."""
    sums = [
        "selected_n",
        "activated_ha",
        "activated_dwellings",
        "inner_dwellings",
        "demand_dwellings",
        "greenfield_saved_ha",
        "greenfield_taken_ha",
        "allowance_ha",
    ]
    rows = []
    for sid, group in results.groupby("scenario_id", sort=False):
        row = {"scenario_id": sid, "scenario": group["scenario"].iloc[0], "horizon": group["horizon"].iloc[0]}
        for c in sums:
            row[c] = group[c].sum(min_count=1) if c != "selected_n" else int(group[c].sum())
        # a municipality without population has no demand or allowance: the shares cover the others only
        known = group["population"].notna()
        demand = group.loc[known, "demand_dwellings"].sum()
        allowance = group.loc[known, "allowance_ha"].sum()
        row["demand_covered"] = group.loc[known, "activated_dwellings"].sum() / demand if demand else None
        row["saved_share_of_allowance"] = (
            group.loc[known, "greenfield_saved_ha"].sum() / allowance if allowance else None
        )
        row["taken_share_of_allowance"] = (
            group.loc[known, "greenfield_taken_ha"].sum() / allowance if allowance else None
        )
        rows.append(row)
    frame = pd.DataFrame(rows)
    return frame


def scenario_table(specs: tuple[ScenarioSpec, ...] | list[ScenarioSpec], planning: PlanningSettings) -> pd.DataFrame:
    """The scenarios a run compared, with their selection and the shared parameters (table ``scenarios``)."""
    rows = []
    for s in specs:
        rows.append(
            {
                "scenario_id": s.id,
                "title": s.title,
                "description": s.description,
                "horizon": s.horizon,
                "base_year": planning.base_year,
                "categories": "; ".join(s.categories or DEFAULT_CATEGORIES),
                "status": "; ".join(s.status or []) or None,
                "availability": "; ".join(s.availability or []) or None,
                "municipalities": "; ".join(s.municipalities or []) or None,
                "min_area_m2": s.min_area_m2,
                "max_area_m2": s.max_area_m2,
                "exclude_lowered": s.exclude_lowered,
                "exclude_constraints": "; ".join(s.exclude_constraints) or None,
                "activation_share": s.activation_share,
                "greenfield_density": planning.greenfield_density,
                "demand_per_1000_per_year": planning.demand_per_1000_per_year,
                "target_ha_per_day": planning.target_ha_per_day,
                "target_year": planning.target_year,
                "net_zero_year": planning.net_zero_year,
                "national_population": planning.national_population,
            }
        )
    frame = pd.DataFrame(rows)
    for c in frame.columns:
        if frame[c].dtype == object:
            frame[c] = frame[c].astype("string")
    return frame
