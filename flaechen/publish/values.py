"""Values as the map site shows them: plain Python values, German numbers, code-list labels, JSON for scripts.

Everything here turns a value of the district dataset into display text or JSON *data*; nothing here
produces markup or template source (see :mod:`flaechen.publish.maps` for why that matters).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from flaechen.layers import Schema
from flaechen.publish.profile import PublishProfile
from flaechen.publish.texts import CATEGORY_COLOURS, OTHER_COLOUR, UI

SAFE_KEY = re.compile(r"[^0-9A-Za-z_-]")
"""Characters not kept in a file name made from a value (an AGS)."""

AS_TEXT = {"since_year"}
"""Numeric fields shown as plain text (a year is not written 1.998)."""

ROUNDING = {"area_m2": 0, "capacity_floor_area": 0, "capacity_dwellings": 0, "grz": 2, "gfz": 2}
"""Decimals shown per field: whole square metres and whole dwellings (an estimate, never 0,40 flats)."""


def js_json(value: Any) -> str:
    """JSON for embedding in a script: ``<``, ``>``, ``&`` and line separators escaped.

    Non-ASCII text stays readable (no ``\\u`` escapes for umlauts), so a search for a value finds it.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def page_name(ags: str) -> str:
    """File name of a municipality's page (the AGS reduced to safe characters)."""
    return f"gemeinde-{SAFE_KEY.sub('_', str(ags))}.html"


def data_name(ags: str) -> str:
    """File name of a municipality's data script."""
    return f"data/gemeinde-{SAFE_KEY.sub('_', str(ags))}.js"


def plain(value: Any) -> Any:
    """A value as plain Python (None for missing and non-finite values, numpy scalars unwrapped)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


@dataclass(frozen=True)
class Context:
    """What every value and page of one site shares: the profile, the schema and the categories."""

    profile: PublishProfile
    schema: Schema
    categories: tuple[str, ...]
    built_on: bool = False
    """Whether the site has the layer of sites built on since the last survey (a register compared two)."""

    @property
    def shown_layers(self) -> list[str]:
        """The map's layers: the profile's, and the aggregate cells and built-on sites where there are."""
        extra = ["grid"] if self.profile.private_candidates == "grid" else []
        if self.built_on:
            extra.append("built")
            if self.profile.private_candidates == "grid" and self.profile.built_on_mode == "aggregate":
                extra.append("built_grid")  # the built-on sites only counted, as cells like the potentials
        return [*self.profile.layers, *extra]

    @property
    def language(self) -> str:
        return self.profile.language

    @property
    def ui(self) -> Mapping[str, str]:
        return UI[self.profile.language]

    def colour(self, category: str) -> str:
        return CATEGORY_COLOURS.get(category, OTHER_COLOUR)


def display_value(ctx: Context, layer: str, field: str, value: Any) -> Any:
    """A property value as shown: code-list codes as labels, booleans as ja/nein, floats rounded."""
    value = plain(value)
    if value is None:
        return None
    layer_def = ctx.schema.layer(layer)
    field_def = layer_def.field(field) if field in layer_def.field_names else None
    if field_def is not None and field_def.codelist:
        entry = ctx.schema.codelist(field_def.codelist).values.get(value)
        if entry is not None:
            return entry.get("label" if ctx.language == "de" else "title", value)
    if isinstance(value, bool):
        return ctx.ui["yes"] if value else ctx.ui["no"]
    if field in AS_TEXT:
        return str(int(value)) if isinstance(value, int | float) else str(value)
    if field_def is not None and field_def.unit == "share" and isinstance(value, int | float):
        percent = f"{value * 100:.0f} %"
        return percent if ctx.language != "de" else percent.replace(".", ",")
    if isinstance(value, float):
        digits = ROUNDING.get(field, 2)
        value = round(value, digits)
        return int(value) if digits == 0 else value
    return value


def display_date(iso: str | None, language: str) -> str | None:
    """An ISO date as the site writes dates (``01.04.2026`` in German); other text as it is.

    Examples
    --------
    >>> display_date("2026-04-01", "de"), display_date("2026-04-01", "en"), display_date("bald", "de")
    ('01.04.2026', '2026-04-01', 'bald')
    """
    if iso is None or not str(iso).strip():
        return None
    text = str(iso).strip()
    try:
        day = date.fromisoformat(text[:10])
    except ValueError:
        return text
    return day.strftime("%d.%m.%Y" if language == "de" else "%Y-%m-%d")


def zoning_class(ctx: Context, row: pd.Series) -> str | None:
    """The Baufläche (W, M, G, S) a zoning area is coloured by, where the profile allows its codes."""
    allowed = ctx.profile.allowed("zoning")
    if "allg_art" not in allowed and "bes_art" not in allowed:
        return None
    code = plain(row.get("_allg_art"))
    if code is None:
        bes = plain(row.get("_bes_art"))
        entry = ctx.schema.codelist("xplan_bes_art").values.get(bes) if bes is not None else None
        code = entry.get("allg_art") if entry else None
    if code is None:
        return None
    return ctx.schema.codelist("xplan_allg_art").label(code)


def categories_of(ctx_schema: Schema, candidates: gpd.GeoDataFrame) -> tuple[str, ...]:
    """The candidate categories in display order: the code list's, then any others found (sorted)."""
    known = list(ctx_schema.codelist("candidate_category").values)
    if "_category" in candidates.columns:
        seen = candidates["_category"].dropna().astype(str).unique()
        known += sorted(c for c in seen if c not in known)
    return tuple(known)
