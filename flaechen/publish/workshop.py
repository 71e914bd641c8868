"""What makes the site a workshop map: background, localities, sources and the printed maps, per page.

:func:`flaechen.publish.publish` gathers them once (:class:`Workshop`); the pages take from it the part
of ``site.js``'s configuration they need (:meth:`Workshop.config`) and the sources for their notes.
Every value here reaches a page as JSON data (the configuration block) or as an autoescaped template
variable, never as markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import geopandas as gpd

from flaechen.publish.attribution import Source, attribution_line
from flaechen.publish.background import TileSet, legend_entries


@dataclass(frozen=True)
class Workshop:
    """The workshop parts of the site.

    Attributes
    ----------
    tiles
        The offline background, or None.
    sources
        Data sources named on every page.
    run_date
        When the district dataset was written.
    localities
        Per AGS: ``{"name", "bounds" (west, south, east, north), "n" (candidates)}``, largest first.
    pdf, pdf_pages
        The printed maps' file (relative to the site) and each municipality's page in it; None and
        empty without printed maps.
    """

    tiles: TileSet | None = None
    sources: Sequence[Source] = ()
    run_date: date | None = None
    localities: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    pdf: str | None = None
    pdf_pages: Mapping[str, int] = field(default_factory=dict)

    def config(self, *, focus: str | None) -> dict[str, Any]:
        """The part of a page's ``site.js`` configuration: background, attribution, localities, start view."""
        out: dict[str, Any] = {"attribution": attribution_line(self.sources)}
        if self.tiles is not None:
            out["background"] = self.tiles.layer_options()
            out["backgroundLegend"] = [[label, colour] for label, colour in legend_entries()]
        if focus is not None:
            found = list(self.localities.get(focus, ()))
            out["localities"] = [[item["name"], list(item["bounds"]), int(item["n"])] for item in found]
            with_candidates = [item for item in found if item["n"] > 0]
            if with_candidates:
                # open on the settlement with the most potentials (the largest among equals)
                start = max(with_candidates, key=lambda item: item["n"])
                out["view"] = list(start["bounds"])
        return out

    def pdf_link(self, ags: str | None) -> str | None:
        """Link to the printed map of a municipality (its page), or to the whole PDF for the overview."""
        if self.pdf is None:
            return None
        if ags is not None and ags in self.pdf_pages:
            return f"{self.pdf}#page={self.pdf_pages[ags]}"
        return self.pdf


def locality_entries(found: gpd.GeoDataFrame) -> dict[str, list[dict[str, Any]]]:
    """Localities (from :func:`flaechen.publish.localities.localities`) as page entries per AGS.

    Bounds are in degrees (EPSG:4326), rounded to 6 decimals.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    if found.empty:
        return out
    shown = found.to_crs("EPSG:4326")
    for _, row in shown.iterrows():
        west, south, east, north = (round(float(v), 6) for v in row.geometry.bounds)
        out.setdefault(str(row["_ags"]), []).append(
            {"name": str(row["name"]), "bounds": (west, south, east, north), "n": int(row["n_candidates"])}
        )
    return out
