"""issues.csv is opened in spreadsheets: a delivered value never becomes a formula there."""

from __future__ import annotations

import csv

import pandas as pd
import pyogrio
from mini_district import write_mini_district

from flaechen.config import load_config
from flaechen.issues import FORMULA_START, spreadsheet_safe
from flaechen.pipeline import run

FORMULA = '=HYPERLINK("http://example.invalid";"klick")'


def test_text_cells_that_start_a_formula_get_an_apostrophe():
    frame = pd.DataFrame(
        {
            "value": ["=1+1", "+49", "-2", "@SUM(A1)", "\tx", "\rx", "Baulücke", "a=b", None],
            "n": [1, -2, 3, 4, 5, 6, 7, 8, 9],
        }
    )
    safe = spreadsheet_safe(frame)
    assert safe["value"].tolist()[:8] == ["'=1+1", "'+49", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "Baulücke", "a=b"]
    assert pd.isna(safe["value"].iloc[8])
    assert safe["n"].tolist() == frame["n"].tolist()  # numbers stay numbers
    assert frame["value"].iloc[0] == "=1+1"  # the original is not changed


def test_issues_csv_of_a_run_holds_no_formula(tmp_path):
    config_path = write_mini_district(tmp_path)
    zoning = tmp_path / "sources" / "b_zoning.csv"
    text = zoning.read_text(encoding="utf-8")
    # an unknown zoning code (logged with its value) and an id that are formulas
    text = text.replace("z3,XYZ,", '"@SUM(1+1)","' + FORMULA.replace('"', '""') + '",')
    zoning.write_text(text, encoding="utf-8")
    result = run(load_config(config_path), tmp_path / "out", publish=False)
    with open(result.issues_csv, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    cells = [v for row in rows for v in row.values() if v]
    assert "'" + FORMULA in cells
    assert not [v for v in cells if v.startswith(FORMULA_START)]
    # the district dataset keeps the value as delivered
    logged = pyogrio.read_dataframe(result.gpkg, layer="issues", read_geometry=False)
    assert FORMULA in set(logged["value"].dropna())
