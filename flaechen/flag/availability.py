"""Which data each municipality delivered, and which rules therefore cannot be evaluated there.

Missing data is not evidence: a municipality without building footprints has no parcel "without a
building", one without zoning no parcel "outside every plan", one without land use no parcel whose
actual use permits building. A rule that needs such data does not fire there, and the summary says so.

A layer counts as delivered for a municipality where it holds at least one feature with that AGS (the
actual-use text on the municipality's parcels counts as land use). A layer missing from the dataset, or
empty, is delivered by nobody.

Examples
--------
>>> import geopandas as gpd, pandas as pd
>>> layers = {"parcels": pd.DataFrame({"ags": ["1", "2"], "actual_use": ["Wohnbaufläche;500", None]}),
...     "buildings": pd.DataFrame({"ags": ["1"]})}
>>> a = availability(layers, ["1", "2"])
>>> a.loc["2"].to_dict()["buildings"], a.loc["1"].to_dict()["land_use"]
(False, True)
>>> print(not_evaluated(a.loc["2"]).split("; ")[0])
Baulücke, Außenreserve, Untergenutzte Fläche, Leerstand, Brachfläche (Gebäudezustand): keine Gebäudedaten
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

DATA_KINDS = ("buildings", "zoning", "land_use", "built_up_area", "brownfields")
"""The data a rule may need, by layer name."""

MISSING_TEXT = {
    "buildings": "keine Gebäudedaten",
    "zoning": "keine Planungsdaten",
    "land_use": "keine Nutzungsdaten",
    "brownfields": "keine Brachflächendaten",
}
"""German reason for each kind of missing data."""

NO_PARCELS = (
    "alle Regeln: keine Flurstücke (Kandidaten sind Flurstücke; gelieferte Brachflächen, Gebäude und Pläne "
    "werden erst mit den Flurstücken der Gemeinde ausgewertet)"
)
"""Why nothing is evaluated in a municipality that delivered no parcels."""

RULES_NEEDING = {
    "buildings": ("Baulücke", "Außenreserve", "Untergenutzte Fläche", "Leerstand", "Brachfläche (Gebäudezustand)"),
    "zoning": ("Untergenutzte Fläche", "Außenreserve", "Bauland nach B-Plan/FNP"),
    "land_use": ("Bauland im Innenbereich (§34)",),
    "brownfields": ("Brachfläche (Register)",),
}
"""Which rules (German names) cannot be evaluated without each kind of data."""


def _ags_with_features(frame: pd.DataFrame | None) -> set[str]:
    if frame is None or len(frame) == 0 or "ags" not in frame.columns:
        return set()
    return {str(a) for a in frame["ags"].dropna().unique()}


def availability(layers: Mapping[str, pd.DataFrame], ags: Iterable[str]) -> pd.DataFrame:
    """Per municipality (index: AGS) one boolean column per kind of data in :data:`DATA_KINDS`, and
    ``parcels``: whether it delivered parcels at all."""
    codes = [str(a) for a in ags]
    present = {kind: _ags_with_features(layers.get(kind)) for kind in DATA_KINDS}
    parcels = layers.get("parcels")
    if parcels is not None and "actual_use" in parcels.columns and len(parcels):
        text = parcels["actual_use"].astype("string").str.strip()
        with_text = parcels.loc[text.fillna("").ne("").to_numpy(), "ags"]
        present["land_use"] |= {str(a) for a in with_text.dropna().unique()}
    frame = pd.DataFrame({kind: [c in present[kind] for c in codes] for kind in DATA_KINDS}, index=codes)
    with_parcels = _ags_with_features(parcels)
    frame["parcels"] = [c in with_parcels for c in codes]
    frame.index.name = "ags"
    return frame.astype(bool)


def not_evaluated(row: Mapping[str, bool] | pd.Series) -> str | None:
    """The rules a municipality's missing data leaves unevaluated, in German; None where nothing is missing.

    Without parcels no rule can be evaluated: candidates are parcels, so delivered brownfields, buildings or
    plans give none there (the text says so first).
    """
    parts = [NO_PARCELS] if not bool(row.get("parcels", True)) else []
    parts += [
        f"{', '.join(RULES_NEEDING[kind])}: {MISSING_TEXT[kind]}" for kind in RULES_NEEDING if not bool(row[kind])
    ]
    return "; ".join(parts) if parts else None
