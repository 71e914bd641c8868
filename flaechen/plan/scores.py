"""Scores of the commercial areas: levels per measure, shares of the attainable points, SDGs served.

For each area and measure the level that counts is a person's (from the sheets or the register) where one
was recorded, else the level flaechen proposed from the data; both are kept. A measure marked "nicht
zutreffend" is left out of the attainable points; a measure nobody assessed and no data could propose is
*offen* and counts 0 of 3 points (an assessment is not complete until it is recorded), so a score never
rises by leaving measures out. Scores are points / attainable points, per sub-theme, theme and overall
(as in KONNEKT's catalogue, see DOMAIN.md); an SDG is served where a measure serving it reaches level 1 or more.

Examples
--------
>>> from pathlib import Path
>>> from flaechen.district import read_district
>>> from flaechen.flag import load_rules
>>> from flaechen.plan.areas import commercial_areas_from_zoning
>>> from flaechen.plan.catalogue import load_catalogue
>>> from flaechen.plan.indicators import derive_indicators, propose_levels
>>> from flaechen.plan.sheets import read_sheets
>>> layers = read_district("out/demo", layers=["zoning", "municipalities", "buildings", "brownfields", "parcels"])
>>> areas = commercial_areas_from_zoning(layers["zoning"], layers["municipalities"], rules=load_rules())
>>> catalogue = load_catalogue()
>>> proposals = propose_levels(derive_indicators(areas, layers, catalogue=catalogue), catalogue=catalogue)
>>> filled = sorted(Path("out/demo/input/bewertung").glob("*.xlsx"))
>>> levels = read_sheets(filled, catalogue=catalogue, area_ids=set(areas["area_id"])).levels
>>> table = assessment_table(areas, catalogue=catalogue, proposals=proposals, levels=levels)
>>> scores = score_table(table)
>>> print(scores.query("scope == 'Gesamt'")[["area_id", "share"]].round(2).to_string(index=False))
       area_id  share
GG-07999001-01    0.4
GG-07999002-01   0.05
GG-07999003-01    0.3
GG-07999004-01   0.03
GG-07999005-01   0.36
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from flaechen.plan.catalogue import MAX_LEVEL, NOT_APPLICABLE, Catalogue, measure_fields

SOURCE_PERSON = "Erfassung"
SOURCE_DATA = "Daten"
SOURCE_OPEN = "offen"
SOURCE_NA = NOT_APPLICABLE

ASSESSMENT_COLUMNS = [
    "area_id",
    "area_name",
    "ags",
    "theme_id",
    "theme",
    "subtheme_id",
    "subtheme",
    "measure_id",
    "measure",
    "origin",
    "description",
    "sdgs",
    "implementer",
    "indicator",
    "level",
    "level_label",
    "level_source",
    "points",
    "attainable",
    "level_person",
    "not_applicable",
    "level_proposed",
    "indicator_value",
    "evidence",
    "indicator_person",
    "comment",
    "recorded_by",
    "recorded_in",
]


def assessment_table(
    areas: pd.DataFrame,
    *,
    catalogue: Catalogue,
    proposals: pd.DataFrame | None = None,
    levels: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per area and measure: the level that counts, where it comes from, and both inputs.

    Parameters
    ----------
    areas
        ``area_id``, ``name``, ``ags`` of each commercial area.
    proposals
        From :func:`flaechen.plan.indicators.propose_levels`.
    levels
        People's levels (:attr:`flaechen.plan.sheets.SheetLevels.levels`): ``area_id``, ``measure_id``,
        ``level_person``, ``not_applicable`` and optionally ``indicator_person``, ``comment``,
        ``recorded_by``, ``sheet``.

    Returns
    -------
    DataFrame
        The table ``assessments`` of the district dataset (columns :data:`ASSESSMENT_COLUMNS`).
    """
    prop = {}
    if proposals is not None:
        prop = {(r.area_id, r.measure_id): r for r in proposals.itertuples()}
    person = {}
    if levels is not None:
        person = {(r.area_id, r.measure_id): r for r in levels.itertuples()}
    rows = []
    for area in pd.DataFrame(areas).itertuples():
        for t, s, m in catalogue.walk():
            p = prop.get((area.area_id, m.id))
            h = person.get((area.area_id, m.id))
            proposed = None if p is None or pd.isna(p.level_proposed) else int(p.level_proposed)
            mine = None if h is None or pd.isna(h.level_person) else int(h.level_person)
            na = bool(h is not None and bool(h.not_applicable))
            if na:
                level, source = None, SOURCE_NA
            elif mine is not None:
                level, source = mine, SOURCE_PERSON
            elif proposed is not None:
                level, source = proposed, SOURCE_DATA
            else:
                level, source = None, SOURCE_OPEN
            rows.append(
                {
                    "area_id": area.area_id,
                    "area_name": area.name,
                    "ags": area.ags,
                    **measure_fields(t, s, m),
                    "level": level,
                    "level_label": catalogue.not_applicable
                    if na
                    else (catalogue.levels[level] if level is not None else "offen"),
                    "level_source": source,
                    "points": 0 if na else (level or 0),
                    "attainable": 0 if na else MAX_LEVEL,
                    "level_person": mine,
                    "not_applicable": na,
                    "level_proposed": proposed,
                    "indicator_value": None if p is None else p.indicator_value,
                    "evidence": None if p is None else p.evidence,
                    "indicator_person": None if h is None else getattr(h, "indicator_person", None),
                    "comment": None if h is None else getattr(h, "comment", None),
                    "recorded_by": None if h is None else getattr(h, "recorded_by", None),
                    "recorded_in": None if h is None else getattr(h, "sheet", None),
                }
            )
    frame = pd.DataFrame(rows, columns=ASSESSMENT_COLUMNS)
    for c in ("level", "points", "attainable", "level_person", "level_proposed"):
        frame[c] = frame[c].astype("Int64")
    frame["not_applicable"] = frame["not_applicable"].astype("boolean")
    frame["indicator_value"] = pd.to_numeric(frame["indicator_value"], errors="coerce").astype("Float64")
    for c in ASSESSMENT_COLUMNS:
        if frame[c].dtype == object:
            frame[c] = frame[c].astype("string")
    return frame


def _score_rows(group: pd.DataFrame) -> dict[str, Any]:
    points = int(group["points"].sum())
    attainable = int(group["attainable"].sum())
    return {
        "points": points,
        "attainable": attainable,
        "share": points / attainable if attainable else None,
        "measures": len(group),
        "by_person": int((group["level_source"] == SOURCE_PERSON).sum()),
        "by_data": int((group["level_source"] == SOURCE_DATA).sum()),
        "open": int((group["level_source"] == SOURCE_OPEN).sum()),
        "not_applicable": int((group["level_source"] == SOURCE_NA).sum()),
    }


def score_table(assessments: pd.DataFrame) -> pd.DataFrame:
    """Scores per area: overall (scope ``Gesamt``), per theme (``Thema``) and per sub-theme (``Unterthema``).

    Returns
    -------
    DataFrame
        ``area_id``, ``area_name``, ``scope``, ``scope_id``, ``title``, ``points``, ``attainable``,
        ``share`` (NA where nothing is attainable), ``measures``, ``by_person``, ``by_data``, ``open``,
        ``not_applicable``.

    Examples
    --------
    >>> a = pd.DataFrame({"area_id": ["A"] * 3, "area_name": ["A"] * 3, "theme_id": ["t"] * 3,
    ...     "theme": ["T"] * 3, "subtheme_id": ["s"] * 3, "subtheme": ["S"] * 3, "points": [3, 1, 0],
    ...     "attainable": [3, 3, 0], "level_source": ["Erfassung", "Daten", "nicht zutreffend"]})
    >>> float(score_table(a).query("scope == 'Gesamt'")["share"].iloc[0])
    0.6666666666666666
    """
    rows = []
    for area_id, area in assessments.groupby("area_id", sort=False):
        name = area["area_name"].iloc[0]
        rows.append(
            {
                "area_id": area_id,
                "area_name": name,
                "scope": "Gesamt",
                "scope_id": "gesamt",
                "title": "Gesamt",
                **_score_rows(area),
            }
        )
        for theme_id, theme in area.groupby("theme_id", sort=False):
            rows.append(
                {
                    "area_id": area_id,
                    "area_name": name,
                    "scope": "Thema",
                    "scope_id": theme_id,
                    "title": theme["theme"].iloc[0],
                    **_score_rows(theme),
                }
            )
        for sub_id, sub in area.groupby("subtheme_id", sort=False):
            rows.append(
                {
                    "area_id": area_id,
                    "area_name": name,
                    "scope": "Unterthema",
                    "scope_id": sub_id,
                    "title": sub["subtheme"].iloc[0],
                    **_score_rows(sub),
                }
            )
    frame = pd.DataFrame(
        rows,
        columns=[
            "area_id",
            "area_name",
            "scope",
            "scope_id",
            "title",
            "points",
            "attainable",
            "share",
            "measures",
            "by_person",
            "by_data",
            "open",
            "not_applicable",
        ],
    )
    frame["share"] = pd.to_numeric(frame["share"], errors="coerce").astype("Float64")
    for c in ("area_id", "area_name", "scope", "scope_id", "title"):
        frame[c] = frame[c].astype("string")
    return frame


def sdgs_served(assessments: pd.DataFrame) -> dict[str, list[int]]:
    """Per area, the SDGs served: those of every measure that reaches level 1 or more."""
    out: dict[str, list[int]] = {}
    for area_id, area in assessments.groupby("area_id", sort=False):
        reached = area[(area["level"].fillna(0) >= 1).to_numpy(dtype=bool)]
        numbers = {int(n) for text in reached["sdgs"].dropna() for n in str(text).split(",") if n.strip()}
        out[str(area_id)] = sorted(numbers)
    return out
