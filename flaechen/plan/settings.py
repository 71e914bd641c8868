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
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flaechen.errors import ConfigError
from flaechen.layers import layers_dir

Share = Annotated[float, Field(ge=0, le=1)]
Text = Annotated[str, Field(min_length=1)]


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class AreasLayer(_Settings):
    """A declared layer of commercial areas (instead of the zoning)."""

    path: Text
    layer: Text | None = None
    id_field: Text = "id"
    name_field: Text = "name"
    crs: Text | None = None


class AssessmentSettings(_Settings):
    """The ``[assessment]`` table."""

    sheets: Text | list[Text] | None = None
    """A folder with filled sheets, or a list of sheet files (relative to the configuration)."""
    areas: AreasLayer | None = None
    merge_distance_m: Annotated[float, Field(ge=0, le=1000)] = 0.0
    catalogue: dict[str, Any] = Field(default_factory=dict)
    """The district's changes to the catalogue (validated by :func:`flaechen.plan.catalogue.load_catalogue`)."""
    enabled: bool = True


def _status_codes() -> tuple[str, ...] | None:
    path = layers_dir() / "codelists" / "site_status.yaml"
    if not path.is_file():
        return None
    return tuple(str(k) for k in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("values", {}))


def _categories() -> tuple[str, ...]:
    data = yaml.safe_load((layers_dir() / "codelists" / "candidate_category.yaml").read_text(encoding="utf-8"))
    return tuple(str(k) for k in data.get("values", {}))


class ScenarioSpec(_Settings):
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
            raise ValueError(f"unknown categories {bad}; known: {', '.join(known)}")
        return value

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: list[str] | None) -> list[str] | None:
        known = _status_codes()
        if known is None or value is None:
            return value
        bad = [v for v in value if v not in known]
        if bad:
            raise ValueError(f"unknown register status {bad}; known: {', '.join(known)}")
        return value


class PlanningSettings(_Settings):
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


_TYPE_TAG = re.compile(r"^[a-z]+(-[a-z]+)+(\[.*\])?$|^[a-z]+\[.*\]$")


def _problems(exc: ValidationError, prefix: str, raw: Any = None) -> list[str]:
    out: dict[str, str] = {}
    for e in exc.errors():
        parts = []
        node = raw
        for part in e["loc"]:
            # a union's member type (e.g. 'constrained-str') is not a key of the data
            if isinstance(part, str) and not (isinstance(node, Mapping) and part in node) and _TYPE_TAG.match(part):
                continue
            parts.append(str(part))
            node = (
                node.get(part)
                if isinstance(node, Mapping)
                else (node[part] if isinstance(node, list) and isinstance(part, int) and part < len(node) else None)
            )
        key = ".".join(parts)
        message = {"extra_forbidden": "unknown key", "missing": "is required"}.get(
            e["type"], e["msg"].removeprefix("Value error, ")
        )
        where = f"{prefix}.{key}" if key else prefix
        out[where] = f"{out[where]}; or: {message}" if where in out and message not in out[where] else message
    return [f"{k}: {v}" for k, v in out.items()]


def parse_plan_sections(
    *,
    assessment: Mapping[str, Any] | None,
    planning: Mapping[str, Any] | None,
    scenarios: list[Any] | None,
    base_dir: Path,
) -> tuple[AssessmentSettings, PlanningSettings, tuple[ScenarioSpec, ...]]:
    """Validate ``[assessment]``, ``[planning]`` and ``[[scenarios]]`` (plus a scenarios file).

    Raises
    ------
    flaechen.errors.ConfigError
        With every problem of the three sections at once.
    """
    problems: list[str] = []
    a = AssessmentSettings()
    try:
        a = AssessmentSettings.model_validate(dict(assessment or {}))
    except ValidationError as exc:
        problems += _problems(exc, "assessment", assessment)
    p = PlanningSettings()
    try:
        p = PlanningSettings.model_validate(dict(planning or {}))
    except ValidationError as exc:
        problems += _problems(exc, "planning", planning)
    base_year = (planning or {}).get("base_year", p.base_year)
    base_year = base_year if isinstance(base_year, int) and not isinstance(base_year, bool) else p.base_year
    if p.target_year >= p.net_zero_year:
        problems.append("planning.net_zero_year: must come after planning.target_year")
    entries: list[tuple[str, Any]] = [(f"scenarios[{i}]", s) for i, s in enumerate(scenarios or [])]
    scenario_file = (planning or {}).get("scenarios")
    if isinstance(scenario_file, str) and scenario_file:
        path = (base_dir / scenario_file).resolve()
        if not path.is_file():
            problems.append(
                f"planning.scenarios: file {path} does not exist; check the path (relative to the configuration)"
            )
        else:
            try:
                text = path.read_text(encoding="utf-8")
                raw = yaml.safe_load(text) if path.suffix.lower() in (".yaml", ".yml") else tomllib.loads(text)
            except (tomllib.TOMLDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
                problems.append(f"{path}: cannot be parsed: {exc}")
                raw = {}
            listed = raw.get("scenarios") if isinstance(raw, Mapping) else None
            if not isinstance(listed, list):
                problems.append(f"{path}: expected a list 'scenarios' ([[scenarios]] tables)")
            else:
                entries += [(f"{path.name}: scenarios[{i}]", s) for i, s in enumerate(listed)]
    specs: list[ScenarioSpec] = []
    seen: set[str] = set()
    for key, entry in entries:
        label = entry.get("id") if isinstance(entry, Mapping) else None
        where = f"{key.rsplit('[', 1)[0]}[{label}]" if label else key
        if isinstance(entry, Mapping):
            # checks across keys, on the raw entry, so they are reported with every other problem
            if isinstance(label, str):
                if label in seen:
                    problems.append(f"{where}.id: scenario id {label!r} is used twice")
                seen.add(label)
            horizon = entry.get("horizon")
            if isinstance(horizon, int) and not isinstance(horizon, bool) and horizon <= base_year:
                problems.append(f"{where}.horizon: {horizon} must lie after planning.base_year ({base_year})")
            low, high = entry.get("min_area_m2", 0), entry.get("max_area_m2")
            if isinstance(low, int | float) and isinstance(high, int | float) and high <= low:
                problems.append(f"{where}.max_area_m2: must be larger than min_area_m2")
        try:
            specs.append(ScenarioSpec.model_validate(entry))
        except ValidationError as exc:
            problems += _problems(exc, where, entry)
    if problems:
        raise ConfigError(problems)
    return a, p, tuple(specs)
