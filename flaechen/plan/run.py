"""Joint planning in a run: assess the commercial areas, compare the scenarios, write tables and reports.

:func:`assess_areas` and :func:`compare_scenarios` take and return frames; :func:`plan_district` runs both
for a district run and writes the sheets and pages into the output folder:

``DIR/bewertung/vorlagen/bewertung_<area id>.xlsx|.csv``
    a sheet per area, pre-filled with the catalogue, the proposals and the levels recorded so far —
    hand it out, get it back filled, put it where ``[assessment] sheets`` points;
``DIR/bewertung/steckbrief_<area id>.html``, ``DIR/bewertung/vergleich.html``
    the score cards and the district comparison;
``DIR/szenarien.html``
    the scenario comparison (where scenarios are configured).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from flaechen.plan.areas import commercial_areas_from_zoning, read_declared_areas
from flaechen.plan.catalogue import Catalogue, load_catalogue
from flaechen.plan.indicators import delivered_layers, derive_indicators, propose_levels
from flaechen.plan.report import write_scenario_page, write_score_cards
from flaechen.plan.scenarios import scenario_results, scenario_table, scenario_totals
from flaechen.plan.scores import assessment_table, score_table, sdgs_served
from flaechen.plan.settings import AssessmentSettings, PlanningSettings, ScenarioSpec
from flaechen.plan.sheets import SheetLevels, read_sheets, write_sheets

log = logging.getLogger(__name__)


@dataclass
class Assessment:
    """The assessment of a district's commercial areas."""

    areas: gpd.GeoDataFrame
    """Layer ``commercial_areas``: the areas with their overall and theme scores."""
    indicators: pd.DataFrame
    proposals: pd.DataFrame
    assessments: pd.DataFrame
    """Table ``assessments``: one row per area and measure."""
    scores: pd.DataFrame
    """Table ``assessment_scores``: per area overall, per theme and per sub-theme."""
    sdgs: dict[str, list[int]]
    sheets: SheetLevels | None = None


@dataclass
class ScenarioComparison:
    """Scenarios compared per municipality."""

    scenarios: pd.DataFrame
    results: pd.DataFrame
    totals: pd.DataFrame


@dataclass
class PlanResult:
    """What joint planning added to a run."""

    assessment: Assessment | None = None
    scenarios: ScenarioComparison | None = None
    files: list[Path] = field(default_factory=list)

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        return (
            {}
            if self.assessment is None or self.assessment.areas.empty
            else {"commercial_areas": self.assessment.areas}
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        out: dict[str, pd.DataFrame] = {}
        if self.assessment is not None and not self.assessment.areas.empty:
            out["assessments"] = self.assessment.assessments
            out["assessment_scores"] = self.assessment.scores
        if self.scenarios is not None:
            out["scenarios"] = self.scenarios.scenarios
            out["scenario_results"] = self.scenarios.results
        return out


def sheet_files(sheets: str | list[str] | None, *, base_dir: Path) -> list[Path]:
    """The sheet files ``[assessment] sheets`` names: a folder (every .xlsx and .csv in it) or a list of files."""
    if not sheets:
        return []
    if isinstance(sheets, str):
        folder = (base_dir / sheets).resolve()
        if folder.is_dir():
            return sorted(
                p
                for p in folder.iterdir()
                if p.suffix.lower() in (".xlsx", ".csv") and not p.name.startswith((".", "~$"))
            )
        return [folder]
    return [(base_dir / s).resolve() for s in sheets]


def assess_areas(
    layers: dict[str, gpd.GeoDataFrame],
    *,
    catalogue: Catalogue,
    rules: Any,
    settings: AssessmentSettings | None = None,
    candidates: gpd.GeoDataFrame | None = None,
    sources: pd.DataFrame | None = None,
    sheet_paths: list[Path] | None = None,
    base_dir: Path | None = None,
) -> Assessment:
    """Delineate the commercial areas, derive indicators, read the sheets and score every area.

    Raises
    ------
    flaechen.plan.sheets.SheetError
        Where the sheets hold bad values (all of them listed).
    flaechen.errors.SourceError
        Where a declared areas layer cannot be used.
    """
    settings = settings or AssessmentSettings()
    crs = layers["municipalities"].crs
    if settings.areas is not None:
        a = settings.areas
        areas = read_declared_areas(
            ((base_dir or Path.cwd()) / a.path).resolve(),
            layer=a.layer,
            id_field=a.id_field,
            name_field=a.name_field,
            crs=crs,
            declared_crs=a.crs,
            municipalities=layers["municipalities"],
            zoning=layers["zoning"],
            rules=rules,
        )
    else:
        areas = commercial_areas_from_zoning(
            layers["zoning"], layers["municipalities"], rules=rules, merge_distance_m=settings.merge_distance_m
        )
    indicators = derive_indicators(
        areas, layers, catalogue=catalogue, delivered=delivered_layers(sources), candidates=candidates
    )
    proposals = propose_levels(indicators, catalogue=catalogue)
    sheets = None
    levels = None
    if sheet_paths:
        sheets = read_sheets(sheet_paths, catalogue=catalogue, area_ids=set(areas["area_id"].astype(str)))
        levels = sheets.levels
    table = assessment_table(areas, catalogue=catalogue, proposals=proposals, levels=levels)
    scores = score_table(table)
    served = sdgs_served(table)
    areas = _with_scores(areas, scores, served)
    log.info("assessment: %d commercial areas, %d measures", len(areas), len(catalogue.measure_ids))
    return Assessment(
        areas=areas,
        indicators=indicators,
        proposals=proposals,
        assessments=table,
        scores=scores,
        sdgs=served,
        sheets=sheets,
    )


def _with_scores(areas: gpd.GeoDataFrame, scores: pd.DataFrame, served: dict[str, list[int]]) -> gpd.GeoDataFrame:
    out = areas.copy()
    overall = scores[scores["scope"] == "Gesamt"].set_index("area_id")
    out["score"] = out["area_id"].map(overall["share"]).astype("Float64")
    out["points"] = out["area_id"].map(overall["points"]).astype("Int64")
    out["attainable"] = out["area_id"].map(overall["attainable"]).astype("Int64")
    out["open_measures"] = out["area_id"].map(overall["open"]).astype("Int64")
    for theme_id, group in scores[scores["scope"] == "Thema"].groupby("scope_id", sort=False):
        out[f"score_{theme_id}"] = out["area_id"].map(group.set_index("area_id")["share"]).astype("Float64")
    out["sdgs"] = out["area_id"].map(lambda a: ", ".join(str(n) for n in served.get(str(a), []))).astype("string")
    return out


def compare_scenarios(
    candidates: pd.DataFrame,
    municipalities: pd.DataFrame,
    scenarios: tuple[ScenarioSpec, ...] | list[ScenarioSpec],
    *,
    planning: PlanningSettings,
    sites: pd.DataFrame | None = None,
) -> ScenarioComparison:
    """Every scenario per municipality, with the district totals."""
    results = scenario_results(candidates, municipalities, scenarios, planning=planning, sites=sites)
    return ScenarioComparison(
        scenarios=scenario_table(scenarios, planning), results=results, totals=scenario_totals(results)
    )


def read_register_sites(out_dir: Path) -> pd.DataFrame | None:
    """The register's sites (``DIR/register.gpkg``, layer ``sites``) where a register exists, else None."""
    path = Path(out_dir) / "register.gpkg"
    if not path.is_file():
        return None
    import pyogrio

    names = {str(n) for n, _ in pyogrio.list_layers(path)}
    if "sites" not in names:
        return None
    return pd.DataFrame(pyogrio.read_dataframe(path, layer="sites", read_geometry=False))


def _remove_stale(out: Path) -> None:
    """Remove the sheets and score cards an earlier run wrote (an area may be gone since)."""
    for pattern in (
        "bewertung/vorlagen/bewertung_*.xlsx",
        "bewertung/vorlagen/bewertung_*.csv",
        "bewertung/steckbrief_*.html",
    ):
        for path in out.glob(pattern):
            path.unlink()


def plan_district(
    layers: dict[str, gpd.GeoDataFrame],
    *,
    assessment: AssessmentSettings,
    planning: PlanningSettings,
    scenarios: tuple[ScenarioSpec, ...],
    rules: Any,
    out_dir: str | os.PathLike[str],
    base_dir: Path,
    district_name: str,
    candidates: gpd.GeoDataFrame | None = None,
    sources: pd.DataFrame | None = None,
    sites: pd.DataFrame | None = None,
    catalogue: Catalogue | None = None,
) -> PlanResult:
    """Assess the commercial areas and compare the scenarios of a district run; write sheets and pages."""
    out = Path(out_dir)
    result = PlanResult()
    names = dict(
        zip(layers["municipalities"]["ags"].astype(str), layers["municipalities"]["name"].astype(str), strict=True)
    )
    if assessment.enabled:
        catalogue = catalogue or load_catalogue(changes=assessment.catalogue, base_dir=base_dir)
        a = assess_areas(
            layers,
            catalogue=catalogue,
            rules=rules,
            settings=assessment,
            candidates=candidates,
            sources=sources,
            sheet_paths=sheet_files(assessment.sheets, base_dir=base_dir),
            base_dir=base_dir,
        )
        result.assessment = a
        _remove_stale(out)
        if not a.areas.empty:
            result.files += write_sheets(
                a.areas,
                catalogue=catalogue,
                out_dir=out / "bewertung" / "vorlagen",
                proposals=a.proposals,
                levels=None if a.sheets is None else a.sheets.levels,
            )
            result.files += write_score_cards(
                a.areas,
                a.assessments,
                a.scores,
                a.sdgs,
                catalogue=catalogue,
                out_dir=out / "bewertung",
                district_name=district_name,
                municipality_names=names,
            )
    if scenarios and candidates is not None:
        comparison = compare_scenarios(candidates, layers["municipalities"], scenarios, planning=planning, sites=sites)
        result.scenarios = comparison
        result.files.append(
            write_scenario_page(
                comparison.results,
                comparison.totals,
                comparison.scenarios,
                out_path=out / "szenarien.html",
                district_name=district_name,
            )
        )
    return result


def summary_lines(result: PlanResult, *, out_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """The terminal summary of joint planning: each area's score, each scenario's district totals."""
    from flaechen.flag.reasons import de_number, de_percent

    lines: list[str] = []
    a = result.assessment
    if a is not None and not a.areas.empty:
        read = ""
        if a.sheets is not None:
            read = f"; sheets read: {len(a.sheets.files)}, levels recorded: {len(a.sheets.levels)}"
        per_area = len(a.assessments) // len(a.areas)
        lines.append(f"Commercial areas assessed: {len(a.areas)} ({per_area} measures each{read})")
        overall = a.scores[a.scores["scope"] == "Gesamt"].set_index("area_id")
        for row in a.areas.itertuples():
            o = overall.loc[row.area_id]
            lines.append(
                f"  {row.area_id}  {str(row.name)[:34]:34s} {de_percent(o['share']):>6s}  "
                f"({int(o['by_person'])} recorded, {int(o['by_data'])} from data, {int(o['open'])} open, "
                f"{int(o['not_applicable'])} n/a)"
            )
        if out_dir is not None:
            lines.append(f"  score cards: {Path(out_dir).resolve() / 'bewertung' / 'vergleich.html'}")
    elif a is not None:
        lines.append("Commercial areas: none in the zoning (GE, GI, FNP G) — nothing to assess")
    s = result.scenarios
    if s is not None:
        lines.append(f"Scenarios: {len(s.scenarios)}")
        for t in s.totals.itertuples():
            lines.append(
                f"  {t.scenario_id}: {t.scenario} (to {t.horizon}): {de_number(t.activated_ha, 1)} ha activated, "
                f"{de_number(t.activated_dwellings)} dwellings, demand covered {de_percent(t.demand_covered)}, "
                f"greenfield saved {de_number(t.greenfield_saved_ha, 1)} ha = {de_percent(t.saved_share_of_allowance)} "
                f"of the municipalities' share of the 30-ha path (taken {de_number(t.greenfield_taken_ha, 1)} ha)"
            )
        if out_dir is not None:
            lines.append(f"  comparison: {Path(out_dir).resolve() / 'szenarien.html'}")
    return lines


def plan_from_config(
    config: Any,
    layers: dict[str, gpd.GeoDataFrame],
    *,
    candidates: gpd.GeoDataFrame | None,
    sources: pd.DataFrame | None,
    rules: Any,
    out_dir: str | os.PathLike[str],
    sites: pd.DataFrame | None = None,
) -> PlanResult:
    """:func:`plan_district` with the ``[assessment]``, ``[planning]`` and ``[[scenarios]]`` of a district
    configuration (:class:`flaechen.config.DistrictConfig`).

    `sites` are the register's sites after this run (their planners' status); where None, the register is
    read from ``out_dir/register.gpkg`` where one exists."""
    return plan_district(
        layers,
        assessment=config.assessment,
        planning=config.planning,
        scenarios=tuple(config.scenarios),
        rules=rules,
        out_dir=out_dir,
        base_dir=config.base_dir,
        district_name=config.name,
        candidates=candidates,
        sources=sources,
        sites=sites if sites is not None else read_register_sites(Path(out_dir)),
    )
