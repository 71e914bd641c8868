"""Joint planning in a run: files written, stale ones removed, tables named, the terminal summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from flaechen.errors import SheetError
from flaechen.flag import load_rules
from flaechen.plan.run import plan_district, sheet_files, summary_lines
from flaechen.plan.settings import AssessmentSettings, PlanningSettings, ScenarioSpec


def _plan(district, sources, out, *, sheets=None, base_dir=Path(".")):
    return plan_district(
        district,
        assessment=AssessmentSettings(sheets=sheets),
        planning=PlanningSettings(base_year=2025),
        scenarios=(ScenarioSpec(id="a", title="Innen", horizon=2035, activation_share=0.5),),
        rules=load_rules(),
        out_dir=out,
        base_dir=base_dir,
        district_name="Testkreis",
        candidates=district["candidates"],
        sources=sources,
    )


def test_plan_district_writes_sheets_pages_and_tables(small_district, sources_frame, tmp_path):
    stale = tmp_path / "bewertung" / "steckbrief_GG-00000000-01.html"
    stale.parent.mkdir(parents=True)
    stale.write_text("old", encoding="utf-8")
    result = _plan(small_district, sources_frame, tmp_path)
    names = sorted(str(p.relative_to(tmp_path)) for p in result.files)
    assert names == [
        "bewertung/steckbrief_GG-07999001-01.html",
        "bewertung/vergleich.html",
        "bewertung/vorlagen/bewertung_GG-07999001-01.csv",
        "bewertung/vorlagen/bewertung_GG-07999001-01.xlsx",
        "szenarien.html",
    ]
    assert not stale.exists()
    assert set(result.tables()) == {"assessments", "assessment_scores", "scenarios", "scenario_results"}
    assert set(result.layers()) == {"commercial_areas"}
    lines = summary_lines(result, out_dir=tmp_path)
    assert lines[0].startswith("Commercial areas assessed: 1 (22 measures each")
    assert any(line.startswith("  GG-07999001-01  Nr. 4 Gewerbegebiet Süd") for line in lines)
    assert any(line.startswith("  a: Innen (to 2035): 0,1 ha activated") for line in lines)


def test_sheets_folder_is_read_and_bad_sheets_stop_the_run(small_district, sources_frame, tmp_path):
    first = _plan(small_district, sources_frame, tmp_path / "out")
    folder = tmp_path / "bewertung"
    folder.mkdir()
    csv_sheet = tmp_path / "out" / "bewertung" / "vorlagen" / "bewertung_GG-07999001-01.csv"
    text = csv_sheet.read_text(encoding="utf-8-sig").replace("GG-07999001-01;", "GG-07999001-99;", 1)
    (folder / "bewertung.csv").write_text(text, encoding="utf-8-sig")
    (folder / "~$offen.xlsx").write_bytes(b"lock file of a spreadsheet program")
    assert [p.name for p in sheet_files("bewertung", base_dir=tmp_path)] == ["bewertung.csv"]
    with pytest.raises(SheetError, match="Gebiet-ID 'GG-07999001-99' is not a commercial area"):
        _plan(small_district, sources_frame, tmp_path / "out", sheets="bewertung", base_dir=tmp_path)
    assert first.assessment is not None
