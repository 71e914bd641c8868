"""Keep the register for one run: read it, carry it over to this run's candidates, prepare the writes.

:func:`prepare` computes everything (nothing is written); the pipeline writes ``district.gpkg`` with the
changes, the monitoring table and the conflicts in its issue log, and only then :meth:`RegisterUpdate.commit`
writes the register, so a failed run never leaves a register ahead of its district dataset.

Examples
--------
A third survey of the demo district with the same deliveries, into a copy of its register:

>>> import shutil
>>> from flaechen.district import read_district
>>> from flaechen.register import GpkgRegister
>>> from flaechen.register.settings import RegisterSettings
>>> _ = shutil.copy("out/demo/register.gpkg", "register.gpkg")
>>> layers = read_district("out/demo", layers=["municipalities", "parcels", "buildings", "candidates",
...                                            "parcel_measures", "rules"])
>>> update = prepare(GpkgRegister("register.gpkg"), layers, candidates=layers["candidates"],
...                  measures=layers["parcel_measures"], rules_table=layers["rules"],
...                  settings=RegisterSettings(survey="2027-04-01"))
>>> update.previous_survey, len(update.changes)  # nothing changed on the ground
('2026-04-01', 0)
>>> update.commit()
>>> GpkgRegister("register.gpkg").read(crs=layers["candidates"].crs).surveys
['2025-04-01', '2026-04-01', '2027-04-01']
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import geopandas as gpd
import pandas as pd

from flaechen.flag.summary import CATEGORY_SLUGS
from flaechen.issues import IssueLog
from flaechen.register.match import CarryOver, SurveyContext, carry_over
from flaechen.register.monitor import monitoring
from flaechen.register.settings import RegisterSettings
from flaechen.register.state import RegisterState

log = logging.getLogger(__name__)


class RegisterStore(Protocol):
    """Where a register lives: a GeoPackage or a PostGIS schema."""

    @property
    def where(self) -> str: ...

    def read(self, *, crs: Any) -> RegisterState: ...

    def write(self, result: CarryOver, *, history: pd.DataFrame, crs: Any) -> None: ...


@dataclass
class RegisterUpdate:
    """A prepared register update: what changes, ready to be committed.

    Attributes
    ----------
    store
        Where the register lives.
    result
        The carry-over (every site after the run, new ids, conflicts).
    history
        This run's snapshot, appended on commit.
    changes
        The changes since the previous survey, for ``district.gpkg`` (table ``changes``).
    monitoring
        The time series per municipality and survey (table ``monitoring``).
    survey, previous_survey
        The survey dates (ISO).
    """

    store: RegisterStore
    result: CarryOver
    history: pd.DataFrame
    changes: pd.DataFrame
    monitoring: pd.DataFrame
    survey: str
    previous_survey: str | None
    crs: object = None
    committed: bool = field(default=False)

    def commit(self) -> None:
        """Write the register (in one transaction where it exists)."""
        self.store.write(self.result, history=self.history, crs=self.crs)
        self.committed = True

    def log_issues(self, issues: IssueLog) -> None:
        """Add the conflicts and the kept municipalities to an issue log."""
        for c in self.result.conflicts:
            issues.add(
                "register-conflict",
                ags=c.ags,
                source_id="register",
                layer="sites",
                feature_id=", ".join(c.site_ids),
                value=", ".join(c.parcel_ids) or None,
                message=c.message,
            )
        for ags in self.result.kept_without_delivery:
            issues.add(
                "register-no-delivery",
                ags=ags,
                source_id="register",
                layer="sites",
                message="No parcels delivered this time: the municipality's register sites are kept as they were "
                "(no change is derived from missing data).",
            )


def min_areas(rules_table: pd.DataFrame | None) -> dict[str, float]:
    """Category → smallest area (m²) from the flagging step's rules table."""
    out: dict[str, float] = {}
    if rules_table is None or rules_table.empty:
        return out
    values = dict(zip(rules_table["key"].astype(str), rules_table["value"], strict=True))
    for category, slug in CATEGORY_SLUGS.items():
        raw = values.get(f"{slug}.min_area_m2")
        try:
            out[category] = float(str(raw))
        except (TypeError, ValueError):
            continue
    return out


def _survey_changes(state: RegisterState, now: pd.DataFrame, survey: str) -> pd.DataFrame:
    """This survey's changes: rows already recorded for it (an earlier run of the same survey) and this run's."""
    before = state.changes[state.changes["survey"] == survey]
    if before.empty:
        return now
    both = pd.concat([before, now], ignore_index=True)
    rows = []
    for _, group in both.groupby("site_id", sort=False):
        last = group.iloc[-1].copy()
        first = group.iloc[0]
        if first["change"] == "neu" and last["change"] == "geändert":
            last["change"] = "neu"
            last["previous_category"], last["previous_area_m2"] = first["previous_category"], first["previous_area_m2"]
        rows.append(last)
    return pd.DataFrame(rows).reset_index(drop=True).astype(now.dtypes.to_dict())


def prepare(
    store: RegisterStore,
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    candidates: gpd.GeoDataFrame,
    measures: pd.DataFrame,
    rules_table: pd.DataFrame | None = None,
    settings: RegisterSettings | None = None,
) -> RegisterUpdate:
    """Read the register and carry it over to this run's candidates (nothing is written).

    Parameters
    ----------
    store
        The register's store (:class:`~flaechen.register.gpkg_store.GpkgRegister` or
        :class:`~flaechen.register.postgis_store.PostgisRegister`).
    layers
        The district dataset's layers (municipalities, parcels, buildings).
    candidates, measures, rules_table
        The flagging step's candidates, parcel measures and rules table.
    settings
        The ``[register]`` settings.
    """
    settings = settings or RegisterSettings()
    crs = candidates.crs
    survey = settings.survey_date()
    state = store.read(crs=crs)
    previous = state.previous_survey(survey)
    municipalities = dict(
        zip(layers["municipalities"]["ags"].astype(str), layers["municipalities"]["name"].astype(str), strict=True)
    )
    context = SurveyContext(
        parcels=layers["parcels"],
        measures=measures,
        buildings=layers["buildings"],
        municipalities=municipalities,
        min_area=min_areas(rules_table),
    )
    result = carry_over(
        state.sites, candidates, context=context, survey=survey, previous_survey=previous, settings=settings
    )
    run_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    sites = result.sites
    history = pd.DataFrame(
        {
            "survey": survey,
            "run_at": run_at,
            "site_id": sites["site_id"].to_numpy(),
            "ags": sites["ags"].to_numpy(),
            "category": sites["category"].to_numpy(),
            "area_m2": sites["area_m2"].to_numpy(),
            "status": sites["status"].to_numpy(),
            "state": sites["state"].to_numpy(),
            "state_reason": sites["state_reason"].to_numpy(),
        }
    )
    changes = _survey_changes(state, result.changes, survey)
    all_history = pd.concat([state.history, history], ignore_index=True) if len(state.history) else history
    all_changes = (
        pd.concat([state.changes[state.changes["survey"] != survey], changes], ignore_index=True)
        if len(state.changes)
        else changes
    )
    table = monitoring(all_history, all_changes, municipalities=municipalities)
    return RegisterUpdate(
        store=store,
        result=result,
        history=history,
        changes=changes,
        monitoring=table,
        survey=survey,
        previous_survey=previous,
        crs=crs,
    )
