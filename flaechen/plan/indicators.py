"""Indicators flaechen derives from the district data for each commercial area, with their evidence.

Each indicator names the data it rests on and the rule that computes it (German, for the score card):

``land_efficiency``
    Building coverage of the net building land (the area without traffic areas) divided by the permitted
    GRZ of the area (:func:`flaechen.plan.areas.permitted_grz`). Needs buildings.
``unused_plots``
    Share of the area covered by reuse candidates of the categories in parameter ``unused_categories``
    (Baulücke, Brachfläche, Untergenutzte Fläche, Leerstand). Needs the flagging step.
``brownfield``
    Share of the area covered by registered brownfields (layer ``brownfields``). Needs brownfields.
``sealed_share``
    The area minus its vegetation (``green_uses``) and open land (``open_uses``: water, Unland) as a share
    of the area: an upper estimate (unbuilt yards and lawns look alike in the cadastre); the evidence also
    gives the lower estimate, building footprints plus traffic areas (``traffic_uses``). Needs buildings
    and the actual land use.
``green_share``
    Vegetation areas (parameter ``green_uses``) of the actual land use as a share of the area. Needs the
    actual land use.
``solar_roof``
    Usable roof area for solar energy: footprints of buildings of at least ``min_roof_m2`` inside the area
    × ``usable_roof_share``, per hectare of the area (and as kWp with ``m2_per_kwp``). Needs buildings.

The actual land use comes from layer ``land_use`` (ALKIS object classes) where the district has one for
the area's municipalities, else from the parcels' ``actual_use`` text (ALKIS vereinfacht, read by
:func:`flaechen.landuse.parse_actual_use`), its m² scaled to the drawn parcel and to the share of the parcel
inside the area.

Missing data is not evidence: where a municipality of the area delivered no buildings, brownfields or land
use, the indicators needing them are not computed (``available`` False, the reason in ``evidence``), and no
level is proposed.

Examples
--------
>>> from flaechen.district import read_district
>>> from flaechen.flag import load_rules
>>> from flaechen.plan.areas import commercial_areas_from_zoning
>>> from flaechen.plan.catalogue import load_catalogue
>>> layers = read_district("out/demo", layers=["zoning", "municipalities", "buildings", "brownfields", "parcels"])
>>> areas = commercial_areas_from_zoning(layers["zoning"], layers["municipalities"], rules=load_rules())
>>> values = derive_indicators(areas, layers, catalogue=load_catalogue())
>>> first = values[values["area_id"] == "GG-07999001-01"].set_index("indicator")
>>> float(round(first.loc["brownfield", "value"], 3))
0.239
>>> first.loc["brownfield", "evidence"]
'3 registrierte Brachflächen bedecken 18.859 m² = 23,9 % der Gebietsfläche.'
>>> bool(first.loc["unused_plots", "available"])  # no candidates given: not computed, and it says why
False
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from flaechen.flag.reasons import de_number, de_percent
from flaechen.landuse import normalise_uses, parse_actual_use, use_label
from flaechen.plan.catalogue import Catalogue

log = logging.getLogger(__name__)

INDICATOR_COLUMNS = ["area_id", "indicator", "value", "unit", "available", "data", "rule", "evidence"]

UNITS = {
    "land_efficiency": "Anteil der zulässigen Grundfläche",
    "unused_plots": "Anteil der Gebietsfläche",
    "brownfield": "Anteil der Gebietsfläche",
    "sealed_share": "Anteil der Gebietsfläche",
    "green_share": "Anteil der Gebietsfläche",
    "solar_roof": "m² je ha",
}

RULES = {
    "land_efficiency": (
        "Überbaute Fläche (Gebäudegrundrisse) / Nettobauland (Gebiet ohne Verkehrsflächen), "
        "geteilt durch die zulässige GRZ"
    ),
    "unused_plots": "Fläche der Potenzialflächen ({categories}) im Gebiet / Gebietsfläche",
    "brownfield": "Fläche registrierter Brachflächen im Gebiet / Gebietsfläche",
    "sealed_share": (
        "(Gebietsfläche − Vegetationsflächen − Wasser und Unland der tatsächlichen Nutzung) / Gebietsfläche "
        "(obere Abschätzung)"
    ),
    "green_share": "Vegetationsflächen der tatsächlichen Nutzung ({uses}) / Gebietsfläche",
    "solar_roof": "Grundfläche der Gebäude ab {min_roof} m² × {share} nutzbarer Anteil, je ha Gebietsfläche",
}


def _covered(area: Any, geoms: np.ndarray, tree: shapely.STRtree | None) -> tuple[float, int]:
    """Area of the union of `geoms` inside `area`, and how many of them touch it."""
    if tree is None or len(geoms) == 0:
        return 0.0, 0
    idx = tree.query(area, predicate="intersects")
    if len(idx) == 0:
        return 0.0, 0
    parts = shapely.intersection(geoms[idx], area)
    return float(shapely.area(shapely.union_all(parts))), len(idx)


def _geoms(frame: gpd.GeoDataFrame | None) -> tuple[np.ndarray, shapely.STRtree | None]:
    if frame is None or frame.empty:
        return np.array([], dtype=object), None
    geoms = shapely.make_valid(np.asarray(frame.geometry.array, dtype=object))
    return geoms, shapely.STRtree(geoms)


class _LandUse:
    """Traffic, green and open area inside an area, from layer land_use or the parcels' actual_use text."""

    def __init__(self, layers: Mapping[str, gpd.GeoDataFrame], catalogue: Catalogue) -> None:
        self.traffic = set(catalogue.parameter("traffic_uses"))
        self.green = set(catalogue.parameter("green_uses"))
        self.open = set(catalogue.parameter("open_uses"))
        words = [re.escape(w) for w in catalogue.parameter("green_functions")]
        self.green_function = re.compile(rf"/\s*.*({'|'.join(words)})", re.IGNORECASE) if words else None
        land_use = layers.get("land_use")
        self.lu = None
        if land_use is not None and not land_use.empty and "use" in land_use.columns:
            self.lu = land_use.assign(_use=normalise_uses(land_use["use"]))
            self.lu_geoms, self.lu_tree = _geoms(self.lu)
            self.lu_ags = set(self.lu["ags"].astype(str))
        parcels = layers.get("parcels")
        self.parcels = parcels
        self.p_geoms, self.p_tree = _geoms(parcels)

    def _kind(self, use: Any, text: Any) -> str | None:
        if isinstance(use, str) and use in self.traffic:
            return "traffic"
        if isinstance(use, str) and use in self.green:
            return "green"
        if self.green_function is not None and isinstance(text, str) and self.green_function.search(text):
            return "green"
        if isinstance(use, str) and use in self.open:
            return "open"
        return None

    def measure(self, area: Any, ags: list[str]) -> tuple[float, float, float, str] | None:
        """(traffic m², green m², open m², data) or None where no land use is known for the area."""
        sums = {"traffic": 0.0, "green": 0.0, "open": 0.0}
        if self.lu is not None and self.lu_tree is not None and all(a in self.lu_ags for a in ags):
            idx = self.lu_tree.query(area, predicate="intersects")
            inside = shapely.area(shapely.intersection(self.lu_geoms[idx], area))
            for use, m2 in zip(self.lu["_use"].iloc[idx].astype(object), inside, strict=True):
                kind = self._kind(None if pd.isna(use) else str(use), None)
                if kind:
                    sums[kind] += float(m2)
            return (
                sums["traffic"],
                sums["green"],
                sums["open"],
                "Layer land_use (tatsächliche Nutzung, ALKIS-Objektarten)",
            )
        if self.p_tree is None or self.parcels is None or "actual_use" not in self.parcels.columns:
            return None
        idx = self.p_tree.query(area, predicate="intersects")
        if len(idx) == 0:
            return None
        texts = self.parcels["actual_use"].iloc[idx].reset_index(drop=True)
        if texts.isna().mean() > 0.5:
            return None
        whole = shapely.area(self.p_geoms[idx])
        inside = shapely.area(shapely.intersection(self.p_geoms[idx], area))
        share = np.divide(inside, whole, out=np.zeros(len(idx)), where=whole > 0)
        pairs = parse_actual_use(texts)
        for parcel, group in pairs.groupby("parcel", sort=False):
            known = group["area_m2"].sum(min_count=1)
            for row in group.itertuples():
                if pd.notna(row.area_m2) and known > 0:
                    m2 = row.area_m2 / known * whole[parcel]  # the text's m² scaled to the drawn parcel
                elif len(group) == 1:
                    m2 = whole[parcel]  # one use without an area: the whole parcel
                else:
                    continue  # several uses without areas: their split is unknown
                kind = self._kind(None if pd.isna(row.use) else str(row.use), row.use_text)
                if kind:
                    sums[kind] += m2 * share[parcel]
        data = "Flurstücke, tatsächliche Nutzung (actual_use, ALKIS vereinfacht)"
        return sums["traffic"], sums["green"], sums["open"], data


def derive_indicators(
    areas: gpd.GeoDataFrame,
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    catalogue: Catalogue,
    delivered: set[tuple[str, str]] | None = None,
    candidates: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    """Compute every derived indicator for every area, with data, rule and evidence.

    Parameters
    ----------
    areas
        The commercial areas (:mod:`flaechen.plan.areas`).
    layers
        The district layers (``buildings``, ``brownfields``, ``parcels``, optionally ``land_use``).
    catalogue
        For the derivation parameters.
    delivered
        ``(AGS, layer)`` pairs the municipalities delivered (the run's ``sources`` table). None: every
        layer counts as delivered wherever it has features.
    candidates
        The reuse candidates of the flagging step (None: ``unused_plots`` is not computed).

    Returns
    -------
    DataFrame
        One row per area and indicator: ``area_id``, ``indicator``, ``value`` (NA where not available),
        ``unit``, ``available``, ``data``, ``rule`` and ``evidence`` (German).
    """

    def has(ags: list[str], layer: str) -> bool:
        frame = layers.get(layer)
        if delivered is None:
            return frame is not None and not frame.empty and bool(set(ags) & set(frame["ags"].astype(str)))
        return all((a, layer) in delivered for a in ags)

    b_geoms, b_tree = _geoms(layers.get("buildings"))
    f_geoms, f_tree = _geoms(layers.get("brownfields"))
    land_use = _LandUse(layers, catalogue)
    unused = list(catalogue.parameter("unused_categories"))
    if candidates is not None and not candidates.empty:
        cand = candidates[candidates["category"].astype("string").isin(unused).fillna(False).to_numpy()]
        c_geoms, c_tree = _geoms(cand)
    else:
        c_geoms, c_tree = np.array([], dtype=object), None
    min_roof = float(catalogue.parameter("min_roof_m2"))
    usable = float(catalogue.parameter("usable_roof_share"))
    per_kwp = float(catalogue.parameter("m2_per_kwp"))
    rules = {
        **RULES,
        "unused_plots": RULES["unused_plots"].format(categories=", ".join(unused)),
        "green_share": RULES["green_share"].format(
            uses=", ".join(
                [
                    *(use_label(u) or u for u in catalogue.parameter("green_uses")),
                    *catalogue.parameter("green_functions"),
                ]
            )
        ),
        "solar_roof": RULES["solar_roof"].format(min_roof=de_number(min_roof), share=de_percent(usable)),
    }

    rows: list[dict[str, Any]] = []
    for area in areas.itertuples():
        geom = area.geometry
        total = float(shapely.area(geom))
        ags = str(area.municipalities).split(";")

        def add(indicator: str, value: float | None, data: str, evidence: str, *, _id: str = area.area_id) -> None:
            rows.append(
                {
                    "area_id": _id,
                    "indicator": indicator,
                    "value": value,
                    "unit": UNITS[indicator],
                    "available": value is not None,
                    "data": data,
                    "rule": rules[indicator],
                    "evidence": evidence,
                }
            )

        buildings_ok = has(ags, "buildings")
        built, n_buildings = _covered(geom, b_geoms, b_tree) if buildings_ok else (0.0, 0)
        lu = land_use.measure(geom, ags)
        no_buildings = "Keine Gebäude geliefert: ohne Daten kein Vorschlag."
        no_land_use = (
            "Keine tatsächliche Nutzung geliefert (weder Layer land_use noch actual_use der Flurstücke): "
            "ohne Daten kein Vorschlag."
        )

        # land efficiency
        grz = None if pd.isna(area.grz) else float(area.grz)
        if not buildings_ok:
            add("land_efficiency", None, "Gebäude (buildings)", no_buildings)
        elif grz is None or grz <= 0:
            add("land_efficiency", None, "Bauleitplanung (zoning)", "Keine zulässige GRZ bekannt: kein Vorschlag.")
        else:
            traffic = lu[0] if lu else 0.0
            net = max(total - traffic, 1.0)
            coverage = built / net
            value = coverage / grz
            net_note = "ohne Verkehrsflächen" if lu else "Verkehrsflächen unbekannt, ganze Gebietsfläche"
            add(
                "land_efficiency",
                value,
                f"Gebäude (buildings), Bauleitplanung (GRZ: {area.grz_source})" + (f", {lu[3]}" if lu else ""),
                f"{n_buildings} Gebäude überbauen {de_number(built)} m² von {de_number(net)} m² Nettobauland "
                f"({net_note}): Bebauungsgrad {de_percent(coverage)} bei zulässiger GRZ {de_number(grz, 2)} "
                f"({area.grz_source}) = {de_percent(value)} der zulässigen Grundfläche.",
            )

        # unused and under-used plots
        if candidates is None:
            add(
                "unused_plots",
                None,
                "Potenzialflächen (candidates)",
                "Die Potenzialflächen wurden nicht ermittelt (Flagging-Schritt nicht gelaufen).",
            )
        else:
            covered, n = _covered(geom, c_geoms, c_tree)
            add(
                "unused_plots",
                covered / total,
                "Potenzialflächen (candidates) des Flagging-Schritts",
                f"{n} Potenzialflächen ({', '.join(unused)}) bedecken {de_number(covered)} m² = "
                f"{de_percent(covered / total, 1)} der Gebietsfläche von {de_number(total)} m².",
            )

        # brownfields
        if not has(ags, "brownfields"):
            add(
                "brownfield",
                None,
                "Brachflächen (brownfields)",
                "Kein Brachflächenkataster geliefert: ohne Daten kein Vorschlag.",
            )
        else:
            covered, n = _covered(geom, f_geoms, f_tree)
            add(
                "brownfield",
                covered / total,
                "Brachflächenkataster (brownfields)",
                f"{n} registrierte Brachflächen bedecken {de_number(covered)} m² = {de_percent(covered / total, 1)} "
                f"der Gebietsfläche.",
            )

        # sealed and green shares
        if not buildings_ok:
            add("sealed_share", None, "Gebäude (buildings)", no_buildings)
        elif lu is None:
            add("sealed_share", None, "tatsächliche Nutzung", no_land_use)
        else:
            lower = min(built + lu[0], total)
            sealed = max(total - lu[1] - lu[2], lower)
            add(
                "sealed_share",
                sealed / total,
                f"Gebäude (buildings), {lu[3]}",
                f"Gebietsfläche {de_number(total)} m² − Vegetation {de_number(lu[1])} m² − Wasser/Unland "
                f"{de_number(lu[2])} m² = {de_number(sealed)} m² = {de_percent(sealed / total)} versiegelt oder bebaut "
                f"(obere Abschätzung; sicher versiegelt sind Gebäude {de_number(built)} m² + Verkehrsflächen "
                f"{de_number(lu[0])} m² = {de_percent(lower / total)}).",
            )
        if lu is None:
            add("green_share", None, "tatsächliche Nutzung", no_land_use)
        else:
            add(
                "green_share",
                lu[1] / total,
                lu[3],
                f"Vegetationsflächen {de_number(lu[1])} m² = {de_percent(lu[1] / total, 1)} der Gebietsfläche.",
            )

        # solar roofs
        if not buildings_ok:
            add("solar_roof", None, "Gebäude (buildings)", no_buildings)
        else:
            idx = b_tree.query(geom, predicate="intersects") if b_tree is not None else np.array([], dtype=int)
            footprints = shapely.area(shapely.intersection(b_geoms[idx], geom)) if len(idx) else np.array([])
            big = footprints[footprints >= min_roof]
            roof = float(big.sum()) * usable
            per_ha = roof / (total / 10_000)
            add(
                "solar_roof",
                per_ha,
                "Gebäude (buildings), Grundrisse",
                f"{len(big)} Gebäude ab {de_number(min_roof)} m² mit {de_number(float(big.sum()))} m² Dachfläche, "
                f"davon {de_percent(usable)} nutzbar = {de_number(roof)} m² ≈ {de_number(roof / per_kwp)} kWp "
                f"({de_number(per_kwp, 1)} m² je kWp) = {de_number(per_ha)} m² je ha Gebietsfläche. Ein Potenzial, "
                "keine installierte Leistung.",
            )
    frame = pd.DataFrame(rows, columns=INDICATOR_COLUMNS)
    frame["value"] = frame["value"].astype("Float64")
    frame["available"] = frame["available"].astype("boolean")
    for c in ("area_id", "indicator", "unit", "data", "rule", "evidence"):
        frame[c] = frame[c].astype("string")
    return frame


def propose_levels(indicators: pd.DataFrame, *, catalogue: Catalogue) -> pd.DataFrame:
    """Levels proposed from the derived indicators: one row per area and derivable measure.

    Returns
    -------
    DataFrame
        ``area_id``, ``measure_id``, ``indicator``, ``indicator_value``, ``level_proposed`` (Int64, NA where
        the indicator is not available), ``evidence`` (German: data, value, rule and thresholds).
    """
    rows = []
    by_key = {(r.area_id, r.indicator): r for r in indicators.itertuples()}
    areas = list(dict.fromkeys(indicators["area_id"]))
    for _, _, m in catalogue.walk():
        if m.derive is None:
            continue
        for area_id in areas:
            r = by_key.get((area_id, m.derive.indicator))
            if r is None:
                continue
            level = None
            text = str(r.evidence)
            if bool(r.available):
                value = float(r.value)
                level = m.derive.level(value)
                word = "ab" if m.derive.better == "higher" else "bis"
                fmt: Callable[[float], str] = de_number if m.derive.indicator == "solar_roof" else de_percent
                limits = ", ".join(f"Stufe {i} {word} {fmt(t)}" for i, t in enumerate(m.derive.thresholds, start=1))
                text = f"{text} Regel: {r.rule}; {limits} → Vorschlag Stufe {level}. Daten: {r.data}."
            rows.append(
                {
                    "area_id": area_id,
                    "measure_id": m.id,
                    "indicator": m.derive.indicator,
                    "indicator_value": r.value,
                    "level_proposed": level,
                    "evidence": text,
                }
            )
    frame = pd.DataFrame(
        rows, columns=["area_id", "measure_id", "indicator", "indicator_value", "level_proposed", "evidence"]
    )
    frame["indicator_value"] = frame["indicator_value"].astype("Float64")
    frame["level_proposed"] = frame["level_proposed"].astype("Int64")
    return frame


def delivered_layers(sources: pd.DataFrame | None) -> set[tuple[str, str]] | None:
    """``(AGS, layer)`` pairs from a run's ``sources`` table (None where the table is missing)."""
    if sources is None or sources.empty or not {"ags", "layer"} <= set(sources.columns):
        return None
    return {(str(a), str(layer)) for a, layer in zip(sources["ags"], sources["layer"], strict=True)}


__all__ = ["delivered_layers", "derive_indicators", "propose_levels"]
