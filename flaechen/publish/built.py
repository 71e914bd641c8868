"""What was built on since the last survey: the register's ``bebaut`` sites, for the map site.

Each run of the register writes the table ``changes`` into ``district.gpkg`` (layers/changes.yaml): a
site that was a potential in the previous survey and has since been built on is ``bebaut`` — what a
district reports as activated. The table has no geometry; a site is drawn as its parcels of this survey
(``parcel_ids``, looked up in layer ``parcels`` by their key, never through an SQL text). Both are read with
:func:`flaechen.district.read_district`.

Privacy follows the rest of the site (profile key ``built_on``): with ``"aggregate"`` (the default) a
site is drawn only where every one of its parcels is public land; the others are counted per
municipality (number and hectares) and, where the site shows grid cells, aggregated into cells of at
least ``grid_min_count`` sites (``BuiltOn.counted``), like the potentials on private land.
``"parcels"`` draws every site, ``"none"`` leaves them out. Only ``ags``, ``change``, ``category``,
``area_m2``, ``parcel_ids`` and the two survey dates are read from ``changes``; of the parcels only the
key, the ownership and the geometry.

Examples
--------
>>> built = read_built_on("out/demo/district.gpkg", mode="aggregate")
>>> list(built.counts.columns)
['n', 'ha', 'n_private', 'ha_private']
>>> bool(built.counts["n"].sum() > 0)  # the demo's second survey built on some lots
True
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from flaechen.district import read_district

log = logging.getLogger(__name__)

BUILT = "bebaut"
"""The change of a site built on since the previous survey (code list ``site_change``)."""

FIELDS = ("category", "area_m2", "previous_survey", "survey")
"""Fields of ``changes`` a drawn site shows (all marked public in layers/changes.yaml)."""

COUNT_COLUMNS = ("n", "ha", "n_private", "ha_private")


@dataclass(frozen=True)
class BuiltOn:
    """The sites built on since the last survey, as the profile lets them be published.

    Attributes
    ----------
    shown
        Sites drawn: ``_ags``, the :data:`FIELDS` and the geometry (the site's parcels of this survey),
        in the district CRS.
    counts
        Per AGS: ``n`` and ``ha`` of all sites built on, ``n_private`` and ``ha_private`` of those only
        counted (not drawn).
    previous_survey, survey
        The survey dates (ISO) compared; None where the table has none.
    counted
        The sites only counted whose parcels are in the dataset: ``_ags``, ``_category``, ``_area_m2`` and
        the geometry, for aggregate cells (:func:`flaechen.publish.aggregates.block_grid`); never drawn.
    """

    shown: gpd.GeoDataFrame
    counts: pd.DataFrame
    previous_survey: str | None
    survey: str | None
    counted: gpd.GeoDataFrame | None = None


def _empty_counts() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="float64") for c in COUNT_COLUMNS}, index=pd.Index([], name="ags"))


def read_built_on(
    path: str | os.PathLike[str], *, mode: Literal["aggregate", "parcels", "none"], crs: object | None = None
) -> BuiltOn | None:
    """Read the sites built on since the last survey from ``district.gpkg``.

    Parameters
    ----------
    path
        The district GeoPackage (or the output folder holding it).
    mode
        The profile's ``built_on_mode``: ``"aggregate"`` draws sites on public land only, ``"parcels"``
        all, ``"none"`` returns None.
    crs
        The district CRS (the parcels' CRS by default).

    Returns
    -------
    BuiltOn or None
        None where the profile shows none or the dataset has no table ``changes`` (no register ran). After
        a register's first survey, ``previous_survey`` is None: nothing to compare with, and the site shows
        no such layer.
    """
    if mode == "none":
        return None
    wanted = ["ags", "change", "category", "area_m2", "parcel_ids", "survey", "previous_survey"]
    read = read_district(path, layers=[], optional=["changes"], columns={"changes": wanted}, missing_columns="skip")
    if "changes" not in read:
        return None
    changes = read["changes"]
    missing = [c for c in ("ags", "change", "parcel_ids") if c not in changes.columns]
    if missing:
        log.warning("%s: table changes lacks %s: the sites built on are not shown", path, ", ".join(missing))
        return None
    for name in wanted:
        if name not in changes.columns:
            changes[name] = None
    surveys = [_one(changes, "previous_survey"), _one(changes, "survey")]
    built = changes[changes["change"].astype("string").eq(BUILT).fillna(False).to_numpy()].reset_index(drop=True)
    if built.empty:
        shown = gpd.GeoDataFrame(
            {"_ags": pd.Series([], dtype="string"), **{f: pd.Series([], dtype="object") for f in FIELDS}},
            geometry=gpd.GeoSeries([], crs=crs),
        )
        return BuiltOn(shown=shown, counts=_empty_counts(), previous_survey=surveys[0], survey=surveys[1])

    # the sites' parcels of this survey, by key (only the key, the ownership and the geometry)
    parcels = read_district(
        path, layers=[], optional=["parcels"], columns={"parcels": ["parcel_id", "ownership"]}, missing_columns="skip"
    ).get("parcels")
    if parcels is None or "parcel_id" not in parcels.columns:
        parcels = gpd.GeoDataFrame({"parcel_id": pd.Series([], dtype="string")}, geometry=gpd.GeoSeries([], crs=crs))
    if "ownership" not in parcels.columns:
        parcels["ownership"] = None
    if crs is not None and parcels.crs is not None and parcels.crs != crs:
        parcels = parcels.to_crs(crs)
    parcels = parcels.drop_duplicates("parcel_id").reset_index(drop=True)
    row_of = pd.Series(np.arange(len(parcels)), index=parcels["parcel_id"].astype("string").to_numpy())
    public_of = parcels["ownership"].astype("string").eq("public").fillna(False).to_numpy(dtype=bool)
    geoms = parcels.geometry.to_numpy()

    rows: list[list[int]] = []
    public: list[bool] = []
    for parts in built["parcel_ids"].astype("string").fillna("").str.split(";"):
        names = [p.strip() for p in parts if p and p.strip()]
        found = [int(row_of[n]) for n in names if n in row_of.index]
        rows.append(found)
        public.append(bool(found) and len(found) == len(names) and bool(public_of[found].all()))
    drawable = np.array([bool(r) for r in rows], dtype=bool)
    unplaced = int((~drawable).sum())
    if unplaced:
        log.info("%d sites built on have none of their parcels in the dataset: counted, not drawn", unplaced)
    draw = drawable & (np.array(public, dtype=bool) if mode == "aggregate" else True)
    geometry = np.array([shapely.union_all(geoms[r]) if r else None for r in rows])
    crs = crs if crs is not None else parcels.crs

    shown = gpd.GeoDataFrame(
        {"_ags": built["ags"].astype("string").to_numpy(), **{f: built[f].to_numpy() for f in FIELDS}},
        geometry=gpd.GeoSeries(geometry, crs=crs).to_numpy(),
        crs=crs,
    )[draw].reset_index(drop=True)
    area = pd.to_numeric(built["area_m2"], errors="coerce")
    # the others with their parcels, for aggregate cells (never drawn as they are)
    placed = drawable & ~draw
    counted = gpd.GeoDataFrame(
        {
            "_ags": built["ags"].astype("string").to_numpy(),
            "_category": built["category"].astype("string").to_numpy(),
            "_area_m2": area.to_numpy(),
        },
        geometry=gpd.GeoSeries(geometry, crs=crs).to_numpy(),
        crs=crs,
    )[placed].reset_index(drop=True)

    area = area.fillna(0.0) / 10_000
    hidden = ~draw
    frame = pd.DataFrame(
        {
            "ags": built["ags"].astype("string").to_numpy(),
            "n": 1,
            "ha": area.to_numpy(),
            "n_private": hidden.astype(int),
            "ha_private": np.where(hidden, area.to_numpy(), 0.0),
        }
    )
    counts = frame.groupby("ags").sum()
    log.info(
        "built on since %s: %d sites, %d drawn, %d only counted per municipality",
        surveys[0] or "the last survey",
        len(built),
        len(shown),
        int(hidden.sum()),
    )
    return BuiltOn(shown=shown, counts=counts, previous_survey=surveys[0], survey=surveys[1], counted=counted)


def _one(frame: pd.DataFrame, column: str) -> str | None:
    """The single (latest) value of a survey date column, None where there is none."""
    values = frame[column].dropna().astype(str)
    values = values[values.str.strip() != ""]
    return str(values.max()) if len(values) else None
