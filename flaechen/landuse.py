"""Actual land use (ALKIS tatsächliche Nutzung): reading its classes and giving each parcel its uses.

ALKIS records the actual use of the ground as polygons of one object class each (``AX_Wohnbauflaeche``,
``AX_Strassenverkehr`` …; the canonical layer ``land_use``). "ALKIS vereinfacht" exports instead write the
uses of a parcel into one text field, in many real forms:

- ``Wohnbaufläche;512`` (use, area in m²), several pairs joined by ``;`` or ``|``:
  ``Wald / Nadelholz;560|Weg / Fahrweg;30`` (NRW; the part after `` / `` is the Unterart);
- area first: ``1837|Wohnbauflaeche`` (Hamburg), ASCII spellings (``Strassenverkehr``, ``Gehoelz``);
- pairs on separate lines or joined by ``,``: ``Wohnbaufläche;512, Straßenverkehr;30``;
- a use without an area: ``Landwirtschaft``.

This module turns both into the classes of the code list ``alkis_nutzung`` (pure functions, frames in,
frames out): :func:`normalise_use` for one name, :func:`parse_actual_use` for the text field,
:func:`actual_use_shares` and :func:`parcel_land_use` for each parcel's dominant use and use shares.

Examples
--------
>>> import pandas as pd
>>> parse_actual_use(pd.Series(["Wohnbaufläche;512;Straßenverkehr;30", "1837|Wohnbauflaeche"]))[
...     ["parcel", "use", "area_m2"]].values.tolist()
[[0, 'AX_Wohnbauflaeche', 512.0], [0, 'AX_Strassenverkehr', 30.0], [1, 'AX_Wohnbauflaeche', 1837.0]]
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from flaechen.layers import load_schema

USE_CODELIST = "alkis_nutzung"
"""The code list of the field ``use`` of layer ``land_use``."""

USE_COLUMNS = ("parcel", "position", "use", "use_text", "area_m2")
"""Columns of :func:`parse_actual_use`."""

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue"})
_SEPARATORS = re.compile(r"\s*[;|\n\r\t]+\s*")
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?(?:\s*(?:m²|m2|qm))?$")
_NUMBER_THEN_NAME = re.compile(r"^(\d+(?:[.,]\d+)?)\s*(?:m²|m2|qm)?\s*,\s*(\D.*)$")
_NAME_THEN_NUMBER = re.compile(r"^(\D.*?)\s*[:=,]?\s+(\d+(?:[.,]\d+)?)\s*(?:m²|m2|qm)?$")
_NAME_COLON_NUMBER = re.compile(r"^(\D.*?)\s*[:=]\s*(\d+(?:[.,]\d+)?)\s*(?:m²|m2|qm)?$")


def _fold(text: str) -> str:
    """Fold a use name for comparison: umlauts spelt out, lower case, letters and digits only."""
    folded = text.strip().translate(_FOLD).lower()
    if folded.startswith("ax_"):
        folded = folded[3:]
    return re.sub(r"[^a-z0-9]", "", folded)


@cache
def _lookup() -> dict[str, str]:
    """Folded class names, labels, titles and class numbers → class name."""
    table: dict[str, str] = {}
    for name, entry in load_schema().codelist(USE_CODELIST).values.items():
        for alias in (name, entry.get("label"), entry.get("title"), entry.get("code")):
            if alias is not None:
                table.setdefault(_fold(str(alias)), name)
    return table


def normalise_use(value: Any) -> str | None:
    """The ALKIS object class of a use name as delivered, or None where it names none.

    Class names (``AX_Wohnbauflaeche``), labels (``Wohnbaufläche``), ASCII spellings
    (``Strassenverkehr``), class numbers (``41001``) and names with an Unterart
    (``Weg / Fahrweg``) are read.

    Examples
    --------
    >>> normalise_use("Strassenverkehr"), normalise_use("Weg / Fahrweg"), normalise_use("Acker")
    ('AX_Strassenverkehr', 'AX_Weg', None)
    """
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    if not text:
        return None
    table = _lookup()
    hit = table.get(_fold(text))
    if hit is None and "/" in text:
        # "Nutzungsart / Unterart" (ALKIS vereinfacht); "Unland/Vegetationslose Fläche" is caught above
        hit = table.get(_fold(text.split(" / ")[0]) if " / " in text else _fold(text.split("/")[0]))
    return hit


def normalise_uses(values: pd.Series) -> pd.Series:
    """:func:`normalise_use` over a Series (each distinct value once); NA where no class is named."""
    text = values.astype("string")
    lookup = {v: normalise_use(v) for v in text.dropna().unique()}
    return text.map(lookup).astype("string")


def use_label(use: str) -> str | None:
    """The German label of a class (``AX_Wohnbauflaeche`` → ``Wohnbaufläche``)."""
    return load_schema().codelist(USE_CODELIST).label(use)


def use_group(use: str) -> str | None:
    """The Objektartenbereich of a class: Siedlung, Verkehr, Vegetation or Gewässer."""
    entry = load_schema().codelist(USE_CODELIST).values.get(use)
    return None if entry is None else entry.get("group")


def _is_number(token: str) -> bool:
    return bool(_NUMBER.match(token))


def _number(token: str) -> float:
    return float(re.sub(r"\s*(m²|m2|qm)$", "", token).replace(",", "."))


def _names(token: str) -> list[str]:
    """One name token, split at commas where it joins several known uses (``Wald, Weg``)."""
    if "," not in token or normalise_use(token) is not None:
        return [token]
    pieces = [p.strip() for p in token.split(",") if p.strip()]
    if len(pieces) > 1 and all(normalise_use(p) is not None for p in pieces):
        return pieces
    return [token]


def _tokens(text: str) -> list[str | float]:
    """Split an actual-use text into names (str) and areas (float), in order."""
    out: list[str | float] = []
    for raw in _SEPARATORS.split(text.strip()):
        token = raw.strip().strip(",").strip()
        if not token:
            continue
        if _is_number(token):
            out.append(_number(token))
            continue
        m = _NUMBER_THEN_NAME.match(token)  # "512, Straßenverkehr" (pairs joined by commas)
        if m:
            out.append(_number(m.group(1)))
            out.extend(_names(m.group(2)))
            continue
        m = _NAME_COLON_NUMBER.match(token) or _NAME_THEN_NUMBER.match(token)  # "Wohnbaufläche 512"
        if m and normalise_use(m.group(1)) is not None:
            out.extend(_names(m.group(1)))
            out.append(_number(m.group(2)))
            continue
        out.extend(_names(token))
    return out


def _pairs(text: str) -> list[tuple[str, float]]:
    """(use name, area) pairs of one text; the area NaN where none is given."""
    tokens = _tokens(text)
    pairs: list[tuple[str, float]] = []
    number_first = bool(tokens) and isinstance(tokens[0], float)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if number_first and isinstance(token, float) and isinstance(nxt, str):
            pairs.append((nxt, token))
            i += 2
        elif not number_first and isinstance(token, str) and isinstance(nxt, float):
            pairs.append((token, nxt))
            i += 2
        elif isinstance(token, str):
            pairs.append((token, np.nan))
            i += 1
        else:  # a number without a use: nothing to attribute it to
            i += 1
    return pairs


def parse_actual_use(actual_use: pd.Series) -> pd.DataFrame:
    """Read the "ALKIS vereinfacht" actual-use text of parcels into (parcel, use class, m²) rows.

    Parameters
    ----------
    actual_use
        The text per parcel (e.g. the ``actual_use`` column of layer ``parcels``); its index identifies
        the parcels.

    Returns
    -------
    pandas.DataFrame
        One row per use named in a text, columns ``parcel`` (the index label of `actual_use`),
        ``position`` (0, 1, … within the text), ``use`` (the ``alkis_nutzung`` class; NA where the name
        is no known class), ``use_text`` (the name as delivered, without the area) and ``area_m2``
        (NaN where the text gives none). Parcels with an empty text have no rows.

    Examples
    --------
    >>> frame = parse_actual_use(pd.Series(["Wald / Nadelholz;560|Weg;30", "Acker", None], index=[7, 8, 9]))
    >>> frame[["parcel", "use", "use_text", "area_m2"]].values.tolist()
    [[7, 'AX_Wald', 'Wald / Nadelholz', 560.0], [7, 'AX_Weg', 'Weg', 30.0], [8, <NA>, 'Acker', nan]]
    """
    text = actual_use.astype("string")
    cache: dict[str, list[tuple[str, float]]] = {}
    parcels: list[Any] = []
    positions: list[int] = []
    names: list[str] = []
    areas: list[float] = []
    for label, value in zip(text.index, text.array, strict=True):
        if value is pd.NA or not str(value).strip():
            continue
        pairs = cache.get(value)
        if pairs is None:
            pairs = cache[value] = _pairs(str(value))
        for k, (name, area) in enumerate(pairs):
            parcels.append(label)
            positions.append(k)
            names.append(name)
            areas.append(area)
    name_series = pd.Series(names, dtype="string")
    return pd.DataFrame(
        {
            "parcel": pd.Series(parcels, dtype=actual_use.index.dtype if len(parcels) else object),
            "position": pd.Series(positions, dtype="int64"),
            "use": normalise_uses(name_series),
            "use_text": name_series,
            "area_m2": pd.Series(areas, dtype="float64"),
        },
        columns=list(USE_COLUMNS),
    )


def _summarise(parcel_index: pd.Index, pairs: pd.DataFrame, *, denominator: pd.Series | None) -> pd.DataFrame:
    """Dominant use, its share and all shares per parcel from (parcel, use, area) rows."""
    out = pd.DataFrame(
        {
            "dominant_use": pd.Series(pd.NA, index=parcel_index, dtype="string"),
            "dominant_share": pd.Series(np.nan, index=parcel_index, dtype="Float64"),
            "use_shares": pd.Series(pd.NA, index=parcel_index, dtype="string"),
        }
    )
    known = pairs[pairs["use"].notna()]
    if known.empty:
        return out
    per_use = known.groupby(["parcel", "use"], sort=True)["area_m2"].sum(min_count=1).reset_index()
    total = per_use.groupby("parcel")["area_m2"].sum(min_count=1)
    if denominator is not None:
        total = denominator.reindex(total.index).astype(float)
    per_use["share"] = per_use["area_m2"] / per_use["parcel"].map(total).astype(float)
    # dominant: the largest area; ties and texts without areas: the first named (then alphabetical)
    first_pos = known.groupby(["parcel", "use"], sort=True)["position"].min().reset_index(drop=True)
    per_use["first"] = first_pos.to_numpy()
    per_use["rank_area"] = per_use["area_m2"].fillna(-1.0)
    ranked = per_use.sort_values(["parcel", "rank_area", "first", "use"], ascending=[True, False, True, True])
    best = ranked.drop_duplicates("parcel", keep="first").set_index("parcel")
    out.loc[best.index, "dominant_use"] = best["use"].astype("string")
    finite = best["share"].replace([np.inf, -np.inf], np.nan)
    out.loc[best.index, "dominant_share"] = finite.round(6).astype("Float64")
    shares: dict[Any, str] = {}
    for parcel, group in per_use.groupby("parcel", sort=False):
        values = group["share"].to_numpy(dtype=float)
        if not np.all(np.isfinite(values)):
            continue  # no areas in the text: the dominant use is known, the shares are not
        shares[parcel] = json.dumps(
            {u: round(float(s), 4) for u, s in zip(group["use"], values, strict=True)},
            ensure_ascii=False,
            sort_keys=True,
        )
    if shares:
        out.loc[list(shares), "use_shares"] = pd.Series(shares, dtype="string")
    return out


def actual_use_shares(actual_use: pd.Series) -> pd.DataFrame:
    """Each parcel's dominant use and use shares from its "ALKIS vereinfacht" actual-use text.

    Shares are each class's area over the sum of the areas the text gives (uses named twice are added).
    The dominant use is the class with the largest area, the first named where the text gives no areas.

    Returns
    -------
    pandas.DataFrame
        Indexed like `actual_use`: ``dominant_use`` (``alkis_nutzung`` class or NA), ``dominant_share``
        (0–1, NA where unknown), ``use_shares`` (JSON object class → share, NA where the text has no areas).

    Examples
    --------
    >>> row = actual_use_shares(pd.Series(["Wohnbaufläche;300|Straßenverkehr;100"])).iloc[0]
    >>> row["dominant_use"], float(row["dominant_share"]), row["use_shares"]
    ('AX_Wohnbauflaeche', 0.75, '{"AX_Strassenverkehr": 0.25, "AX_Wohnbauflaeche": 0.75}')
    """
    return _summarise(actual_use.index, parse_actual_use(actual_use), denominator=None)


def parcel_land_use(parcels: gpd.GeoDataFrame, land_use: gpd.GeoDataFrame) -> pd.DataFrame:
    """Each parcel's dominant use and use shares from the ``land_use`` layer, by area of intersection.

    Parameters
    ----------
    parcels
        Parcels (polygons) in a projected CRS in metres.
    land_use
        Use polygons with a column ``use`` (``alkis_nutzung`` classes) in the same CRS.

    Returns
    -------
    pandas.DataFrame
        Indexed like `parcels`: ``dominant_use`` (the class covering most of the parcel; NA where no use
        polygon touches it), ``dominant_share`` (its share of the parcel's area) and ``use_shares``
        (JSON object class → share of the parcel's area; shares sum to the covered part, at most 1).

    Raises
    ------
    ValueError
        Where the two layers have different CRSs, or the CRS is not projected.

    Examples
    --------
    >>> from shapely import box
    >>> parcels = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10)], crs="EPSG:25832")
    >>> uses = gpd.GeoDataFrame({"use": ["AX_Wohnbauflaeche", "AX_Weg"]},
    ...                         geometry=[box(0, 0, 10, 8), box(0, 8, 10, 10)], crs="EPSG:25832")
    >>> row = parcel_land_use(parcels, uses).iloc[0]
    >>> row["dominant_use"], float(row["dominant_share"]), row["use_shares"]
    ('AX_Wohnbauflaeche', 0.8, '{"AX_Weg": 0.2, "AX_Wohnbauflaeche": 0.8}')
    """
    if parcels.crs is None or land_use.crs is None or not parcels.crs.equals(land_use.crs):
        raise ValueError(
            f"parcels ({parcels.crs}) and land_use ({land_use.crs}) must share one CRS; "
            "reproject one with `.to_crs(other.crs)` first"
        )
    if not parcels.crs.is_projected:
        raise ValueError(f"the CRS {parcels.crs.to_string()} is not projected: areas need metres, e.g. EPSG:25832")
    pgeoms = np.asarray(parcels.geometry.array, dtype=object)
    ugeoms = np.asarray(land_use.geometry.array, dtype=object)
    uses = land_use["use"].astype("string").to_numpy(dtype=object, na_value=None)
    valid = ~(shapely.is_missing(ugeoms) | shapely.is_empty(ugeoms)) & np.array([u is not None for u in uses])
    tree = shapely.STRtree(np.where(valid, ugeoms, np.array(None)))
    p_idx, u_idx = tree.query(pgeoms, predicate="intersects")
    parcel_area = shapely.area(pgeoms)
    area = np.zeros(len(p_idx))
    if len(p_idx):
        shapely.prepare(ugeoms[valid])
        inside = shapely.contains_properly(ugeoms[u_idx], pgeoms[p_idx])
        area[inside] = parcel_area[p_idx[inside]]
        cut = ~inside
        area[cut] = shapely.area(shapely.intersection(pgeoms[p_idx[cut]], ugeoms[u_idx[cut]]))
    keep = area > 0
    pairs = pd.DataFrame(
        {
            "parcel": p_idx[keep],
            "position": 0,
            "use": pd.Series(uses[u_idx[keep]], dtype="string"),
            "area_m2": area[keep],
        }
    )
    positional = pd.RangeIndex(len(parcels))
    summary = _summarise(positional, pairs, denominator=pd.Series(parcel_area, index=positional))
    summary.index = parcels.index
    return summary
