"""The criteria catalogue for sustainable commercial areas: loading, a district's changes, validation.

The catalogue is data (`layers/catalogue.yaml`): themes → sub-themes → measures, each measure with a
description, SDGs, who implements it, an indicator, the meaning of levels 1–3 and, where flaechen can
estimate it from the district data, a ``derive`` rule. A district adds, drops or rewords measures in the
``[assessment.catalogue]`` table of its configuration, or replaces the whole file. Every problem of the file
and of the changes is reported at once (:class:`flaechen.errors.ConfigError`).

Examples
--------
>>> from flaechen.plan.catalogue import load_catalogue
>>> catalogue = load_catalogue()
>>> catalogue.measure("kreislaufwirtschaft").sdgs
(12,)
>>> catalogue = load_catalogue(changes={"drop": ["regenwasser"]})
>>> "regenwasser" in catalogue.measure_ids
False
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flaechen.errors import ConfigError
from flaechen.layers import layers_dir

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

INDICATORS = ("land_efficiency", "unused_plots", "brownfield", "sealed_share", "green_share", "solar_roof")
"""The indicators flaechen derives from district data (see :mod:`flaechen.plan.indicators`)."""

IMPLEMENTERS = ("Unternehmen", "Kommune", "Unternehmen und Kommune")
LEVEL_LABELS = {0: "nicht erreicht", 1: "durchschnittlich", 2: "fortschrittlich", 3: "ambitioniert"}
NOT_APPLICABLE = "nicht zutreffend"
MAX_LEVEL = 3


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Derive(_Model):
    """How a level is proposed from a derived indicator."""

    indicator: Literal["land_efficiency", "unused_plots", "brownfield", "sealed_share", "green_share", "solar_roof"]
    thresholds: tuple[float, float, float]
    """Indicator values from which levels 1, 2 and 3 are proposed."""
    better: Literal["higher", "lower"]
    source: str = Field(min_length=1)

    def level(self, value: float) -> int:
        """The level a value of the indicator reaches (0 below the first threshold)."""
        if self.better == "higher":
            return sum(value >= t for t in self.thresholds)
        return sum(value <= t for t in self.thresholds)


class Measure(_Model):
    """One measure of the catalogue."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1)
    origin: Literal["KONNEKT", "flaechen", "Landkreis"]
    konnekt: tuple[Literal["title", "sdgs", "indicator"], ...] = ()
    """The attributes DOMAIN.md attests for a KONNEKT measure; the rest is this project's wording."""
    description: str = Field(min_length=1)
    sdgs: tuple[int, ...] = Field(min_length=1)
    implementer: Literal["Unternehmen", "Kommune", "Unternehmen und Kommune"]
    indicator: str = Field(min_length=1)
    levels: dict[int, str]
    derive: Derive | None = None
    reworded: bool = False
    """True where the district changed the wording in its configuration."""


class SubTheme(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1)
    origin: Literal["KONNEKT", "flaechen", "Landkreis"]
    measures: tuple[Measure, ...] = Field(min_length=1)


class Theme(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1)
    origin: Literal["KONNEKT", "flaechen", "Landkreis"]
    subthemes: tuple[SubTheme, ...] = Field(min_length=1)


class Parameter(_Model):
    value: Any
    source: str = Field(min_length=1)
    unit: str | None = None


class Catalogue(_Model):
    """A validated catalogue (the bundled one with a district's changes applied)."""

    name: Literal["catalogue"]
    version: int
    title: str
    source: str
    levels: dict[int, str]
    not_applicable: str
    parameters: dict[str, Parameter]
    themes: tuple[Theme, ...] = Field(min_length=1)
    path: str | None = None

    @property
    def measure_ids(self) -> list[str]:
        """Every measure id, in catalogue order."""
        return [m.id for _, _, m in self.walk()]

    def walk(self) -> Iterator[tuple[Theme, SubTheme, Measure]]:
        """Yield ``(theme, subtheme, measure)`` in catalogue order."""
        for t in self.themes:
            for s in t.subthemes:
                for m in s.measures:
                    yield t, s, m

    def measure(self, measure_id: str) -> Measure:
        """The measure `measure_id` (KeyError naming the known ids)."""
        for _, _, m in self.walk():
            if m.id == measure_id:
                return m
        raise KeyError(f"no measure {measure_id!r} in the catalogue; known: {', '.join(self.measure_ids)}")

    def parameter(self, key: str) -> Any:
        """The value of a derivation parameter."""
        return self.parameters[key].value

    def table(self) -> pd.DataFrame:
        """One row per measure: theme, sub-theme, measure with every attribute (German-readable SDG text)."""
        import pandas as pd

        rows = []
        for t, s, m in self.walk():
            rows.append(
                {
                    **measure_fields(t, s, m),
                    "level_1": m.levels.get(1, ""),
                    "level_2": m.levels.get(2, ""),
                    "level_3": m.levels.get(3, ""),
                    "derived_from": m.derive.indicator if m.derive else None,
                }
            )
        return pd.DataFrame(rows).astype("string")


def measure_fields(t: Theme, s: SubTheme, m: Measure) -> dict[str, Any]:
    """The columns describing one measure in the catalogue's form (theme, sub-theme, measure, SDGs …)."""
    return {
        "theme_id": t.id,
        "theme": t.title,
        "subtheme_id": s.id,
        "subtheme": s.title,
        "measure_id": m.id,
        "measure": m.title,
        "origin": m.origin,
        "description": m.description,
        "sdgs": ", ".join(str(n) for n in m.sdgs),
        "implementer": m.implementer,
        "indicator": m.indicator,
    }


def default_catalogue_path() -> Path:
    """The bundled catalogue (``layers/catalogue.yaml``)."""
    return layers_dir() / "catalogue.yaml"


def _key(loc: Sequence[Any], raw: Any) -> str:
    """A readable key path: list entries named by their id where they have one."""
    parts: list[str] = []
    node = raw
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
            entry = node[part]
            label = entry.get("id") if isinstance(entry, Mapping) else None
            parts[-1] = f"{parts[-1]}[{label or part}]" if parts else f"[{label or part}]"
            node = entry
            continue
        parts.append(str(part))
        node = node.get(part) if isinstance(node, Mapping) else None
    return ".".join(parts)


def _pydantic_problems(exc: ValidationError, raw: Any, prefix: str = "") -> list[str]:
    out = []
    for e in exc.errors():
        loc = [p for p in e["loc"] if p not in ("function-after", "function-plain")]
        key = _key(loc, raw)
        message = e["msg"]
        if e["type"] == "extra_forbidden":
            message = "unknown key"
        elif e["type"] == "missing":
            message = "is required"
        out.append(f"{prefix}{key}: {message}")
    return out


_USE_PARAMETERS = ("traffic_uses", "green_uses", "open_uses")
_REQUIRED_PARAMETERS = (
    *_USE_PARAMETERS,
    "unused_categories",
    "green_functions",
    "min_roof_m2",
    "usable_roof_share",
    "m2_per_kwp",
)


def _parameter_problems(raw: Mapping[str, Any]) -> list[str]:
    """Every derivation parameter present; use classes known to the code list ``alkis_nutzung``."""
    from flaechen.layers import load_schema

    params = raw.get("parameters")
    if not isinstance(params, Mapping):
        return []
    problems = [f"parameters.{k}: is required" for k in _REQUIRED_PARAMETERS if k not in params]
    known = set(load_schema().codelist("alkis_nutzung").values)
    for key in _USE_PARAMETERS:
        entry = params.get(key)
        values = entry.get("value") if isinstance(entry, Mapping) else None
        if isinstance(values, list):
            bad = [v for v in values if v not in known]
            if bad:
                problems.append(
                    f"parameters.{key}: {bad!r} are no ALKIS use classes; see layers/codelists/alkis_nutzung.yaml"
                )
    categories = (
        (params.get("unused_categories") or {}).get("value")
        if isinstance(params.get("unused_categories"), Mapping)
        else None
    )
    if isinstance(categories, list):
        known_categories = set(load_schema().codelist("candidate_category").values)
        bad = [c for c in categories if c not in known_categories]
        if bad:
            problems.append(f"parameters.unused_categories: {bad!r} are no candidate categories")
    return problems


def _cross_problems(raw: Mapping[str, Any]) -> list[str]:
    """Checks that span entries: unique ids, SDG range, level keys, thresholds in order, KONNEKT attestation."""
    problems: list[str] = _parameter_problems(raw)
    seen: dict[str, str] = {}
    for ti, theme in enumerate(raw.get("themes") or []):
        if not isinstance(theme, Mapping):
            continue
        tkey = f"themes[{theme.get('id') or ti}]"
        for si, sub in enumerate(theme.get("subthemes") or []):
            if not isinstance(sub, Mapping):
                continue
            skey = f"{tkey}.subthemes[{sub.get('id') or si}]"
            for mi, m in enumerate(sub.get("measures") or []):
                if not isinstance(m, Mapping):
                    continue
                mkey = f"{skey}.measures[{m.get('id') or mi}]"
                mid = m.get("id")
                if isinstance(mid, str):
                    if mid in seen:
                        problems.append(
                            f"{mkey}.id: measure id {mid!r} is also used at {seen[mid]}; ids must be unique"
                        )
                    seen.setdefault(mid, mkey)
                problems += _measure_problems(m, mkey)
    return problems


def _measure_problems(m: Mapping[str, Any], mkey: str) -> list[str]:
    problems = []
    sdgs = m.get("sdgs")
    if isinstance(sdgs, list):
        bad = [n for n in sdgs if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 17]
        if bad:
            problems.append(f"{mkey}.sdgs: {bad!r} are no SDG numbers; the 17 SDGs are numbered 1 to 17")
        if len(set(map(str, sdgs))) != len(sdgs):
            problems.append(f"{mkey}.sdgs: an SDG is listed twice")
    levels = m.get("levels")
    if isinstance(levels, Mapping):
        keys = {str(k) for k in levels}
        if keys != {"1", "2", "3"}:
            problems.append(
                f"{mkey}.levels: needs exactly the levels 1, 2 and 3 (durchschnittlich, fortschrittlich, "
                f"ambitioniert), has {', '.join(sorted(keys)) or 'none'}"
            )
        for k, v in levels.items():
            if not isinstance(v, str) or not v.strip():
                problems.append(f"{mkey}.levels.{k}: must say what level {k} means, as a text")
    derive = m.get("derive")
    if isinstance(derive, Mapping):
        t = derive.get("thresholds")
        if isinstance(t, list) and len(t) == 3 and all(isinstance(x, int | float) for x in t):
            better = derive.get("better")
            ordered = t[0] <= t[1] <= t[2] if better == "higher" else t[0] >= t[1] >= t[2]
            if better in ("higher", "lower") and not ordered:
                word = "rise" if better == "higher" else "fall"
                problems.append(f"{mkey}.derive.thresholds: {t!r} must {word} from level 1 to 3 (better = {better})")
    if m.get("origin") == "KONNEKT" and not m.get("konnekt"):
        problems.append(
            f"{mkey}.konnekt: a measure with origin KONNEKT must list what DOMAIN.md attests of it "
            "(title, sdgs, indicator); otherwise mark it origin: flaechen"
        )
    if m.get("origin") != "KONNEKT" and m.get("konnekt"):
        problems.append(f"{mkey}.konnekt: only measures with origin KONNEKT may claim KONNEKT attributes")
    return problems


_REWORDABLE = {"title", "description", "sdgs", "implementer", "indicator", "levels", "derive"}


def _apply_changes(raw: dict[str, Any], changes: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    """Apply ``drop``, ``reword`` and ``add`` of a district's ``[assessment.catalogue]`` to the raw catalogue."""
    prefix = "assessment.catalogue"
    for k in changes:
        if k not in ("file", "drop", "reword", "add"):
            problems.append(f"{prefix}.{k}: unknown key; known keys: file, drop, reword, add")
    index: dict[str, dict[str, Any]] = {}
    subs: dict[str, dict[str, Any]] = {}
    for theme in raw.get("themes") or []:
        for sub in (theme or {}).get("subthemes") or []:
            if isinstance(sub, dict):
                subs[str(sub.get("id"))] = sub
                for m in sub.get("measures") or []:
                    if isinstance(m, dict):
                        index[str(m.get("id"))] = m

    drop = changes.get("drop") or []
    if not isinstance(drop, list) or not all(isinstance(d, str) for d in drop):
        problems.append(f"{prefix}.drop: must be a list of measure ids")
        drop = []
    for mid in drop:
        if mid not in index:
            problems.append(f"{prefix}.drop: no measure {mid!r} to drop; known: {', '.join(index)}")

    reword = changes.get("reword") or {}
    if not isinstance(reword, Mapping):
        problems.append(f"{prefix}.reword: must be a table of measure id = {{changed attributes}}")
        reword = {}
    for mid, new in reword.items():
        key = f"{prefix}.reword.{mid}"
        if mid not in index:
            problems.append(f"{key}: no measure {mid!r} to reword; known: {', '.join(index)}")
            continue
        if mid in drop:
            problems.append(f"{key}: the measure is also dropped; keep one of the two")
        if not isinstance(new, Mapping):
            problems.append(f"{key}: must be a table of the attributes to change")
            continue
        for attr in new:
            if attr not in _REWORDABLE:
                problems.append(f"{key}.{attr}: cannot be reworded; changeable: {', '.join(sorted(_REWORDABLE))}")
        m = index[mid]
        for attr, value in new.items():
            if attr in _REWORDABLE:
                if attr == "derive" and isinstance(value, Mapping) and isinstance(m.get("derive"), Mapping):
                    value = {**m["derive"], **value}
                m[attr] = value
        m["reworded"] = True
        if m.get("origin") == "KONNEKT":
            # the district's wording is no longer what DOMAIN.md attests for the changed attributes
            m["konnekt"] = [a for a in m.get("konnekt") or [] if a not in new] or ["title"]

    added = changes.get("add") or []
    if not isinstance(added, list):
        problems.append(f"{prefix}.add: must be a list of measures ([[assessment.catalogue.add]])")
        added = []
    for i, entry in enumerate(added):
        if not isinstance(entry, Mapping):
            problems.append(f"{prefix}.add[{i}]: must be a table")
            continue
        key = f"{prefix}.add[{entry.get('id') or i}]"
        sub_id = entry.get("subtheme")
        if sub_id not in subs:
            problems.append(f"{key}.subtheme: {sub_id!r} is no sub-theme; known: {', '.join(subs)}")
            continue
        if entry.get("id") in index:
            problems.append(f"{key}.id: measure id {entry.get('id')!r} exists already; reword it or choose another id")
            continue
        m = {k: v for k, v in entry.items() if k != "subtheme"}
        m.setdefault("origin", "Landkreis")
        subs[sub_id].setdefault("measures", []).append(m)
        index[str(m.get("id"))] = m

    dropped = set(drop)
    for theme in raw.get("themes") or []:
        for sub in (theme or {}).get("subthemes") or []:
            if isinstance(sub, dict):
                sub["measures"] = [
                    m for m in sub.get("measures") or [] if not isinstance(m, dict) or m.get("id") not in dropped
                ]
                if not sub["measures"]:
                    problems.append(
                        f"{prefix}.drop: sub-theme {sub.get('id')!r} would be left without measures; keep at least one"
                    )
    return raw


def parse_catalogue(
    raw: Mapping[str, Any],
    *,
    path: str | None = None,
    changes: Mapping[str, Any] | None = None,
) -> Catalogue:
    """Validate a raw catalogue mapping (with a district's `changes`) into a :class:`Catalogue`.

    Raises
    ------
    flaechen.errors.ConfigError
        With every problem of the catalogue and the changes at once.
    """
    import copy

    problems: list[str] = []
    data = copy.deepcopy(dict(raw))
    if changes:
        data = _apply_changes(data, changes, problems)
    problems += _cross_problems(data)
    catalogue = None
    try:
        catalogue = Catalogue.model_validate({**data, "path": path})
    except ValidationError as exc:
        problems += _pydantic_problems(exc, data)
    if problems:
        raise ConfigError(problems, path=path)
    assert catalogue is not None
    return catalogue


def load_catalogue(
    path: str | Path | None = None,
    *,
    changes: Mapping[str, Any] | None = None,
    base_dir: Path | None = None,
) -> Catalogue:
    """Load the catalogue file (default: the bundled one) and apply a district's changes.

    Parameters
    ----------
    path
        A catalogue file in the format of ``layers/catalogue.yaml``; ``changes["file"]`` (relative to
        `base_dir`) takes its place where given.
    changes
        The district's ``[assessment.catalogue]`` table: ``drop`` (measure ids), ``reword`` (measure id →
        attributes to change), ``add`` (measures, each with the ``subtheme`` it belongs to).
    base_dir
        Folder a relative ``file`` is resolved against (the configuration's folder).

    Raises
    ------
    flaechen.errors.ConfigError
        The file is missing or unreadable, or holds (with the changes) invalid entries — all of them listed.
    """
    changes = dict(changes or {})
    if changes.get("file"):
        path = (base_dir or Path.cwd()) / str(changes["file"])
    p = Path(path) if path else default_catalogue_path()
    if not p.is_file():
        raise ConfigError([f"catalogue file {p} does not exist; check the path"], path=str(p))
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError([f"cannot be parsed: {exc}"], path=str(p)) from None
    if not isinstance(raw, Mapping):
        raise ConfigError(["the file does not hold a catalogue (a mapping with themes)"], path=str(p))
    catalogue = parse_catalogue(raw, path=str(p), changes=changes)
    log.info("catalogue: %d measures in %d themes", len(catalogue.measure_ids), len(catalogue.themes))
    return catalogue
