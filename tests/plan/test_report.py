"""Score card, district comparison and scenario page: escaped, offline, looked at in headless Chromium."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from flaechen.flag import load_rules
from flaechen.plan.catalogue import load_catalogue
from flaechen.plan.report import write_scenario_page, write_score_cards
from flaechen.plan.run import assess_areas, compare_scenarios
from flaechen.plan.settings import PlanningSettings, ScenarioSpec
from flaechen.plan.sheets import read_sheets, write_sheets
from tests.plan.conftest import screenshot_dir
from tests.publish.browser import PageLog

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def reports(small_district, sources_frame, tmp_path):
    catalogue = load_catalogue()
    district = dict(small_district)
    district["zoning"] = district["zoning"].assign(plan_name=[f"Gewerbepark {XSS}", "FNP", "Wohnen"])
    first = assess_areas(
        district, catalogue=catalogue, rules=load_rules(), candidates=district["candidates"], sources=sources_frame
    )
    sheets = write_sheets(
        first.areas, catalogue=catalogue, out_dir=tmp_path / "vorlagen", proposals=first.proposals, formats=("csv",)
    )
    with open(sheets[0], encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    for r in rows:
        if r["Maßnahme-ID"] == "kreislaufwirtschaft":
            r.update({"Stufe": "3", "Bemerkung": f"Kommentar {XSS}", "Erfasst von": "Gemeinde"})
        elif r["Maßnahme-ID"] == "regenwasser":
            r["Stufe"] = "nicht zutreffend"
    path = tmp_path / "filled.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    levels = read_sheets([path], catalogue=catalogue, area_ids=set(first.areas["area_id"]))
    assert len(levels.levels) == 2
    a = assess_areas(
        district,
        catalogue=catalogue,
        rules=load_rules(),
        candidates=district["candidates"],
        sources=sources_frame,
        sheet_paths=[path],
    )
    out = tmp_path / "bewertung"
    pages = write_score_cards(
        a.areas,
        a.assessments,
        a.scores,
        a.sdgs,
        catalogue=catalogue,
        out_dir=out,
        district_name=f"Kreis {XSS}",
        municipality_names={"07999001": "Testdorf"},
    )
    planning = PlanningSettings(base_year=2025)
    specs = [
        ScenarioSpec(id="innen", title=f"Innen {XSS}", horizon=2035, activation_share=0.5),
        ScenarioSpec(id="alle", title="Alles", horizon=2040, categories=["Baulücke", "Außenreserve"]),
    ]
    comparison = compare_scenarios(district["candidates"], district["municipalities"], specs, planning=planning)
    scenario_page = write_scenario_page(
        comparison.results,
        comparison.totals,
        comparison.scenarios,
        out_path=tmp_path / "szenarien.html",
        district_name="Kreis",
    )
    return a, pages, scenario_page


def _open(chromium, path: Path):
    """Open a page offline; every console error, page error, dialog and non-file request is logged."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, offline=True)
    page = context.new_page()
    log = PageLog()
    page.on("console", lambda m: log.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log.errors.append(str(e)))
    page.on("dialog", lambda d: (log.dialogs.append(d.message), d.dismiss()))

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            log.requests.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(path.resolve().as_uri(), wait_until="load")
    return page, log


def test_delivered_text_is_escaped_in_the_html(reports):
    _, pages, scenario_page = reports
    card = pages[0].read_text(encoding="utf-8")
    assert XSS not in card and "&lt;img src=x onerror=alert(1)&gt;" in card
    assert "Content-Security-Policy" in card and "<script" not in card
    assert XSS not in scenario_page.read_text(encoding="utf-8")
    assert pages[-1].name == "vergleich.html"


@pytest.mark.browser
@pytest.mark.slow
def test_score_card_and_comparison_in_chromium(chromium, reports, tmp_path):
    a, pages, _ = reports
    shots = screenshot_dir(tmp_path)
    overall = a.scores[a.scores["scope"] == "Gesamt"].iloc[0]
    for path in pages:
        page, log = _open(chromium, path)
        assert log.errors == [] and log.requests == [] and log.dialogs == [], path.name
        assert page.locator("img").count() == 0  # the hostile names stay text
        body = page.inner_text("body")
        assert XSS in body
        if path.name.startswith("steckbrief"):
            assert page.inner_text("[data-score=overall]").strip() == f"{round(float(overall['share']) * 100)} %"
            rows = page.locator("tr[data-measure]")
            assert rows.count() == len(load_catalogue().measure_ids)
            row = page.locator("tr[data-measure=kreislaufwirtschaft]").inner_text()
            assert "3 ambitioniert" in row and "erfasst: Gemeinde" in row and "Kommentar" in row
            assert "nicht zutreffend" in page.locator("tr[data-measure=regenwasser]").inner_text()
            assert "aus Daten vorgeschlagen" in page.locator("tr[data-measure=gruenflaechen]").inner_text()
            page.screenshot(path=str(shots / "steckbrief.png"), full_page=True)
            page.emulate_media(media="print")
            page.screenshot(path=str(shots / "steckbrief-print.png"), full_page=True)
            pdf = page.pdf(path=str(shots / "steckbrief.pdf"), format="A4", landscape=True)
            assert len(pdf) > 10_000
        else:
            assert page.locator("svg[data-chart=comparison] rect").count() == len(pages[:-1]) * 5  # overall + 4 themes
            assert page.locator("tr[data-area]").count() == len(pages) - 1
            page.screenshot(path=str(shots / "vergleich.png"), full_page=True)
        page.context.close()


@pytest.mark.browser
@pytest.mark.slow
def test_scenario_comparison_in_chromium(chromium, reports, tmp_path):
    _, _, scenario_page = reports
    page, log = _open(chromium, Path(scenario_page))
    assert log.errors == [] and log.requests == [] and log.dialogs == []
    assert page.locator("img").count() == 0
    assert page.locator("tr[data-scenario][data-ags]").count() == 2  # two scenarios × one municipality
    assert page.locator("svg[data-chart=scenarios] rect").count() == 2
    assert XSS in page.inner_text("body")
    page.screenshot(path=str(screenshot_dir(tmp_path) / "szenarien.png"), full_page=True)
    page.context.close()
