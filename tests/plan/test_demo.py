"""The demo end to end: `flaechen demo` assesses its commercial areas and compares two scenarios."""

from __future__ import annotations

import contextlib
import csv
import io
import shutil

import openpyxl
import pyogrio
import pytest

from flaechen.cli import main

pytestmark = pytest.mark.slow

AREAS = 5
"""Commercial areas of the demo: one per municipality with a plan (Lindenhöh delivers none, the §34 case)."""


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("plan-demo")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main(["demo", "--out", str(out), "--scale", "3000"]) == 0
    return out, stdout.getvalue()


def _table(out, name):
    return pyogrio.read_dataframe(out / "district.gpkg", layer=name, read_geometry=False)


def test_make_demo_prints_the_assessment_and_both_scenarios(demo):
    out, text = demo
    assert f"Commercial areas assessed: {AREAS} (22 measures each; sheets read: {AREAS}" in text
    assert "  luecken_brachen: Baulücken und Brachflächen (to 2035):" in text
    assert "  innen_aktiv: Aktive Innenentwicklung (to 2040):" in text
    assert f"comparison: {(out / 'szenarien.html').resolve()}" in text


def test_levels_come_partly_from_data_partly_from_the_filled_sheets(demo):
    out, _ = demo
    a = _table(out, "assessments")
    sources = set(a["level_source"])
    assert {"Erfassung", "Daten", "offen", "nicht zutreffend"} <= sources
    derived = a[a["level_proposed"].notna()]
    assert set(derived["measure_id"]) == {
        "solar_dachflaechen",
        "flaecheneffizienz",
        "ungenutzte_grundstuecke",
        "brachflaechen",
        "versiegelung",
        "gruenflaechen",
    }
    # one derived measure per area is overridden by a person: both levels are kept, the person's counts
    overridden = a[a["level_person"].notna() & a["level_proposed"].notna()]
    assert len(overridden) == AREAS
    assert (overridden["level"] == overridden["level_person"]).all()
    assert (overridden["level_source"] == "Erfassung").all()
    areas = pyogrio.read_dataframe(out / "district.gpkg", layer="commercial_areas")
    assert len(areas) == AREAS and areas["score"].between(0, 1).all()
    # the reworded measure of the demo configuration
    assert set(a.loc[a["measure_id"] == "arbeitsplaetze", "indicator"]) == {
        "Sozialversicherungspflichtig Beschäftigte je Hektar Gebietsfläche"
    }
    results = _table(out, "scenario_results")
    assert set(results["scenario_id"]) == {"luecken_brachen", "innen_aktiv"} and len(results) == 12


def test_sheets_handed_out_again_keep_the_recorded_levels(demo):
    out, _ = demo
    sheet = out / "bewertung" / "vorlagen" / "bewertung_GG-07999001-01.xlsx"
    ws = openpyxl.load_workbook(sheet)["Bewertung"]
    header = [c.value for c in ws[1]]
    filled = [r for r in ws.iter_rows(min_row=2, values_only=True) if r[header.index("Stufe")]]
    a = _table(out, "assessments")
    recorded = a[(a["area_id"] == "GG-07999001-01") & a["level_source"].isin(["Erfassung", "nicht zutreffend"])]
    assert len(filled) == len(recorded) > 0


def test_flaechen_plan_reruns_and_reports_bad_sheets(demo, tmp_path, capsys):
    out, _ = demo
    copy = tmp_path / "demo"
    shutil.copytree(out, copy)
    assert main(["plan", str(copy), "--config", str(copy / "input" / "district.toml")]) == 0
    assert f"Commercial areas assessed: {AREAS}" in capsys.readouterr().out
    sheet = next((copy / "input" / "bewertung").glob("*.csv"))
    with open(sheet, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    rows[0]["Stufe"] = "5 sehr gut"
    with open(sheet, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    assert main(["plan", str(copy), "--config", str(copy / "input" / "district.toml")]) == 2
    err = capsys.readouterr().err
    assert "problem(s) in the assessment sheets" in err and "Stufe '5 sehr gut' is not a level" in err
    assert str(sheet) in err and "Traceback" not in err


def test_the_register_status_selects_in_the_demo_scenario(demo):
    """`innen_aktiv` leaves out the sites whose owner is not willing (register status nicht_bereit)."""
    out, _ = demo
    sites = pyogrio.read_dataframe(out / "register.gpkg", layer="sites", read_geometry=False)
    candidates = pyogrio.read_dataframe(out / "district.gpkg", layer="candidates", read_geometry=False)
    active = sites[sites["state"] != "entfallen"]
    refused = {
        p for ids in active.loc[active["status"] == "nicht_bereit", "parcel_ids"].dropna() for p in ids.split(";")
    }
    inner = candidates[
        candidates["category"].isin(["Baulücke", "Brachfläche", "Leerstand", "Untergenutzte Fläche"])
        & (candidates["area_m2"] >= 200)
    ]
    expected = int((~inner["parcel_id"].isin(refused)).sum())
    results = _table(out, "scenario_results")
    assert int(results.loc[results["scenario_id"] == "innen_aktiv", "selected_n"].sum()) == expected
    assert expected < len(inner) or not refused
