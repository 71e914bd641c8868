"""Preparing the district dataset for display: allow-list, private land, aggregates, simplification.

Reading happens at the edge (:func:`select_district`, through the one reader
:func:`flaechen.district.read_district`) and reads only the columns the profile allows plus
the few the site needs to decide what to show (``ags``, ``ownership``, ``category``, ``population``):
values of other fields never even enter memory. Everything else here takes and returns frames.

Geometry is simplified in the district's projected CRS, coverage by coverage, with
:func:`shapely.coverage_simplify` so that shared borders (municipalities, neighbouring parcels) stay
shared; it is reprojected to EPSG:4326 and rounded only at the end (:func:`to_display`).

Examples
--------
>>> from flaechen.publish.profile import load_profile
>>> data = select_district("out/demo/district.gpkg", profile=load_profile())
>>> shown, hidden = split_private(data.layers["candidates"], mode="municipality")
>>> len(shown) + len(hidden) == len(data.layers["candidates"]), "owner" in data.layers["candidates"]
(True, False)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from flaechen.district import Contents, district_contents, read_district
from flaechen.errors import PublishError
from flaechen.layers import load_schema
from flaechen.publish.profile import PublishProfile

if TYPE_CHECKING:
    from flaechen.publish.built import BuiltOn
    from flaechen.publish.values import Context

log = logging.getLogger(__name__)

DISPLAY_CRS = "EPSG:4326"

CONTROL_COLUMNS = {
    "municipalities": ("ags", "name", "population"),
    "zoning": ("ags", "plan_type", "allg_art", "bes_art"),
    "brownfields": ("ags", "ownership", "site_id", "name", "former_use"),
    "candidates": ("ags", "ownership", "category", "area_m2", "brownfield_site_id"),
    "buildings": ("ags",),
}
"""Columns read besides the allow-list, to decide what to show and to aggregate. They reach the site
only where the allow-list names them; control columns carry the prefix ``_`` in the frames. The
brownfields' identity (id, name, former use) and the candidates' ``brownfield_site_id`` let
:func:`withhold_derived` find what a shown candidate carries from a brownfield that is not shown."""

DERIVED_FROM_BROWNFIELD = ("brownfield_site_id", "former_use", "contamination_suspected")
"""Fields of a candidate that are copied from the brownfield covering it (see ``layers/candidates.yaml``)."""

WITHHELD_BROWNFIELD = "ein nicht veröffentlichter Eintrag des Brachflächenkatasters (kein öffentliches Eigentum)"
"""What a reason says instead of the id, name and former use of a brownfield that is not published."""

WITHHELD_REASONS = (
    "Liegt in einer Brachfläche, die nicht veröffentlicht wird (kein öffentliches Eigentum); "
    "die Begründung nennt sie und wird deshalb nicht gezeigt."
)
"""The whole reason text of a candidate where a withheld brownfield could not be cut out of it."""

REQUIRED_COLUMNS = {"municipalities": ("ags", "name"), "candidates": ("ags", "category")}
"""Columns without which a layer cannot be published."""

COVERAGE_GROUPS = {"zoning": "plan_type"}
"""Layers that are a coverage per group (FNP and B-Plan areas overlap each other, not themselves)."""

PUBLIC_OWNERSHIP = "public"


SUMMARY_COLUMNS = ("inner_m2_per_inhabitant", "benchmark_m2_per_inhabitant", "capacity_dwellings")
"""Numeric columns taken from the flag step's table ``summary`` (by ``ags``) where present."""


@dataclass(frozen=True)
class District:
    """The layers read for publishing, in the district CRS.

    Each frame holds the allowed fields under their own names, the control columns prefixed with ``_``
    and the geometry. `summary` holds the columns of :data:`SUMMARY_COLUMNS` found in the table
    ``summary``, indexed by AGS (None without that table). `built_on` holds the sites built on since
    the last survey as the profile lets them be published (:mod:`flaechen.publish.built`; None without
    a register's table ``changes`` or with ``built_on = "none"``).
    """

    crs: object
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    summary: pd.DataFrame | None = None
    built_on: BuiltOn | None = None


def _control(name: str) -> str:
    return f"_{name}"


def select_district(path: str | os.PathLike[str], *, profile: PublishProfile) -> District:
    """Read the layers the profile shows, restricted to allowed and control columns.

    The reading is :func:`flaechen.district.read_district`'s (typed by the schemas, one CRS); this
    function chooses what to read: of each layer the profile shows, the fields it allows that the layer
    has, and the control columns (:data:`CONTROL_COLUMNS`).

    Parameters
    ----------
    path
        The district GeoPackage written by ``flaechen run``, or the output folder holding it.
    profile
        The validated publishing profile.

    Raises
    ------
    DistrictError
        If the file is missing or unreadable, or its layers are in different CRSs.
    PublishError
        If its `municipalities` or `candidates` layer (or a column the site needs) is missing or the
        municipalities are empty.
    """
    found = district_contents(path)
    gpkg = found.path
    for needed in ("municipalities", "candidates"):
        if needed in profile.layers and needed not in found:
            raise PublishError(f"{gpkg}: layer {needed!r} is missing; run `flaechen run` (with the flag step) first")
    # brownfields not drawn still decide what the candidates drawn may say about them
    control_only = [
        name
        for name in ("brownfields",)
        if name not in profile.layers and name in found and "candidates" in profile.layers
    ]
    wanted = [layer for layer in [*profile.layers, *control_only] if layer in found]
    columns: dict[str, list[str]] = {}
    allowed: dict[str, list[str]] = {}
    for layer in wanted:
        present = set(found.fields(layer))
        lacking = [c for c in REQUIRED_COLUMNS.get(layer, ()) if c not in present]
        if lacking:
            raise PublishError(
                f"{gpkg}: layer {layer!r} lacks the column(s) {', '.join(lacking)} the site needs "
                f"(see layers/{layer}.yaml); rebuild it with `flaechen run`"
            )
        shown = profile.allowed(layer) if layer in profile.layers else ()
        allowed[layer] = [f for f in shown if f in present]
        for missing in sorted(set(shown) - present):
            log.warning("%s: layer %r has no field %r; not shown", gpkg, layer, missing)
        control = [c for c in CONTROL_COLUMNS.get(layer, ()) if c in present]
        columns[layer] = list(dict.fromkeys([*allowed[layer], *control]))
    read = read_district(found, layers=wanted, columns=columns)
    layers: dict[str, gpd.GeoDataFrame] = {}
    crs = None
    for layer in [*profile.layers, *control_only]:
        if layer not in read:
            log.warning("%s: layer %r not found; the site shows it empty", gpkg, layer)
            layers[layer] = empty_layer(layer, profile)
            continue
        gdf = read[layer]
        if gdf.crs.is_geographic:
            raise PublishError(
                f"{gpkg}: layer {layer!r} is in geographic {gdf.crs.to_string()}; "
                "the district dataset must be in its projected district CRS"
            )
        crs = crs or gdf.crs
        control = [c for c in CONTROL_COLUMNS.get(layer, ()) if c in gdf.columns]
        out = gpd.GeoDataFrame(
            {name: gdf[name] for name in allowed[layer]}
            | {_control(c): gdf[c] for c in control}
            | {"geometry": gdf.geometry.values},
            geometry="geometry",
            crs=gdf.crs,
        )
        layers[layer] = out[~(out.geometry.isna() | out.geometry.is_empty)].reset_index(drop=True)
        log.debug("read %s: %d features, fields %s", layer, len(out), allowed[layer])
    if "municipalities" in layers and layers["municipalities"].empty:
        raise PublishError(
            f"{gpkg}: no municipality has a boundary (layer 'municipalities' holds none with a geometry); the "
            "site is built per municipality: declare [boundaries] or a municipality's boundary in the "
            "configuration and run again"
        )
    summary = read_summary(found) if "summary" in found else None
    from flaechen.publish.built import read_built_on

    built_on = read_built_on(gpkg, mode=profile.built_on_mode, crs=crs)
    return District(crs=crs, layers=layers, summary=summary, built_on=built_on)


def read_summary(path: str | os.PathLike[str] | Contents) -> pd.DataFrame | None:
    """Read the flag step's per-municipality table ``summary``, defensively.

    Only ``ags`` and the numeric columns of :data:`SUMMARY_COLUMNS` are read; a column that is missing
    or holds no number is left out (logged). Returns None when the table has no ``ags``.
    """
    read = read_district(
        path, layers=["summary"], columns={"summary": ["ags", *SUMMARY_COLUMNS]}, missing_columns="skip"
    )
    frame = read["summary"]
    if "ags" not in frame.columns:
        log.warning("%s: table 'summary' has no column 'ags'; not used", path)
        return None
    out = pd.DataFrame(index=pd.Index(frame["ags"].astype(str), name="ags"))
    for column in [c for c in SUMMARY_COLUMNS if c in frame.columns]:
        values = pd.to_numeric(frame[column], errors="coerce")
        if values.notna().any():
            out[column] = values.astype("float64").to_numpy()
        else:
            log.warning("%s: summary.%s holds no numbers; not used", path, column)
    return out[~out.index.duplicated()]


def empty_layer(layer: str, profile: PublishProfile) -> gpd.GeoDataFrame:
    """An empty frame with the allowed and control columns of `layer` (a layer missing from the file)."""
    columns = {name: pd.Series([], dtype="object") for name in profile.allowed(layer)}
    columns |= {_control(c): pd.Series([], dtype="object") for c in CONTROL_COLUMNS.get(layer, ())}
    return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries([]))


def private_mask(gdf: gpd.GeoDataFrame) -> pd.Series:
    """Return True for features on private land or land of unknown ownership.

    Only an explicit ``ownership == "public"`` counts as public: when in doubt, a feature is private.
    """
    if "_ownership" not in gdf.columns:
        return pd.Series(True, index=gdf.index)
    return ~gdf["_ownership"].astype("string").fillna("").eq(PUBLIC_OWNERSHIP)


def split_private(gdf: gpd.GeoDataFrame, *, mode: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Split potentials into those drawn per feature and those shown only as aggregates.

    Parameters
    ----------
    gdf
        Candidates or brownfields with the control column ``_ownership``.
    mode
        The profile's ``private_candidates``: ``"parcels"`` shows everything per feature.

    Returns
    -------
    (shown, hidden)
        Both keep the input index.
    """
    if mode == "parcels":
        return gdf, gdf.iloc[0:0]
    private = private_mask(gdf)
    return gdf[~private], gdf[private]


def withhold_derived(
    candidates: gpd.GeoDataFrame, brownfields: gpd.GeoDataFrame | None, *, mode: str
) -> tuple[gpd.GeoDataFrame, int]:
    """Apply a brownfield's publishing rule to what the candidates drawn carry from it.

    A candidate on public land may lie in a brownfield on private land. The candidate is drawn, the
    brownfield is not (unless `mode` is ``"parcels"``): then neither may its id, name or former use
    reach the site through the candidate. The fields copied from the brownfield
    (:data:`DERIVED_FROM_BROWNFIELD`) are emptied, and in the reasons the brownfield's id, name and
    former use are replaced by :data:`WITHHELD_BROWNFIELD`. As a second line, a candidate whose text
    still names a withheld brownfield (by id or name) shows :data:`WITHHELD_REASONS` instead.

    Parameters
    ----------
    candidates
        The candidates drawn, with the control column ``_brownfield_site_id`` where the layer has it.
    brownfields
        All brownfields with the control columns ``_ownership``, ``_site_id``, ``_name``,
        ``_former_use`` (None where the dataset has none).
    mode
        The profile's ``private_candidates``.

    Returns
    -------
    (GeoDataFrame, int)
        The candidates (a copy where anything changed) and the number of candidates changed.

    Examples
    --------
    >>> import geopandas as gpd
    >>> bf = gpd.GeoDataFrame({"_ownership": ["private"], "_site_id": ["BF-1"], "_name": ["Alte Ziegelei"],
    ...     "_former_use": ["industry"]}, geometry=[None])
    >>> cand = gpd.GeoDataFrame({"_brownfield_site_id": ["BF-1"], "brownfield_site_id": ["BF-1"],
    ...     "reasons": ["Zu 90 % als Brachfläche registriert (Schwelle 50 %): BF-1 „Alte Ziegelei“, "
    ...     "frühere Nutzung Industrie."]}, geometry=[None])
    >>> out, n = withhold_derived(cand, bf, mode="municipality")
    >>> n, out.loc[0, "brownfield_site_id"]
    (1, None)
    >>> out.loc[0, "reasons"].split(": ")[1]
    'ein nicht veröffentlichter Eintrag des Brachflächenkatasters (kein öffentliches Eigentum).'
    """
    if mode == "parcels" or brownfields is None or brownfields.empty or "_site_id" not in brownfields.columns:
        return candidates, 0
    hidden = brownfields[private_mask(brownfields)]
    ids = hidden["_site_id"].astype("string")
    keep = ids.notna() & ids.str.strip().ne("")
    if not keep.any():
        return candidates, 0
    hidden = hidden[keep.to_numpy()]
    labels = load_schema().codelist("former_use")
    identity: dict[str, list[str]] = {}
    for _, row in hidden.iterrows():
        site, name = str(row["_site_id"]), _clean(row.get("_name"))
        use = _clean(row.get("_former_use"))
        former = f", frühere Nutzung {labels.label(use) or use}" if use else ""
        phrase = site + (f" „{name}“" if name else "") + former
        identity[site] = [phrase, site, *([name] if name and len(name) >= 4 else [])]
    out = candidates.copy()
    derived = (
        out["_brownfield_site_id"].astype("string").isin(list(identity)).fillna(False).to_numpy(dtype=bool)
        if "_brownfield_site_id" in out.columns
        else np.zeros(len(out), dtype=bool)
    )
    for column in DERIVED_FROM_BROWNFIELD:
        if column in out.columns and derived.any():
            out[column] = out[column].astype(object).where(~derived, None)
    changed = derived.copy()
    if "reasons" in out.columns:
        reasons = out["reasons"].astype(object).tolist()
        for i in np.flatnonzero(derived):
            site = str(out["_brownfield_site_id"].iloc[i])
            if isinstance(reasons[i], str):
                reasons[i] = reasons[i].replace(identity[site][0], WITHHELD_BROWNFIELD)
        out["reasons"] = reasons
    # second line: no text of a drawn candidate names a withheld brownfield, however it got there
    needles = sorted({n for names in identity.values() for n in names[1:]}, key=len, reverse=True)
    for column in [c for c in out.columns if c != out.geometry.name and not c.startswith("_")]:
        values = out[column]
        if not (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
            continue
        named = values.map(lambda v: isinstance(v, str) and any(n in v for n in needles)).to_numpy(dtype=bool)
        if named.any():
            replacement = WITHHELD_REASONS if column == "reasons" else None
            out[column] = values.astype(object).where(~named, replacement)
            changed |= named
            log.warning(
                "%d candidates named a brownfield that is not published in %r; that text is not shown",
                int(named.sum()),
                column,
            )
    n = int(changed.sum())
    if n:
        log.info("%d candidates lie in brownfields that are not published: their id, name and former use withheld", n)
        return out, n
    return candidates, 0


def _clean(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def candidate_areas(candidates: gpd.GeoDataFrame) -> pd.Series:
    """Area in m² of each candidate: ``area_m2`` where given, else computed from the geometry."""
    computed = pd.Series(candidates.geometry.area, index=candidates.index, dtype="float64")
    if "_area_m2" in candidates.columns:
        given = pd.to_numeric(candidates["_area_m2"], errors="coerce").astype("float64")
        return given.fillna(computed)
    return computed


def summarise(
    municipalities: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    *,
    categories: Sequence[str],
    hidden_index: pd.Index,
) -> pd.DataFrame:
    """Count and area of the candidates per municipality and category.

    Parameters
    ----------
    municipalities
        With control columns ``_ags``, ``_name`` and (optionally) ``_population``.
    candidates
        All candidates, with ``_ags`` and ``_category``.
    categories
        The categories in display order.
    hidden_index
        Index of the candidates shown only as aggregates (private land).

    Returns
    -------
    DataFrame
        One row per municipality (in AGS order), indexed by AGS, with ``name``, ``population``,
        ``n_<i>``/``ha_<i>`` per category position ``i``, ``n``, ``ha``, ``n_private``, ``ha_private``,
        ``m2_per_inhabitant``.
    """
    area = candidate_areas(candidates)
    frame = pd.DataFrame(
        {
            "ags": candidates["_ags"].astype("string"),
            "category": candidates["_category"].astype("string"),
            "m2": area,
            "hidden": candidates.index.isin(hidden_index),
        }
    )
    table = pd.DataFrame(index=pd.Index(sorted(municipalities["_ags"].astype(str)), name="ags"))
    names = municipalities.set_index(municipalities["_ags"].astype(str))
    table["name"] = names["_name"].astype("string").reindex(table.index)
    if "_population" in names.columns:
        table["population"] = pd.to_numeric(names["_population"], errors="coerce").reindex(table.index)
    else:
        table["population"] = np.nan
    for i, category in enumerate(categories):
        sub = frame[frame["category"] == category].groupby("ags")["m2"]
        table[f"n_{i}"] = sub.count().reindex(table.index).fillna(0).astype(int)
        table[f"ha_{i}"] = (sub.sum() / 10_000).reindex(table.index).fillna(0.0)
    grouped = frame.groupby("ags")["m2"]
    table["n"] = grouped.count().reindex(table.index).fillna(0).astype(int)
    table["ha"] = (grouped.sum() / 10_000).reindex(table.index).fillna(0.0)
    hidden = frame[frame["hidden"]].groupby("ags")["m2"]
    table["n_private"] = hidden.count().reindex(table.index).fillna(0).astype(int)
    table["ha_private"] = (hidden.sum() / 10_000).reindex(table.index).fillna(0.0)
    population = pd.to_numeric(table["population"], errors="coerce").astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (table["ha"] * 10_000) / population
    table["m2_per_inhabitant"] = ratio.where(population > 0)
    unknown = sorted(set(frame["ags"].dropna()) - set(table.index))
    if unknown:
        log.warning("candidates with AGS not in municipalities (not in the table): %s", ", ".join(unknown))
    return table


def grid_cells(
    hidden: gpd.GeoDataFrame,
    *,
    size: float,
    min_count: int,
    categories: Sequence[str],
) -> gpd.GeoDataFrame:
    """Aggregate hidden (private) candidates into square grid cells per municipality.

    A cell is kept only if it holds at least `min_count` candidates, so that no cell points at a
    single owner's parcel; candidates of dropped cells still count in the municipality's totals.

    Returns
    -------
    GeoDataFrame
        Columns ``_ags``, ``n``, ``ha`` and ``n_<i>`` per category position, in the input CRS.
    """
    columns = ["_ags", "n", "ha", *(f"n_{i}" for i in range(len(categories)))]
    if hidden.empty:
        return gpd.GeoDataFrame(
            {c: pd.Series([], dtype="object") for c in columns}, geometry=gpd.GeoSeries([], crs=hidden.crs)
        )
    points = hidden.geometry.representative_point()
    frame = pd.DataFrame(
        {
            "_ags": hidden["_ags"].astype("string").to_numpy(),
            "cx": np.floor(points.x.to_numpy() / size).astype(np.int64),
            "cy": np.floor(points.y.to_numpy() / size).astype(np.int64),
            "m2": candidate_areas(hidden).to_numpy(),
            "category": hidden["_category"].astype("string").to_numpy(),
        }
    )
    rows = []
    for (ags, cx, cy), cell in frame.groupby(["_ags", "cx", "cy"], sort=True):
        if len(cell) < min_count:
            continue
        row = {"_ags": ags, "n": len(cell), "ha": cell["m2"].sum() / 10_000}
        for i, category in enumerate(categories):
            row[f"n_{i}"] = int((cell["category"] == category).sum())
        row["geometry"] = shapely.box(cx * size, cy * size, (cx + 1) * size, (cy + 1) * size)
        rows.append(row)
    log.info(
        "grid: %d private candidates in %d cells of %g m (%d cells under %d candidates dropped)",
        len(hidden),
        len(rows),
        size,
        frame.groupby(["_ags", "cx", "cy"]).ngroups - len(rows),
        min_count,
    )
    if not rows:
        return grid_cells(hidden.iloc[0:0], size=size, min_count=min_count, categories=categories)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=hidden.crs)


def simplify(
    gdf: gpd.GeoDataFrame, *, tolerance: float, group_by: str | None = None, name: str = "features"
) -> gpd.GeoDataFrame:
    """Simplify polygons for display, keeping shared borders shared.

    Each group (the whole frame, or each value of `group_by`) that forms a valid coverage is simplified
    as a coverage (:func:`shapely.coverage_simplify`); a group that is not a coverage (overlaps) is
    simplified feature by feature with topology preserved, and the fallback is logged.

    Parameters
    ----------
    gdf
        Polygons in a projected CRS (metres).
    tolerance
        Simplification tolerance in CRS units; 0 returns the input unchanged.
    group_by
        Column whose values each form a coverage of their own.
    name
        What the features are (for the log).
    """
    if tolerance <= 0 or gdf.empty:
        return gdf
    if gdf.crs is not None and gdf.crs.is_geographic:
        raise PublishError("simplify() needs a projected CRS (metres); reproject after simplifying")
    geoms = gdf.geometry.to_numpy().copy()
    keys = gdf[group_by].astype("string").fillna("") if group_by and group_by in gdf.columns else None
    groups = (
        [np.arange(len(gdf))] if keys is None else [np.flatnonzero(keys.to_numpy() == value) for value in keys.unique()]
    )
    for positions in groups:
        part = geoms[positions]
        if shapely.coverage_is_valid(part):
            geoms[positions] = shapely.coverage_simplify(part, tolerance)
        else:
            log.info(
                "%s: %d features are not a clean coverage (neighbours' edges do not match exactly); "
                "simplified one by one, topology preserved",
                name,
                len(part),
            )
            geoms[positions] = shapely.simplify(part, tolerance, preserve_topology=True)
    out = gdf.copy()
    out.geometry = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    return out


def to_display(gdf: gpd.GeoDataFrame, *, decimals: int) -> gpd.GeoDataFrame:
    """Reproject to EPSG:4326 and round coordinates to `decimals` places; drop what collapses.

    Rounding is applied vertex by vertex, so vertices shared by neighbours stay identical.
    """
    if gdf.empty:
        return gdf.set_crs(DISPLAY_CRS, allow_override=True) if gdf.crs is None else gdf.to_crs(DISPLAY_CRS)
    out = gdf.to_crs(DISPLAY_CRS)
    rounded = shapely.transform(out.geometry.to_numpy(), lambda xy: np.round(xy, decimals))
    out.geometry = gpd.GeoSeries(rounded, index=out.index, crs=DISPLAY_CRS)
    arr = out.geometry.to_numpy()
    keep = ~(shapely.is_empty(arr) | (shapely.area(arr) == 0))
    dropped = int((~keep).sum())
    if dropped:
        log.info("%d features collapsed when rounded to %d decimals; not drawn", dropped, decimals)
    return out[keep]


@dataclass(frozen=True)
class Prepared:
    """The layers ready for display (EPSG:4326) and the figures per municipality."""

    table: pd.DataFrame
    taken: Mapping[str, Any]
    display: Mapping[str, gpd.GeoDataFrame]
    hidden_brownfields: Mapping[str, int]
    n_hidden: int
    built_on: BuiltOn | None = None


def merge_summary(table: pd.DataFrame, summary: pd.DataFrame | None) -> dict[str, Any]:
    """Take m² per inhabitant (inner development only), the benchmark and dwellings from `summary`.

    Changes `table` in place; returns what was taken: ``{"inner": bool, "benchmark": float | None,
    "dwellings": bool}``.
    """
    taken: dict[str, Any] = {"inner": False, "benchmark": None, "dwellings": False}
    if summary is None:
        return taken
    aligned = summary.reindex(table.index.astype(str))
    if "inner_m2_per_inhabitant" in aligned.columns:
        table["m2_per_inhabitant"] = aligned["inner_m2_per_inhabitant"].to_numpy()
        taken["inner"] = True
    if "capacity_dwellings" in aligned.columns:
        table["dwellings"] = aligned["capacity_dwellings"].to_numpy()
        taken["dwellings"] = True
    if "benchmark_m2_per_inhabitant" in aligned.columns:
        values = aligned["benchmark_m2_per_inhabitant"].dropna().unique()
        if len(values) == 1:
            taken["benchmark"] = float(values[0])
    return taken


def built_cells(profile: PublishProfile) -> bool:
    """Whether the sites built on that are only counted appear as aggregate cells too (as the private
    potentials do: grid mode, built-on sites aggregated)."""
    return profile.private_candidates == "grid" and profile.built_on_mode == "aggregate"


def prepare_display(ctx: Context, district: District) -> Prepared:
    """Split private land off, compute the figures, simplify and reproject every layer shown."""
    profile = ctx.profile
    layers = district.layers
    candidates = layers.get("candidates", empty_layer("candidates", profile))
    mode = profile.private_candidates
    shown_candidates, hidden_candidates = split_private(candidates, mode=mode)
    shown_candidates, _ = withhold_derived(shown_candidates, layers.get("brownfields"), mode=mode)
    table = summarise(
        layers["municipalities"], candidates, categories=ctx.categories, hidden_index=hidden_candidates.index
    )
    taken = merge_summary(table, district.summary)
    display: dict[str, gpd.GeoDataFrame] = {}
    hidden_brownfields: dict[str, int] = {}
    for layer in profile.layers:
        gdf = layers[layer]
        if layer == "candidates":
            gdf = shown_candidates
        elif layer == "brownfields":
            gdf, hidden = split_private(gdf, mode=mode)
            hidden_brownfields = hidden["_ags"].astype(str).value_counts().to_dict() if len(hidden) else {}
        gdf = simplify(gdf, tolerance=profile.simplify_tolerance_m, group_by=COVERAGE_GROUPS.get(layer), name=layer)
        display[layer] = to_display(gdf, decimals=profile.coordinate_decimals)
    if mode == "grid":
        from flaechen.publish.aggregates import block_grid  # aggregates builds on this module

        cells, _ = block_grid(
            hidden_candidates,
            size=profile.grid_size_m,
            min_count=profile.grid_min_count,
            categories=ctx.categories,
            boundaries=layers["municipalities"],
        )
        display["grid"] = to_display(cells, decimals=profile.coordinate_decimals)
    built = district.built_on
    if built is not None and len(built.shown):
        sites = simplify(built.shown, tolerance=profile.simplify_tolerance_m, name="built on")
        display["built"] = to_display(sites, decimals=profile.coordinate_decimals)
    if built is not None and built_cells(profile) and built.counted is not None and len(built.counted):
        from flaechen.publish.aggregates import block_grid

        cells, _ = block_grid(
            built.counted,
            size=profile.grid_size_m,
            min_count=profile.grid_min_count,
            categories=ctx.categories,
            boundaries=layers["municipalities"],
            what="private sites built on",
        )
        display["built_grid"] = to_display(cells, decimals=profile.coordinate_decimals)
    return Prepared(
        table=table,
        taken=taken,
        display=display,
        hidden_brownfields=hidden_brownfields,
        n_hidden=len(hidden_candidates),
        built_on=built,
    )
