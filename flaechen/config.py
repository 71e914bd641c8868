"""The district configuration: loaded once into typed, immutable objects.

Every problem is collected and reported at once, each with the file and the key it concerns
(see docs/configuration.md for the format). Narrower settings override broader ones:
``[defaults]`` < ``[defaults.<layer>]`` < ``[municipalities.defaults]`` <
``[municipalities.defaults.<layer>]`` < the source's own keys.

Examples
--------
>>> from flaechen.config import load_config
>>> config = load_config("data/demo/district.toml")  # doctest: +SKIP
>>> [m.ags for m in config.municipalities]  # doctest: +SKIP
['07999001', ...]
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from flaechen.errors import ConfigError
from flaechen.layers import CANONICAL_LAYERS, load_schema

GEOMETRY_POLICIES = ("raise", "fix", "drop")
SOURCE_LAYERS = tuple(name for name in CANONICAL_LAYERS if name != "municipalities")

_AGS = re.compile(r"^\d{8}$")
_SETTING_KEYS = {
    "crs",
    "encoding",
    "open_options",
    "fields",
    "values",
    "codes",
    "where",
    "geometry_policy",
    "outside_share",
    "arc_max_deviation",
}
_MERGED_TABLES = {"open_options", "fields", "values"}
_SOURCE_KEYS = {"id", "layer", "path", "source_layer", "source_layers", *_SETTING_KEYS}
_BOUNDARY_KEYS = {
    "path",
    "source_layer",
    "layer",
    "ags_field",
    "name_field",
    "crs",
    "encoding",
    "open_options",
    "where",
}
_DISTRICT_KEYS = {
    "name",
    "crs",
    "area_tolerance",
    "border_overlap",
    "outside_share",
    "outside_buffer",
    "grid_dirs",
}
_TOP_KEYS = {"district", "boundaries", "defaults", "municipalities", "flag", "publish", "export"}
_MUNICIPALITY_KEYS = {"ags", "name", "population", "boundary", "defaults", "sources"}


@dataclass(frozen=True)
class SourceConfig:
    """One delivery of one municipality for one canonical layer, with every setting resolved."""

    id: str
    layer: str
    path: Path
    ags: str
    source_layer: str | None = None
    source_layers: tuple[str, ...] = ()
    """Several layers of one file read as one source: names or patterns (``AX_*``); see read.expand_source."""
    expanded_from: str | None = None
    """The id of the declared source this one was expanded from (one of its ``source_layers``)."""
    own_fields: frozenset[str] = frozenset()
    """Canonical fields the source maps in its own ``fields`` (an error where the file lacks them; a mapping
    inherited from defaults that the file lacks leaves the field empty with a warning)."""
    crs: str | None = None
    encoding: str | None = None
    open_options: Mapping[str, str] = field(default_factory=dict)
    fields: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)
    codes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    where: str | None = None
    geometry_policy: str = "fix"
    outside_share: float | None = None
    """Overrides the district's ``outside_share`` for this source (e.g. a plan covering a Samtgemeinde)."""
    arc_max_deviation: float | None = None
    """Largest distance in metres between a circular arc and its polyline (None: 1 mm, flaechen.curves)."""
    key: str = ""
    """Where the source is declared in the configuration, e.g. ``municipalities[2].sources[0]``."""


@dataclass(frozen=True)
class BoundaryConfig:
    """Where municipality boundaries come from."""

    path: Path
    ags_field: str | None
    """None for a municipality's own boundary file: all its features (after ``where``) are the boundary."""
    name_field: str | None = None
    source_layer: str | None = None
    crs: str | None = None
    encoding: str | None = None
    open_options: Mapping[str, str] = field(default_factory=dict)
    where: str | None = None
    key: str = "boundaries"


@dataclass(frozen=True)
class MunicipalityConfig:
    """A municipality (Gemeinde) and its deliveries."""

    ags: str
    name: str
    population: int | None
    boundary: BoundaryConfig | None
    sources: tuple[SourceConfig, ...]


@dataclass(frozen=True)
class DistrictConfig:
    """A whole district configuration (Landkreis)."""

    path: Path
    name: str
    crs: str
    municipalities: tuple[MunicipalityConfig, ...]
    boundaries: BoundaryConfig | None = None
    area_tolerance: float = 0.005
    border_overlap: float = 0.95
    outside_share: float = 0.5
    outside_buffer: float = 50.0
    grid_dirs: tuple[Path, ...] = ()
    flag: Mapping[str, Any] = field(default_factory=dict)
    """The raw ``[flag]`` table, validated by :mod:`flaechen.flag`."""
    publish: Mapping[str, Any] = field(default_factory=dict)
    """The raw ``[publish]`` table, validated by :mod:`flaechen.publish`."""
    export: Mapping[str, Any] = field(default_factory=dict)
    """The raw ``[export]`` table, validated by :mod:`flaechen.export`."""

    @property
    def base_dir(self) -> Path:
        """The folder relative paths in the configuration are resolved against."""
        return self.path.parent

    @property
    def sources(self) -> tuple[SourceConfig, ...]:
        """Every source of every municipality, in declaration order."""
        return tuple(s for m in self.municipalities for s in m.sources)

    def municipality(self, ags: str) -> MunicipalityConfig:
        for m in self.municipalities:
            if m.ags == ags:
                return m
        raise KeyError(f"no municipality with AGS {ags!r} in {self.path}")


def _read_file(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text) if path.suffix.lower() in {".yaml", ".yml"} else tomllib.loads(text)
    if not isinstance(data, dict):
        raise ConfigError(["the file does not hold a table of settings"], path=str(path))
    return data


class _Collector:
    """Collects problems while walking the raw configuration."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.problems.append(f"{key}: {message}")

    def unknown_keys(self, key: str, table: Mapping[str, Any], allowed: set[str]) -> None:
        for k in table:
            if k not in allowed:
                hint = ", ".join(sorted(allowed))
                self.add(f"{key}.{k}" if key else k, f"unknown key; expected one of: {hint}")

    def table(self, key: str, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.add(key, f"must be a table, not {type(value).__name__}")
            return {}
        return dict(value)

    def number(self, key: str, value: Any, default: float, *, low: float, high: float) -> float:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(key, f"must be a number, not {value!r}")
            return default
        if not low <= value <= high:
            self.add(key, f"must lie between {low} and {high}, not {value}")
        return float(value)


def _check_crs(col: _Collector, key: str, value: Any) -> str | None:
    if value is None:
        return None
    from pyproj import CRS
    from pyproj.exceptions import CRSError as ProjCRSError

    from flaechen.crs import adv_crs

    # AdV names (urn:adv:crs:ETRS89_UTM32, DE_DHDN_3GK3 …) are stored as their EPSG code
    value = adv_crs(str(value)) or value
    try:
        CRS.from_user_input(value)
    except ProjCRSError:
        col.add(key, f"cannot resolve CRS {value!r}; give an EPSG code such as 'EPSG:25832'")
        return None
    return str(value)


def _layer_settings(col: _Collector, key: str, table: Mapping[str, Any]) -> tuple[dict, dict]:
    """Split a defaults table into general settings and per-layer settings."""
    general: dict[str, Any] = {}
    per_layer: dict[str, dict[str, Any]] = {}
    for k, v in table.items():
        if k in SOURCE_LAYERS:
            sub = col.table(f"{key}.{k}", v)
            col.unknown_keys(f"{key}.{k}", sub, _SETTING_KEYS)
            per_layer[k] = sub
        elif k in _SETTING_KEYS:
            general[k] = v
        else:
            allowed = ", ".join(sorted(_SETTING_KEYS | set(SOURCE_LAYERS)))
            col.add(f"{key}.{k}", f"unknown key; expected one of: {allowed}")
    return general, per_layer


def _merge(*layers: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for layer in layers:
        for k, v in layer.items():
            if k in _MERGED_TABLES and isinstance(v, Mapping):
                out[k] = {**out.get(k, {}), **v}
            elif k == "codes" and isinstance(v, Mapping):
                codes = {f: dict(m) for f, m in out.get("codes", {}).items()}
                for f, mapping in v.items():
                    codes[f] = {**codes.get(f, {}), **(mapping if isinstance(mapping, Mapping) else {})}
                out["codes"] = codes
            else:
                out[k] = v
    return out


def _boundary(
    col: _Collector, key: str, raw: Any, base: Path, *, need_ags_field: bool = True
) -> BoundaryConfig | None:
    table = col.table(key, raw)
    if not table:
        return None
    col.unknown_keys(key, table, _BOUNDARY_KEYS)
    for required in ("path", "ags_field") if need_ags_field else ("path",):
        if not table.get(required):
            col.add(f"{key}.{required}", "is required")
    if not table.get("path") or (need_ags_field and not table.get("ags_field")):
        return None
    return BoundaryConfig(
        path=(base / str(table["path"])).resolve(),
        ags_field=str(table["ags_field"]) if table.get("ags_field") else None,
        name_field=table.get("name_field"),
        source_layer=table.get("source_layer") or table.get("layer"),
        crs=_check_crs(col, f"{key}.crs", table.get("crs")),
        encoding=table.get("encoding"),
        open_options=MappingProxyType(
            {k: str(v) for k, v in col.table(f"{key}.open_options", table.get("open_options")).items()}
        ),
        where=table.get("where"),
        key=key,
    )


def _source(
    col: _Collector,
    key: str,
    raw: Mapping[str, Any],
    *,
    ags: str,
    base: Path,
    inherited: tuple[Mapping[str, Any], ...],
    per_layer: tuple[Mapping[str, Mapping[str, Any]], ...],
) -> SourceConfig | None:
    col.unknown_keys(key, raw, _SOURCE_KEYS)
    layer = raw.get("layer")
    schema = load_schema()
    if layer not in SOURCE_LAYERS:
        col.add(f"{key}.layer", f"must be one of {', '.join(SOURCE_LAYERS)}, not {layer!r}")
        return None
    if not raw.get("path"):
        col.add(f"{key}.path", "is required")
        return None
    chain: list[Mapping[str, Any]] = []
    for general, layers in zip(inherited, per_layer, strict=True):
        chain += [general, layers.get(layer, {})]
    settings = _merge(*chain, {k: v for k, v in raw.items() if k in _SETTING_KEYS})

    canonical = set(schema.layer(layer).field_names)
    for table_name in ("fields", "values", "codes"):
        table = settings.get(table_name, {})
        if not isinstance(table, Mapping):
            col.add(f"{key}.{table_name}", "must be a table")
            continue
        for name in table:
            if name not in canonical:
                col.add(
                    f"{key}.{table_name}.{name}",
                    f"{name!r} is not a field of layer {layer!r}; fields: {', '.join(sorted(canonical))}",
                )
    policy = settings.get("geometry_policy", "fix")
    if policy not in GEOMETRY_POLICIES:
        col.add(f"{key}.geometry_policy", f"must be one of {', '.join(GEOMETRY_POLICIES)}, not {policy!r}")
    outside = settings.get("outside_share")
    if outside is not None:
        outside = col.number(f"{key}.outside_share", outside, 0.5, low=0, high=1)
    deviation = settings.get("arc_max_deviation")
    if deviation is not None:
        deviation = col.number(f"{key}.arc_max_deviation", deviation, 0.001, low=1e-6, high=10)
    codes = {
        f: MappingProxyType({str(k): v for k, v in m.items()})
        for f, m in settings.get("codes", {}).items()
        if isinstance(m, Mapping)
    }
    source_layers = raw.get("source_layers") or ()
    if isinstance(source_layers, str):
        source_layers = (source_layers,)
    if not isinstance(source_layers, list | tuple) or not all(isinstance(n, str) and n for n in source_layers):
        col.add(f"{key}.source_layers", 'must be a list of layer names or patterns, e.g. ["AX_*"]')
        source_layers = ()
    if source_layers and raw.get("source_layer"):
        col.add(f"{key}.source_layers", "give either source_layer (one layer) or source_layers (several), not both")
    return SourceConfig(
        id=str(raw.get("id") or f"{ags}-{layer}"),
        layer=layer,
        path=(base / str(raw["path"])).resolve(),
        ags=ags,
        source_layer=raw.get("source_layer"),
        source_layers=tuple(source_layers),
        own_fields=frozenset(raw["fields"]) if isinstance(raw.get("fields"), Mapping) else frozenset(),
        crs=_check_crs(col, f"{key}.crs", settings.get("crs")),
        encoding=settings.get("encoding"),
        open_options=MappingProxyType({k: str(v) for k, v in settings.get("open_options", {}).items()}),
        fields=MappingProxyType(dict(settings.get("fields", {}))),
        values=MappingProxyType(dict(settings.get("values", {}))),
        codes=MappingProxyType(codes),
        where=settings.get("where"),
        geometry_policy=policy,
        outside_share=outside,
        arc_max_deviation=deviation,
        key=key,
    )


def parse_config(raw: Mapping[str, Any], *, path: Path) -> DistrictConfig:
    """Validate a raw configuration mapping (as read from TOML/YAML) into a :class:`DistrictConfig`.

    Raises
    ------
    ConfigError
        With every problem found, each naming its key.
    """
    col = _Collector()
    base = path.parent
    col.unknown_keys("", raw, _TOP_KEYS)
    district = col.table("district", raw.get("district"))
    col.unknown_keys("district", district, _DISTRICT_KEYS)
    name = district.get("name")
    if not name:
        col.add("district.name", "is required: the district's name, e.g. 'Landkreis Beispielkreis'")
    crs = _check_crs(col, "district.crs", district.get("crs", "EPSG:25832")) or "EPSG:25832"
    if district.get("crs") is not None:
        from pyproj import CRS

        try:
            if not CRS.from_user_input(crs).is_projected:
                col.add("district.crs", "must be a projected CRS in metres (e.g. EPSG:25832), for areas")
        except Exception:  # already reported by _check_crs
            pass
    tolerance = col.number("district.area_tolerance", district.get("area_tolerance"), 0.005, low=0, high=1)
    overlap = col.number("district.border_overlap", district.get("border_overlap"), 0.95, low=0.5, high=1)
    outside = col.number("district.outside_share", district.get("outside_share"), 0.5, low=0, high=1)
    buffer = col.number("district.outside_buffer", district.get("outside_buffer"), 50.0, low=0, high=10_000)
    grid_dirs = tuple((base / str(d)).resolve() for d in district.get("grid_dirs", []) or [])

    boundaries = _boundary(col, "boundaries", raw.get("boundaries"), base)
    d_general, d_layers = _layer_settings(col, "defaults", col.table("defaults", raw.get("defaults")))

    municipalities: list[MunicipalityConfig] = []
    raw_munis = raw.get("municipalities") or []
    if not isinstance(raw_munis, list) or not raw_munis:
        col.add("municipalities", "at least one [[municipalities]] entry is required")
        raw_munis = []
    seen_ags: set[str] = set()
    seen_ids: dict[str, str] = {}
    for i, m in enumerate(raw_munis):
        mkey = f"municipalities[{i}]"
        m = col.table(mkey, m)
        col.unknown_keys(mkey, m, _MUNICIPALITY_KEYS)
        ags = m.get("ags")
        if isinstance(ags, int):
            col.add(f"{mkey}.ags", f'must be a quoted 8-character string (e.g. "{ags:08d}"), not a number')
            ags = f"{ags:08d}"
        elif not isinstance(ags, str) or not _AGS.match(ags):
            col.add(f"{mkey}.ags", f'must be 8 digits as a string, e.g. "07999001", not {ags!r}')
            ags = str(ags)
        if ags in seen_ags:
            col.add(f"{mkey}.ags", f"AGS {ags} is declared twice")
        seen_ags.add(ags)
        if not m.get("name"):
            col.add(f"{mkey}.name", "is required")
        population = m.get("population")
        if population is not None and (not isinstance(population, int) or population < 0):
            col.add(f"{mkey}.population", f"must be a whole number of inhabitants, not {population!r}")
            population = None
        boundary = _boundary(col, f"{mkey}.boundary", m.get("boundary"), base, need_ags_field=False)
        if boundary is None and boundaries is None:
            col.add(f"{mkey}.boundary", "no boundary: declare [boundaries] for the district or a boundary here")
        m_general, m_layers = _layer_settings(col, f"{mkey}.defaults", col.table(f"{mkey}.defaults", m.get("defaults")))
        sources = []
        raw_sources = m.get("sources") or []
        if not isinstance(raw_sources, list):
            col.add(f"{mkey}.sources", "must be a list of [[municipalities.sources]] tables")
            raw_sources = []
        for j, s in enumerate(raw_sources):
            skey = f"{mkey}.sources[{j}]"
            s = col.table(skey, s)
            src = _source(
                col,
                skey,
                s,
                ags=ags,
                base=base,
                inherited=(d_general, m_general),
                per_layer=(d_layers, m_layers),
            )
            if src is None:
                continue
            if src.id in seen_ids:
                col.add(f"{skey}.id", f"source id {src.id!r} is already used by {seen_ids[src.id]}")
            seen_ids[src.id] = skey
            sources.append(src)
        municipalities.append(
            MunicipalityConfig(
                ags=ags,
                name=str(m.get("name", "")),
                population=population,
                boundary=boundary,
                sources=tuple(sources),
            )
        )
    for section in ("flag", "publish", "export"):
        col.table(section, raw.get(section))
    if col.problems:
        raise ConfigError(col.problems, path=str(path))
    return DistrictConfig(
        path=path,
        name=str(name),
        crs=crs,
        municipalities=tuple(municipalities),
        boundaries=boundaries,
        area_tolerance=tolerance,
        border_overlap=overlap,
        outside_share=outside,
        outside_buffer=buffer,
        grid_dirs=grid_dirs,
        flag=MappingProxyType(dict(raw.get("flag") or {})),
        publish=MappingProxyType(dict(raw.get("publish") or {})),
        export=MappingProxyType(dict(raw.get("export") or {})),
    )


def load_config(path: str | Path) -> DistrictConfig:
    """Load and validate a district configuration file (TOML or YAML).

    Parameters
    ----------
    path
        The configuration file; relative paths inside it are resolved against its folder.

    Raises
    ------
    ConfigError
        The file is missing, cannot be parsed, or holds invalid settings (all of them listed).
    """
    p = Path(path).resolve()
    if not p.is_file():
        raise ConfigError([f"no such file; check the path (working directory: {Path.cwd()})"], path=str(path))
    try:
        raw = _read_file(p)
    except (tomllib.TOMLDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError([f"cannot be parsed: {exc}"], path=str(p)) from None
    return parse_config(raw, path=p)
