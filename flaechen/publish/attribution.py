"""Sources, licences and dates: what every page and printed map must name.

Open geodata under the Datenlizenz Deutschland – Namensnennung 2.0 (dl-de/by-2.0) must be credited
with its source, "© GeoBasis-DE / <Behörde> (Jahr)". A district dataset always holds two such
sources: the cadastre (ALKIS: parcels, buildings, land use, and so the candidates drawn from them) and
the municipality boundaries (VG250 of the BKG, where the district took them from there). Both have
defaults here, the cadastre's authority chosen by the Land of the district's AGS; the ``[publish]``
table overrides any part and adds the district's other sources (zoning plans, brownfield registers):

.. code-block:: toml

    [publish.sources.alkis]
    holder = "LVermGeoRP"          # the authority named after "© GeoBasis-DE /"
    year = 2025                    # the data's year (default: the year of the run)
    date = "2025-03-01"            # Stand der Daten, shown beside the licence

    [publish.sources.bplaene]      # any other key adds a source
    name = "Bebauungspläne der Gemeinden"
    text = "Gemeinden des Landkreises Beispielkreis"
    licence = "dl-de/by-2.0"

Examples
--------
>>> sources = resolve_sources({"alkis": {"year": 2024}}, land="07", run_date=date(2026, 1, 5))
>>> sources[0].text
'© GeoBasis-DE / LVermGeoRP (2024)'
"""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from flaechen.errors import ConfigError
from flaechen.validation import Settings

LICENCES: dict[str, tuple[str, str]] = {
    "dl-de/by-2.0": ("Datenlizenz Deutschland – Namensnennung – Version 2.0", "https://www.govdata.de/dl-de/by-2-0"),
    "dl-de/zero-2.0": ("Datenlizenz Deutschland – Zero – Version 2.0", "https://www.govdata.de/dl-de/zero-2-0"),
    "cc-by-4.0": ("Creative Commons Namensnennung 4.0 International", "https://creativecommons.org/licenses/by/4.0/"),
    "odbl-1.0": ("Open Data Commons Open Database License 1.0", "https://opendatacommons.org/licenses/odbl/1-0/"),
}
"""Licences by their short name: full German name and the licence text's address."""

CADASTRE_AUTHORITIES: dict[str, tuple[str, str]] = {
    "01": ("LVermGeo SH", "dl-de/by-2.0"),
    "02": ("LGV Hamburg", "dl-de/by-2.0"),
    "03": ("LGLN", "dl-de/by-2.0"),
    "04": ("GeoInformation Bremen", "dl-de/by-2.0"),
    "05": ("Geobasis NRW", "dl-de/zero-2.0"),
    "06": ("HVBG", "dl-de/zero-2.0"),
    "07": ("LVermGeoRP", "dl-de/by-2.0"),
    "08": ("LGL-BW", "dl-de/by-2.0"),
    "09": ("LDBV", "cc-by-4.0"),
    "10": ("LVGL", "dl-de/by-2.0"),
    "11": ("SenStadt Berlin", "dl-de/zero-2.0"),
    "12": ("LGB", "dl-de/by-2.0"),
    "13": ("LAiV-MV", "dl-de/by-2.0"),
    "14": ("GeoSN", "dl-de/by-2.0"),
    "15": ("LVermGeo LSA", "dl-de/by-2.0"),
    "16": ("TLBG", "dl-de/by-2.0"),
}
"""The surveying and cadastre authority of each Land (AGS prefix) and its open-data licence for ALKIS."""

SOURCE_KEYS = ("name", "holder", "text", "year", "date", "licence", "url", "layers")


class SourceSettings(Settings):
    """One entry of ``[publish.sources]``: what the pages and printed maps say about a data source.

    Attributes
    ----------
    name
        What the source is ("Bebauungspläne der Gemeinden").
    holder
        The authority or body credited: "© GeoBasis-DE / <holder> (<year>)" for ALKIS and VG250,
        "© <holder> (<year>)" for other sources, unless `text` is given.
    text
        The attribution exactly as the licence asks for it (replaces the generated one).
    year
        Year in the attribution (default: the year of the run).
    date
        Stand der Daten, shown beside the licence ("2025-03-01").
    licence
        Short licence name (``dl-de/by-2.0``, ``dl-de/zero-2.0``, ``cc-by-4.0``, ``odbl-1.0``) or free text.
    url
        Address of the licence text (known licences have one by default).
    layers
        Layers of the district dataset that come from the source.
    """

    name: Annotated[str, Field(min_length=1)] | None = None
    holder: Annotated[str, Field(min_length=1)] | None = None
    text: Annotated[str, Field(min_length=1)] | None = None
    year: Annotated[int, Field(ge=1900, le=2100)] | None = None
    date: Annotated[str, Field(min_length=1)] | None = None
    licence: Annotated[str, Field(min_length=1)] | None = None
    url: Annotated[str, Field(min_length=1)] | None = None
    layers: list[str] | None = None


@dataclass(frozen=True)
class Source:
    """One data source as named on the pages and printed maps.

    Attributes
    ----------
    key
        Its key in ``[publish.sources]`` (``alkis``, ``vg250`` or the district's own).
    name
        What it is, e.g. "Liegenschaftskataster (ALKIS)".
    text
        The attribution the licence asks for, e.g. "© GeoBasis-DE / LVermGeoRP (2025)".
    licence
        Short licence name (``dl-de/by-2.0``) or free text; None where unknown.
    licence_name, licence_url
        The licence's full name and address, where the short name is a known one.
    date
        Stand der Daten as given (a date or a year), None where not configured.
    layers
        Layers of the district dataset that come from it.
    """

    key: str
    name: str
    text: str
    licence: str | None = None
    licence_name: str | None = None
    licence_url: str | None = None
    date: str | None = None
    layers: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain values for templates and the pages' JSON configuration."""
        return {
            "key": self.key,
            "name": self.name,
            "text": self.text,
            "licence": self.licence,
            "licence_name": self.licence_name,
            "licence_url": self.licence_url,
            "date": self.date,
            "layers": list(self.layers),
        }


def district_land(ags_codes: Iterable[str]) -> str | None:
    """The Land (first two AGS digits) most of the municipalities belong to."""
    lands = Counter(str(a)[:2] for a in ags_codes if str(a)[:2].isdigit())
    return lands.most_common(1)[0][0] if lands else None


def default_sources(*, land: str | None, run_date: date) -> dict[str, dict[str, Any]]:
    """The default settings of the two sources every district has (ALKIS and VG250)."""
    holder, licence = CADASTRE_AUTHORITIES.get(land or "", ("Vermessungs- und Katasterverwaltung", "dl-de/by-2.0"))
    return {
        "alkis": {
            "name": "Liegenschaftskataster (ALKIS): Flurstücke, Gebäude, tatsächliche Nutzung",
            "holder": holder,
            "licence": licence,
            "year": run_date.year,
            "layers": ["parcels", "buildings", "land_use", "candidates"],
        },
        "vg250": {
            "name": "Verwaltungsgebiete 1 : 250 000 (VG250): Gemeindegrenzen",
            "holder": "BKG",
            "licence": "dl-de/by-2.0",
            "year": run_date.year,
            "layers": ["municipalities"],
        },
    }


def resolve_sources(raw: Mapping[str, Any] | None, *, land: str | None, run_date: date) -> list[Source]:
    """Merge the configured ``[publish.sources]`` over the defaults and check them.

    Parameters
    ----------
    raw
        The table ``publish.sources`` (``PublishProfile.sources``, or raw): key → :class:`SourceSettings`
        or a table of its keys. A key other than ``alkis``/``vg250`` adds a source
        and needs ``name`` and ``text`` (or ``holder``).
    land
        The district's Land (two AGS digits): chooses the cadastre authority of the ALKIS default.
    run_date
        The run's date: the default year.

    Returns
    -------
    list of Source
        ALKIS, VG250, then the district's own sources in the order configured.

    Raises
    ------
    ConfigError
        Every problem at once, each naming its key.
    """
    problems: list[str] = []
    merged = default_sources(land=land, run_date=run_date)
    if raw is not None and not isinstance(raw, Mapping):
        raise ConfigError(["publish.sources: must be a table of source = { name = …, text = … }"])
    for key, entry in (raw or {}).items():
        where = f"publish.sources.{key}"
        if isinstance(entry, SourceSettings):
            entry = entry.model_dump(exclude_none=True)
        if not isinstance(entry, Mapping):
            problems.append(f'{where}: must be a table, e.g. {{ name = "…", text = "© …" }}')
            continue
        unknown = sorted(set(entry) - set(SOURCE_KEYS))
        if unknown:
            problems.append(f"{where}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(SOURCE_KEYS)}")
        for field in ("name", "holder", "text", "date", "licence", "url"):
            if field in entry and (not isinstance(entry[field], str) or not entry[field].strip()):
                problems.append(f"{where}.{field}: must be a non-empty text")
        if "year" in entry and (
            not isinstance(entry["year"], int) or isinstance(entry["year"], bool) or not 1900 <= entry["year"] <= 2100
        ):
            problems.append(f"{where}.year: must be a year such as 2025")
        if "layers" in entry and (
            not isinstance(entry["layers"], list | tuple) or not all(isinstance(v, str) for v in entry["layers"])
        ):
            problems.append(f"{where}.layers: must be a list of layer names")
        if key not in merged and not ("name" in entry and ("text" in entry or "holder" in entry)):
            problems.append(f"{where}: a source of the district's own needs name and text (or holder)")
        merged[key] = {**merged.get(key, {}), **dict(entry)}
    if problems:
        raise ConfigError(problems)
    out = []
    for key, entry in merged.items():
        text = entry.get("text")
        if not text:
            year = entry.get("year", run_date.year)
            text = (
                f"© GeoBasis-DE / {entry['holder']} ({year})"
                if key in ("alkis", "vg250")
                else (f"© {entry['holder']} ({year})")
            )
        licence = entry.get("licence")
        known = LICENCES.get(str(licence).lower()) if licence else None
        out.append(
            Source(
                key=key,
                name=str(entry.get("name", key)),
                text=str(text),
                licence=licence,
                licence_name=known[0] if known else None,
                licence_url=entry.get("url") or (known[1] if known else None),
                date=str(entry["date"]) if entry.get("date") else None,
                layers=tuple(entry.get("layers", ())),
            )
        )
    return out


def run_date(gpkg: str | os.PathLike[str]) -> date | None:
    """The date the district dataset was written (the latest ``last_change`` of its layers), if recorded."""
    try:
        with sqlite3.connect(f"file:{Path(gpkg)}?mode=ro", uri=True) as conn:
            row = conn.execute("SELECT max(last_change) FROM gpkg_contents").fetchone()
    except sqlite3.Error:
        return None
    if not row or not row[0]:
        return None
    try:
        return datetime.fromisoformat(str(row[0]).replace("Z", "+00:00")).date()
    except ValueError:
        return None


def attribution_line(sources: Iterable[Source]) -> str:
    """The short credit line of a map (Leaflet's attribution control, the printed map's corner)."""
    return " · ".join(dict.fromkeys(s.text for s in sources))
