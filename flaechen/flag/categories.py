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
at least ``zoning.min_share`` of the parcel.

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
    return pd.to_numeric(series, errors="coerce").astype("Float64").fillna(fill).to_numpy(dtype=float)


def building_land(measures: pd.DataFrame, *, rules: Rules) -> np.ndarray:
    """Mask of parcels on building land (dominant Baufläche in ``zoning.building_land``, share ≥ minimum)."""
    bauflaeche = measures["bauflaeche"].astype("string")
    in_list = bauflaeche.isin(list(rules["zoning.building_land"])).fillna(False).to_numpy(dtype=bool)
    return in_list & (_f(measures["zoning_share"]) >= rules["zoning.min_share"])


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


def _zoning_text(row: Mapping[str, Any]) -> str:
    plan = f", {row['plan_type']} {row['plan_name']}" if row.get("plan_name") else ""
    return f"{row['zoning_class']}, {de_percent(row['zoning_share'])} der Fläche{plan}"


def explain_rule(rule: str, row: Mapping[str, Any], *, rules: Rules) -> tuple[str, dict[str, Any]]:
    """The German sentence and the JSON entry for one rule a parcel meets.

    Parameters
    ----------
    rule
        A key of :data:`CATEGORY_OF_RULE`.
    row
        The parcel's measures (a mapping, e.g. ``DataFrame.loc[i].to_dict()``).

    Examples
    --------
    >>> from flaechen.flag.rules import load_rules
    >>> explain_rule("brachflaeche.register", {"brownfield_share": 0.873, "brownfield_site_id": "B7",
    ...     "brownfield_former_use": "rail"}, rules=load_rules())[0]
    'Zu 87 % als Brachfläche registriert (Schwelle 50 %): B7, frühere Nutzung Bahn.'
    """
    category = CATEGORY_OF_RULE[rule]
    area = row.get("area_m2")
    if rule == "brachflaeche.register":
        thr = rules["brachflaeche.min_brownfield_share"]
        site = row.get("brownfield_site_id")
        name = row.get("brownfield_name")
        use = row.get("brownfield_former_use")
        use_label = load_schema().codelist("former_use").label(use) or use if use else None
        extra = f"{site}" + (f" „{name}“" if name else "") + (f", frühere Nutzung {use_label}" if use else "")
        share = de_percent(row["brownfield_share"])
        text = f"Zu {share} als Brachfläche registriert (Schwelle {de_percent(thr)}): {extra}."
        values = {
            "brownfield_share": row["brownfield_share"],
            "threshold": thr,
            "site_id": site,
            "former_use": use,
            "since_year": row.get("brownfield_since_year"),
        }
    elif rule == "brachflaeche.buildings":
        states = rules["brachflaeche.building_states"]
        labels = " oder ".join(STATE_LABELS.get(s, str(s)) for s in states)
        n = int(row["derelict_count"])
        text = f"{n} Gebäude im Zustand {labels} (ALKIS-Zustand {', '.join(map(str, states))})."
        values = {"derelict_buildings": n, "states": list(states)}
    elif rule == "leerstand":
        thr = rules["leerstand.min_built_share"]
        share = row["unused_area"] / row["built_area"] if row["built_area"] else 0.0
        states = rules["leerstand.building_states"]
        text = (
            f"{de_percent(share)} der Gebäudegrundfläche ({de_number(row['unused_area'])} von "
            f"{de_number(row['built_area'])} m²) im Zustand außer Betrieb (ALKIS-Zustand "
            f"{', '.join(map(str, states))}; Schwelle {de_percent(thr)})."
        )
        values = {"unused_share": share, "unused_area_m2": row["unused_area"], "threshold": thr}
    elif rule in ("bauluecke", "aussenreserve"):
        thr = rules["innenbereich.coverage_threshold"]
        min_area = rules[f"{rule}.min_area_m2"]
        where = "im Innenbereich" if rule == "bauluecke" else "außerhalb des Innenbereichs"
        text = (
            f"Unbebautes Bauland ({_zoning_text(row)}) {where} (Gebäudedichte "
            f"{de_percent(row['building_density'])}, Schwelle {de_percent(thr)}), "
            f"{de_number(area)} m² (ab {de_number(min_area)} m²)."
        )
        values = {
            "zoning_class": row["zoning_class"],
            "zoning_share": row["zoning_share"],
            "building_density": row["building_density"],
            "density_threshold": thr,
            "area_m2": area,
            "min_area_m2": min_area,
        }
    elif rule == "untergenutzt":
        thr = rules["untergenutzt.max_use_ratio"]
        ratio = row["coverage"] / row["grz"]
        text = (
            f"Bebaut zu {de_percent(row['coverage'])} der Fläche bei zulässiger GRZ {de_number(row['grz'], 2)} "
            f"({row['grz_source']}; {_zoning_text(row)}): Ausnutzung {de_percent(ratio)} (Schwelle {de_percent(thr)})."
        )
        values = {
            "coverage": row["coverage"],
            "grz": row["grz"],
            "grz_source": row["grz_source"],
            "use_ratio": ratio,
            "threshold": thr,
        }
    else:  # pragma: no cover - guarded by CATEGORY_OF_RULE
        raise KeyError(rule)
    return text, {"rule": rule, "category": category, "values": {k: plain(v) for k, v in values.items()}}


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
