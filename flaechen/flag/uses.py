"""The actual use of each parcel (ALKIS tatsächliche Nutzung): dominant Nutzungsart and use shares.

Two sources, per municipality: the layer ``land_use`` (ALKIS object classes as separate polygons, field
``use`` holding the class, e.g. ``AX_Wohnbauflaeche``) where the municipality delivered it, else the
parcel's ``actual_use`` text of ALKIS vereinfacht (``"Wohnbaufläche;512"``,
``"Landwirtschaft / Grünland;6850|Weg / Wirtschaftsweg;94"``). Both are reduced to the German Nutzungsart
(``Wohnbaufläche``, ``Landwirtschaft``, ``Straßenverkehr`` …), the names the rules file lists.

Examples
--------
>>> parse_actual_use("Landwirtschaft / Grünland;6850|Weg / Wirtschaftsweg;94")
[('Landwirtschaft', 6850.0), ('Weg', 94.0)]
>>> use_label(pd.Series(["AX_Wohnbauflaeche", "Wohnbaufläche", "AX_Unbekannt"])).tolist()
['Wohnbaufläche', 'Wohnbaufläche', 'AX_Unbekannt']
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import numpy as np
import pandas as pd

from flaechen.flag.overlay import Overlaps

ALKIS_CLASS_LABELS: dict[str, str] = {
    "AX_Wohnbauflaeche": "Wohnbaufläche",
    "AX_IndustrieUndGewerbeflaeche": "Industrie- und Gewerbefläche",
    "AX_Halde": "Halde",
    "AX_Bergbaubetrieb": "Bergbaubetrieb",
    "AX_TagebauGrubeSteinbruch": "Tagebau, Grube, Steinbruch",
    "AX_FlaecheGemischterNutzung": "Fläche gemischter Nutzung",
    "AX_FlaecheBesondererFunktionalerPraegung": "Fläche besonderer funktionaler Prägung",
    "AX_SportFreizeitUndErholungsflaeche": "Sport-, Freizeit- und Erholungsfläche",
    "AX_Friedhof": "Friedhof",
    "AX_Strassenverkehr": "Straßenverkehr",
    "AX_Weg": "Weg",
    "AX_Platz": "Platz",
    "AX_Bahnverkehr": "Bahnverkehr",
    "AX_Flugverkehr": "Flugverkehr",
    "AX_Schiffsverkehr": "Schiffsverkehr",
    "AX_Landwirtschaft": "Landwirtschaft",
    "AX_Wald": "Wald",
    "AX_Gehoelz": "Gehölz",
    "AX_Heide": "Heide",
    "AX_Moor": "Moor",
    "AX_Sumpf": "Sumpf",
    "AX_UnlandVegetationsloseFlaeche": "Unland/Vegetationslose Fläche",
    "AX_Fliessgewaesser": "Fließgewässer",
    "AX_Hafenbecken": "Hafenbecken",
    "AX_StehendesGewaesser": "Stehendes Gewässer",
    "AX_Meer": "Meer",
}
"""ALKIS object classes of the tatsächliche Nutzung (GeoInfoDok 7.1) and their German names."""

_SPELLINGS = {"Unland, Vegetationslose Fläche": "Unland/Vegetationslose Fläche"}
"""Other spellings of a Nutzungsart met in state exports (NRW ALKIS vereinfacht)."""

SETTLEMENT_USES = (
    "Wohnbaufläche",
    "Fläche gemischter Nutzung",
    "Industrie- und Gewerbefläche",
    "Fläche besonderer funktionaler Prägung",
)
"""The settlement land use a built-up area consists of (the reference of the Innenbereich measurement)."""


def _codelist_labels() -> dict[str, str]:
    """Labels of the code list ``alkis_nutzung`` where the layer definitions have one, else the table above."""
    try:
        from flaechen.layers import load_schema

        values = load_schema().codelist("alkis_nutzung").values
    except (KeyError, FileNotFoundError, AttributeError):
        return dict(ALKIS_CLASS_LABELS)
    labels = dict(ALKIS_CLASS_LABELS)
    for key, spec in values.items():
        label = spec.get("label") if isinstance(spec, dict) else None
        if isinstance(label, str) and label:
            labels[str(key)] = _SPELLINGS.get(label, label)
    return labels


def use_label(values: pd.Series) -> pd.Series:
    """The German Nutzungsart of ALKIS class names or labels (unknown values are kept as they are)."""
    labels = _codelist_labels()
    text = values.astype("string").str.strip()
    mapped = text.map(lambda v: labels.get(v, _SPELLINGS.get(v, v)), na_action="ignore")
    return mapped.astype("string")


_SPLIT = re.compile(r"[;|]")


def parse_actual_use(text: Any) -> list[tuple[str, float]]:
    """The ``(Nutzungsart, m²)`` pairs of an ALKIS-vereinfacht actual-use text (Unterart dropped).

    Pairs are separated by ``|`` or ``;``; an area that is missing or not a number counts as 0.
    """
    if text is None or text is pd.NA or (isinstance(text, float) and np.isnan(text)):
        return []
    tokens = [t.strip() for t in _SPLIT.split(str(text))]
    pairs: list[tuple[str, float]] = []
    i = 0
    while i < len(tokens):
        name = tokens[i].split(" / ")[0].strip()
        area = 0.0
        if i + 1 < len(tokens):
            try:
                area = float(tokens[i + 1].replace(",", "."))
                i += 1
            except ValueError:
                area = 0.0
        i += 1
        if name and not _is_number(name):
            pairs.append((_SPELLINGS.get(name, name), area))
    return pairs


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True


USE_COLUMNS = {"use": "string", "use_share": "Float64", "use_shares": "string", "use_source": "string"}


def _shares_text(pairs: list[tuple[str, float]]) -> str:
    return ", ".join(f"{name} {round(share * 100)} %" for name, share in pairs)


def text_use_measures(actual_use: pd.Series) -> pd.DataFrame:
    """Dominant Nutzungsart, its share and all shares of each parcel from its ``actual_use`` text.

    Examples
    --------
    >>> m = text_use_measures(pd.Series(["Wohnbaufläche;400|Straßenverkehr;100", None]))
    >>> m.loc[0, ["use", "use_share", "use_shares"]].tolist()
    ['Wohnbaufläche', 0.8, 'Wohnbaufläche 80 %, Straßenverkehr 20 %']
    >>> m.loc[1, "use"] is pd.NA
    True
    """
    text = actual_use.astype("string")
    cache: dict[str, tuple[Any, Any, Any]] = {}
    for t in text.dropna().unique():
        pairs = parse_actual_use(t)
        if not pairs:
            cache[t] = (pd.NA, pd.NA, pd.NA)
            continue
        totals: dict[str, float] = {}
        for name, area in pairs:
            totals[name] = totals.get(name, 0.0) + area
        total = sum(totals.values())
        if total > 0:
            ranked = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
            shares = [(k, v / total) for k, v in ranked]
            cache[t] = (shares[0][0], shares[0][1], _shares_text(shares))
        else:  # names without areas: the first is dominant, share unknown
            cache[t] = (pairs[0][0], pd.NA, ", ".join(dict.fromkeys(n for n, _ in pairs)))
    rows = [cache.get(t, (pd.NA, pd.NA, pd.NA)) if t is not pd.NA else (pd.NA, pd.NA, pd.NA) for t in text]
    use, share, shares = zip(*rows, strict=True) if rows else ((), (), ())
    has = pd.array([u is not pd.NA for u in use], dtype="boolean")
    return pd.DataFrame(
        {
            "use": pd.array(list(use), dtype="string"),
            "use_share": pd.array(list(share), dtype="Float64"),
            "use_shares": pd.array(list(shares), dtype="string"),
            "use_source": pd.array(np.where(has, "actual_use", None), dtype="string"),
        },
        index=actual_use.index,
    )


def layer_use_measures(
    ov: Overlaps, land_use: pd.DataFrame, *, parcel_area: np.ndarray, min_overlap: float
) -> pd.DataFrame:
    """Dominant Nutzungsart, its share of the parcel and all shares from the ``land_use`` polygons.

    Overlaps below `min_overlap` m² are ignored; the parcels without any overlap get no use (NA).
    """
    n = len(parcel_area)
    keep = ov.area >= min_overlap
    p, o, a = ov.parcel[keep], ov.other[keep], ov.area[keep]
    labels = use_label(land_use["use"] if "use" in land_use.columns else pd.Series([pd.NA] * len(land_use)))
    names, code = np.unique(labels.fillna("").to_numpy(dtype=object), return_inverse=True)
    code = code.astype(np.int64)
    out = {c: pd.array([pd.NA] * n, dtype=t) for c, t in USE_COLUMNS.items()}
    if len(p) == 0:
        return pd.DataFrame(out)
    key = p * len(names) + code[o]
    ukey, inv = np.unique(key, return_inverse=True)
    area = np.bincount(inv, weights=a)
    kp, kc = ukey // len(names), ukey % len(names)
    order = np.lexsort((kc, -area, kp))
    kp, kc, area = kp[order], kc[order], area[order]
    first = np.r_[True, kp[1:] != kp[:-1]]
    use = np.full(n, None, dtype=object)
    share = np.full(n, np.nan)
    use[kp[first]] = names[kc[first]]
    share[kp[first]] = np.minimum(area[first] / np.maximum(parcel_area[kp[first]], 1e-9), 1.0)
    texts = np.full(n, None, dtype=object)
    bounds = [*np.flatnonzero(first).tolist(), len(kp)]
    for s, e in itertools.pairwise(bounds):
        pa = max(parcel_area[kp[s]], 1e-9)
        texts[kp[s]] = _shares_text([(names[c], min(ar / pa, 1.0)) for c, ar in zip(kc[s:e], area[s:e], strict=True)])
    empty = use == ""
    use[empty] = None
    return pd.DataFrame(
        {
            "use": pd.array(use, dtype="string"),
            "use_share": pd.array(share, dtype="Float64"),
            "use_shares": pd.array(texts, dtype="string"),
            "use_source": pd.array(np.where(use != None, "land_use", None), dtype="string"),  # noqa: E711
        }
    )
