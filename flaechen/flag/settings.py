"""The ``[flag]`` table of the district configuration: its keys, their defaults, their validation.

The models here are part of the one configuration model (:mod:`flaechen.config`): a typo anywhere in
``[flag]`` is reported with every other problem of the configuration before any source is read.

.. code-block:: toml

    [flag]
    rules = "my_rules.yaml"          # optional: overrides of layers/rules.yaml (path relative to the config)
    # or inline: [flag.rules] with nested sections, e.g. bauluecke = { min_area_m2 = 300 }

    [[flag.constraints]]
    name = "hochwasser"              # unique name, used in reasons and field names
    label = "Überschwemmungsgebiet"  # German label shown to planners (default: name)
    kind = "vector"                  # "vector" or "raster"
    path = "constraints/hq100.gpkg"  # relative to the config file
    layer = "hq100"                  # vector only, optional (default: the only layer)
    where = "klasse = 'HQ100'"       # vector only, optional attribute filter (OGR SQL)
    effect = "exclude"               # "exclude" (drop the candidate) or "lower" (keep it, lowered)
    min_share = 0.1                  # vector only: affected above this share of the parcel (default 0)
    extent = "bounds"                # vector only: "bounds" (no data outside the layer's bounding box,
                                     # default) or "district" (the layer covers the whole district)

    [[flag.constraints]]
    name = "hangneigung"
    label = "Hangneigung"
    kind = "raster"
    path = "dgm1.tif"
    band = 1                         # default 1
    derive = "slope_percent"         # optional: "slope_percent" or "slope_degrees" from a terrain model
    statistic = "mean"               # "mean" (default), "min" or "max" over the parcel's pixels
    above = 15.0                     # affected where the statistic is above this value (or: below = …)
    unit = "%"                       # unit shown in reasons (default: % for slope_percent, ° for degrees)
    min_valid_share = 0.5            # below this share of the parcel with valid pixels: "keine Daten"
    effect = "lower"

Examples
--------
>>> from pathlib import Path
>>> parse_flag_section({"constraints": [{"name": "x", "kind": "vector"}]}, base_dir=Path("."))
Traceback (most recent call last):
...
flaechen.errors.ConfigError: 2 problem(s) in the configuration:
  - flag.constraints[x].path: is required; fix: add 'path'
  - flag.constraints[x].effect: is required; fix: add 'effect'
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Discriminator, Field, Tag, ValidationInfo, field_validator, model_validator

from flaechen.errors import ConfigError, Problem
from flaechen.validation import Settings, ValidationError, invalid, problems_from

EFFECTS = ("exclude", "lower")
KINDS = ("vector", "raster")
DERIVE = ("slope_percent", "slope_degrees")
STATISTICS = ("mean", "min", "max")
EXTENTS = ("bounds", "district")

Share = Annotated[float, Field(ge=0, le=1)]
Text = Annotated[str, Field(min_length=1)]


def resolve_path(value: str, info: ValidationInfo, *, what: str) -> Path:
    """Resolve `value` against the configuration's folder (``context["base_dir"]``); it must exist."""
    base = Path((info.context or {}).get("base_dir") or ".")
    path = (base / value).resolve()
    if not path.exists():
        raise invalid(f"{what} {path} does not exist", "check the path (relative to the configuration file)")
    return path


class _Constraint(Settings):
    name: Text
    label: Text | None = None
    path: Path
    effect: Literal["exclude", "lower"]

    @field_validator("path", mode="before")
    @classmethod
    def _path(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, Path):
            return value
        if not isinstance(value, str) or not value:
            raise invalid(f"must be a file name, not {value!r}", 'write the path in quotes, e.g. "hq100.gpkg"')
        return resolve_path(value, info, what="file")

    @model_validator(mode="after")
    def _default_label(self) -> Any:
        if self.label is None:
            object.__setattr__(self, "label", self.name)
        return self


class VectorConstraintSpec(_Constraint):
    """A ``[[flag.constraints]]`` entry of ``kind = "vector"``: polygons (protected areas, flood zones …)."""

    tag: ClassVar[str] = "vector"
    kind: Literal["vector"] = "vector"
    layer: Text | None = None
    where: Text | None = None
    min_share: Share = 0.0
    extent: Literal["bounds", "district"] = "bounds"


class RasterConstraintSpec(_Constraint):
    """A ``[[flag.constraints]]`` entry of ``kind = "raster"``: a value per pixel (terrain, noise …)."""

    tag: ClassVar[str] = "raster"
    kind: Literal["raster"] = "raster"
    band: Annotated[int, Field(ge=1)] = 1
    derive: Literal["slope_percent", "slope_degrees"] | None = None
    statistic: Literal["mean", "min", "max"] = "mean"
    above: float | None = None
    below: float | None = Field(None, validate_default=True)
    unit: str | None = None
    min_valid_share: Share = 0.5

    @field_validator("below")
    @classmethod
    def _threshold(cls, value: float | None, info: ValidationInfo) -> float | None:
        if (info.data.get("above") is None) == (value is None):
            raise invalid("give exactly one of 'above' or 'below' (the threshold)", "e.g. above = 15.0")
        return value

    @model_validator(mode="after")
    def _unit(self) -> Any:
        if self.unit is None:
            object.__setattr__(self, "unit", {"slope_percent": "%", "slope_degrees": "°"}.get(self.derive or "", ""))
        return self


def _kind(value: Any) -> str | None:
    kind = value.get("kind") if isinstance(value, Mapping) else getattr(value, "kind", None)
    return kind if isinstance(kind, str) else None


ConstraintSpec = Annotated[
    Annotated[VectorConstraintSpec, Tag("vector")] | Annotated[RasterConstraintSpec, Tag("raster")],
    Discriminator(
        _kind,
        custom_error_type="flaechen",
        custom_error_message="{message}",
        custom_error_context={
            "message": '\'kind\' must be "vector" or "raster"',
            "fix": 'set kind = "vector" or "raster"',
        },
    ),
]
"""One validated ``[[flag.constraints]]`` entry (the data itself is read by `load_constraints`)."""


class FlagSettings(Settings):
    """The validated ``[flag]`` table.

    Attributes
    ----------
    rules
        A rules file (resolved path) or an inline table of overrides of ``layers/rules.yaml``; None for
        the defaults. Its contents are checked by :func:`flaechen.flag.rules.rules_problems`.
    constraints
        The constraint layers, in the order configured.
    """

    rules: Path | dict[str, Any] | None = None
    constraints: tuple[ConstraintSpec, ...] = ()

    @field_validator("rules", mode="before")
    @classmethod
    def _rules(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            return resolve_path(value, info, what="rules file")
        if value is not None and not isinstance(value, Mapping | Path):
            raise invalid(f"must be a file name or a table, not {value!r}", 'e.g. rules = "my_rules.yaml"')
        return dict(value) if isinstance(value, Mapping) else value

    @field_validator("constraints", mode="before")
    @classmethod
    def _list(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    @field_validator("constraints")
    @classmethod
    def _unique(cls, value: tuple[Any, ...]) -> tuple[Any, ...]:
        names = [c.name for c in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise invalid(f"the name {', '.join(map(repr, twice))} is used twice", "give each constraint its own name")
        return value


def rules_section_problems(rules: Any, *, base_dir: Path, file: str | None = None) -> list[Problem]:
    """The problems inside the rules overrides a raw ``[flag] rules`` names (a file) or holds (a table)."""
    from flaechen.flag.rules import rules_problems

    if isinstance(rules, str | Path) and (base_dir / rules).is_file():
        return rules_problems((base_dir / rules).resolve())
    if isinstance(rules, Mapping):
        return rules_problems(rules, file=file, prefix="flag.rules")
    return []  # a missing file or a wrong type is reported by FlagSettings


def flag_problems(section: Any, *, base_dir: Path, file: str | None = None) -> list[Problem]:
    """Every problem of a raw ``[flag]`` table, those inside its rules overrides included."""
    problems: list[Problem] = []
    try:
        FlagSettings.model_validate(section or {}, context={"base_dir": base_dir})
    except ValidationError as exc:
        problems += problems_from(exc, raw=section, model=FlagSettings, file=file, prefix="flag")
    rules = section.get("rules") if isinstance(section, Mapping) else None
    return problems + rules_section_problems(rules, base_dir=base_dir, file=file)


def parse_flag_section(section: FlagSettings | Mapping[str, Any] | None, *, base_dir: Path) -> FlagSettings:
    """Validate the ``[flag]`` table of a district configuration (already typed: returned as it is).

    Parameters
    ----------
    section
        The table: typed (``DistrictConfig.flag``) or raw; None or empty means defaults and no constraints.
    base_dir
        Folder relative paths are resolved against (the configuration file's folder).

    Raises
    ------
    flaechen.errors.ConfigError
        With every problem found: unknown keys, missing or invalid values, missing files, duplicate names.
    """
    if isinstance(section, FlagSettings):
        return section
    problems = flag_problems(section, base_dir=Path(base_dir))
    if problems:
        raise ConfigError(problems)
    return FlagSettings.model_validate(section or {}, context={"base_dir": Path(base_dir)})
