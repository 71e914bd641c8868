"""The actual use of each parcel (ALKIS tatsächliche Nutzung) as the flagging rules read it.

Two sources, per municipality: the layer ``land_use`` (ALKIS object classes as separate polygons, field
``use``) where the municipality delivered it, else the parcel's ``actual_use`` text of ALKIS vereinfacht
(read by :func:`flaechen.landuse.actual_use_shares` in its real forms). Both are reduced to the German
name of the ALKIS class (``Wohnbaufläche``, ``Landwirtschaft``, ``Straßenverkehr`` …; the labels of the
code list ``alkis_nutzung``), the names the rules file lists.

Examples
--------
>>> use_label(pd.Series(["AX_Wohnbauflaeche", "Strassenverkehr", "Acker"])).tolist()
['Wohnbaufläche', 'Straßenverkehr', <NA>]
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd

from flaechen.flag.overlay import Overlaps
from flaechen.landuse import actual_use_shares, normalise_uses
from flaechen.landuse import use_label as class_label

SETTLEMENT_USES = (
    "Wohnbaufläche",
    "Fläche gemischter Nutzung",
    "Industrie- und Gewerbefläche",
    "Fläche besonderer funktionaler Prägung",
)
"""The settlement land use a built-up area consists of (the reference of the Innenbereich measurement)."""

USE_COLUMNS = {"use": "string", "use_share": "Float64", "use_shares": "string", "use_source": "string"}


def use_label(values: pd.Series) -> pd.Series:
    """The German name of the ALKIS class each value names (class names, labels, ASCII spellings); NA
    where it names none."""
    classes = normalise_uses(values)
    labels = {c: class_label(c) for c in classes.dropna().unique()}
    return classes.map(labels).astype("string")


def _shares_text(pairs: list[tuple[str, float]]) -> str:
    return ", ".join(f"{name} {round(share * 100)} %" for name, share in pairs)


def _json_shares(text: object) -> object:
    if text is None or text is pd.NA:
        return pd.NA
    shares = json.loads(str(text))
    ranked = sorted(((class_label(k) or k, v) for k, v in shares.items()), key=lambda kv: (-kv[1], kv[0]))
    return _shares_text(ranked)


def text_use_measures(actual_use: pd.Series) -> pd.DataFrame:
    """Dominant use, its share and all shares of each parcel from its ``actual_use`` text.

    Examples
    --------
    >>> m = text_use_measures(pd.Series(["Wohnbaufläche;400|Straßenverkehr;100", None]))
    >>> m.loc[0, "use"], float(m.loc[0, "use_share"]), m.loc[0, "use_shares"]
    ('Wohnbaufläche', 0.8, 'Wohnbaufläche 80 %, Straßenverkehr 20 %')
    >>> m.loc[1, "use"] is pd.NA
    True
    """
    summary = actual_use_shares(actual_use.astype("string"))
    dominant = summary["dominant_use"].astype("string")
    labels = dominant.map({c: class_label(c) for c in dominant.dropna().unique()}).astype("string")
    shares = summary["use_shares"].astype("string")
    texts = shares.map({t: _json_shares(t) for t in shares.dropna().unique()}).astype("string")
    return pd.DataFrame(
        {
            "use": labels.array,
            "use_share": summary["dominant_share"].astype("Float64").array,
            "use_shares": texts.array,
            "use_source": pd.array(np.where(labels.notna(), "actual_use", None), dtype="string"),
        },
        index=actual_use.index,
    )


def layer_use_measures(
    ov: Overlaps, land_use: pd.DataFrame, *, parcel_area: np.ndarray, min_overlap: float
) -> pd.DataFrame:
    """Dominant use, its share of the parcel and all shares from the ``land_use`` polygons.

    Overlaps below `min_overlap` m² are ignored; the parcels without any overlap get no use (NA).
    """
    n = len(parcel_area)
    keep = ov.area >= min_overlap
    p, o, a = ov.parcel[keep], ov.other[keep], ov.area[keep]
    raw = land_use["use"] if "use" in land_use.columns else pd.Series([pd.NA] * len(land_use), dtype="string")
    labels = use_label(raw.reset_index(drop=True))
    names, code = np.unique(labels.fillna("").to_numpy(dtype=object), return_inverse=True)
    code = code.astype(np.int64)
    out = {c: pd.array([pd.NA] * n, dtype=t) for c, t in USE_COLUMNS.items()}
    known = names[code[o]] != "" if len(o) else np.zeros(0, dtype=bool)
    p, o, a = p[known], o[known], a[known]
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
    starts = [*np.flatnonzero(first).tolist(), len(kp)]
    for s, e in itertools.pairwise(starts):
        pa = max(parcel_area[kp[s]], 1e-9)
        texts[kp[s]] = _shares_text([(names[c], min(ar / pa, 1.0)) for c, ar in zip(kc[s:e], area[s:e], strict=True)])
    return pd.DataFrame(
        {
            "use": pd.array(use, dtype="string"),
            "use_share": pd.array(share, dtype="Float64"),
            "use_shares": pd.array(texts, dtype="string"),
            "use_source": pd.array(np.where(use != None, "land_use", None), dtype="string"),  # noqa: E711
        }
    )
