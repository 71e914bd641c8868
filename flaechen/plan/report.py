"""Printable German reports of joint planning: a score card per area, the district comparison, the scenarios.

HTML pages with a print style sheet (A4), no scripts and no network (a Content-Security-Policy says so):
``bewertung/steckbrief_<area id>.html`` — the score card in the form of the catalogue (measure,
description, SDG, implementer, indicator, level, and where the level comes from);
``bewertung/vergleich.html`` — every area's scores side by side with a bar chart;
``szenarien.html`` — the scenarios side by side per municipality with a chart against the target path.

Every delivered value (area names, plan names, comments from the sheets) reaches the pages only as a
variable of a jinja2 template with autoescaping on; no delivered text is ever compiled as a template.
Charts are SVG drawn by the templates from numbers computed here.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from flaechen.atomic import atomic_write_text
from flaechen.flag.reasons import de_number, de_percent
from flaechen.palette import colours as palette_colours
from flaechen.palette import plan_themes
from flaechen.plan.catalogue import Catalogue
from flaechen.plan.sheets import sheet_name

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"

SDG_TITLES = {
    1: "Keine Armut",
    2: "Kein Hunger",
    3: "Gesundheit und Wohlergehen",
    4: "Hochwertige Bildung",
    5: "Geschlechtergleichheit",
    6: "Sauberes Wasser und Sanitäreinrichtungen",
    7: "Bezahlbare und saubere Energie",
    8: "Menschenwürdige Arbeit und Wirtschaftswachstum",
    9: "Industrie, Innovation und Infrastruktur",
    10: "Weniger Ungleichheiten",
    11: "Nachhaltige Städte und Gemeinden",
    12: "Nachhaltige/r Konsum und Produktion",
    13: "Maßnahmen zum Klimaschutz",
    14: "Leben unter Wasser",
    15: "Leben an Land",
    16: "Frieden, Gerechtigkeit und starke Institutionen",
    17: "Partnerschaften zur Erreichung der Ziele",
}
"""German short titles of the 17 Sustainable Development Goals (UN Agenda 2030, German federal government)."""

THEME_COLOURS = list(plan_themes())
"""The colours of the catalogue's themes and of the scenarios, in order (the one palette, `plan_themes`)."""


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = lambda v, d=0: "–" if v is None or pd.isna(v) else de_number(float(v), d)
    env.filters["pct"] = lambda v, d=0: "–" if v is None or pd.isna(v) else de_percent(float(v), d)
    return env


def _write(path: Path, text: str) -> Path:
    return atomic_write_text(path, text)


def _value(v: Any) -> Any:
    return None if v is None or (not isinstance(v, str) and pd.isna(v)) else v


def _cards_context(
    area: dict[str, Any],
    assessments: pd.DataFrame,
    scores: pd.DataFrame,
    sdgs: list[int],
    catalogue: Catalogue,
) -> dict[str, Any]:
    mine = assessments[assessments["area_id"] == area["area_id"]]
    sc = scores[scores["area_id"] == area["area_id"]]
    overall = sc[sc["scope"] == "Gesamt"].iloc[0]
    themes = []
    for i, t in enumerate(catalogue.themes):
        trow = sc[(sc["scope"] == "Thema") & (sc["scope_id"] == t.id)]
        subs = []
        for s in t.subthemes:
            srow = sc[(sc["scope"] == "Unterthema") & (sc["scope_id"] == s.id)]
            rows = []
            for r in mine[mine["subtheme_id"] == s.id].itertuples():
                rows.append(
                    {
                        "measure": r.measure,
                        "measure_id": r.measure_id,
                        "origin": r.origin,
                        "description": r.description,
                        "sdgs": r.sdgs,
                        "implementer": r.implementer,
                        "indicator": r.indicator,
                        "level": _value(r.level),
                        "level_label": r.level_label,
                        "source": r.level_source,
                        "proposed": _value(r.level_proposed),
                        "person": _value(r.level_person),
                        "evidence": _value(r.evidence),
                        "indicator_person": _value(r.indicator_person),
                        "comment": _value(r.comment),
                        "recorded_by": _value(r.recorded_by),
                    }
                )
            subs.append({"title": s.title, "share": _value(srow["share"].iloc[0]) if len(srow) else None, "rows": rows})
        themes.append(
            {
                "title": t.title,
                "colour": THEME_COLOURS[i % len(THEME_COLOURS)],
                "share": _value(trow["share"].iloc[0]) if len(trow) else None,
                "points": int(trow["points"].iloc[0]) if len(trow) else 0,
                "attainable": int(trow["attainable"].iloc[0]) if len(trow) else 0,
                "subthemes": subs,
            }
        )
    return {
        "area": area,
        "overall": {
            "share": _value(overall["share"]),
            "points": int(overall["points"]),
            "attainable": int(overall["attainable"]),
            "measures": int(overall["measures"]),
            "by_person": int(overall["by_person"]),
            "by_data": int(overall["by_data"]),
            "open": int(overall["open"]),
            "not_applicable": int(overall["not_applicable"]),
        },
        "themes": themes,
        "sdgs": [{"number": n, "title": SDG_TITLES.get(n, "")} for n in sdgs],
        "catalogue_title": catalogue.title,
        "levels": catalogue.levels,
        "not_applicable": catalogue.not_applicable,
    }


def write_score_cards(
    areas: pd.DataFrame,
    assessments: pd.DataFrame,
    scores: pd.DataFrame,
    sdgs: dict[str, list[int]],
    *,
    catalogue: Catalogue,
    out_dir: str | os.PathLike[str],
    district_name: str,
    municipality_names: dict[str, str],
) -> list[Path]:
    """Write a score card per area and the district comparison page; return the paths (comparison last)."""
    env = _env()
    out = Path(out_dir)
    today = _dt.date.today().strftime("%d.%m.%Y")
    paths = []
    cards = []
    for area in pd.DataFrame(areas).drop(columns="geometry", errors="ignore").to_dict("records"):
        area = {k: _value(v) for k, v in area.items()}
        area["municipality"] = ", ".join(municipality_names.get(a, a) for a in str(area["municipalities"]).split(";"))
        area["hectares"] = (area.get("area_m2") or 0) / 10_000
        ctx = _cards_context(area, assessments, scores, sdgs.get(str(area["area_id"]), []), catalogue)
        name = f"steckbrief_{sheet_name(str(area['area_id'])).removeprefix('bewertung_')}.html"
        html = env.get_template("scorecard.html").render(district=district_name, date=today, **ctx)
        paths.append(_write(out / name, html))
        cards.append({"file": name, **ctx})
    theme_titles = [
        {"title": t.title, "colour": THEME_COLOURS[i % len(THEME_COLOURS)]} for i, t in enumerate(catalogue.themes)
    ]
    html = env.get_template("comparison.html").render(
        district=district_name,
        date=today,
        cards=cards,
        themes=theme_titles,
        catalogue_title=catalogue.title,
        total_colour=palette_colours("charts")["total"],
    )
    paths.append(_write(out / "vergleich.html", html))
    return paths


def write_scenario_page(
    results: pd.DataFrame,
    totals: pd.DataFrame,
    scenarios: pd.DataFrame,
    *,
    out_path: str | os.PathLike[str],
    district_name: str,
) -> Path:
    """Write the scenario comparison page (table per municipality, chart against the target path)."""
    env = _env()
    specs = [{k: _value(v) for k, v in r.items()} for r in scenarios.to_dict("records")]
    rows = [{k: _value(v) for k, v in r.items()} for r in results.to_dict("records")]
    tot = [{k: _value(v) for k, v in r.items()} for r in totals.to_dict("records")]
    names = list(dict.fromkeys(results["name"].astype(str)))
    chart_max = max(
        [float(v) for v in results["greenfield_saved_ha"].dropna()]
        + [float(v) for v in results["allowance_ha"].dropna()]
        + [1.0]
    )
    colours = {s["scenario_id"]: THEME_COLOURS[i % len(THEME_COLOURS)] for i, s in enumerate(specs)}
    groups = []
    for name in names:
        sub = [r for r in rows if r["name"] == name]
        groups.append({"name": name, "rows": sub, "allowance": max((r["allowance_ha"] or 0) for r in sub)})
    html = env.get_template("scenarios.html").render(
        target_colour=palette_colours("charts")["target"],
        district=district_name,
        date=_dt.date.today().strftime("%d.%m.%Y"),
        scenarios=specs,
        rows=rows,
        totals=tot,
        groups=groups,
        chart_max=chart_max,
        colours=colours,
    )
    return _write(Path(out_path), html)
