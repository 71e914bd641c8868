"""The configuration of joint planning: ``[assessment]``, ``[planning]`` and ``[[scenarios]]``.

.. code-block:: toml

    [assessment]
    sheets = "bewertung"              # folder (or list of files) with filled assessment sheets (.xlsx/.csv)
    merge_distance_m = 0              # commercial zoning features closer than this form one area
    # or the district's own delineation instead of the zoning:
    # areas = { path = "gewerbegebiete.gpkg", layer = "gebiete", id_field = "id", name_field = "name" }

    [assessment.catalogue]            # the district's changes to layers/catalogue.yaml
    drop = ["arbeitsplaetze"]
    reword.regenwasser = { indicator = "Anteil abflusswirksamer Fläche" }
    [[assessment.catalogue.add]]
    id = "laermschutz"
    subtheme = "infrastruktur_umgebung"
    title = "Lärmschutz"
    # … description, sdgs, implementer, indicator, levels (1, 2, 3)

    [planning]
    base_year = 2025                  # the year the scenarios start from
    greenfield_density = 20           # dwellings per ha the district builds on greenfield land
    demand_per_1000_per_year = 3.0    # new-dwelling demand per 1,000 inhabitants and year
    scenarios = "szenarien.toml"      # optional: scenarios in their own file ([[scenarios]] entries)

    [[scenarios]]
    id = "innen"
    title = "Innenentwicklung zuerst"
    horizon = 2035
    categories = ["Baulücke", "Brachfläche"]
    status = ["bereit", "in_planung"] # register status codes (layers/codelists/site_status.yaml)
    activation_share = 0.3

Every problem of these sections is reported at once (:class:`flaechen.errors.ConfigError`).
"""

from __future__ import annotations

import datetime as _dt
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, field_validator

from flaechen.errors import ConfigError, Problem
from flaechen.layers import layers_dir
from flaechen.validation import Settings, ValidationError, invalid, problems_from

Share = Annotated[float, Field(ge=0, le=1)]
Text = Annotated[str, Field(min_length=1)]


class AreasLayer(Settings):
    """A declared layer of commercial areas (instead of the zoning)."""

    path: Text
    layer: Text | None = None
    id_field: Text = "id"
    name_field: Text = "name"
    crs: Text | None = None


class AssessmentSettings(Settings):
    """The ``[assessment]`` table."""

    enabled: bool = True
    sheets: Text | list[Text] | None = None
    """A folder with filled sheets, or a list of sheet files (relative to the configuration)."""
    areas: AreasLayer | None = None
    merge_distance_m: Annotated[float, Field(ge=0, le=1000)] = 0.0
    catalogue: dict[str, Any] = Field(default_factory=dict)
    """The district's changes to the catalogue (checked by :func:`flaechen.plan.catalogue.load_catalogue`)."""


def _status_codes() -> tuple[str, ...] | None:
    path = layers_dir() / "codelists" / "site_status.yaml"
    if not path.is_file():
        return None
    return tuple(str(k) for k in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("values", {}))


def _categories() -> tuple[str, ...]:
    data = yaml.safe_load((layers_dir() / "codelists" / "candidate_category.yaml").read_text(encoding="utf-8"))
    return tuple(str(k) for k in data.get("values", {}))


class ScenarioSpec(Settings):
    """One ``[[scenarios]]`` entry: which potentials to activate by which year."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$")]
    title: Text
    description: str = ""
    horizon: Annotated[int, Field(ge=2000, le=2100)]
    categories: list[Text] | None = None
    """Candidate categories to activate (default: all except Außenreserve)."""
    status: list[Text] | None = None
    """Register status codes (``site_status``) of the sites to activate (default: any)."""
    availability: list[Text] | None = None
    """Register availability codes (default: any)."""
    municipalities: list[Annotated[str, Field(pattern=r"^\d{8}$")]] | None = None
    min_area_m2: Annotated[float, Field(ge=0)] = 0.0
    max_area_m2: Annotated[float, Field(gt=0)] | None = None
    exclude_lowered: bool = False
    """Leave out candidates lowered by a constraint (effect "lower")."""
    exclude_constraints: list[Text] = Field(default_factory=list)
    """Leave out candidates affected by these constraints (their label or name)."""
    activation_share: Share = 1.0
    """Share of the selected potentials expected to be activated by the horizon
    (Raum+ Baden-Württemberg: 17–30 % are mobilisable without obstacles)."""

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: list[str] | None) -> list[str] | None:
        known = _categories()
        bad = [v for v in value or [] if v not in known]
        if bad:
            raise invalid(f"unknown categories {bad}", f"use some of: {', '.join(known)}")
        return value

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: list[str] | None) -> list[str] | None:
        known = _status_codes()
        if known is None or value is None:
            return value
        bad = [v for v in value if v not in known]
        if bad:
            raise invalid(f"unknown register status {bad}", f"use some of: {', '.join(known)}")
        return value


class PlanningSettings(Settings):
    """The ``[planning]`` table: the parameters every scenario shares, each a documented default."""

    base_year: Annotated[int, Field(ge=2000, le=2100)] = Field(default_factory=lambda: _dt.date.today().year)
    greenfield_density: Annotated[float, Field(gt=0, le=500)] = 20.0
    """Dwellings per hectare the district builds on greenfield land (default: an assumption for new
    detached and semi-detached housing in rural districts; BBSR assumes 25 for inner potentials)."""
    demand_per_1000_per_year: Annotated[float, Field(ge=0, le=100)] = 3.0
    target_ha_per_day: Annotated[float, Field(gt=0)] = 30.0
    """National target for new settlement and traffic land
    (Deutsche Nachhaltigkeitsstrategie: under 30 ha a day by 2030)."""
    target_year: Annotated[int, Field(ge=2000, le=2100)] = 2030
    net_zero_year: Annotated[int, Field(ge=2000, le=2100)] = 2050
    """Net zero new land by 2050 (Klimaschutzplan 2050 / Flächenkreislaufwirtschaft)."""
    national_population: Annotated[int, Field(gt=0)] = 83_600_000
    """Germany's population the municipal share is taken of
    (Destatis, end of 2024, Zensus-2022 basis: about 83.6 million)."""
    scenarios: Text | None = None
    """A file with more ``[[scenarios]]`` (TOML or YAML), relative to the configuration."""


def _scenario_file(planning: Any, base_dir: Path, file: str | None) -> tuple[list[Any], list[Problem], str]:
    """The raw entries of ``[planning] scenarios`` (a file), with the problems of reading it."""
    name = planning.get("scenarios") if isinstance(planning, Mapping) else None
    if not isinstance(name, str) or not name:
        return [], [], ""
    path = (base_dir / name).resolve()
    if not path.is_file():
        return (
            [],
            [
                Problem(
                    file,
                    "planning.scenarios",
                    f"file {path} does not exist",
                    "check the path (relative to the configuration)",
                )
            ],
            "",
        )
    try:
        text = path.read_text(encoding="utf-8")
        raw = yaml.safe_load(text) if path.suffix.lower() in (".yaml", ".yml") else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        return [], [Problem(str(path), "", f"cannot be parsed: {exc}", "fix the syntax")], ""
    listed = raw.get("scenarios") if isinstance(raw, Mapping) else None
    if not isinstance(listed, list):
        return (
            [],
            [Problem(str(path), "scenarios", "expected a list of [[scenarios]] tables", "see docs/configuration.md")],
            "",
        )
    return listed, [], str(path)


def plan_problems(raw: Mapping[str, Any], *, base_dir: Path, file: str | None = None) -> list[Problem]:
    """Problems of ``[assessment]``, ``[planning]`` and ``[[scenarios]]`` beyond their models' own checks.

    The catalogue with the district's changes (every problem of :func:`flaechen.plan.catalogue.load_catalogue`),
    the scenarios file (read and validated), unique scenario ids across both, horizons after the base year,
    ``max_area_m2`` above ``min_area_m2``, the net-zero year after the target year.
    """
    from flaechen.plan.catalogue import load_catalogue

    problems: list[Problem] = []
    assessment = raw.get("assessment")
    if isinstance(assessment, Mapping) and isinstance(assessment.get("catalogue"), Mapping):
        try:
            load_catalogue(changes=assessment["catalogue"], base_dir=base_dir)
        except ConfigError as exc:
            problems += [Problem(p.file or file, p.key, p.message, p.fix) for p in exc.details]
    raw_planning = raw.get("planning")
    planning: Mapping[str, Any] = raw_planning if isinstance(raw_planning, Mapping) else {}
    base_year = planning.get("base_year", _dt.date.today().year)
    target, net_zero = planning.get("target_year", 2030), planning.get("net_zero_year", 2050)
    if isinstance(target, int) and isinstance(net_zero, int) and net_zero <= target:
        problems.append(Problem(file, "planning.net_zero_year", "must come after planning.target_year", "e.g. 2050"))
    from_file, file_problems, scenario_path = _scenario_file(planning, base_dir, file)
    problems += file_problems
    if from_file:
        try:
            _ScenarioList.model_validate({"scenarios": from_file})
        except ValidationError as exc:
            problems += problems_from(exc, raw={"scenarios": from_file}, model=_ScenarioList, file=scenario_path)
    raw_inline = raw.get("scenarios")
    inline: list[Any] = raw_inline if isinstance(raw_inline, list) else []
    seen: dict[str, str] = {}
    for where_file, entries in ((file, inline), (scenario_path or file, from_file)):
        for i, entry in enumerate(entries):
            if not isinstance(entry, Mapping):
                continue
            label = entry.get("id")
            key = f"scenarios[{label if isinstance(label, str) and label else i}]"
            if isinstance(label, str):
                if label in seen:
                    problems.append(
                        Problem(
                            where_file,
                            f"{key}.id",
                            f"scenario id {label!r} is used twice (also in {seen[label]})",
                            "give each scenario its own id",
                        )
                    )
                seen.setdefault(label, where_file or "the configuration")
            horizon = entry.get("horizon")
            if (
                isinstance(horizon, int)
                and not isinstance(horizon, bool)
                and isinstance(base_year, int)
                and horizon <= base_year
            ):
                problems.append(
                    Problem(
                        where_file,
                        f"{key}.horizon",
                        f"{horizon} must lie after planning.base_year ({base_year})",
                        "choose a later year",
                    )
                )
            low, high = entry.get("min_area_m2", 0), entry.get("max_area_m2")
            if isinstance(low, int | float) and isinstance(high, int | float) and high <= low:
                problems.append(
                    Problem(where_file, f"{key}.max_area_m2", "must be larger than min_area_m2", "raise it or drop it")
                )
    return problems


class _ScenarioList(Settings):
    """A scenarios file: a list ``scenarios`` of ``[[scenarios]]`` tables."""

    scenarios: list[ScenarioSpec] = Field(default_factory=list)


def file_scenarios(planning: PlanningSettings, *, base_dir: Path) -> list[ScenarioSpec]:
    """The scenarios of ``[planning] scenarios`` (already checked by :func:`plan_problems`)."""
    entries, problems, _ = _scenario_file({"scenarios": planning.scenarios}, base_dir, None)
    if problems:
        raise ConfigError(problems)
    return [ScenarioSpec.model_validate(e) for e in entries]


def parse_plan_sections(
    *,
    assessment: Mapping[str, Any] | None,
    planning: Mapping[str, Any] | None,
    scenarios: list[Any] | None,
    base_dir: Path,
    file: str | None = None,
) -> tuple[AssessmentSettings, PlanningSettings, tuple[ScenarioSpec, ...]]:
    """Validate raw ``[assessment]``, ``[planning]`` and ``[[scenarios]]`` (plus a scenarios file) outside a
    district configuration; :func:`flaechen.config.load_config` does the same for a whole file.

    Raises
    ------
    flaechen.errors.ConfigError
        With every problem of the three sections at once.
    """
    raw = {"assessment": dict(assessment or {}), "planning": dict(planning or {}), "scenarios": list(scenarios or [])}
    problems: list[Problem] = []
    data = None
    try:
        data = _PlanSections.model_validate(raw)
    except ValidationError as exc:
        problems += problems_from(exc, raw=raw, model=_PlanSections, file=file)
    problems += plan_problems(raw, base_dir=base_dir, file=file)
    if problems or data is None:
        raise ConfigError(problems, path=file)
    specs = [*data.scenarios, *file_scenarios(data.planning, base_dir=base_dir)]
    return data.assessment, data.planning, tuple(specs)


class _PlanSections(Settings):
    assessment: AssessmentSettings = Field(default_factory=AssessmentSettings)
    planning: PlanningSettings = Field(default_factory=PlanningSettings)
    scenarios: list[ScenarioSpec] = Field(default_factory=list)
