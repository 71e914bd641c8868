"""What a register holds before a run: its sites, its history and its log of changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd

from flaechen.layers import load_schema
from flaechen.register.match import _typed_sites, empty_changes, empty_sites


@dataclass
class RegisterState:
    """The register as read from its store.

    Attributes
    ----------
    sites
        Every site (``layers/sites.yaml``; columns a store lacks are added empty).
    history
        Every run's snapshot (``layers/register_history.yaml``).
    changes
        Every run's changes (``layers/changes.yaml``).
    """

    sites: gpd.GeoDataFrame
    history: pd.DataFrame
    changes: pd.DataFrame

    @classmethod
    def empty(cls, crs: Any) -> RegisterState:
        return cls(sites=empty_sites(crs), history=_table(pd.DataFrame(), "history"), changes=empty_changes())

    @classmethod
    def from_frames(
        cls, sites: pd.DataFrame, history: pd.DataFrame, changes: pd.DataFrame, *, crs: Any
    ) -> RegisterState:
        if not isinstance(sites, gpd.GeoDataFrame) or sites.geometry.name not in sites:
            sites = gpd.GeoDataFrame(sites, geometry=gpd.GeoSeries([None] * len(sites)), crs=crs)
        if sites.crs is None:
            sites = sites.set_crs(crs)
        sites = sites[sites["site_id"].notna()] if "site_id" in sites else sites.iloc[0:0]
        return cls(
            sites=_typed_sites(sites, sites.crs) if len(sites) else empty_sites(sites.crs),
            history=_table(history, "history"),
            changes=_table(changes, "changes"),
        )

    @property
    def surveys(self) -> list[str]:
        """The surveys recorded, oldest first."""
        return sorted(set(self.history["survey"].dropna().astype(str)))

    def previous_survey(self, survey: str) -> str | None:
        """The latest survey before `survey` (None for the first; a survey run again compares with its own past)."""
        earlier = [s for s in self.surveys if s < survey]
        return earlier[-1] if earlier else None


def _table(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    layer = load_schema().layer(name)
    out = pd.DataFrame(index=frame.index)
    for f in layer.fields:
        values = frame[f.name] if f.name in frame else pd.Series([None] * len(frame), index=frame.index)
        out[f.name] = pd.array(values.tolist(), dtype=f.dtype)
    return out.reset_index(drop=True)
