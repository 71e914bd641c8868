"""Candidate categories: which rules each parcel meets, and why, in German and in JSON.

The rules (thresholds from :class:`~flaechen.flag.rules.Rules`) are evaluated on the per-parcel measures
as vectorised masks; sentences are written only for the parcels that meet a rule.

=====================  ==============================================================================
rule                   met where
=====================  ==============================================================================
brachflaeche.register  registered brownfields cover ≥ ``brachflaeche.min_brownfield_share``
brachflaeche.buildings a building is in a state of ``brachflaeche.building_states`` (derelict)
leerstand              ≥ ``leerstand.min_built_share`` of the footprint is in an unused state
bauluecke              building land, inside the built-up area, unbuilt, area within bounds
untergenutzt           built building land of a plan with coverage / GRZ < ``untergenutzt.max_use_ratio``
aussenreserve          building land of a plan outside the built-up area, unbuilt, area ≥ the minimum
=====================  ==============================================================================

*Building land* (:func:`building_land`): the first legal basis of ``bauland.precedence`` that applies to a
parcel decides — a B-Plan (§30 BauGB) or an FNP covering at least ``zoning.min_share`` of it with a Baufläche
of ``zoning.building_land`` (and a dominant actual use not in ``zoning.excluded_uses``), or, inside the
built-up area without a B-Plan (§34 BauGB), a dominant actual use not in ``bauland.excluded_uses_inside``.

*Missing data is not evidence*: where the parcel's municipality delivered no buildings, no rule that needs
them fires (Baulücke, Außenreserve and Untergenutzte Fläche need an *unbuilt* or *built* parcel); §34
building land needs land use; the built-up area needs the delivered area or buildings.

Examples
--------
>>> import pandas as pd
>>> from flaechen.flag.rules import load_rules
>>> m = pd.DataFrame({"brownfield_share": [0.87], "derelict_count": [0], "building_count": [0],
...     "built_area": [0.0], "unused_area": [0.0], "bauflaeche": [pd.NA], "zoning_share": [pd.NA],
...     "inside": [True], "area_m2": [500.0], "grz": [pd.NA], "coverage": [0.0], "data_buildings": [True]})
>>> rule_masks(m, rules=load_rules()).loc[0].to_dict()["brachflaeche.register"]
True
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from flaechen.flag.reasons import de_number, de_percent, plain
from flaechen.flag.rules import Rules
from flaechen.layers import load_schema

CATEGORY_OF_RULE = {
    "brachflaeche.register": "Brachfläche",
    "brachflaeche.buildings": "Brachfläche",
    "leerstand": "Leerstand",
    "bauluecke": "Baulücke",
    "untergenutzt": "Untergenutzte Fläche",
    "aussenreserve": "Außenreserve",
}
"""Each rule and the category it gives (labels of the code list `candidate_category`)."""

STATE_LABELS = {
    2000: "außer Betrieb (verlassen)",
    2100: "außer Betrieb (stillgelegt)",
    2200: "verfallen",
    2300: "teilweise zerstört",
}


def _f(series: pd.Series, fill: float = 0.0) -> np.ndarray:
    return np.asarray(pd.to_numeric(series, errors="coerce").astype("Float64").fillna(fill).to_numpy(dtype=float))


BASIS_BPLAN = "§30"
BASIS_INSIDE = "§34"
BASIS_FNP = "FNP"
_BASIS_OF = {"BPlan": BASIS_BPLAN, "Innenbereich": BASIS_INSIDE, "FNP": BASIS_FNP}

BAUFLAECHE_LABELS = {
    "W": "Wohnbaufläche",
    "M": "gemischte Baufläche",
    "G": "gewerbliche Baufläche",
    "S": "Sonderbaufläche",
}
"""German names of the Bauflächen of an FNP (BauNVO §1(1))."""

INSIDE_SOURCES = {
    "ortslage": "laut ATKIS-Ortslage",
    "satzung": "laut Innenbereichssatzung",
    "paragraph34": "laut §34-Abgrenzung der Gemeinde",
    "other": "laut gelieferter Abgrenzung",
}
"""How a delivered built-up area (``built_up_area.kind``) is named in reasons."""


def _bool(m: pd.DataFrame, name: str, default: bool) -> np.ndarray:
    if name not in m.columns:
        return np.full(len(m), default)
    return np.asarray(m[name].astype("boolean").fillna(default).to_numpy(dtype=bool), dtype=bool)


def _strs(m: pd.DataFrame, name: str) -> pd.Series:
    if name not in m.columns:
        return pd.Series(pd.NA, index=m.index, dtype="string")
    return m[name].astype("string")


def building_land(measures: pd.DataFrame, *, rules: Rules) -> tuple[np.ndarray, np.ndarray]:
    """Which parcels are building land, and on which legal basis (``§30``, ``§34``, ``FNP`` or None).

    The bases of ``bauland.precedence`` are tried in order; the first that applies to a parcel decides:

    * ``BPlan`` (§30 BauGB) applies where a B-Plan covers ≥ ``zoning.min_share`` of the parcel: building
      land if its class is a Baufläche of ``zoning.building_land`` and the dominant actual use is not in
      ``zoning.excluded_uses``;
    * ``Innenbereich`` (§34 BauGB) applies inside the built-up area where the municipality delivered land
      use: building land unless the dominant actual use is in ``bauland.excluded_uses_inside``;
    * ``FNP`` applies where an FNP covers ≥ ``zoning.min_share``: as for the B-Plan.
    """
    n = len(measures)
    plan_type = _strs(measures, "plan_type")
    covered = _f(measures["zoning_share"]) >= rules["zoning.min_share"] - 1e-9
    bauflaeche = _strs(measures, "bauflaeche")
    zoned = bauflaeche.isin(list(rules["zoning.building_land"])).fillna(False).to_numpy(dtype=bool)
    use = _strs(measures, "use") if "use" in measures.columns else _strs(measures, "dominant_use")
    excluded = use.isin(list(rules["zoning.excluded_uses"])).fillna(False).to_numpy(dtype=bool)
    zoned = zoned & ~excluded
    inside = _bool(measures, "inside", False)
    land_use = _bool(measures, "data_land_use", True) & use.notna().to_numpy()
    use_ok = use.notna().to_numpy() & ~use.isin(list(rules["bauland.excluded_uses_inside"])).fillna(True).to_numpy(
        dtype=bool
    )
    applies = {
        "BPlan": (plan_type == "BPlan").fillna(False).to_numpy(dtype=bool) & covered,
        "Innenbereich": inside & land_use,
        "FNP": (plan_type == "FNP").fillna(False).to_numpy(dtype=bool) & covered,
    }
    is_land = {"BPlan": zoned, "Innenbereich": use_ok, "FNP": zoned}
    land = np.zeros(n, dtype=bool)
    basis = np.full(n, None, dtype=object)
    open_ = np.ones(n, dtype=bool)
    for name in rules["bauland.precedence"]:
        if name not in applies:
            continue
        here = open_ & applies[name]
        land |= here & is_land[name]
        basis[here & is_land[name]] = _BASIS_OF[name]
        open_ &= ~here
    return land, basis


def _unbuilt(measures: pd.DataFrame, rules: Rules) -> np.ndarray:
    """Parcels without a building worth the name, where the municipality delivered buildings and no house
    number says one stands there (footprints missing from the delivery)."""
    known = _bool(measures, "data_buildings", True)
    numbered = _bool(measures, "house_number", False)
    small = _f(measures["built_area"]) <= rules["bauluecke.max_footprint_m2"] + 1e-9
    return np.asarray(known & ~numbered & small, dtype=bool)


def rule_masks(measures: pd.DataFrame, *, rules: Rules) -> pd.DataFrame:
    """Boolean mask per rule (columns as in :data:`CATEGORY_OF_RULE`), one row per parcel."""
    land, basis = building_land(measures, rules=rules)
    planned = np.isin(basis, [BASIS_BPLAN, BASIS_FNP])
    area = _f(measures["area_m2"])
    count = _f(measures["building_count"])
    built = _f(measures["built_area"])
    unused = _f(measures["unused_area"])
    inside_col = measures["inside"].astype("boolean")
    inside = inside_col.fillna(False).to_numpy(dtype=bool)
    outside = (~inside_col).fillna(False).to_numpy(dtype=bool)
    grz = _f(measures["grz"], np.nan)
    coverage = _f(measures["coverage"])
    bf = _f(measures["brownfield_share"])
    with np.errstate(invalid="ignore", divide="ignore"):
        unused_share = np.where(built > 0, unused / built, 0.0)
        use_ratio = np.where(grz > 0, coverage / grz, np.nan)
    max_plan = rules["bauluecke.max_area_m2"]
    max_34 = rules["bauluecke.max_area_m2_innenbereich"]
    max_gap = np.where(
        basis == BASIS_INSIDE, np.inf if max_34 is None else max_34, np.inf if max_plan is None else max_plan
    )
    empty = _unbuilt(measures, rules)
    min_width = rules["bauluecke.min_width_m"] - 1e-9
    with_buildings = _bool(measures, "data_buildings", True) & ~empty & (count >= 1)
    return pd.DataFrame(
        {
            "brachflaeche.register": (bf > 0) & (bf >= rules["brachflaeche.min_brownfield_share"]),
            "brachflaeche.buildings": _f(measures["derelict_count"]) >= 1,
            "leerstand": (count >= 1) & (built > 0) & (unused_share >= rules["leerstand.min_built_share"]),
            "bauluecke": land
            & inside
            & empty
            & _bool(measures, "street_access", True)
            & (_f(measures.get("width_m", pd.Series(np.nan, index=measures.index)), np.inf) >= min_width)
            & (area >= rules["bauluecke.min_area_m2"])
            & (area <= max_gap),
            "untergenutzt": land
            & planned
            & with_buildings
            & (use_ratio < rules["untergenutzt.max_use_ratio"])
            & (area >= rules["untergenutzt.min_area_m2"]),
            "aussenreserve": land & planned & outside & empty & (area >= rules["aussenreserve.min_area_m2"]),
        },
        index=measures.index,
    )


def legal_basis_texts(m: pd.DataFrame, *, rules: Rules) -> list[str | None]:
    """The legal basis of each parcel's building land in German, e.g. ``"§30 BauGB: B-Plan Nr. 12, WA"``."""
    _, basis = building_land(m, rules=rules)
    inside = inside_texts(m, rules=rules)
    out: list[str | None] = []
    for b, name, cls, bfl, ins in zip(
        basis.tolist(), _txt(m, "plan_name"), _txt(m, "zoning_class"), _txt(m, "bauflaeche"), inside, strict=True
    ):
        if b == BASIS_BPLAN:
            out.append(f"§30 BauGB: B-Plan {name or 'ohne Namen'}, {cls}")
        elif b == BASIS_INSIDE:
            out.append(f"§34 BauGB: Innenbereich {ins}")
        elif b == BASIS_FNP:
            out.append(f"FNP: {BAUFLAECHE_LABELS.get(bfl or '', cls)}")
        else:
            out.append(None)
    return out


def inside_texts(m: pd.DataFrame, *, rules: Rules) -> list[str]:
    """Where the built-up area of each parcel comes from, e.g. ``"laut ATKIS-Ortslage"`` or
    ``"geschätzt (Gebäudedichte 24 %, Schwelle 12 %)"``."""
    thr = de_percent(rules["innenbereich.coverage_threshold"])
    density = _num(m, "building_density").tolist()
    out = []
    tol = de_number(rules["innenbereich.ortslage_tolerance_m"])
    edge = _txt(m, "built_up_edge")
    for b, d, name, e in zip(_txt(m, "inside_basis"), density, _txt(m, "built_up_name"), edge, strict=True):
        if b == "estimate" or b is None:
            out.append(f"geschätzt (Gebäudedichte {de_percent(d if d == d else 0.0)}, Schwelle {thr})")
        else:
            text = INSIDE_SOURCES.get(b, INSIDE_SOURCES["other"]) + (f" „{name}“" if name else "")
            if e == "True":
                text += f" (am Rand: innerhalb der Lagegenauigkeit von {tol} m, laut Gebäuden im Bebauungszusammenhang)"
            out.append(text)
    return out


def _num(m: pd.DataFrame, name: str) -> np.ndarray:
    """A numeric column as float64 (NaN where missing or absent)."""
    if name not in m.columns:
        return np.full(len(m), np.nan)
    return np.asarray(pd.to_numeric(m[name], errors="coerce").astype("Float64").to_numpy(dtype=float, na_value=np.nan))


def _txt(m: pd.DataFrame, name: str) -> list[Any]:
    """A text column as str or None."""
    if name not in m.columns:
        return [None] * len(m)
    return list(m[name].astype("string").to_numpy(dtype=object, na_value=None).tolist())


def _js(values: Any) -> list[str]:
    """JSON literals: numbers rounded to 4 decimals (null where NaN), texts quoted, None as null."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        rounded = np.round(values, 4).tolist()
        return ["null" if v != v else repr(v) for v in rounded]
    return ["null" if v is None else json.dumps(v, ensure_ascii=False) for v in values]


def _entry(rule: str, fields: dict[str, list[str]], n: int) -> list[str]:
    head = (
        f'{{"rule":{json.dumps(rule)},"category":{json.dumps(CATEGORY_OF_RULE[rule], ensure_ascii=False)},"values":{{'
    )
    names = [json.dumps(k) + ":" for k in fields]
    cols = list(fields.values())
    return [head + ",".join(k + c[i] for k, c in zip(names, cols, strict=True)) + "}}" for i in range(n)]


def _const(value: Any, n: int) -> list[str]:
    return [json.dumps(plain(value), ensure_ascii=False)] * n


def _zoning_texts(m: pd.DataFrame) -> list[str]:
    share = _num(m, "zoning_share").tolist()
    cls, kind, name = _txt(m, "zoning_class"), _txt(m, "plan_type"), _txt(m, "plan_name")
    return [
        f"{c}, {de_percent(s)} der Fläche" + (f", {t} {p}" if p else "")
        for c, s, t, p in zip(cls, share, kind, name, strict=True)
    ]


def explain(rule: str, m: pd.DataFrame, *, rules: Rules) -> tuple[list[str], list[str]]:
    """German sentences and JSON entries for one rule, for every row of `m` (the parcels that meet it).

    Parameters
    ----------
    rule
        A key of :data:`CATEGORY_OF_RULE`.
    m
        The measures of the parcels that meet the rule.

    Returns
    -------
    (list of str, list of str)
        One sentence and one JSON object (``{"rule", "category", "values"}``) per row.
    """
    n = len(m)
    area = _num(m, "area_m2")
    if rule == "brachflaeche.register":
        thr = rules["brachflaeche.min_brownfield_share"]
        labels = load_schema().codelist("former_use")
        share = _num(m, "brownfield_share")
        site, name, use = (_txt(m, c) for c in ("brownfield_site_id", "brownfield_name", "brownfield_former_use"))
        thr_t = de_percent(thr)
        texts = [
            f"Zu {de_percent(sh)} als Brachfläche registriert (Schwelle {thr_t}): {si}"
            + (f" „{na}“" if na else "")
            + (f", frühere Nutzung {labels.label(us) or us}" if us else "")
            + "."
            for sh, si, na, us in zip(share.tolist(), site, name, use, strict=True)
        ]
        fields = {
            "brownfield_share": _js(share),
            "threshold": _const(thr, n),
            "site_id": _js(site),
            "former_use": _js(use),
            "since_year": _js(_num(m, "brownfield_since_year")),
        }
    elif rule == "brachflaeche.buildings":
        states = list(rules["brachflaeche.building_states"])
        words = " oder ".join(STATE_LABELS.get(st, str(st)) for st in states)
        codes = ", ".join(map(str, states))
        count = [int(c) for c in np.nan_to_num(_num(m, "derelict_count"))]
        texts = [f"{c} Gebäude im Zustand {words} (ALKIS-Zustand {codes})." for c in count]
        fields = {"derelict_buildings": [str(c) for c in count], "states": _const(states, n)}
    elif rule == "leerstand":
        thr = rules["leerstand.min_built_share"]
        codes = ", ".join(map(str, rules["leerstand.building_states"]))
        unused, built = _num(m, "unused_area"), _num(m, "built_area")
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(built > 0, unused / built, 0.0)
        tail = f" im Zustand außer Betrieb (ALKIS-Zustand {codes}; Schwelle {de_percent(thr)})."
        texts = [
            f"{de_percent(sh)} der Gebäudegrundfläche ({de_number(u)} von {de_number(b)} m²){tail}"
            for sh, u, b in zip(share.tolist(), unused.tolist(), built.tolist(), strict=True)
        ]
        fields = {
            "unused_share": _js(share),
            "unused_area_m2": _js(unused),
            "threshold": _const(thr, n),
        }
    elif rule in ("bauluecke", "aussenreserve"):
        min_area = rules[f"{rule}.min_area_m2"]
        _, basis = building_land(m, rules=rules)
        legal = legal_basis_texts(m, rules=rules)
        where = inside_texts(m, rules=rules)
        density = _num(m, "building_density")
        use, use_share = _txt(m, "use"), _num(m, "use_share")
        max_plan, max_34 = rules["bauluecke.max_area_m2"], rules["bauluecke.max_area_m2_innenbereich"]
        texts, max_areas = [], []
        for b, lg, wh, a, u, us in zip(
            basis.tolist(), legal, where, area.tolist(), use, use_share.tolist(), strict=True
        ):
            hi = (max_34 if b == BASIS_INSIDE else max_plan) if rule == "bauluecke" else None
            max_areas.append(hi)
            size = f"{de_number(a)} m² (" + (
                f"{de_number(min_area)}–{de_number(hi)} m²)" if hi else f"ab {de_number(min_area)} m²)"
            )
            used = (
                f"tatsächliche Nutzung {u}" + (f" ({de_percent(us)})" if us == us else "")
                if u
                else "tatsächliche Nutzung unbekannt"
            )
            if b == BASIS_INSIDE:
                texts.append(f"Unbebautes Bauland ohne B-Plan – {lg}; {used}; {size}.")
            else:
                loc = "im Innenbereich" if rule == "bauluecke" else "außerhalb des Innenbereichs"
                wh = "geschätzt: " + wh[len("geschätzt (") : -1] if wh.startswith("geschätzt (") else wh
                texts.append(f"Unbebautes Bauland – {lg} – {loc} ({wh}); {used}; {size}.")
        fields = {
            "legal_basis": _js(legal),
            "basis": _js(basis.tolist()),
            "zoning_class": _js(_txt(m, "zoning_class")),
            "zoning_share": _js(_num(m, "zoning_share")),
            "inside_basis": _js(_txt(m, "inside_basis")),
            "building_density": _js(density),
            "density_threshold": _const(rules["innenbereich.coverage_threshold"], n),
            "use": _js(use),
            "use_share": _js(use_share),
            "area_m2": _js(area),
            "min_area_m2": _const(min_area, n),
            "max_area_m2": _js(max_areas),
        }
    elif rule == "untergenutzt":
        thr = rules["untergenutzt.max_use_ratio"]
        coverage, grz, source = _num(m, "coverage"), _num(m, "grz"), _txt(m, "grz_source")
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = coverage / grz
        thr_t = de_percent(thr)
        texts = [
            f"Bebaut zu {de_percent(c)} der Fläche bei zulässiger GRZ {de_number(g, 2)} ({src}; {z}): "
            f"Ausnutzung {de_percent(r)} (Schwelle {thr_t})."
            for c, g, src, z, r in zip(
                coverage.tolist(), grz.tolist(), source, _zoning_texts(m), ratio.tolist(), strict=True
            )
        ]
        fields = {
            "coverage": _js(coverage),
            "grz": _js(grz),
            "grz_source": _js(source),
            "use_ratio": _js(ratio),
            "threshold": _const(thr, n),
        }
    else:
        raise KeyError(f"unknown rule {rule!r}; rules: {', '.join(CATEGORY_OF_RULE)}")
    return texts, _entry(rule, fields, n)


def explain_rule(rule: str, row: Mapping[str, Any], *, rules: Rules) -> tuple[str, dict[str, Any]]:
    """The German sentence and the JSON entry for one rule one parcel meets (see :func:`explain`).

    Examples
    --------
    >>> from flaechen.flag.rules import load_rules
    >>> explain_rule("brachflaeche.register", {"brownfield_share": 0.873, "brownfield_site_id": "B7",
    ...     "brownfield_former_use": "rail"}, rules=load_rules())[0]
    'Zu 87 % als Brachfläche registriert (Schwelle 50 %): B7, frühere Nutzung Bahn.'
    """
    texts, entries = explain(rule, pd.DataFrame([dict(row)]), rules=rules)
    return texts[0], json.loads(entries[0])


def explain_candidates(
    measures: pd.DataFrame, masks: pd.DataFrame, *, rules: Rules
) -> tuple[np.ndarray, np.ndarray, list[list[str]], list[list[str]]]:
    """Categories and reasons of the parcels that meet at least one rule.

    Parameters
    ----------
    measures, masks
        The measures and the rule masks (:func:`rule_masks`) of those parcels, row for row.

    Returns
    -------
    primary, categories, texts, entries
        The primary category (first by ``categories.priority``), all categories joined by ``;``, and per
        parcel its sentences and JSON objects in the order of the categories.
    """
    k = len(measures)
    measures = measures.reset_index(drop=True)
    met = masks.to_numpy(dtype=bool)
    priority = list(rules["categories.priority"])

    def rank(category: str) -> int:
        return priority.index(category) if category in priority else len(priority)

    names = list(masks.columns)
    texts: list[list[str]] = [[] for _ in range(k)]
    entries: list[list[str]] = [[] for _ in range(k)]
    for j in sorted(range(len(names)), key=lambda j: (rank(CATEGORY_OF_RULE[names[j]]), j)):
        rows = np.flatnonzero(met[:, j])
        if len(rows):
            sentences, objects = explain(names[j], measures.iloc[rows], rules=rules)
            for r, t, e in zip(rows.tolist(), sentences, objects, strict=True):
                texts[r].append(t)
                entries[r].append(e)

    joined = np.full(k, "", dtype=object)
    primary = np.full(k, None, dtype=object)
    for category in sorted(set(CATEGORY_OF_RULE.values()), key=lambda c: (rank(c), c)):
        cols = [j for j, r in enumerate(names) if CATEGORY_OF_RULE[r] == category]
        has = met[:, cols].any(axis=1)
        primary = np.where(has & (primary == None), category, primary)  # noqa: E711 - elementwise
        joined = np.where(has, joined + ";" + category, joined)
    return primary, np.array([c[1:] for c in joined], dtype=object), texts, entries


_STATISTIC = {"mean": "im Mittel", "min": "mindestens", "max": "höchstens"}


def explain_constraint(constraint: Any, status: str, value: Any) -> tuple[str, dict[str, Any]]:
    """The sentence and JSON entry for a constraint that applies to a candidate or has no data for it.

    Parameters
    ----------
    constraint
        A :class:`~flaechen.flag.constraints.VectorConstraint` or
        :class:`~flaechen.flag.constraints.RasterConstraint`.
    status
        ``"betroffen"`` or ``"keine Daten"``.
    value
        The measured share (vector) or statistic (raster); None without data.

    Examples
    --------
    >>> from types import SimpleNamespace as C
    >>> hq = C(name="hq", label="Überschwemmungsgebiet", effect="exclude", kind="vector", min_share=0.0)
    >>> explain_constraint(hq, "betroffen", 0.4)[0]
    'Ausschluss durch „Überschwemmungsgebiet“: 40 % der Fläche betroffen (Schwelle über 0 %).'
    >>> slope = C(name="hang", label="Hangneigung", effect="lower", kind="raster", statistic="mean",
    ...     above=15.0, below=None, unit="%")
    >>> explain_constraint(slope, "betroffen", 18.24)[0]
    'Nachrangig wegen „Hangneigung“: im Mittel 18,2 % (Schwelle über 15,0 %).'
    >>> explain_constraint(slope, "keine Daten", None)[0]
    '„Hangneigung“: keine Daten für dieses Flurstück – nicht als frei von dieser Einschränkung gewertet.'
    """
    c = constraint
    values: dict[str, Any] = {"effect": c.effect, "status": status}
    if status == "keine Daten":
        text = f"„{c.label}“: keine Daten für dieses Flurstück – nicht als frei von dieser Einschränkung gewertet."
        values["value"] = plain(value)
    else:
        lead = "Ausschluss durch" if c.effect == "exclude" else "Nachrangig wegen"
        if c.kind == "vector":
            measured = f"{de_percent(value)} der Fläche betroffen (Schwelle über {de_percent(c.min_share)})"
            values.update(share=plain(value), threshold=plain(c.min_share))
        else:
            unit = f" {c.unit}" if c.unit else ""
            direction, threshold = ("über", c.above) if c.above is not None else ("unter", c.below)
            measured = (
                f"{_STATISTIC[c.statistic]} {de_number(value, 1)}{unit} "
                f"(Schwelle {direction} {de_number(threshold, 1)}{unit})"
            )
            values.update(statistic=c.statistic, value=plain(value), threshold=plain(threshold), direction=direction)
        text = f"{lead} „{c.label}“: {measured}."
    return text, {"rule": f"constraint.{c.name}", "category": None, "values": values}


RULES_OF_CATEGORY = {
    "Brachfläche": ("brachflaeche.register", "brachflaeche.buildings"),
    "Leerstand": ("leerstand",),
    "Baulücke": ("bauluecke",),
    "Untergenutzte Fläche": ("untergenutzt",),
    "Außenreserve": ("aussenreserve",),
}
"""The rules that give each category."""


def _val(row: Mapping[str, Any], key: str) -> Any:
    """A value of `row` as a plain Python value (numpy scalars, as read back from a GeoPackage, converted),
    None where missing."""
    v = row.get(key)
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, np.generic):
        v = v.item()
        if isinstance(v, float) and v != v:
            return None
    return v


def _truth(row: Mapping[str, Any], key: str) -> bool | None:
    """A yes/no value of `row` as bool (a GeoPackage gives back 0.0 / 1.0 for a column with gaps), None where
    missing."""
    v = _val(row, key)
    return None if v is None else bool(v)


def failed_conditions(row: Mapping[str, Any], rule: str, *, rules: Rules) -> list[str]:
    """The conditions of `rule` a parcel does not meet, in German (empty where it meets them all).

    `row` holds the parcel's measures (a row of table ``parcel_measures``). Used to explain why a
    surveyed potential was missed (``flaechen evaluate``).

    Examples
    --------
    >>> from flaechen.flag.rules import load_rules
    >>> failed_conditions({"area_m2": 120.0, "built_area": 0.0, "inside": True, "bauland_basis": "§34",
    ...     "data_buildings": True, "use": "Wohnbaufläche"}, "bauluecke", rules=load_rules())
    ['zu klein: 120 m² (ab 200 m²)']
    """
    area = float(_val(row, "area_m2") or 0.0)
    built = float(_val(row, "built_area") or 0.0)
    inside = _truth(row, "inside")
    basis = _val(row, "bauland_basis")
    data_buildings = _truth(row, "data_buildings")
    out: list[str] = []

    def land_reason() -> str | None:
        if basis is not None:
            return None
        use = _val(row, "use") or _val(row, "dominant_use")
        plan = _val(row, "plan_type")
        share = _val(row, "zoning_share")
        covered = share is not None and float(share) >= rules["zoning.min_share"] - 1e-9
        cls = _val(row, "zoning_class")
        if covered and plan is not None:
            label = "B-Plan" if plan == "BPlan" else plan
            name = _val(row, "plan_name") or ""
            if use in list(rules["zoning.excluded_uses"]):
                return f"kein Bauland: tatsächliche Nutzung {use} im {label} {name} (zoning.excluded_uses)".replace(
                    "  ", " "
                )
            if plan == "BPlan" or not inside:
                what = cls or "keine Baufläche (Art der baulichen Nutzung fehlt oder ist unbekannt)"
                return f"kein Bauland: {label} {name} setzt {what} fest (zoning.building_land)".replace("  ", " ")
        if inside:
            if _truth(row, "data_land_use") is False or use is None:
                return "kein Bauland feststellbar: keine Nutzungsdaten für das Innenbereichsgrundstück (§34)"
            rule = "bauland.excluded_uses_inside"
            return f"kein Bauland: tatsächliche Nutzung {use} schließt Bauland im Innenbereich aus ({rule})"
        if _truth(row, "data_zoning") is False:
            return "kein Bauland: außerhalb des Innenbereichs, keine Planungsdaten"
        return "kein Bauland: außerhalb des Innenbereichs und ohne B-Plan- oder FNP-Baufläche"

    def inside_reason(want: bool) -> str | None:
        if inside is None:
            return "Innenbereich unbekannt: weder Abgrenzung noch Gebäude geliefert"
        if bool(inside) == want:
            return None
        frame = pd.DataFrame([dict(row)])
        where = inside_texts(frame, rules=rules)[0]
        where = "geschätzt: " + where[len("geschätzt (") : -1] if where.startswith("geschätzt (") else where
        return f"{'nicht im' if want else 'im'} Innenbereich ({where})"

    def built_reason() -> str | None:
        if data_buildings is False:
            return "keine Gebäudedaten: ob das Flurstück unbebaut ist, ist unbekannt"
        limit = rules["bauluecke.max_footprint_m2"]
        if built > limit + 1e-9:
            return f"bebaut: {de_number(built)} m² Gebäudegrundfläche (bis {de_number(limit)} m² gilt als unbebaut)"
        return None

    def numbered_reason() -> str | None:
        if _truth(row, "house_number") and built <= rules["bauluecke.max_footprint_m2"] + 1e-9:
            return "Hausnummer vorhanden: bebaut, auch wenn kein Gebäude geliefert wurde"
        return None

    if rule == "bauluecke":
        reasons = [built_reason(), numbered_reason(), land_reason(), inside_reason(True)]
        if _truth(row, "street_access") is False:
            kinds = ", ".join(rules["bauluecke.requires_access"])
            reasons.append(f"keine Erschließung: grenzt an kein Flurstück der Nutzung {kinds}")
        width = _val(row, "width_m")
        if width is not None and float(width) < rules["bauluecke.min_width_m"] - 1e-9:
            lo_w = de_number(rules["bauluecke.min_width_m"])
            reasons.append(f"zu schmal: {de_number(float(width), 1)} m breit (ab {lo_w} m)")
        lo = rules["bauluecke.min_area_m2"]
        hi = rules["bauluecke.max_area_m2_innenbereich"] if basis == BASIS_INSIDE else rules["bauluecke.max_area_m2"]
        if area < lo:
            reasons.append(f"zu klein: {de_number(area)} m² (ab {de_number(lo)} m²)")
        if hi is not None and area > hi:
            reasons.append(f"zu groß für eine Baulücke: {de_number(area)} m² (bis {de_number(hi)} m²)")
        out = [r for r in reasons if r]
    elif rule == "aussenreserve":
        reasons = [built_reason(), numbered_reason(), land_reason(), inside_reason(False)]
        if basis == BASIS_INSIDE:
            reasons.append("Bauland nur nach §34, nicht nach Plan")
        lo = rules["aussenreserve.min_area_m2"]
        if area < lo:
            reasons.append(f"zu klein: {de_number(area)} m² (ab {de_number(lo)} m²)")
        out = [r for r in reasons if r]
    elif rule == "untergenutzt":
        reasons = [land_reason()]
        if data_buildings is False:
            reasons.append("keine Gebäudedaten")
        elif built <= rules["bauluecke.max_footprint_m2"]:
            reasons.append("unbebaut (keine Untergenutzte Fläche)")
        grz = _val(row, "grz")
        if basis == BASIS_INSIDE or grz is None:
            reasons.append("keine zulässige GRZ (kein Plan)")
        else:
            ratio = float(_val(row, "coverage") or 0.0) / float(grz)
            thr = rules["untergenutzt.max_use_ratio"]
            if ratio >= thr:
                reasons.append(f"Ausnutzung {de_percent(ratio)} der GRZ (Schwelle unter {de_percent(thr)})")
        out = [r for r in reasons if r]
    elif rule == "leerstand":
        if data_buildings is False:
            out = ["keine Gebäudedaten"]
        else:
            unused = float(_val(row, "unused_area") or 0.0)
            share = unused / built if built > 0 else 0.0
            thr = rules["leerstand.min_built_share"]
            if share < thr:
                out = [f"{de_percent(share)} der Gebäudegrundfläche außer Betrieb (ab {de_percent(thr)})"]
    elif rule == "brachflaeche.register":
        share = float(_val(row, "brownfield_share") or 0.0)
        thr = rules["brachflaeche.min_brownfield_share"]
        if _truth(row, "data_brownfields") is False:
            out = ["keine Brachflächendaten"]
        elif share < thr:
            out = [f"zu {de_percent(share)} als Brachfläche registriert (ab {de_percent(thr)})"]
    elif rule == "brachflaeche.buildings":
        if data_buildings is False:
            out = ["keine Gebäudedaten"]
        elif int(_val(row, "derelict_count") or 0) < 1:
            out = ["kein verfallenes oder zerstörtes Gebäude"]
    else:
        raise KeyError(f"unknown rule {rule!r}; rules: {', '.join(CATEGORY_OF_RULE)}")
    return out
