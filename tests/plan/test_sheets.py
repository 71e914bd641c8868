"""Assessment sheets: written per area (XLSX with a dropdown, CSV), filled, read back; bad values all at once."""

from __future__ import annotations

import csv

import openpyxl
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flaechen.errors import SheetError
from flaechen.plan.catalogue import load_catalogue
from flaechen.plan.sheets import CHOICES, COLUMNS, format_level, parse_level, read_sheets, write_sheets

AREAS = pd.DataFrame(
    [
        {"area_id": "GG-07999001-01", "name": "Gewerbepark <Nord> =SUMME(A1)"},
        {"area_id": "GG-07999002-01", "name": "Am Bahnhof"},
    ]
)
IDS = set(AREAS["area_id"])


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def _fill_xlsx(path, values: dict[str, object], *, column: str = "Stufe", extra: dict | None = None):
    wb = openpyxl.load_workbook(path)
    ws = wb["Bewertung"]
    header = [c.value for c in ws[1]]
    col = header.index(column) + 1
    mid = header.index("Maßnahme-ID") + 1
    for row in range(2, ws.max_row + 1):
        measure = ws.cell(row=row, column=mid).value
        if measure in values:
            ws.cell(row=row, column=col, value=values[measure])
        for (m, c), v in (extra or {}).items():
            if m == measure:
                ws.cell(row=row, column=header.index(c) + 1, value=v)
    wb.save(path)


def test_one_sheet_per_area_with_german_headers_and_a_dropdown(tmp_path, catalogue):
    paths = write_sheets(AREAS, catalogue=catalogue, out_dir=tmp_path)
    assert sorted(p.name for p in paths) == [
        "bewertung_GG-07999001-01.csv",
        "bewertung_GG-07999001-01.xlsx",
        "bewertung_GG-07999002-01.csv",
        "bewertung_GG-07999002-01.xlsx",
    ]
    wb = openpyxl.load_workbook(tmp_path / "bewertung_GG-07999001-01.xlsx")
    ws = wb["Bewertung"]
    assert [c.value for c in ws[1]] == COLUMNS
    assert ws.max_row == 1 + len(catalogue.measure_ids)  # one row per measure
    validations = ws.data_validations.dataValidation
    assert len(validations) == 1
    col = openpyxl.utils.get_column_letter(COLUMNS.index("Stufe") + 1)
    assert str(validations[0].sqref) == f"{col}2:{col}{ws.max_row}"
    assert validations[0].type == "list"
    assert [r[0].value for r in wb["Stufen"].iter_rows(min_row=2)] == CHOICES
    # a delivered name that looks like a formula stays text
    assert ws["B2"].value == "Gewerbepark <Nord> =SUMME(A1)" and ws["B2"].data_type == "s"
    with open(tmp_path / "bewertung_GG-07999001-01.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    assert rows[0] == COLUMNS and len(rows) == 1 + len(catalogue.measure_ids)


def test_round_trip_xlsx_and_csv(tmp_path, catalogue):
    write_sheets(AREAS, catalogue=catalogue, out_dir=tmp_path)
    xlsx = tmp_path / "bewertung_GG-07999001-01.xlsx"
    _fill_xlsx(
        xlsx,
        {"kreislaufwirtschaft": "2 fortschrittlich", "regenwasser": "nicht zutreffend", "gebietsmanagement": 3},
        extra={
            ("kreislaufwirtschaft", "Bemerkung"): "Wertstoffhof",
            ("kreislaufwirtschaft", "Erfasst von"): "Gemeinde",
        },
    )
    csv_path = tmp_path / "bewertung_GG-07999002-01.csv"
    with open(csv_path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    for r in rows:
        if r["Maßnahme-ID"] == "finanzierungsmodell":
            r["Stufe"] = "1"
            r["Indikatorwert"] = "Vertrag 2024"
    with open(csv_path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    got = read_sheets([xlsx, csv_path], catalogue=catalogue, area_ids=IDS)
    levels = got.levels.set_index(["area_id", "measure_id"])
    assert len(levels) == 4
    assert levels.loc[("GG-07999001-01", "kreislaufwirtschaft"), "level_person"] == 2
    assert levels.loc[("GG-07999001-01", "kreislaufwirtschaft"), "comment"] == "Wertstoffhof"
    assert levels.loc[("GG-07999001-01", "kreislaufwirtschaft"), "recorded_by"] == "Gemeinde"
    assert bool(levels.loc[("GG-07999001-01", "regenwasser"), "not_applicable"])
    assert pd.isna(levels.loc[("GG-07999001-01", "regenwasser"), "level_person"])
    assert levels.loc[("GG-07999001-01", "gebietsmanagement"), "level_person"] == 3
    assert levels.loc[("GG-07999002-01", "finanzierungsmodell"), "indicator_person"] == "Vertrag 2024"
    # nothing lost: every row read is a value or an empty (not assessed) row
    n = len(catalogue.measure_ids)
    assert got.rows_read == 2 * n and got.rows_empty + len(got.levels) == got.rows_read
    # sheets written again keep what people entered
    again = tmp_path / "again"
    write_sheets(AREAS, catalogue=catalogue, out_dir=again, levels=got.levels, formats=("xlsx",))
    back = read_sheets(sorted(again.glob("*.xlsx")), catalogue=catalogue, area_ids=IDS)
    cols = ["area_id", "measure_id", "level_person", "not_applicable", "indicator_person", "comment", "recorded_by"]
    pd.testing.assert_frame_equal(
        back.levels[cols].sort_values(cols[:2]).reset_index(drop=True),
        got.levels[cols].sort_values(cols[:2]).reset_index(drop=True),
    )


def test_every_bad_value_is_reported_at_once(tmp_path, catalogue):
    write_sheets(AREAS.iloc[:1], catalogue=catalogue, out_dir=tmp_path, formats=("xlsx",))
    xlsx = tmp_path / "bewertung_GG-07999001-01.xlsx"
    wb = openpyxl.load_workbook(xlsx)
    ws = wb["Bewertung"]
    header = [c.value for c in ws[1]]
    stufe, mid, aid = (header.index(c) + 1 for c in ("Stufe", "Maßnahme-ID", "Gebiet-ID"))
    ws.cell(row=2, column=stufe, value=5)  # level outside 0–3
    ws.cell(row=3, column=stufe, value="-1")
    ws.cell(row=4, column=mid, value="gibtsnicht")  # unknown measure
    ws.cell(row=4, column=stufe, value=1)
    ws.cell(row=5, column=aid, value="GG-99999999-01")  # unknown area
    ws.cell(row=5, column=stufe, value=2)
    ws.cell(row=6, column=stufe, value="sehr gut")
    ws.cell(row=7, column=stufe, value=2)
    ws.append([ws.cell(row=7, column=j).value for j in range(1, len(header) + 1)])  # the same measure twice
    wb.save(xlsx)
    missing = tmp_path / "fehlt.xlsx"
    broken = tmp_path / "kaputt.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(SheetError) as err:
        read_sheets([xlsx, missing, broken], catalogue=catalogue, area_ids={"GG-07999001-01"})
    problems = err.value.problems
    text = "\n".join(problems)
    assert "row 2: Stufe 5 is not a level" in text
    assert "row 3: Stufe '-1' is not a level" in text
    assert "row 4: Maßnahme-ID 'gibtsnicht' is not in the catalogue" in text
    assert "row 5: Gebiet-ID 'GG-99999999-01' is not a commercial area" in text
    assert "row 6: Stufe 'sehr gut' is not a level" in text
    assert f"row {ws.max_row}: GG-07999001-01 / " in text and "also filled in at" in text
    assert f"{missing}: no such file" in text
    assert "cannot be opened as XLSX" in text
    assert len(problems) == 8
    assert all(str(xlsx) in p for p in problems[:6])


def test_a_sheet_without_the_level_column_is_refused(tmp_path, catalogue):
    path = tmp_path / "x.csv"
    path.write_text("Gebiet-ID;Maßnahme-ID\nGG-07999001-01;regenwasser\n", encoding="utf-8")
    with pytest.raises(SheetError, match="column\\(s\\) Stufe missing"):
        read_sheets([path], catalogue=catalogue, area_ids=IDS)


@given(st.sampled_from([0, 1, 2, 3]))
def test_parse_level_reads_every_dropdown_value(level):
    assert parse_level(format_level(level)) == (level, False, None)
    assert parse_level(str(level)) == (level, False, None)
    assert parse_level(float(level)) == (level, False, None)


@given(st.integers().filter(lambda n: not 0 <= n <= 3))
def test_parse_level_refuses_numbers_outside_0_to_3(n):
    level, na, problem = parse_level(n)
    assert level is None and not na and problem


def test_not_applicable_spellings():
    for text in ("nicht zutreffend", "n.z.", "Nicht zutreffend", "entfällt"):
        assert parse_level(text) == (None, True, None)
    assert parse_level("2 ambitioniert")[2]  # number and label disagree
