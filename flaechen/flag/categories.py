"""Candidate categories: which rules each parcel meets, and why, in German and in JSON.

The rules (thresholds from :class:`~flaechen.flag.rules.Rules`) are evaluated on the per-parcel measures
as vectorised masks; sentences are written only for the parcels that meet a rule.

=====================  ==============================================================================
rule                   met where
=====================  ==============================================================================
brachflaeche.register  registered brownfields cover ≥ ``brachflaeche.min_brownfield_share``
brachflaeche.buildings a building is in a state of ``brachflaeche.building_states`` (derelict)
leerstand              ≥ ``leerstand.min_built_share`` of the footprint is in an unused state
bauluecke              building land, inside the built-up area, no building, area within bounds
untergenutzt           built building land with coverage / GRZ < ``untergenutzt.max_use_ratio``
aussenreserve          building land outside the built-up area, no building, area ≥ the minimum
=====================  ==============================================================================

*Building land*: the dominant zoning class belongs to a Baufläche of ``zoning.building_land`` and covers
at least ``zoning.min_share`` of the parcel, and the parcel's dominant actual use (ALKIS Nutzungsart) is not
one of ``zoning.excluded_uses`` (streets, paths, rail, water, cemeteries).

Examples
--------
>>> import pandas as pd
>>> from flaechen.flag.rules import load_rules
>>> m = pd.DataFrame({"brownfield_share": [0.87], "derelict_count": [0], "building_count": [0],
...     "built_area": [0.0], "unused_area": [0.0], "bauflaeche": [pd.NA], "zoning_share": [pd.NA],
...     "inside": [True], "area_m2": [500.0], "grz": [pd.NA], "coverage": [0.0]})
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


def building_land(measures: pd.DataFrame, *, rules: Rules) -> np.ndarray:
    """Mask of parcels on building land (dominant Baufläche in ``zoning.building_land``, share ≥ minimum)."""
    bauflaeche = measures["bauflaeche"].astype("string")
    in_list = bauflaeche.isin(list(rules["zoning.building_land"])).fillna(False).to_numpy(dtype=bool)
    land = in_list & (_f(measures["zoning_share"]) >= rules["zoning.min_share"])
    if "dominant_use" in measures.columns and "zoning.excluded_uses" in rules:
        excluded = measures["dominant_use"].astype("string").isin(list(rules["zoning.excluded_uses"]))
        land &= ~excluded.fillna(False).to_numpy(dtype=bool)
    return np.asarray(land)


def rule_masks(measures: pd.DataFrame, *, rules: Rules) -> pd.DataFrame:
    """Boolean mask per rule (columns as in :data:`CATEGORY_OF_RULE`), one row per parcel."""
    land = building_land(measures, rules=rules)
    area = _f(measures["area_m2"])
    count = _f(measures["building_count"])
    built = _f(measures["built_area"])
    unused = _f(measures["unused_area"])
    inside = measures["inside"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    grz = _f(measures["grz"], np.nan)
    coverage = _f(measures["coverage"])
    bf = _f(measures["brownfield_share"])
    with np.errstate(invalid="ignore", divide="ignore"):
        unused_share = np.where(built > 0, unused / built, 0.0)
        use_ratio = np.where(grz > 0, coverage / grz, np.nan)
    max_gap = rules["bauluecke.max_area_m2"]
    empty = count == 0
    return pd.DataFrame(
        {
            "brachflaeche.register": (bf > 0) & (bf >= rules["brachflaeche.min_brownfield_share"]),
            "brachflaeche.buildings": _f(measures["derelict_count"]) >= 1,
            "leerstand": (count >= 1) & (built > 0) & (unused_share >= rules["leerstand.min_built_share"]),
            "bauluecke": land
            & inside
            & empty
            & (area >= rules["bauluecke.min_area_m2"])
            & (area <= (np.inf if max_gap is None else max_gap)),
            "untergenutzt": land
            & (count >= 1)
            & (use_ratio < rules["untergenutzt.max_use_ratio"])
            & (area >= rules["untergenutzt.min_area_m2"]),
            "aussenreserve": land & ~inside & empty & (area >= rules["aussenreserve.min_area_m2"]),
        },
        index=measures.index,
    )


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
        thr = rules["innenbereich.coverage_threshold"]
        min_area = rules[f"{rule}.min_area_m2"]
        where = "im Innenbereich" if rule == "bauluecke" else "außerhalb des Innenbereichs"
        density = _num(m, "building_density")
        thr_t, min_t = de_percent(thr), de_number(min_area)
        texts = [
            f"Unbebautes Bauland ({z}) {where} (Gebäudedichte {de_percent(d)}, Schwelle {thr_t}), "
            f"{de_number(a)} m² (ab {min_t} m²)."
            for z, d, a in zip(_zoning_texts(m), density.tolist(), area.tolist(), strict=True)
        ]
        fields = {
            "zoning_class": _js(_txt(m, "zoning_class")),
            "zoning_share": _js(_num(m, "zoning_share")),
            "building_density": _js(density),
            "density_threshold": _const(thr, n),
            "area_m2": _js(area),
            "min_area_m2": _const(min_area, n),
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
