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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, Field, create_model

from flaechen.errors import ConfigError, Problem
from flaechen.layers import layers_dir
from flaechen.validation import Settings, ValidationError, problems_from, validate

log = logging.getLogger(__name__)


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


def _flatten(raw: Mapping[str, Any], prefix: str, out: dict[str, Any], defaults: Mapping[str, Any]) -> None:
    """Flatten nested overrides to dotted keys, stopping at known parameters."""
    for k, v in raw.items():
        key = f"{prefix}{k}"
        if key in defaults or not isinstance(v, Mapping) or "value" in v:
            out[key] = v
        else:
            _flatten(v, f"{key}.", out, defaults)


class _Spec(Settings):
    """One parameter of the rules file (``layers/rules.yaml``)."""

    value: Any
    type: Literal["number", "integer", "list", "mapping", "string"]
    source: str = ""
    description: str = ""
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    nullable: bool = False


class _RulesFile(Settings):
    """The default rules file: sections of documented parameters."""

    name: str | None = None
    version: int | None = None
    parameters: dict[str, dict[str, _Spec]]


def _value_type(p: Parameter) -> Any:
    kind: Any
    if p.type == "number":
        kind = Annotated[float, Field(ge=p.min, le=p.max, allow_inf_nan=False)]
    elif p.type == "integer":
        kind = Annotated[int, Field(ge=p.min, le=p.max)]
    elif p.type == "list":
        kind = list[Any]
    elif p.type == "mapping":
        kind = dict[str, Any]
    else:
        kind = str
    return kind | None if p.nullable else kind


def _overrides_model(params: Mapping[str, Parameter]) -> type[BaseModel]:
    """A model of the overrides a district may give: one optional, typed and bounded field per parameter."""
    sections: dict[str, dict[str, Any]] = {}
    for key, p in params.items():
        section, name = key.split(".", 1)
        sections.setdefault(section, {})[name] = (_value_type(p), None)
    models: dict[str, Any] = {
        section: (create_model(f"rules_{section}", __base__=Settings, **fields) | None, None)
        for section, fields in sections.items()
    }
    return create_model("RulesOverrides", __base__=Settings, **models)


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        section, _, name = key.partition(".")
        if name:
            target = nested.setdefault(section, {})
            if isinstance(target, dict):
                target[name] = value
        else:
            nested[section] = value
    return nested


def _split(p: Parameter | None, spec: Any) -> tuple[Any, str | None]:
    """An override's value and its source (``{value: …, source: …}`` or a bare value)."""
    if isinstance(spec, Mapping) and "value" in spec:
        value, source = spec["value"], (str(spec["source"]) if "source" in spec else None)
    else:
        value, source = spec, None
    if p is not None and p.type == "integer" and isinstance(value, float) and value.is_integer():
        value = int(value)
    return value, source


def _parse_defaults(raw: Any, path: Path) -> dict[str, Parameter]:
    data = validate(_RulesFile, raw, file=str(path))
    params: dict[str, Parameter] = {}
    for section, entries in data.parameters.items():
        for name, spec in entries.items():
            params[f"{section}.{name}"] = Parameter(
                key=f"{section}.{name}",
                value=spec.value,
                type=spec.type,
                source=spec.source,
                description=spec.description,
                unit=spec.unit,
                min=spec.min,
                max=spec.max,
                nullable=spec.nullable,
                origin_path=str(path),
            )
    # every default value obeys its own type and bounds
    validate(
        _overrides_model(params), _nest({k: p.value for k, p in params.items()}), file=str(path), prefix="parameters"
    )
    return params


def _read_overrides(path: Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The overrides of a district's rules file, or the problems reading it."""
    if not path.is_file():
        return None, [
            Problem(str(path), "", "the rules file does not exist", "check [flag] rules in the configuration")
        ]
    try:
        with path.open(encoding="utf-8") as fh:
            raw = yaml.safe_load(fh) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return None, [Problem(str(path), "", f"cannot be parsed: {exc}", "fix the YAML syntax at the place named")]
    if not isinstance(raw, Mapping):
        return None, [Problem(str(path), "", "a rules file must hold a mapping of sections", "see layers/rules.yaml")]
    raw = raw.get("parameters", raw)
    return {k: v for k, v in raw.items() if k not in ("name", "version")}, []


def _check_overrides(
    params: Mapping[str, Parameter], raw: Mapping[str, Any], *, file: str | None, prefix: str
) -> tuple[dict[str, tuple[Any, str | None]], list[Problem]]:
    flat: dict[str, Any] = {}
    _flatten(raw, "", flat, params)
    split = {key: _split(params.get(key), spec) for key, spec in flat.items()}
    nested = _nest({key: value for key, (value, _) in split.items()})
    try:
        _overrides_model(params).model_validate(nested)
    except ValidationError as exc:
        return split, problems_from(exc, raw=nested, model=_overrides_model(params), file=file, prefix=prefix)
    return split, []


def rules_problems(
    override: str | Path | Mapping[str, Any] | None,
    *,
    defaults: str | Path | None = None,
    file: str | None = None,
    prefix: str = "",
) -> list[Problem]:
    """Every problem of a district's rules overrides (a rules file or an inline table), without raising.

    Parameters
    ----------
    override
        As for :func:`load_rules`.
    file, prefix
        Where an inline table stands: the configuration file and its key (``flag.rules``).

    Examples
    --------
    >>> [str(p) for p in rules_problems({"bauluecke": {"min_area_m2": -1}}, prefix="flag.rules")]
    ['flag.rules.bauluecke.min_area_m2: -1 is out of range; fix: use a value at least 0']
    """
    try:
        load_rules(override, defaults=defaults, file=file, prefix=prefix)
    except ConfigError as exc:
        return exc.details
    return []


def load_rules(
    override: str | Path | Mapping[str, Any] | None = None,
    *,
    defaults: str | Path | None = None,
    file: str | None = None,
    prefix: str = "",
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
    file, prefix
        For problem reports of an inline mapping: the file and key it stands at (e.g. ``flag.rules``).

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
    params = _default_parameters(str(Path(defaults) if defaults else default_rules_path()))
    if override is None:
        return Rules(parameters=params)

    origin_path: str | None = None
    if isinstance(override, str | Path):
        path = Path(override)
        origin_path = file = str(path)
        prefix = ""
        raw, problems = _read_overrides(path)
        if raw is None:
            raise ConfigError(problems, path=origin_path)
    else:
        raw = dict(override)
    split, problems = _check_overrides(params, raw, file=file, prefix=prefix)
    if problems:
        raise ConfigError(problems, path=file)
    out = dict(params)
    for key, (value, source) in split.items():
        p = out[key]
        if p.type == "mapping" and isinstance(value, Mapping) and isinstance(p.value, Mapping):
            value = {**p.value, **value}
        out[key] = replace(
            p, value=value, source=p.source if source is None else source, origin="override", origin_path=origin_path
        )
    n = sum(p.origin == "override" for p in out.values())
    log.info("rules: %d parameters, %d overridden", len(out), n)
    return Rules(parameters=MappingProxyType(out))


@cache
def _default_parameters(path: str) -> Mapping[str, Parameter]:
    with open(path, encoding="utf-8") as fh:
        return MappingProxyType(_parse_defaults(yaml.safe_load(fh) or {}, Path(path)))
