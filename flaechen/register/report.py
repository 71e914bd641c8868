"""The report back to each municipality: one German, printable HTML file per AGS under ``OUT_DIR/berichte/``.

Each report says what the municipality delivered, what was rejected or repaired and why, what it must fix
for the next delivery (the issues whose ``responsible`` is the municipality), its potentials and what
changed since the last survey. Delivered values are untrusted: the template is fixed (a file of the
package), the values are passed to it as variables only and escaped by Jinja2's autoescaping.

Examples
--------
>>> import shutil
>>> from pathlib import Path
>>> from flaechen.config import load_config
>>> from flaechen.flag import flag, load_rules
>>> from flaechen.pipeline import build_district
>>> config = load_config("out/demo/input-2026/district.toml")  # the demo's second delivery
>>> dataset = build_district(config)
>>> flagged = flag(dataset.layers, rules=load_rules())
>>> Path("kopie").mkdir(exist_ok=True)
>>> _ = shutil.copy("out/demo/register.gpkg", "kopie/register.gpkg")
>>> from flaechen.register.step import register_step
>>> update = register_step(config, dataset, flagged, out_dir="kopie")
>>> folder = write_reports("kopie", dataset=dataset, summary=flagged.summary, register=update,
...                        district="Landkreis Beispielkreis")
>>> sorted(p.name for p in folder.iterdir())[:2]
['07999001.html', '07999002.html']
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from flaechen.atomic import atomic_folder
from flaechen.flag.summary import CATEGORY_SLUGS
from flaechen.layers import layers_dir, load_schema

if TYPE_CHECKING:
    from flaechen.register.core import RegisterUpdate

log = logging.getLogger(__name__)

REPORTS_DIR = "berichte"
EXAMPLES = 12
"""Rows shown per issue type; the full list is in issues.csv."""

DELIVERED_LAYERS = ("parcels", "zoning", "brownfields", "buildings")
"""The layers a report says were not delivered (rules needing them did not fire for the municipality)."""

_SEVERITY = {"error": "Fehler", "warning": "Warnung", "info": "Hinweis"}
_RESPONSIBLE = {"municipality": "Gemeinde", "district": "Kreis"}


def _de(value: Any, digits: int = 0) -> str:
    """A number in German notation (1.234,5)."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return "–"
    text = f"{float(value):,.{digits}f}"
    return text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")


def _date_de(iso: str | None) -> str | None:
    if not iso:
        return None
    try:
        return dt.date.fromisoformat(str(iso)).strftime("%d.%m.%Y")
    except ValueError:
        return str(iso)


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("flaechen.register", "templates"),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["de"] = _de
    return env


@cache
def issue_texts() -> dict[str, dict[str, str]]:
    """German title and fix per issue type (``layers/issue_texts_de.yaml``)."""
    path = layers_dir() / "issue_texts_de.yaml"
    texts: dict[str, dict[str, str]] = yaml.safe_load(path.read_text(encoding="utf-8"))["issue_texts"]
    return texts


def _text(value: Any) -> str:
    return "" if value is None or value is pd.NA or (isinstance(value, float) and value != value) else str(value)


def _issue_groups(issues: pd.DataFrame) -> list[dict[str, Any]]:
    texts = issue_texts()
    types = load_schema().issue_types
    groups = []
    for issue_type, rows in issues.groupby("issue_type", sort=False):
        spec = types.get(str(issue_type))
        text = texts.get(str(issue_type), {})
        groups.append(
            {
                "type": str(issue_type),
                "title": text.get("title") or (spec.description if spec else str(issue_type)),
                "fix": text.get("fix") or "",
                "severity": _SEVERITY.get(_text(rows["severity"].iloc[0]), _text(rows["severity"].iloc[0])),
                "severity_code": _text(rows["severity"].iloc[0]),
                "responsible": _RESPONSIBLE.get(_text(rows["responsible"].iloc[0]), _text(rows["responsible"].iloc[0])),
                "responsible_code": _text(rows["responsible"].iloc[0]),
                "count": len(rows),
                "rejected": int(rows["rejected"].fillna(False).astype(bool).sum()),
                "examples": [
                    {
                        "source_id": _text(r.source_id),
                        "feature": _text(r.feature_id) or _text(r.source_fid),
                        "field": _text(r.field),
                        "value": _text(r.value),
                        "message": _text(r.message),
                    }
                    for r in rows.head(EXAMPLES).itertuples()
                ],
            }
        )
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(groups, key=lambda g: (order.get(g["severity_code"], 3), -g["count"], g["type"]))


def municipality_context(
    ags: str,
    name: str,
    *,
    dataset: Any,
    summary: pd.DataFrame | None,
    register: RegisterUpdate | None,
    district: str,
    generated: dt.date,
) -> dict[str, Any]:
    """Everything one report shows, as plain values (the template's only input)."""
    schema = load_schema()
    sources = dataset.sources
    accounting = dataset.accounting.set_index("source_id") if len(dataset.accounting) else pd.DataFrame()
    mine = sources[sources["ags"] == ags] if len(sources) else sources
    deliveries = []
    for r in mine.itertuples():
        acc = accounting.loc[r.source_id] if r.source_id in accounting.index else None
        if isinstance(acc, pd.DataFrame):
            acc = acc.iloc[0]
        deliveries.append(
            {
                "source_id": _text(r.source_id),
                "layer": schema.layer(r.layer).title if r.layer in schema.layers else _text(r.layer),
                "file": Path(_text(r.path)).name,
                "read": None if acc is None else int(acc["read"]),
                "kept": None if acc is None else int(acc["kept"]),
                "rejected": None if acc is None else int(acc["rejected"]),
            }
        )
    delivered_layers = set(mine["layer"]) if len(mine) else set()
    missing = [schema.layer(n).title for n in DELIVERED_LAYERS if n not in delivered_layers]
    issues = dataset.issues[dataset.issues["ags"] == ags]
    groups = _issue_groups(issues)
    to_fix = [
        g for g in groups if g["responsible_code"] == "municipality" and g["severity_code"] in ("error", "warning")
    ]

    potentials, total_n, total_ha = [], 0, 0.0
    if summary is not None and len(summary):
        row = summary[summary["ags"] == ags]
        if len(row):
            row = row.iloc[0]
            for category, slug in CATEGORY_SLUGS.items():
                n = int(row.get(f"{slug}_n") or 0)
                if n:
                    potentials.append({"category": category, "n": n, "ha": float(row.get(f"{slug}_ha") or 0.0)})
            total_n, total_ha = int(row.get("candidates_n") or 0), float(row.get("candidates_ha") or 0.0)

    changes, activated, activated_total, new = [], 0.0, 0.0, 0.0
    survey = previous = None
    if register is not None:
        survey, previous = register.survey, register.previous_survey
        rows = register.changes[register.changes["ags"] == ags]
        order = {"bebaut": 0, "neu": 1, "entfallen": 2, "geändert": 3}
        rows = rows.assign(_o=rows["change"].map(order)).sort_values(["_o", "site_id"])
        changes = [
            {
                "site_id": _text(r.site_id),
                "change": _text(r.change),
                "category": _text(r.category),
                "area": r.area_m2,
                "parcels": _text(r.parcel_ids).replace(";", ", "),
                "reason": _text(r.reason),
            }
            for r in rows.itertuples()
        ]
        mon = register.monitoring
        now = mon[(mon["ags"] == ags) & (mon["survey"] == survey)]
        if len(now):
            activated = float(now["activated_ha"].iloc[0])
            activated_total = float(now["activated_since_first_ha"].iloc[0])
            new = float(now["new_ha"].iloc[0])
    survey = survey or generated.isoformat()
    return {
        "ags": ags,
        "name": name,
        "district": district,
        "has_register": register is not None,
        "survey": survey,
        "survey_de": _date_de(survey),
        "previous_de": _date_de(previous),
        "generated_de": generated.strftime("%d.%m.%Y"),
        "deliveries": deliveries,
        "missing_layers": missing,
        "to_fix": to_fix,
        "all_groups": groups,
        "potentials": potentials,
        "potentials_n": total_n,
        "potentials_ha": total_ha,
        "changes": changes,
        "activated_ha": activated,
        "activated_total_ha": activated_total,
        "new_ha": new,
    }


def render_report(context: dict[str, Any]) -> str:
    """The HTML of one report (values escaped by the template engine)."""
    return _environment().get_template("bericht.html").render(**context)


def write_reports(
    out_dir: str | os.PathLike[str],
    *,
    dataset: Any,
    summary: pd.DataFrame | None,
    register: RegisterUpdate | None,
    district: str,
    generated: dt.date | None = None,
) -> Path:
    """Write one report per municipality into ``out_dir/berichte/`` (replaced as a whole, atomically).

    Parameters
    ----------
    out_dir
        The output folder.
    dataset
        The run's :class:`~flaechen.pipeline.DistrictDataset` (issues, accounting, sources, municipalities).
    summary
        The flagging step's summary table (None without flagging).
    register
        The run's :class:`~flaechen.register.core.RegisterUpdate` (None without a register).
    district
        The district's name.
    generated
        Date printed on the reports; today by default.
    """
    out = Path(out_dir)
    target = out / REPORTS_DIR
    generated = generated or dt.date.today()
    municipalities = dataset.layers["municipalities"]

    def fill(folder: Path) -> None:
        for ags, name in zip(municipalities["ags"].astype(str), municipalities["name"].astype(str), strict=True):
            context = municipality_context(
                ags, name, dataset=dataset, summary=summary, register=register, district=district, generated=generated
            )
            (folder / f"{ags}.html").write_text(render_report(context), encoding="utf-8")

    atomic_folder(target, fill)
    log.info("wrote %d reports to the municipalities into %s", len(municipalities), target)
    return target
