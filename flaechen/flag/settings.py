"""The `[flag]` table of the district configuration: its keys, their defaults, and its validation.

The district configuration (TOML) keeps a raw ``[flag]`` table for the flagging step; this module defines
and validates it, collecting every problem and raising once (:class:`flaechen.errors.ConfigError`).

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
  - [[flag.constraints]] 'x': 'path' is required
  - [[flag.constraints]] 'x': 'effect' is required ("exclude" or "lower")
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flaechen.errors import ConfigError

EFFECTS = ("exclude", "lower")
KINDS = ("vector", "raster")
DERIVE = ("slope_percent", "slope_degrees")
STATISTICS = ("mean", "min", "max")
EXTENTS = ("bounds", "district")

_COMMON = {"name", "label", "kind", "path", "effect"}
_VECTOR = _COMMON | {"layer", "where", "min_share", "extent"}
_RASTER = _COMMON | {"band", "derive", "statistic", "above", "below", "unit", "min_valid_share"}


@dataclass(frozen=True)
class ConstraintSpec:
    """One validated ``[[flag.constraints]]`` entry (the data itself is read by `load_constraints`)."""

    name: str
    kind: str
    path: Path
    effect: str
    label: str
    layer: str | None = None
    where: str | None = None
    min_share: float = 0.0
    extent: str = "bounds"
    band: int = 1
    derive: str | None = None
    statistic: str = "mean"
    above: float | None = None
    below: float | None = None
    unit: str = ""
    min_valid_share: float = 0.5


@dataclass(frozen=True)
class FlagSettings:
    """The validated ``[flag]`` table."""

    rules: Path | Mapping[str, Any] | None = None
    constraints: tuple[ConstraintSpec, ...] = field(default_factory=tuple)


def _number(entry: Mapping, key: str, where: str, problems: list[str], *, lo=None, hi=None):
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"{where}: {key!r} must be a number, got {value!r}")
        return None
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        problems.append(f"{where}: {key!r} = {value!r} is outside {lo} … {hi}")
        return None
    return float(value)


def _choice(entry: Mapping, key: str, choices: tuple[str, ...], where: str, problems: list[str]):
    value = entry.get(key)
    if value is not None and value not in choices:
        problems.append(f"{where}: {key!r} = {value!r} is not one of {', '.join(map(repr, choices))}")
        return None
    return value


def parse_flag_section(section: Mapping[str, Any] | None, *, base_dir: Path) -> FlagSettings:
    """Validate the ``[flag]`` table of a district configuration.

    Parameters
    ----------
    section
        The raw table (``config.flag``); None or empty means defaults and no constraints.
    base_dir
        Folder relative paths are resolved against (the configuration file's folder).

    Raises
    ------
    flaechen.errors.ConfigError
        With every problem found: unknown keys, missing or invalid values, missing files, duplicate names.
    """
    section = dict(section or {})
    problems: list[str] = []
    for key in sorted(set(section) - {"rules", "constraints"}):
        problems.append(f"[flag]: unknown key {key!r} (known: rules, constraints)")

    rules: Path | Mapping[str, Any] | None = None
    raw_rules = section.get("rules")
    if isinstance(raw_rules, str):
        rules = (base_dir / raw_rules).resolve()
        if not rules.is_file():
            problems.append(f"[flag] rules: file {rules} does not exist")
    elif isinstance(raw_rules, Mapping):
        rules = raw_rules
    elif raw_rules is not None:
        problems.append(f"[flag] rules: expected a file name or a table, got {raw_rules!r}")

    specs: list[ConstraintSpec] = []
    raw_constraints = section.get("constraints", [])
    if not isinstance(raw_constraints, list):
        problems.append("[flag] constraints: expected a list of tables ([[flag.constraints]])")
        raw_constraints = []
    seen: set[str] = set()
    for i, entry in enumerate(raw_constraints):
        if not isinstance(entry, Mapping):
            problems.append(f"[[flag.constraints]] #{i + 1}: expected a table, got {entry!r}")
            continue
        name = entry.get("name")
        where = f"[[flag.constraints]] {name!r}" if name else f"[[flag.constraints]] #{i + 1}"
        before = len(problems)
        if not isinstance(name, str) or not name.strip():
            problems.append(f"{where}: 'name' is required (a short unique text)")
        elif name in seen:
            problems.append(f"{where}: the name is used twice")
        else:
            seen.add(name)
        kind = entry.get("kind")
        if kind not in KINDS:
            problems.append(f'{where}: \'kind\' must be "vector" or "raster", got {kind!r}')
        path = entry.get("path")
        resolved: Path | None = None
        if not isinstance(path, str) or not path:
            problems.append(f"{where}: 'path' is required")
        else:
            resolved = (base_dir / path).resolve()
            if not resolved.exists():
                problems.append(f"{where}: file {resolved} does not exist")
        effect = entry.get("effect")
        if effect is None:
            problems.append(f'{where}: \'effect\' is required ("exclude" or "lower")')
        else:
            _choice(entry, "effect", EFFECTS, where, problems)
        allowed = _VECTOR if kind == "vector" else _RASTER if kind == "raster" else _VECTOR | _RASTER
        for key in sorted(set(entry) - allowed):
            problems.append(f"{where}: unknown key {key!r} for kind {kind!r}")
        label = entry.get("label", name)
        if label is not None and not isinstance(label, str):
            problems.append(f"{where}: 'label' must be a text")
        for key in ("layer", "where", "unit"):
            if key in entry and not isinstance(entry[key], str):
                problems.append(f"{where}: {key!r} must be a text")
        min_share = _number(entry, "min_share", where, problems, lo=0, hi=1)
        min_valid = _number(entry, "min_valid_share", where, problems, lo=0, hi=1)
        above = _number(entry, "above", where, problems)
        below = _number(entry, "below", where, problems)
        band = entry.get("band", 1)
        if isinstance(band, bool) or not isinstance(band, int) or band < 1:
            problems.append(f"{where}: 'band' must be a whole number from 1, got {band!r}")
        derive = _choice(entry, "derive", DERIVE, where, problems)
        statistic = _choice(entry, "statistic", STATISTICS, where, problems)
        extent = _choice(entry, "extent", EXTENTS, where, problems)
        if kind == "raster" and (above is None) == (below is None):
            problems.append(f"{where}: give exactly one of 'above' or 'below' (the threshold)")
        if len(problems) > before:
            continue
        default_unit = {"slope_percent": "%", "slope_degrees": "°"}.get(derive or "", "")
        specs.append(
            ConstraintSpec(
                name=name,
                kind=kind,
                path=resolved,  # type: ignore[arg-type]
                effect=effect,
                label=label or name,
                layer=entry.get("layer"),
                where=entry.get("where"),
                min_share=min_share or 0.0,
                extent=extent or "bounds",
                band=band,
                derive=derive,
                statistic=statistic or "mean",
                above=above,
                below=below,
                unit=entry.get("unit", default_unit),
                min_valid_share=0.5 if min_valid is None else min_valid,
            )
        )
    if problems:
        raise ConfigError(problems)
    return FlagSettings(rules=rules, constraints=tuple(specs))
