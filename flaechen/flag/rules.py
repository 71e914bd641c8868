"""The rules of the flagging step: loading `layers/rules.yaml`, applying a district's overrides, validating.

Every threshold the flagging step uses is a parameter of the rules file, with its value, type, unit,
source and description. A district overrides parameters key by key; the effective rules of a run are
written into its output (:meth:`Rules.table`).

Examples
--------
>>> from flaechen.flag import load_rules
>>> rules = load_rules({"bauluecke": {"min_area_m2": 300}})
>>> rules["bauluecke.min_area_m2"]
300
>>> rules.origin("bauluecke.min_area_m2")
'override'
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from flaechen.errors import ConfigError
from flaechen.layers import layers_dir

log = logging.getLogger(__name__)

_TYPES = ("number", "integer", "list", "mapping", "string")


@dataclass(frozen=True)
class Parameter:
    """One rule parameter with its documentation.

    Attributes
    ----------
    key
        Dotted key, e.g. ``"bauluecke.min_area_m2"``.
    value
        The effective value.
    type
        One of ``number``, ``integer``, ``list``, ``mapping``, ``string``.
    origin
        ``"default"`` (from ``layers/rules.yaml``) or ``"override"`` (from the district's rules).
    """

    key: str
    value: Any
    type: str
    source: str = ""
    description: str = ""
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    nullable: bool = False
    origin: str = "default"
    origin_path: str | None = None


@dataclass(frozen=True)
class Rules:
    """The effective rules of a flagging run: a read-only mapping from dotted keys to values.

    Build it with :func:`load_rules`. ``rules[key]`` returns the value, ``rules.parameter(key)`` the
    documented :class:`Parameter`.
    """

    parameters: Mapping[str, Parameter] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.parameter(key).value

    def __contains__(self, key: object) -> bool:
        return key in self.parameters

    def __iter__(self) -> Iterator[str]:
        return iter(self.parameters)

    def parameter(self, key: str) -> Parameter:
        """Return the documented parameter `key` (raises `KeyError` naming the known sections)."""
        try:
            return self.parameters[key]
        except KeyError:
            sections = sorted({k.split(".")[0] for k in self.parameters})
            raise KeyError(f"no rule {key!r}; sections: {', '.join(sections)}") from None

    def origin(self, key: str) -> str:
        """Return where the value of `key` comes from: ``"default"`` or ``"override"``."""
        return self.parameter(key).origin

    def table(self) -> pd.DataFrame:
        """The effective rules as a table (one row per parameter, values as JSON), written into the output.

        Examples
        --------
        >>> load_rules().table().columns.tolist()[:3]
        ['key', 'value', 'unit']
        """
        rows = [
            {
                "key": p.key,
                "value": json.dumps(p.value, ensure_ascii=False),
                "unit": p.unit,
                "origin": p.origin,
                "origin_path": p.origin_path,
                "source": p.source,
                "description": p.description,
            }
            for p in self.parameters.values()
        ]
        frame = pd.DataFrame(rows, columns=list(rows[0]) if rows else None)
        return frame.astype("string")

    def to_dict(self) -> dict[str, Any]:
        """The effective values as a flat JSON-able dict ``{dotted key: value}``."""
        return {k: p.value for k, p in self.parameters.items()}


def default_rules_path() -> Path:
    """The bundled default rules file (``layers/rules.yaml``)."""
    return layers_dir() / "rules.yaml"


def _flatten(raw: Mapping[str, Any], prefix: str, out: dict[str, Any], defaults: Mapping) -> None:
    """Flatten nested overrides to dotted keys, stopping at known parameters."""
    for k, v in raw.items():
        key = f"{prefix}{k}"
        if key in defaults or not isinstance(v, Mapping) or "value" in v:
            out[key] = v
        else:
            _flatten(v, f"{key}.", out, defaults)


def _check_value(p: Parameter, value: Any) -> list[str]:
    where = f"rule {p.key!r}"
    if value is None:
        return [] if p.nullable else [f"{where}: must not be empty (null)"]
    if p.type in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return [f"{where}: expected a number, got {value!r}"]
        if p.type == "integer" and not float(value).is_integer():
            return [f"{where}: expected a whole number, got {value!r}"]
        problems = []
        if p.min is not None and value < p.min:
            problems.append(f"{where}: {value!r} is below the minimum {p.min}")
        if p.max is not None and value > p.max:
            problems.append(f"{where}: {value!r} is above the maximum {p.max}")
        return problems
    if p.type == "list" and not isinstance(value, list):
        return [f"{where}: expected a list, got {value!r}"]
    if p.type == "mapping" and not isinstance(value, Mapping):
        return [f"{where}: expected a mapping, got {value!r}"]
    if p.type == "string" and not isinstance(value, str):
        return [f"{where}: expected a text, got {value!r}"]
    return []


def _parse_defaults(raw: Mapping[str, Any], path: Path) -> dict[str, Parameter]:
    problems: list[str] = []
    params: dict[str, Parameter] = {}
    sections = raw.get("parameters")
    if not isinstance(sections, Mapping):
        raise ConfigError(["the file has no 'parameters' mapping"], path=str(path))
    for section, entries in sections.items():
        for name, spec in (entries or {}).items():
            key = f"{section}.{name}"
            if not isinstance(spec, Mapping) or "value" not in spec or "type" not in spec:
                problems.append(f"rule {key!r}: needs at least 'value' and 'type'")
                continue
            if spec["type"] not in _TYPES:
                problems.append(f"rule {key!r}: type {spec['type']!r} is not one of {', '.join(_TYPES)}")
                continue
            p = Parameter(
                key=key,
                value=spec["value"],
                type=spec["type"],
                source=str(spec.get("source", "")),
                description=str(spec.get("description", "")),
                unit=spec.get("unit"),
                min=spec.get("min"),
                max=spec.get("max"),
                nullable=bool(spec.get("nullable", False)),
                origin_path=str(path),
            )
            problems += _check_value(p, p.value)
            params[key] = p
    if problems:
        raise ConfigError(problems, path=str(path))
    return params


def load_rules(
    override: str | Path | Mapping[str, Any] | None = None,
    *,
    defaults: str | Path | None = None,
) -> Rules:
    """Load the default rules and apply a district's overrides, key by key.

    Parameters
    ----------
    override
        A YAML rules file of the district, or a mapping of overrides (nested sections or dotted keys;
        each value bare or as ``{value: ..., source: ...}``). Mapping-valued parameters (e.g.
        ``zoning.grz_baunvo``) are merged entry by entry.
    defaults
        The default rules file; ``layers/rules.yaml`` when omitted.

    Returns
    -------
    Rules
        The effective rules.

    Raises
    ------
    flaechen.errors.ConfigError
        Listing every unknown key and every value of the wrong type or out of bounds, at once.

    Examples
    --------
    >>> rules = load_rules({"zoning.grz_baunvo": {"WA": 0.3}})
    >>> rules["zoning.grz_baunvo"]["WA"], rules["zoning.grz_baunvo"]["MI"]
    (0.3, 0.6)
    """
    default_path = Path(defaults) if defaults else default_rules_path()
    with default_path.open(encoding="utf-8") as fh:
        params = _parse_defaults(yaml.safe_load(fh) or {}, default_path)
    if override is None:
        return Rules(parameters=params)

    origin_path: str | None = None
    if isinstance(override, str | Path):
        path = Path(override)
        origin_path = str(path)
        if not path.is_file():
            raise ConfigError([f"rules file {path} does not exist"], path=str(path))
        with path.open(encoding="utf-8") as fh:
            raw = yaml.safe_load(fh) or {}
        if not isinstance(raw, Mapping):
            raise ConfigError(["a rules file must hold a mapping of sections"], path=str(path))
        raw = raw.get("parameters", raw)
        raw = {k: v for k, v in raw.items() if k not in ("name", "version")}
    else:
        raw = override

    flat: dict[str, Any] = {}
    _flatten(raw, "", flat, params)
    problems: list[str] = []
    for key, spec in flat.items():
        if key not in params:
            section = key.split(".")[0]
            known = sorted(k for k in params if k.startswith(f"{section}.")) or sorted(
                {k.split(".")[0] for k in params}
            )
            problems.append(f"unknown rule {key!r}; known here: {', '.join(known)}")
            continue
        p = params[key]
        if isinstance(spec, Mapping) and "value" in spec:
            value = spec["value"]
            source = str(spec.get("source", p.source))
        else:
            value, source = spec, p.source
        if p.type == "mapping" and isinstance(value, Mapping) and isinstance(p.value, Mapping):
            value = {**p.value, **value}
        if p.type in ("number", "integer") and isinstance(value, float) and float(value).is_integer():
            value = value if p.type == "number" else int(value)
        new_problems = _check_value(p, value)
        if new_problems:
            problems += new_problems
            continue
        params[key] = replace(p, value=value, source=source, origin="override", origin_path=origin_path)
    if problems:
        raise ConfigError(problems, path=origin_path)
    n = sum(p.origin == "override" for p in params.values())
    log.info("rules: %d parameters, %d overridden", len(params), n)
    return Rules(parameters=params)
