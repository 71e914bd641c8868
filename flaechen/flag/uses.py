"""The actual use of each parcel (ALKIS tatsächliche Nutzung) as the flagging rules read it.

Two sources, per municipality: the layer ``land_use`` (ALKIS object classes as separate polygons, field
``use``) where the municipality delivered it, else the parcel's ``actual_use`` text of ALKIS vereinfacht
(read by :func:`flaechen.landuse.parse_actual_use` in its real forms). Both are reduced to the German
name of the ALKIS class (``Wohnbaufläche``, ``Landwirtschaft``, ``Straßenverkehr`` …; the labels of the
code list ``alkis_nutzung``), the names the rules file lists.

Examples
--------
>>> use_label(pd.Series(["AX_Wohnbauflaeche", "Strassenverkehr", "Acker"])).tolist()
['Wohnbaufläche', 'Straßenverkehr', <NA>]
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from flaechen.flag.overlay import Overlaps
from flaechen.landuse import normalise_uses, parse_actual_use
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


def text_use_measures(actual_use: pd.Series) -> pd.DataFrame:
    """Dominant use, its share and all shares of each parcel from its ``actual_use`` text.

    The text is read by :func:`flaechen.landuse.parse_actual_use`; shares are each class's area over the
    areas the text gives; the dominant use has the largest area (the first named where the text gives none).

    Examples
    --------
    >>> m = text_use_measures(pd.Series(["Wohnbaufläche;400|Straßenverkehr;100", None]))
    >>> m.loc[0, "use"], float(m.loc[0, "use_share"]), m.loc[0, "use_shares"]
    ('Wohnbaufläche', 0.8, 'Wohnbaufläche 80 %, Straßenverkehr 20 %')
    >>> m.loc[1, "use"] is pd.NA
    True
    """
    n = len(actual_use)
    out = {c: np.full(n, None, dtype=object) for c in USE_COLUMNS}
    out["use_share"] = np.full(n, np.nan)
    pairs = parse_actual_use(pd.Series(actual_use.astype("string").array, index=pd.RangeIndex(n)))
    pairs = pairs[pairs["use"].notna()]
    if len(pairs):
        classes = pairs["use"].astype(str).to_numpy()
        labels = {c: class_label(c) or c for c in np.unique(classes)}
        names, code = np.unique(np.array([labels[c] for c in classes], dtype=object), return_inverse=True)
        p = pairs["parcel"].to_numpy(dtype=np.int64)
        area = pairs["area_m2"].to_numpy(dtype=float)
        pos = pairs["position"].to_numpy(dtype=np.int64)
        key = p * len(names) + code
        ukey, inv = np.unique(key, return_inverse=True)
        summed = np.bincount(inv, weights=np.nan_to_num(area))
        has_area = np.bincount(inv, weights=np.isfinite(area).astype(float)) > 0
        first_pos = np.full(len(ukey), np.iinfo(np.int64).max)
        np.minimum.at(first_pos, inv, pos)
        kp, kc = ukey // len(names), ukey % len(names)
        rank = np.where(has_area, summed, -1.0)
        order = np.lexsort((first_pos, -rank, kp))
        kp, kc, summed, has_area = kp[order], kc[order], summed[order], has_area[order]
        first = np.r_[True, kp[1:] != kp[:-1]]
        total = np.bincount(kp, weights=summed, minlength=n)
        out["use"][kp[first]] = names[kc[first]]
        dom_share = np.where(total[kp[first]] > 0, summed[first] / np.maximum(total[kp[first]], 1e-9), np.nan)
        out["use_share"][kp[first]] = np.where(has_area[first], dom_share, np.nan)
        out["use_source"][kp[first]] = "actual_use"
        starts = [*np.flatnonzero(first).tolist(), len(kp)]
        for s, e in itertools.pairwise(starts):
            t = total[kp[s]]
            if t > 0 and has_area[s:e].all():
                out["use_shares"][kp[s]] = _shares_text(
                    [(names[c], a / t) for c, a in zip(kc[s:e], summed[s:e], strict=True)]
                )
            else:
                out["use_shares"][kp[s]] = ", ".join(names[c] for c in kc[s:e])
    return pd.DataFrame(
        {
            "use": pd.array(out["use"], dtype="string"),
            "use_share": pd.array(out["use_share"], dtype="Float64"),
            "use_shares": pd.array(out["use_shares"], dtype="string"),
            "use_source": pd.array(out["use_source"], dtype="string"),
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
            "use_source": pd.array(["land_use" if u is not None else None for u in use], dtype="string"),
        }
    )
