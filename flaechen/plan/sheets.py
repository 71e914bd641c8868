"""Assessment spreadsheets: one per commercial area (XLSX with dropdowns, and CSV), German, one row per measure.

flaechen writes a sheet per area, pre-filled with the catalogue and the levels it proposes from the data;
the municipality and the companies fill in column ``Stufe`` (0–3 or "nicht zutreffend"), optionally
``Indikatorwert``, ``Bemerkung`` and ``Erfasst von``, and hand it back. Reading checks every row and
reports every bad value at once — unknown area id, unknown measure, a level outside 0–3, a measure given
twice — naming file, sheet, row and fix; nothing is dropped in silence.

Examples
--------
>>> from flaechen.district import read_district
>>> from flaechen.flag import load_rules
>>> from flaechen.plan.areas import commercial_areas_from_zoning
>>> from flaechen.plan.catalogue import load_catalogue
>>> layers = read_district("out/demo", layers=["zoning", "municipalities"])
>>> areas = commercial_areas_from_zoning(layers["zoning"], layers["municipalities"], rules=load_rules())
>>> catalogue = load_catalogue()
>>> paths = write_sheets(areas.head(1), catalogue=catalogue, out_dir="bewertung")
>>> [p.name for p in paths]
['bewertung_GG-07999001-01.xlsx', 'bewertung_GG-07999001-01.csv']

The demo's sheets, filled in by hand:

>>> filled = sorted(Path("out/demo/input/bewertung").glob("*.xlsx"))
>>> levels = read_sheets(filled, catalogue=catalogue, area_ids=set(areas["area_id"])).levels
>>> print(levels[["area_id", "measure_id", "level_person"]].head(2).to_string(index=False))
       area_id         measure_id  level_person
GG-07999001-01 solar_dachflaechen             2
GG-07999001-01   energieeffizienz             2
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from flaechen.atomic import atomic_write
from flaechen.errors import SheetError
from flaechen.plan.catalogue import LEVEL_LABELS, NOT_APPLICABLE, Catalogue

log = logging.getLogger(__name__)

SHEET_NAME = "Bewertung"
COLUMNS = [
    "Gebiet-ID",
    "Gebiet",
    "Thema",
    "Unterthema",
    "Maßnahme-ID",
    "Maßnahme",
    "Beschreibung",
    "SDG",
    "Umsetzung durch",
    "Indikator",
    "Stufe 1 durchschnittlich",
    "Stufe 2 fortschrittlich",
    "Stufe 3 ambitioniert",
    "Vorschlag aus Daten",
    "Begründung des Vorschlags",
    "Stufe",
    "Indikatorwert",
    "Bemerkung",
    "Erfasst von",
]
"""The columns of a sheet, in order. People fill ``Stufe``, ``Indikatorwert``, ``Bemerkung``, ``Erfasst von``."""

REQUIRED = ("Gebiet-ID", "Maßnahme-ID", "Stufe")
EDITABLE = ("Stufe", "Indikatorwert", "Bemerkung", "Erfasst von")
CHOICES = [f"{k} {v}" for k, v in LEVEL_LABELS.items()] + [NOT_APPLICABLE]
"""The values of the ``Stufe`` dropdown."""

_NA_WORDS = {"nicht zutreffend", "n.z.", "n. z.", "nz", "entfällt", "not applicable", "n/a"}


@dataclass
class SheetLevels:
    """What people recorded in the sheets: one row per area and measure with a value."""

    levels: pd.DataFrame
    """``area_id``, ``measure_id``, ``level_person`` (Int64), ``not_applicable``, ``indicator_person``,
    ``comment``, ``recorded_by``, ``sheet`` (file and row)."""
    rows_read: int = 0
    rows_empty: int = 0
    """Rows without a level, comment or indicator value (measures not assessed yet)."""
    files: list[str] = field(default_factory=list)


def sheet_name(area_id: str) -> str:
    """File stem of an area's sheet: ``bewertung_<area id>`` with unsafe characters replaced."""
    return "bewertung_" + re.sub(r"[^A-Za-z0-9._-]+", "_", area_id)


def sheet_rows(
    area: Mapping[str, Any],
    *,
    catalogue: Catalogue,
    proposals: pd.DataFrame | None = None,
    levels: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """The rows of one area's sheet (catalogue, proposals, and any levels already recorded)."""
    prop = {}
    if proposals is not None and not proposals.empty:
        for r in proposals[proposals["area_id"] == area["area_id"]].itertuples():
            prop[r.measure_id] = r
    known = {}
    if levels is not None and not levels.empty:
        for r in levels[levels["area_id"] == area["area_id"]].itertuples():
            known[r.measure_id] = r
    rows = []
    for t, s, m in catalogue.walk():
        p = prop.get(m.id)
        proposed = "" if p is None or pd.isna(p.level_proposed) else format_level(int(p.level_proposed))
        k = known.get(m.id)
        level = ""
        if k is not None:
            level = (
                NOT_APPLICABLE
                if bool(k.not_applicable)
                else ("" if pd.isna(k.level_person) else format_level(int(k.level_person)))
            )
        rows.append(
            {
                "Gebiet-ID": area["area_id"],
                "Gebiet": area.get("name") or "",
                "Thema": t.title,
                "Unterthema": s.title,
                "Maßnahme-ID": m.id,
                "Maßnahme": m.title,
                "Beschreibung": m.description,
                "SDG": ", ".join(str(n) for n in m.sdgs),
                "Umsetzung durch": m.implementer,
                "Indikator": m.indicator,
                "Stufe 1 durchschnittlich": m.levels.get(1, ""),
                "Stufe 2 fortschrittlich": m.levels.get(2, ""),
                "Stufe 3 ambitioniert": m.levels.get(3, ""),
                "Vorschlag aus Daten": proposed,
                "Begründung des Vorschlags": "" if p is None else str(p.evidence),
                "Stufe": level,
                "Indikatorwert": "" if k is None or pd.isna(k.indicator_person) else str(k.indicator_person),
                "Bemerkung": "" if k is None or pd.isna(k.comment) else str(k.comment),
                "Erfasst von": "" if k is None or pd.isna(k.recorded_by) else str(k.recorded_by),
            }
        )
    return rows


def format_level(level: int) -> str:
    """The dropdown text of a level, e.g. ``'2 fortschrittlich'``."""
    return f"{level} {LEVEL_LABELS[level]}"


def write_xlsx(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write one area's rows as XLSX with a dropdown on ``Stufe`` and a second sheet explaining the levels."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_NAME
    ws.append(COLUMNS)
    for i, row in enumerate(rows, start=2):
        for j, name in enumerate(COLUMNS, start=1):
            cell = ws.cell(row=i, column=j, value=row[name])
            if isinstance(row[name], str):
                cell.data_type = "s"  # delivered text is always a text cell, never a formula
    bold = Font(bold=True)
    editable = PatternFill("solid", fgColor="FFF4CC")
    widths = {"Beschreibung": 48, "Indikator": 36, "Begründung des Vorschlags": 60, "Maßnahme": 30, "Bemerkung": 30}
    for j, name in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=j)
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[get_column_letter(j)].width = widths.get(name, 18)
        if name in EDITABLE:
            for i in range(2, len(rows) + 2):
                ws.cell(row=i, column=j).fill = editable
    for r in ws.iter_rows(min_row=2):
        for cell in r:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "G2"
    col = get_column_letter(COLUMNS.index("Stufe") + 1)
    levels = wb.create_sheet("Stufen")
    levels.append(["Stufe", "Bedeutung"])
    for choice in CHOICES:
        levels.append([choice, _meaning(choice)])
    levels.column_dimensions["A"].width = 20
    levels.column_dimensions["B"].width = 80
    dv = DataValidation(
        type="list",
        formula1=f"=Stufen!$A$2:$A${len(CHOICES) + 1}",
        allow_blank=True,
        showErrorMessage=True,
        showInputMessage=True,
        errorTitle="Ungültige Stufe",
        error="Bitte eine Stufe aus der Liste wählen: 0–3 oder „nicht zutreffend“.",
        promptTitle="Stufe",
        prompt="0 nicht erreicht, 1 durchschnittlich, 2 fortschrittlich, 3 ambitioniert oder nicht zutreffend",
    )
    ws.add_data_validation(dv)
    dv.add(f"{col}2:{col}{len(rows) + 1}")
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{len(rows) + 1}"
    _atomic_save(path, wb.save)
    return path


def _meaning(choice: str) -> str:
    if choice == NOT_APPLICABLE:
        return "Die Maßnahme passt nicht zum Gebiet; sie zählt nicht zu den erreichbaren Punkten."
    level = int(choice.split()[0])
    return {
        0: "Die Maßnahme ist nicht umgesetzt (0 Punkte).",
        1: "Durchschnittlich umgesetzt (1 von 3 Punkten).",
        2: "Fortschrittlich umgesetzt (2 von 3 Punkten).",
        3: "Ambitioniert umgesetzt (3 von 3 Punkten).",
    }[level]


def _cell_text(value: Any) -> Any:
    """A cell value that a spreadsheet will not evaluate: texts starting like a formula get a leading quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write one area's rows as CSV (UTF-8 with BOM, ``;``-separated, as German spreadsheet programs expect)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: _cell_text(row[c]) for c in COLUMNS})
    _atomic_save(path, lambda tmp: Path(tmp).write_text(buffer.getvalue(), encoding="utf-8-sig"))
    return path


def _atomic_save(path: Path, save: Callable[[Path], object]) -> None:
    atomic_write(path, save)


def write_sheets(
    areas: pd.DataFrame,
    *,
    catalogue: Catalogue,
    out_dir: str | os.PathLike[str],
    proposals: pd.DataFrame | None = None,
    levels: pd.DataFrame | None = None,
    formats: Iterable[str] = ("xlsx", "csv"),
) -> list[Path]:
    """Write an assessment sheet per area into `out_dir` (``bewertung_<area id>.xlsx`` and ``.csv``).

    Levels already recorded (`levels`, e.g. from :func:`read_sheets`) are carried into the new sheets, so a
    sheet handed out again keeps what people entered.
    """
    out = Path(out_dir)
    paths = []
    for area in pd.DataFrame(areas).to_dict("records"):
        rows = sheet_rows(area, catalogue=catalogue, proposals=proposals, levels=levels)
        stem = sheet_name(str(area["area_id"]))
        if "xlsx" in formats:
            paths.append(write_xlsx(out / f"{stem}.xlsx", rows))
        if "csv" in formats:
            paths.append(write_csv(out / f"{stem}.csv", rows))
    return paths


def _read_xlsx(path: Path) -> tuple[str, list[str], list[tuple[int, list[Any]]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException for broken files
        raise SheetError(
            [f"{path}: cannot be opened as XLSX ({type(exc).__name__}: {exc}); save it again as .xlsx"]
        ) from None
    try:
        ws = wb[SHEET_NAME] if SHEET_NAME in wb.sheetnames else wb.worksheets[0]
        rows = list(ws.iter_rows(values_only=True))
        title = ws.title
    finally:
        wb.close()
    if not rows:
        return title, [], []
    header = ["" if h is None else str(h).strip() for h in rows[0]]
    return title, header, [(i, list(r)) for i, r in enumerate(rows[1:], start=2)]


def _read_csv(path: Path) -> tuple[str, list[str], list[tuple[int, list[Any]]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_text(encoding="cp1252")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if not reader:
        return "CSV", [], []
    header = [h.strip() for h in reader[0]]
    return "CSV", header, [(i, r) for i, r in enumerate(reader[1:], start=2)]


def parse_level(value: Any) -> tuple[int | None, bool, str | None]:
    """``(level, not applicable, problem)`` of a ``Stufe`` cell; ``(None, False, None)`` for an empty cell.

    Examples
    --------
    >>> parse_level("2 fortschrittlich"), parse_level(3), parse_level("nicht zutreffend"), parse_level("")
    ((2, False, None), (3, False, None), (None, True, None), (None, False, None))
    >>> parse_level("4")[2]
    "'4' is not a level: use 0–3 or 'nicht zutreffend'"
    """
    if value is None or (isinstance(value, float) and value != value):
        return None, False, None
    if isinstance(value, bool):
        return None, False, f"{value!r} is not a level: use 0–3 or {NOT_APPLICABLE!r}"
    if isinstance(value, int | float):
        if float(value).is_integer() and 0 <= value <= 3:
            return int(value), False, None
        return None, False, f"{value!r} is not a level: use 0–3 or {NOT_APPLICABLE!r}"
    text = str(value).strip()
    if not text:
        return None, False, None
    if text.lower() in _NA_WORDS:
        return None, True, None
    labels = {v: k for k, v in LEVEL_LABELS.items()}
    if text.lower() in labels:
        return labels[text.lower()], False, None
    m = re.fullmatch(r"(-?\d+(?:[.,]0+)?)(?:\s+(.*))?", text)
    if m:
        number = int(float(m.group(1).replace(",", ".")))
        label = (m.group(2) or "").strip().lower()
        if 0 <= number <= 3 and (not label or label == LEVEL_LABELS[number]):
            return number, False, None
    return None, False, f"{text!r} is not a level: use 0–3 or {NOT_APPLICABLE!r}"


def read_sheets(
    paths: Iterable[str | os.PathLike[str]],
    *,
    catalogue: Catalogue,
    area_ids: set[str],
) -> SheetLevels:
    """Read filled assessment sheets (XLSX or CSV) and check every row.

    Parameters
    ----------
    paths
        The sheet files.
    catalogue
        The catalogue the measure ids must belong to.
    area_ids
        The ids of the district's commercial areas.

    Returns
    -------
    SheetLevels
        Every row with a level, comment or indicator value; rows without any count as not assessed.

    Raises
    ------
    SheetError
        With every problem of every file at once: unreadable file, missing column, unknown area id,
        unknown measure, a level outside 0–3, the same area and measure twice.
    """
    problems: list[str] = []
    records: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], str] = {}
    measures = set(catalogue.measure_ids)
    rows_read = rows_empty = 0
    files = []
    for p in paths:
        path = Path(p)
        files.append(str(path))
        if not path.is_file():
            problems.append(f"{path}: no such file")
            continue
        try:
            if path.suffix.lower() in (".xlsx", ".xlsm"):
                sheet, header, rows = _read_xlsx(path)
            elif path.suffix.lower() == ".csv":
                sheet, header, rows = _read_csv(path)
            else:
                problems.append(f"{path}: not an assessment sheet (.xlsx or .csv expected)")
                continue
        except SheetError as exc:
            problems += exc.problems
            continue
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            problems.append(
                f"{path} ({sheet}): column(s) {', '.join(missing)} missing in the first row; "
                "use the sheet flaechen wrote"
            )
            continue
        col = {name: header.index(name) for name in header if name}

        def get(row: list[Any], name: str, col: dict[str, int] = col) -> Any:
            i = col.get(name)
            return row[i] if i is not None and i < len(row) else None

        for number, row in rows:
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
                continue  # a blank line
            rows_read += 1
            where = f"{path} ({sheet}), row {number}"
            area_id = _text(get(row, "Gebiet-ID"))
            measure_id = _text(get(row, "Maßnahme-ID"))
            level, na, problem = parse_level(get(row, "Stufe"))
            bad = False
            if area_id not in area_ids:
                problems.append(
                    f"{where}: Gebiet-ID {area_id!r} is not a commercial area of the district; "
                    f"known: {', '.join(sorted(area_ids)) or 'none'}"
                )
                bad = True
            if measure_id not in measures:
                problems.append(
                    f"{where}: Maßnahme-ID {measure_id!r} is not in the catalogue; fix the id or add the measure"
                )
                bad = True
            if problem:
                problems.append(f"{where}: Stufe {problem}")
                bad = True
            if bad:
                continue
            indicator, comment, recorded_by = (
                _text(get(row, c)) for c in ("Indikatorwert", "Bemerkung", "Erfasst von")
            )
            if level is None and not na and not (indicator or comment):
                rows_empty += 1
                continue
            key = (area_id or "", measure_id or "")
            if key in seen:
                problems.append(f"{where}: {area_id} / {measure_id} is also filled in at {seen[key]}; keep one")
                continue
            seen[key] = where
            records.append(
                {
                    "area_id": area_id,
                    "measure_id": measure_id,
                    "level_person": level,
                    "not_applicable": na,
                    "indicator_person": indicator,
                    "comment": comment,
                    "recorded_by": recorded_by,
                    "sheet": where,
                }
            )
    if problems:
        raise SheetError(problems)
    frame = pd.DataFrame(
        records,
        columns=[
            "area_id",
            "measure_id",
            "level_person",
            "not_applicable",
            "indicator_person",
            "comment",
            "recorded_by",
            "sheet",
        ],
    )
    frame["level_person"] = frame["level_person"].astype("Int64")
    frame["not_applicable"] = frame["not_applicable"].astype("boolean")
    for c in ("area_id", "measure_id", "indicator_person", "comment", "recorded_by", "sheet"):
        frame[c] = frame[c].astype("string")
    log.info("assessment sheets: %d files, %d rows, %d with values", len(files), rows_read, len(frame))
    return SheetLevels(levels=frame, rows_read=rows_read, rows_empty=rows_empty, files=files)


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if text.startswith("'") and text[1:2] in ("=", "+", "-", "@"):
        text = text[1:]
    return text or None
