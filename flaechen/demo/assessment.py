"""Demo answers to the assessment of commercial areas: filled sheets as municipalities would hand them back.

For every commercial area of the demo district (delineated from the true zoning exactly as a run does,
so the area ids agree) one sheet is written into ``DIR/bewertung/`` — XLSX for odd, CSV for even
municipalities — with levels for most measures that data cannot derive, a few "nicht zutreffend", some left
open, and one derived measure overridden by a person (with a comment), so the demo shows every source of
a level. The answers are fictional and follow the seed.

Examples
--------
>>> from flaechen.demo.district import build_truth
>>> files = write_demo_sheets(Path("bewertung-demo"), build_truth(scale=3_000, seed=42), seed=42)
>>> [f.name for f in files][:2]  # XLSX for odd, CSV for even municipalities
['bewertung_GG-07999001-01.xlsx', 'bewertung_GG-07999002-01.csv']
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

from flaechen.demo.district import Truth

log = logging.getLogger(__name__)

SHEETS_DIR = "bewertung"
"""Folder of the filled sheets inside the demo input (``[assessment] sheets`` of the demo configuration)."""

_COMMENTS = [
    "Angaben aus der Unternehmensbefragung",
    "Laut Gebietsmanagement",
    "Schätzung der Wirtschaftsförderung",
    "Beschluss des Gemeinderats",
]
_RESPONDENTS = ["Wirtschaftsförderung", "Bauamt", "Unternehmerstammtisch", "Klimaschutzmanagement"]


def _rng(seed: int, area_id: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}:{area_id}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def write_demo_sheets(input_dir: Path, truth: Truth, *, seed: int) -> list[Path]:
    """Write one filled assessment sheet per commercial area of the demo district; return the files."""
    from flaechen.flag import load_rules
    from flaechen.plan.areas import commercial_areas_from_zoning
    from flaechen.plan.catalogue import load_catalogue
    from flaechen.plan.sheets import format_level, sheet_name, sheet_rows, write_csv, write_xlsx

    catalogue = load_catalogue()
    zoning = truth.zoning[[c for c in truth.zoning.columns if not c.startswith("_")]]
    areas = commercial_areas_from_zoning(zoning, truth.municipalities, rules=load_rules())
    out = Path(input_dir) / SHEETS_DIR
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("bewertung_*"):
        old.unlink()
    paths = []
    for k, area in enumerate(areas.drop(columns="geometry").to_dict("records")):
        rng = _rng(seed, str(area["area_id"]))
        rows = sheet_rows(area, catalogue=catalogue)
        respondent = _RESPONDENTS[k % len(_RESPONDENTS)]
        override = True
        for row in rows:
            measure = catalogue.measure(row["Maßnahme-ID"])
            if measure.derive is not None:
                # data proposes these; one is overridden by a person who knows better
                if override and measure.derive.indicator == "solar_roof":
                    row["Stufe"] = format_level(int(rng.integers(1, 4)))
                    row["Bemerkung"] = "PV-Anlagen auf den Hallen erfasst (Marktstammdatenregister)"
                    row["Erfasst von"] = respondent
                    override = False
                continue
            draw = rng.random()
            if draw < 0.15:
                continue  # left open
            if draw < 0.22:
                row["Stufe"] = catalogue.not_applicable
            else:
                row["Stufe"] = format_level(int(rng.choice([0, 1, 1, 2, 2, 2, 3, 3])))
            if rng.random() < 0.3:
                row["Bemerkung"] = _COMMENTS[int(rng.integers(len(_COMMENTS)))]
            row["Erfasst von"] = respondent
        stem = sheet_name(str(area["area_id"]))
        if int(str(area["ags"])[-1]) % 2:
            paths.append(write_xlsx(out / f"{stem}.xlsx", rows))
        else:
            paths.append(write_csv(out / f"{stem}.csv", rows))
    log.info("demo: %d filled assessment sheets in %s", len(paths), out)
    return paths
