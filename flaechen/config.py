"""The district configuration: loaded once, validated as a whole, into typed, immutable objects.

:func:`load_config` reads the TOML or YAML file, validates every section at once — district, boundaries,
defaults, municipalities and their sources, ``[flag]`` (with its rules overrides and constraints),
``[publish]``, ``[export]``, ``[register]``, ``[assessment]``, ``[planning]`` and ``[[scenarios]]`` — with
the pydantic models below and those of the stages (:class:`flaechen.flag.settings.FlagSettings`,
:class:`flaechen.publish.profile.PublishProfile`, :class:`flaechen.export.settings.ExportSettings`,
:class:`flaechen.register.settings.RegisterSettings`, :mod:`flaechen.plan.settings`), and reports every
problem in one format
(:class:`flaechen.errors.Problem`): file, key path, what is wrong, the fix.

Narrower settings override broader ones (domain logic, :func:`resolve_settings`): ``[defaults]`` <
``[defaults.<layer>]`` < ``[municipalities.defaults]`` < ``[municipalities.defaults.<layer>]`` < the
source's own keys.

Examples
--------
>>> from flaechen.config import load_config
>>> config = load_config("data/demo/district.toml")
>>> [m.ags for m in config.municipalities]
['07999001', '07999002', '07999003', '07999004', '07999005', '07999006']
>>> [s.id for s in config.municipalities[0].sources][:2]
['hohenmaar-flurstuecke', 'hohenmaar-gebaeude']
>>> dict(config.municipalities[0].sources[0].fields)["address"]  # the source's own key beside the defaults
'lagebeztxt'
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import yaml
from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, create_model, field_validator

from flaechen.codes import DEFAULT_SCHEME, SCHEMES, check_code
from flaechen.errors import ConfigError, Problem
from flaechen.export.settings import ExportSettings
from flaechen.flag.settings import FlagSettings, rules_section_problems
from flaechen.layers import CANONICAL_LAYERS, load_schema
from flaechen.plan.settings import AssessmentSettings, PlanningSettings, ScenarioSpec, file_scenarios, plan_problems
from flaechen.publish.profile import PublishProfile
from flaechen.register.settings import RegisterSettings
from flaechen.validation import Settings, ValidationError, invalid, problems_from

GEOMETRY_POLICIES = ("raise", "fix", "drop")
SOURCE_LAYERS = tuple(name for name in CANONICAL_LAYERS if name != "municipalities")

_MERGED_TABLES = {"open_options", "fields", "values"}


# --- resolved, typed configuration (what the pipeline uses) -----------------------------------------


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
    x_field: str | None = None
    """Field holding the x coordinate (easting, longitude) of a table of points (CSV, XLSX); with y_field."""
    y_field: str | None = None
    """Field holding the y coordinate (northing, latitude)."""
    plans: tuple[str, ...] = ()
    """XPlanGML with several plans: read only the areas of the plans of these names or numbers."""
    ags_field: str | None = None
    """District-wide source (top-level ``[[sources]]``): the field naming each feature's municipality."""
    key: str = ""
    """Where the source is declared in the configuration, e.g. ``municipalities[Ahausen].sources[ahausen-fs]``."""


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

    def as_source(self, *, source_id: str, ags: str = "") -> SourceConfig:
        """This boundary file as a source of layer ``municipalities``, read and harmonised as every source is.

        With an ``ags_field`` the file serves several municipalities (a district-wide source); without one it
        is the boundary of the municipality `ags` (every feature, after ``where``, is part of it).

        Examples
        --------
        >>> b = BoundaryConfig(path=Path("gemeinden.geojson"), ags_field="AGS", where="LAND = '05'")
        >>> src = b.as_source(source_id="boundaries")
        >>> src.layer, dict(src.fields), src.ags_field, src.where
        ('municipalities', {'ags': 'AGS'}, 'AGS', "LAND = '05'")
        """
        fields = {name: column for name, column in (("ags", self.ags_field), ("name", self.name_field)) if column}
        return SourceConfig(
            id=source_id,
            layer="municipalities",
            path=self.path,
            ags=ags,
            source_layer=self.source_layer,
            own_fields=frozenset(fields),
            crs=self.crs,
            encoding=self.encoding,
            open_options=self.open_options,
            fields=MappingProxyType(fields),
            where=self.where,
            ags_field=self.ags_field,
            key=self.key,
        )


@dataclass(frozen=True)
class MunicipalityConfig:
    """A municipality (Gemeinde) and its deliveries."""

    ags: str
    name: str
    population: int | None
    boundary: BoundaryConfig | None
    sources: tuple[SourceConfig, ...]
    without_boundary: bool = False
    """``boundary = false``: no boundary exists; the municipality has no geometry and no location check."""


@dataclass(frozen=True)
class DistrictConfig:
    """A whole district configuration (Landkreis), every section validated and typed."""

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
    code_scheme: str = "ags"
    """The official municipality code scheme (``[district] municipality_codes``; see :mod:`flaechen.codes`)."""
    district_sources: tuple[SourceConfig, ...] = ()
    """Top-level ``[[sources]]``: files for the whole district, each feature sent to its municipality by
    ``ags_field``."""
    flag: FlagSettings = field(default_factory=FlagSettings)
    """The ``[flag]`` table: rules overrides and constraints."""
    publish: PublishProfile = field(default_factory=PublishProfile)
    """The ``[publish]`` table: the publishing profile of the map site."""
    export: ExportSettings = field(default_factory=ExportSettings)
    """The ``[export]`` table: GeoParquet and PostGIS exports of a run."""
    register: RegisterSettings = field(default_factory=RegisterSettings)
    """The ``[register]`` table: where the register lives and how its sites are carried over."""
    assessment: AssessmentSettings = field(default_factory=AssessmentSettings)
    """The ``[assessment]`` table: commercial areas assessed with the criteria catalogue (flaechen.plan)."""
    planning: PlanningSettings = field(default_factory=PlanningSettings)
    """The ``[planning]`` table: the parameters the scenarios share."""
    scenarios: tuple[ScenarioSpec, ...] = ()
    """The ``[[scenarios]]``, those of the file ``[planning] scenarios`` names after them."""

    @property
    def base_dir(self) -> Path:
        """The folder relative paths in the configuration are resolved against."""
        return self.path.parent

    @property
    def sources(self) -> tuple[SourceConfig, ...]:
        """Every source of every municipality, then the district-wide ones, in declaration order."""
        return tuple(s for m in self.municipalities for s in m.sources) + tuple(self.district_sources)

    def municipality(self, ags: str) -> MunicipalityConfig:
        """The municipality with AGS `ags` (`KeyError` naming the file where there is none)."""
        for m in self.municipalities:
            if m.ags == ags:
                return m
        raise KeyError(f"no municipality with AGS {ags!r} in {self.path}")


# --- the file's schema (pydantic) ---------------------------------------------------------------------


@cache
def _crs_problem(value: str) -> str | None:
    from pyproj import CRS
    from pyproj.exceptions import CRSError as ProjCRSError

    try:
        CRS.from_user_input(value)
    except ProjCRSError:
        return f"cannot resolve CRS {value!r}"
    return None


def _check_crs(value: str) -> str:
    from flaechen.crs import adv_crs

    # AdV names (urn:adv:crs:ETRS89_UTM32, DE_DHDN_3GK3 …) are stored as their EPSG code
    value = adv_crs(value) or value
    problem = _crs_problem(value)
    if problem:
        raise invalid(problem, "give an EPSG code such as 'EPSG:25832'")
    return value


CrsText = Annotated[str, AfterValidator(_check_crs)]
Text = Annotated[str, Field(min_length=1)]
Share = Annotated[float, Field(ge=0, le=1)]


def _option_text(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: str(v).upper() if isinstance(v, bool) else v for k, v in value.items()}
    return value


def _code_keys(value: Any) -> Any:
    """Codes map source values *as text* to canonical codes: YAML's unquoted numbers become text."""
    if isinstance(value, Mapping):
        return {f: {str(k): v for k, v in m.items()} if isinstance(m, Mapping) else m for f, m in value.items()}
    return value


def _layer_of(cls: type, info: ValidationInfo) -> str | None:
    layer = getattr(cls, "layer_name", None) or info.data.get("layer")
    return layer if isinstance(layer, str) else None


def _canonical_names(table: Mapping[str, Any], layer: str | None, what: str) -> None:
    """Every key of `table` must be a field of the canonical `layer` (one error per wrong key)."""
    import difflib

    from pydantic_core import InitErrorDetails

    if layer not in SOURCE_LAYERS:
        return
    canonical = load_schema().layer(layer).field_names
    errors: list[InitErrorDetails] = []
    for name in table:
        if name in canonical:
            continue
        close = difflib.get_close_matches(name, canonical, n=1)
        fix = f"did you mean {close[0]!r}?" if close else f"the {what} name canonical fields: {', '.join(canonical)}"
        errors.append(
            {"type": invalid(f"{name!r} is not a field of layer {layer!r}", fix), "loc": (name,), "input": name}
        )
    if errors:
        raise ValidationError.from_exception_data(what, errors)


class SourceSettings(Settings):
    """The settings a source takes from defaults or declares itself."""

    crs: CrsText | None = None
    encoding: Text | None = None
    open_options: Annotated[dict[str, str | int | float], BeforeValidator(_option_text)] | None = None
    fields: dict[str, Text] | None = None
    values: dict[str, Any] | None = None
    codes: Annotated[dict[str, dict[str, Any]], BeforeValidator(_code_keys)] | None = None
    where: Text | None = None
    geometry_policy: str | None = None
    outside_share: Share | None = None
    arc_max_deviation: Annotated[float, Field(ge=1e-6, le=10)] | None = None
    x_field: Text | None = None
    """A table of points (CSV, XLSX): the column of the x coordinate (easting, longitude)."""
    y_field: Text | None = None
    """… and of the y coordinate (northing, latitude); `crs` says in which system."""

    @field_validator("geometry_policy")
    @classmethod
    def _policy(cls, value: str) -> str:
        if value not in GEOMETRY_POLICIES:
            raise invalid(f"{value!r} is not a geometry policy", f"use one of {', '.join(GEOMETRY_POLICIES)}")
        return value

    @field_validator("fields", "values", "codes")
    @classmethod
    def _canonical(cls, value: Mapping[str, Any], info: ValidationInfo) -> Mapping[str, Any]:
        _canonical_names(value, _layer_of(cls, info), f"keys of {info.field_name!r}")
        return value


class LayerSettings(SourceSettings):
    """Defaults for the sources of one canonical layer (``[defaults.parcels]`` …)."""

    layer_name: ClassVar[str] = ""


def _layer_settings(layer: str) -> type[LayerSettings]:
    return type(f"{layer.title()}Settings", (LayerSettings,), {"layer_name": layer, "__module__": __name__})


if TYPE_CHECKING:
    Defaults = SourceSettings
else:
    Defaults = create_model(
        "Defaults",
        __base__=SourceSettings,
        __doc__="A ``[defaults]`` table: settings for every source, and per canonical layer.",
        **{layer: (_layer_settings(layer) | None, None) for layer in SOURCE_LAYERS},
    )


def _names(value: Any) -> Any:
    if isinstance(value, str):
        return (value,)
    return tuple(value) if isinstance(value, list) else value


def _plan_names(value: Any) -> Any:
    value = _names(value) if isinstance(value, str | list) else value
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if isinstance(value, tuple):
        return tuple(str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value)
    return value


class _SourceHead(Settings):
    id: Text | None = None
    layer: str
    path: Text
    source_layer: Text | None = None
    source_layers: Annotated[tuple[Text, ...], BeforeValidator(_names)] | None = None
    """Several layers of one file as one source: names or patterns such as ``AX_*``."""
    plans: Annotated[tuple[Text, ...], BeforeValidator(_plan_names)] | None = None
    """XPlanGML with several plans: the names or numbers of the plans to read."""

    @field_validator("plans")
    @classmethod
    def _zoning_only(cls, value: tuple[str, ...] | None, info: ValidationInfo) -> tuple[str, ...] | None:
        if value and info.data.get("layer") not in (None, "zoning"):
            raise invalid("selects plans of an XPlanGML file: only for layer zoning", "remove plans")
        return value

    @field_validator("source_layers")
    @classmethod
    def _one_or_several(cls, value: tuple[str, ...] | None, info: ValidationInfo) -> tuple[str, ...] | None:
        if value and info.data.get("source_layer"):
            raise invalid(
                "give either source_layer (one layer) or source_layers (several), not both", "remove one of them"
            )
        if value is not None and not value:
            raise invalid("must not be empty", 'e.g. source_layers = ["AX_*"]')
        return value


class SourceEntry(SourceSettings, _SourceHead):
    """A ``[[municipalities.sources]]`` entry (its own keys are validated first: `layer` decides the fields)."""

    @field_validator("layer")
    @classmethod
    def _layer(cls, value: str) -> str:
        if value not in SOURCE_LAYERS:
            import difflib

            close = difflib.get_close_matches(value, SOURCE_LAYERS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise invalid(f"{value!r} is not a canonical layer", f"{hint}use one of {', '.join(SOURCE_LAYERS)}")
        return value


class DistrictSourceEntry(SourceEntry):
    """A top-level ``[[sources]]`` entry: one file for the whole district."""

    ags_field: Text
    """The field naming each feature's municipality (its AGS, or the code of the district's scheme)."""


class BoundaryEntry(Settings):
    """A municipality's ``boundary``: its own boundary file (all features, after ``where``, are the boundary)."""

    path: Text
    ags_field: Text | None = None
    name_field: Text | None = None
    source_layer: Text | None = None
    layer: Text | None = None
    """Synonym of `source_layer`."""
    crs: CrsText | None = None
    encoding: Text | None = None
    open_options: Annotated[dict[str, str | int | float], BeforeValidator(_option_text)] | None = None
    where: Text | None = None


class DistrictBoundaryEntry(BoundaryEntry):
    """``[boundaries]``: one file with the boundaries of every municipality, told apart by the AGS field."""

    ags_field: Text


class _UnquotedNumber(str):
    """A YAML scalar that YAML would read as a number but whose text we keep (``02000000``)."""


def _ags(value: Any) -> Any:
    if isinstance(value, _UnquotedNumber) or (isinstance(value, int) and not isinstance(value, bool)):
        text = str(value)
        digits = text.zfill(8) if text.isdigit() else text
        raise invalid(
            f"the AGS is written as a number ({text}), which loses leading zeros",
            f'quote it: "{digits}"',
        )
    return value  # text: checked against the district's code scheme in _cross_checks


class MunicipalityEntry(Settings):
    """A ``[[municipalities]]`` entry."""

    ags: Annotated[str, BeforeValidator(_ags)]
    name: Text
    population: Annotated[int, Field(ge=0)] | None = None
    boundary: BoundaryEntry | Literal[False] | None = None
    """``false``: no boundary exists (features are not checked against the municipality's extent)."""
    defaults: Defaults | None = None
    sources: list[SourceEntry] = Field(default_factory=list)


class DistrictEntry(Settings):
    """The ``[district]`` table."""

    name: Text
    crs: CrsText = "EPSG:25832"
    area_tolerance: Share = 0.005
    border_overlap: Annotated[float, Field(ge=0.5, le=1)] = 0.95
    outside_share: Share = 0.5
    outside_buffer: Annotated[float, Field(ge=0, le=10_000)] = 50.0
    grid_dirs: list[Text] = Field(default_factory=list)
    municipality_codes: str = DEFAULT_SCHEME
    """The official municipality code scheme: ags (default), gss, bfs, gkz (:mod:`flaechen.codes`)."""

    @field_validator("municipality_codes")
    @classmethod
    def _scheme(cls, value: str) -> str:
        if value not in SCHEMES:
            known = "; ".join(f"{k}: {v.title}" for k, v in SCHEMES.items())
            raise invalid(f"{value!r} is not a municipality code scheme", f"use one of {', '.join(SCHEMES)} ({known})")
        return value

    @field_validator("crs")
    @classmethod
    def _projected(cls, value: str) -> str:
        from pyproj import CRS

        if not CRS.from_user_input(value).is_projected:
            raise invalid(f"{value!r} is not a projected CRS in metres", "use e.g. EPSG:25832 (areas need metres)")
        return value


class ConfigFile(Settings):
    """The whole configuration file."""

    district: DistrictEntry
    boundaries: DistrictBoundaryEntry | None = None
    defaults: Defaults | None = None
    municipalities: Annotated[list[MunicipalityEntry], Field(min_length=1)]
    sources: list[DistrictSourceEntry] = Field(default_factory=list)
    """Files for the whole district (each with ``ags_field``)."""
    flag: FlagSettings = Field(default_factory=FlagSettings)
    publish: PublishProfile = Field(default_factory=PublishProfile)
    export: ExportSettings = Field(default_factory=ExportSettings)
    register_: RegisterSettings = Field(default_factory=RegisterSettings, alias="register")
    # (named with a trailing underscore: `register` would shadow ABCMeta.register of the model class)
    assessment: AssessmentSettings = Field(default_factory=AssessmentSettings)
    planning: PlanningSettings = Field(default_factory=PlanningSettings)
    scenarios: list[ScenarioSpec] = Field(default_factory=list)


# --- reading, labelling, cross-checks ------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, but a number written with a leading zero keeps its text (`02000000`)."""


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    text = loader.construct_scalar(node)
    if isinstance(text, str) and len(text) > 1 and text.startswith("0") and text.isdigit():
        return _UnquotedNumber(text)
    return yaml.SafeLoader.construct_yaml_int(loader, node)


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _read_file(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in {".yaml", ".yml"}:
        return yaml.load(text, Loader=_Loader)
    return tomllib.loads(text)


def _default_id(entry: Mapping[str, Any], municipality: Mapping[str, Any] | None) -> str | None:
    if isinstance(entry.get("id"), str) and entry["id"]:
        return str(entry["id"])
    ags = (municipality or {}).get("ags")
    layer = entry.get("layer")
    if isinstance(ags, str) and isinstance(layer, str):
        return f"{ags}-{layer}"
    if municipality is not None and "municipalities" in municipality and isinstance(layer, str):
        return f"district-{layer}"  # a top-level [[sources]] entry (the parent is the whole file)
    return None


def _municipality_label(entry: Mapping[str, Any], parent: Mapping[str, Any] | None) -> str | None:
    for key in ("name", "ags"):
        if isinstance(entry.get(key), str) and entry[key]:
            return str(entry[key])
    return None


LABELS = {"municipalities": _municipality_label, "sources": _default_id}
"""How list entries are named in key paths: municipalities by name, sources by id."""


def _muni_key(i: int, m: Mapping[str, Any]) -> str:
    return f"municipalities[{_municipality_label(m, None) or i}]"


def _source_key(mkey: str, j: int, s: Mapping[str, Any], m: Mapping[str, Any]) -> str:
    return f"{mkey}.sources[{_default_id(s, m) or j}]"


def _cross_checks(raw: Mapping[str, Any], file: str) -> list[Problem]:
    """Problems between entries: duplicate AGS and ids, municipalities without a boundary."""
    problems: list[Problem] = []
    munis = raw.get("municipalities")
    if not isinstance(munis, list):
        return problems
    has_district_boundaries = isinstance(raw.get("boundaries"), Mapping)
    district = raw.get("district")
    scheme = district.get("municipality_codes", DEFAULT_SCHEME) if isinstance(district, Mapping) else DEFAULT_SCHEME
    scheme = scheme if scheme in SCHEMES else None  # an unknown scheme is reported by the model
    seen_ags: dict[str, str] = {}
    seen_ids: dict[str, str] = {}

    def unique_id(sid: str, skey: str) -> None:
        """Source ids are unique across the municipalities' and the district's sources."""
        if sid in seen_ids:
            problems.append(
                Problem(
                    file,
                    f"{skey}.id",
                    f"source id {sid!r} is already used by {seen_ids[sid]}",
                    "give each source a unique id",
                )
            )
        seen_ids.setdefault(sid, skey)

    for i, m in enumerate(munis):
        if not isinstance(m, Mapping):
            continue
        mkey = _muni_key(i, m)
        ags = m.get("ags")
        if type(ags) is str and scheme and check_code(ags, scheme=scheme):  # unquoted numbers: reported already
            spec = SCHEMES[scheme]
            problems.append(
                Problem(
                    file,
                    f"{mkey}.ags",
                    f"{ags!r} is not a{'n' if scheme == 'ags' else ''} {spec.title}",
                    f'write {spec.form} in quotes, e.g. "{spec.example}"',
                )
            )
        if isinstance(ags, str):
            if ags in seen_ags:
                problems.append(
                    Problem(file, f"{mkey}.ags", f"AGS {ags} is declared twice (also {seen_ags[ags]})", "remove one")
                )
            seen_ags.setdefault(ags, mkey)
        if (
            not has_district_boundaries
            and not isinstance(m.get("boundary"), Mapping)
            and m.get("boundary") is not False
        ):
            problems.append(
                Problem(
                    file,
                    f"{mkey}.boundary",
                    "no boundary",
                    "declare [boundaries] for the district or a boundary for this municipality "
                    "(boundary = false where none exists: its features are then not checked against its extent)",
                )
            )
        sources = m.get("sources")
        for j, s in enumerate(sources if isinstance(sources, list) else []):
            if not isinstance(s, Mapping):
                continue
            sid = _default_id(s, m)
            if sid is None:
                continue
            unique_id(sid, _source_key(mkey, j, s, m))
    district_sources = raw.get("sources")
    for s in district_sources if isinstance(district_sources, list) else []:
        if not isinstance(s, Mapping):
            continue
        sid = _default_id(s, raw)
        if sid:
            unique_id(sid, f"sources[{sid}]")
    return problems


# --- precedence (domain logic) -------------------------------------------------------------------------


def _settings_of(table: SourceSettings | None) -> dict[str, Any]:
    if table is None:
        return {}
    return {k: getattr(table, k) for k in table.model_fields_set if k in SourceSettings.model_fields}


def _layer_table(defaults: SourceSettings | None, layer: str) -> dict[str, Any]:
    return _settings_of(getattr(defaults, layer, None)) if defaults is not None else {}


def resolve_settings(*levels: Mapping[str, Any]) -> dict[str, Any]:
    """Merge settings from the broadest to the narrowest level, key by key.

    The tables ``fields``, ``values`` and ``open_options`` are merged entry by entry, ``codes`` field by
    field and then entry by entry; every other key is replaced.

    Examples
    --------
    >>> resolve_settings({"crs": "EPSG:25832", "fields": {"a": "A"}}, {"fields": {"b": "B"}}, {"crs": "EPSG:31467"})
    {'crs': 'EPSG:31467', 'fields': {'a': 'A', 'b': 'B'}}
    """
    out: dict[str, Any] = {}
    for level in levels:
        for k, v in level.items():
            if k in _MERGED_TABLES and isinstance(v, Mapping):
                out[k] = {**out.get(k, {}), **v}
            elif k == "codes" and isinstance(v, Mapping):
                codes = {f: dict(m) for f, m in out.get("codes", {}).items()}
                for f, mapping in v.items():
                    codes[f] = {**codes.get(f, {}), **mapping}
                out["codes"] = codes
            else:
                out[k] = v
    return out


def _boundary(entry: BoundaryEntry | None, key: str, base: Path) -> BoundaryConfig | None:
    if entry is None:
        return None
    return BoundaryConfig(
        path=(base / entry.path).resolve(),
        ags_field=entry.ags_field,
        name_field=entry.name_field,
        source_layer=entry.source_layer or entry.layer,
        crs=entry.crs,
        encoding=entry.encoding,
        open_options=MappingProxyType({k: str(v) for k, v in (entry.open_options or {}).items()}),
        where=entry.where,
        key=key,
    )


def _source_config(
    s: SourceEntry,
    *,
    sid: str,
    skey: str,
    ags: str,
    base: Path,
    levels: tuple[Mapping[str, Any], ...],
    file: str,
    problems: list[Problem],
) -> SourceConfig:
    """One source with every setting resolved (`levels`: the inherited settings, broadest first)."""
    settings = resolve_settings(*levels, _settings_of(s))
    # inherited general tables are checked against the source's layer only here
    fields_of_layer = load_schema().layer(s.layer).field_names
    for table_name in ("fields", "values", "codes"):
        wrong = [n for n in settings.get(table_name) or {} if n not in fields_of_layer]
        if wrong:
            problems.append(
                Problem(
                    file,
                    f"{skey}.{table_name}",
                    f"{', '.join(map(repr, wrong))} (inherited from defaults) is not a field of layer {s.layer!r}",
                    f"move the mapping to [defaults.<layer>] of the layer it belongs to; fields: "
                    f"{', '.join(fields_of_layer)}",
                )
            )
    x_field, y_field = settings.get("x_field"), settings.get("y_field")
    if bool(x_field) != bool(y_field):
        problems.append(
            Problem(
                file,
                f"{skey}.{'y_field' if x_field else 'x_field'}",
                "x_field and y_field go together (the coordinate columns of a table of points)",
                'name both columns, e.g. x_field = "longitude", y_field = "latitude"',
            )
        )
    return SourceConfig(
        id=sid,
        layer=s.layer,
        path=(base / s.path).resolve(),
        ags=ags,
        source_layer=s.source_layer,
        source_layers=s.source_layers or (),
        own_fields=frozenset(s.fields or {}),
        crs=settings.get("crs"),
        encoding=settings.get("encoding"),
        open_options=MappingProxyType({k: str(v) for k, v in (settings.get("open_options") or {}).items()}),
        fields=MappingProxyType(dict(settings.get("fields") or {})),
        values=MappingProxyType(dict(settings.get("values") or {})),
        codes=MappingProxyType({f: MappingProxyType(dict(c)) for f, c in (settings.get("codes") or {}).items()}),
        where=settings.get("where"),
        geometry_policy=settings.get("geometry_policy") or "fix",
        outside_share=settings.get("outside_share"),
        arc_max_deviation=settings.get("arc_max_deviation"),
        x_field=x_field if x_field and y_field else None,
        y_field=y_field if x_field and y_field else None,
        plans=tuple(s.plans or ()),
        ags_field=getattr(s, "ags_field", None),
        key=skey,
    )


def _build(data: ConfigFile, *, path: Path, file: str) -> DistrictConfig:
    base = path.parent
    problems: list[Problem] = []
    municipalities: list[MunicipalityConfig] = []
    for i, m in enumerate(data.municipalities):
        mkey = f"municipalities[{m.name or i}]"
        sources: list[SourceConfig] = []
        for j, s in enumerate(m.sources):
            sid = s.id or f"{m.ags}-{s.layer}"
            levels = (
                _settings_of(data.defaults),
                _layer_table(data.defaults, s.layer),
                _settings_of(m.defaults),
                _layer_table(m.defaults, s.layer),
            )
            sources.append(
                _source_config(
                    s,
                    sid=sid,
                    skey=f"{mkey}.sources[{sid or j}]",
                    ags=m.ags,
                    base=base,
                    levels=levels,
                    file=file,
                    problems=problems,
                )
            )
        municipalities.append(
            MunicipalityConfig(
                ags=m.ags,
                name=m.name,
                population=m.population,
                boundary=_boundary(m.boundary or None, f"{mkey}.boundary", base),
                sources=tuple(sources),
                without_boundary=m.boundary is False,
            )
        )
    district_sources = []
    for j, s in enumerate(data.sources):
        sid = s.id or f"district-{s.layer}"
        district_sources.append(
            _source_config(
                s,
                sid=sid,
                skey=f"sources[{sid or j}]",
                ags="",
                base=base,
                levels=(_settings_of(data.defaults), _layer_table(data.defaults, s.layer)),
                file=file,
                problems=problems,
            )
        )
    if problems:
        raise ConfigError(problems, path=file)
    d = data.district
    return DistrictConfig(
        path=path,
        name=d.name,
        crs=d.crs,
        municipalities=tuple(municipalities),
        boundaries=_boundary(data.boundaries, "boundaries", base),
        area_tolerance=d.area_tolerance,
        border_overlap=d.border_overlap,
        outside_share=d.outside_share,
        outside_buffer=d.outside_buffer,
        grid_dirs=tuple((base / g).resolve() for g in d.grid_dirs),
        code_scheme=d.municipality_codes,
        district_sources=tuple(district_sources),
        flag=data.flag,
        publish=data.publish,
        export=data.export,
        register=data.register_,
        assessment=data.assessment,
        planning=data.planning,
        scenarios=(*data.scenarios, *file_scenarios(data.planning, base_dir=base)),
    )


def parse_config(raw: Any, *, path: Path) -> DistrictConfig:
    """Validate a raw configuration mapping (as read from TOML/YAML) into a :class:`DistrictConfig`.

    Parameters
    ----------
    raw
        The parsed file.
    path
        The file it was read from; relative paths are resolved against its folder.

    Raises
    ------
    ConfigError
        With every problem found, each naming the file, the key and the fix.
    """
    file = str(path)
    if not isinstance(raw, Mapping):
        raise ConfigError(
            [Problem(file, "", "the file does not hold a table of settings", "see docs/configuration.md")], path=file
        )
    context = {"base_dir": path.parent, "file": file}
    problems: list[Problem] = []
    data: ConfigFile | None = None
    try:
        data = ConfigFile.model_validate(raw, context=context)
    except ValidationError as exc:
        problems += problems_from(exc, raw=raw, model=ConfigFile, file=file, labels=LABELS)
    flag = raw.get("flag")
    if isinstance(flag, Mapping):
        problems += rules_section_problems(flag.get("rules"), base_dir=path.parent, file=file)
    problems += _cross_checks(raw, file)
    problems += plan_problems(raw, base_dir=path.parent, file=file)
    if problems or data is None:
        raise ConfigError(problems, path=file)
    return _build(data, path=path, file=file)


def load_config(path: str | Path) -> DistrictConfig:
    """Load and validate a district configuration file (TOML or YAML): every section, every problem at once.

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
        raise ConfigError(
            [Problem(str(path), "", "no such file", f"check the path (working directory: {Path.cwd()})")],
            path=str(path),
        )
    try:
        raw = _read_file(p)
    except (tomllib.TOMLDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        fix = "fix the syntax at the place named"
        if re.search(r"^\s*ags\s*=\s*0\d", p.read_text(encoding="utf-8", errors="replace"), re.M):
            fix += '; a municipality code with a leading zero must be quoted: ags = "07999001"'
        raise ConfigError([Problem(str(p), "", f"cannot be parsed: {exc}", fix)], path=str(p)) from None
    return parse_config(raw, path=p)
