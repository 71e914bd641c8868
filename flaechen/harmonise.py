"""Harmonising one source: CRS, geometry policy, canonical schema, code lists, provenance, issue log.

Pure computing: a raw frame goes in, a canonical GeoDataFrame in the district CRS comes out, and every
feature that does not come out is in the issue log with its reason. Every repair is logged too.

The steps run in this order, each on what the previous ones kept:

1. the configured filter (``where``): excluded features are logged as ``filtered``;
2. the source CRS: the file's or the declared one (``crs-declared`` / ``crs-overridden``);
3. geometry: empty, wrong type, invalid (policy ``raise`` | ``fix`` | ``drop``);
4. reprojection with the most accurate available transformation (``crs-transformation``, ``missing-grid``);
5. the municipality check: a source mostly outside its municipality is rejected whole
   (``source-outside-municipality``: a wrong CRS, not a silent shift); single features outside are logged;
6. attributes: field mapping, constants, type coercion, code lists, AGS;
7. required values, duplicate keys;
8. for parcels: computed area against the official area (``area-deviation``, a finding, not an error).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from flaechen.codes import get_scheme, normalise_codes
from flaechen.config import MunicipalityConfig, SourceConfig
from flaechen.crs import TransformationChoice, choose_transformation, geographic_bounds, reproject, resolve_crs
from flaechen.errors import CRSError, GeometryError
from flaechen.issues import IssueLog
from flaechen.landuse import USE_CODELIST, normalise_uses
from flaechen.layers import PROVENANCE_FIELDS, CodeList, LayerDef, Schema
from flaechen.read import Linearisation, SourceFrame

log = logging.getLogger(__name__)

_POLYGONAL = {"Polygon", "MultiPolygon"}
UNSET_AT_ZERO = {"zoning": ("grz", "gfz")}
"""Fields where a value of 0 or below means "not set" (plans write GFZ 0,00 for none)."""
_SAME_REGISTER_ID = "ids differing only by leading zeros, case or spaces are one"
POINT_LAYERS = ("brownfields",)
"""Layers whose sources may record features as points (given an extent when merged: merge.place_point_sites)."""
_TRUE = {"1", "true", "t", "yes", "y", "ja", "j", "wahr", "x"}
_FALSE = {"0", "false", "f", "no", "n", "nein", "falsch", ""}
_AGS_RE = re.compile(r"^\d{8}$")
BOUNDARY_LAYER = "municipalities"
"""The layer of municipality boundaries: features of one AGS are its parts, united rather than rejected."""


@dataclass(frozen=True)
class HarmoniseSettings:
    """District-wide settings the harmonising step needs (from :class:`~flaechen.config.DistrictConfig`)."""

    crs: CRS
    outside_share: float = 0.5
    outside_buffer: float = 50.0
    area_tolerance: float = 0.005
    code_scheme: str = "ags"
    """The official municipality code scheme (:mod:`flaechen.codes`)."""


@dataclass(frozen=True)
class Harmonised:
    """The outcome for one source."""

    frame: gpd.GeoDataFrame
    read: int
    """Features read (the source's own count less the ``unreadable`` ones)."""
    transformation: TransformationChoice | None
    held: int = -1
    """Features the source holds by its own count."""
    unreadable: int = 0
    """Features the source holds that could not be read (each in the issue log)."""
    united: int = 0
    """Features united with another of the same key into one (the parts of a municipality's boundary): in the
    dataset, though not as a row of their own."""


class _Ctx:
    """What every issue of one source shares."""

    def __init__(self, src: SourceConfig, sf: SourceFrame, issues: IssueLog, ids: pd.Series) -> None:
        self.src, self.sf, self.issues, self.ids = src, sf, issues, ids

    def log(
        self,
        issue_type: str,
        fids: np.ndarray | pd.Index,
        messages: Any,
        *,
        field: str | None = None,
        values: Any = None,
    ) -> None:
        fids = np.asarray(fids)
        if len(fids) == 0:
            return
        self.issues.add_many(
            issue_type,
            ags=self.src.ags or None,
            source_id=self.src.id,
            layer=self.src.layer,
            source_fids=fids.tolist(),
            feature_ids=self.ids.reindex(fids).tolist(),
            field=field,
            values=None if values is None else list(values),
            messages=messages if isinstance(messages, str) else list(messages),
        )

    def log_source(self, issue_type: str, message: str, *, value: Any = None) -> None:
        self.issues.add(
            issue_type,
            ags=self.src.ags or None,
            source_id=self.src.id,
            layer=self.src.layer,
            message=message,
            value=value,
        )

    @property
    def where(self) -> str:
        return f"{self.src.path.name}, layer {self.sf.layer_name}"


def _source_crs(ctx: _Ctx) -> CRS:
    declared = resolve_crs(ctx.src.crs, where=ctx.src.key) if ctx.src.crs else None
    file_crs = ctx.sf.file_crs
    if declared is None:
        if file_crs is None:
            raise CRSError(f'{ctx.src.key} ({ctx.src.path}): no CRS in the file and none declared; add crs = "EPSG:…"')
        return file_crs
    if file_crs is None:
        ctx.log_source(
            "crs-declared",
            f"{ctx.where} carries no CRS; used the declared {declared.to_string()}.",
            value=declared.to_string(),
        )
    elif not file_crs.equals(declared, ignore_axis_order=True):
        ctx.log_source(
            "crs-overridden",
            f"{ctx.where} states {file_crs.name}; the configuration overrides it with {declared.to_string()}.",
            value=file_crs.to_string(),
        )
    return declared


def _linearised(ctx: _Ctx, frame: gpd.GeoDataFrame, lin: Linearisation) -> gpd.GeoDataFrame:
    """Log what reading circular arcs did: one entry per source, and the unreadable geometries (unclosed rings
    go to :func:`_unclosed_rings`, with those of plain geometries)."""
    present = frame.index
    bad = [fid for fid in lin.unparsable if fid in present]
    ctx.log(
        "invalid-geometry",
        np.array(bad, dtype=np.int64),
        [f"Feature {fid} of {ctx.where}: {lin.unparsable[fid]}." for fid in bad],
    )
    frame = frame.drop(index=bad)
    curved = np.isin(lin.curved, frame.index.to_numpy())
    if curved.any():
        changes = lin.area_change[curved]
        worst = int(np.argmax(changes))
        ctx.log_source(
            "linearised-geometry",
            f"{int(curved.sum())} features of {ctx.where} hold circular arcs (CurvePolygon, CompoundCurve, "
            f"MultiSurface, CircularString), linearised within {lin.max_deviation:g} (source units) of the arcs; "
            f"largest area change {changes[worst]:.4%} (feature {int(lin.curved[curved][worst])}). "
            "Set arc_max_deviation to change the bound.",
            value=str(int(curved.sum())),
        )
    return frame


def _polygonal_parts(geoms: np.ndarray) -> np.ndarray:
    """Keep only polygonal parts of (collection) geometries; None where nothing polygonal remains."""
    out = geoms.copy()
    types = shapely.get_type_id(geoms)
    for i in np.flatnonzero(types == 7):  # GeometryCollection (rare: make_valid results)
        parts = [p for p in shapely.get_parts(geoms[i]) if shapely.get_type_id(p) in (3, 6)]
        out[i] = shapely.multipolygons(list(shapely.get_parts(parts))) if parts else None
    return out


def _outlines_as_footprints(ctx: _Ctx, frame: gpd.GeoDataFrame, geoms: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Buildings delivered as lines: the area their closed outline encloses is the footprint (logged).

    GDAL reads a CityGML building (LoD1/LoD2) through its first geometry, the ``lod2TerrainIntersection``: the
    lines where the building meets the ground, i.e. its outline. A CAD export delivers outlines too. Lines that
    enclose no area stay lines and are rejected as ``wrong-geometry-type``.
    """
    lines = np.flatnonzero(keep & np.isin(shapely.get_type_id(geoms), [1, 2, 5]))
    if not len(lines):
        return geoms
    out = geoms.copy()
    done = []
    for i in lines:
        pieces = shapely.get_parts(shapely.polygonize(shapely.get_parts(shapely.node(shapely.force_2d(geoms[i])))))
        pieces = pieces[shapely.area(pieces) > 0]
        if len(pieces):
            out[i] = shapely.union_all(pieces)
            done.append(i)
    if done:
        ctx.log(
            "outline-polygonised",
            frame.index[done],
            f"The building in {ctx.where} is delivered as its outline (lines, e.g. a CityGML terrain "
            "intersection); the area its closed outline encloses is its footprint. Footprints as polygons "
            "(ALKIS AX_Gebaeude, the LoD2 GroundSurface) are more exact.",
            values=[str(geoms[i].geom_type) for i in done],
        )
    return out


def _geometry(ctx: _Ctx, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    geoms = np.array(frame.geometry.array, dtype=object)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if ctx.src.x_field:
        message = f"No coordinates in {ctx.where}: {ctx.src.x_field} / {ctx.src.y_field} empty or not numbers."
    else:
        message = f"No geometry or an empty one in {ctx.where}."
    ctx.log("empty-geometry", frame.index[empty], message)
    keep = ~empty
    if ctx.src.layer == "buildings":
        geoms = _outlines_as_footprints(ctx, frame, geoms, keep)
    types = shapely.get_type_id(geoms)
    collection = types == 7
    allowed = [0, 3, 4, 6] if ctx.src.layer in POINT_LAYERS else [3, 6]  # registers record sites as points
    wrong = keep & ~np.isin(types, allowed) & ~collection
    if wrong.any():
        names = shapely.get_type_id(geoms[wrong])
        labels = {0: "Point", 1: "LineString", 2: "LinearRing", 4: "MultiPoint", 5: "MultiLineString"}
        ctx.log(
            "wrong-geometry-type",
            frame.index[wrong],
            [
                f"A {labels.get(int(t), 'non-polygon')} in {ctx.where}; layer {ctx.src.layer} needs polygons."
                + _polygon_fix(ctx, int(t))
                for t in names
            ],
            values=[labels.get(int(t), str(t)) for t in names],
        )
    keep &= ~wrong
    idx = np.flatnonzero(keep)
    invalid_local = ~shapely.is_valid(geoms[idx])
    invalid = idx[invalid_local]
    if len(invalid):
        reasons = shapely.is_valid_reason(geoms[invalid])
        fids = frame.index[invalid]
        policy = ctx.src.geometry_policy
        if policy == "raise":
            first = fids[0]
            raise GeometryError(
                f"{ctx.src.key} ({ctx.src.path}), layer {ctx.sf.layer_name}, feature {first} "
                f"(id {ctx.ids.get(first)!r}): invalid geometry ({reasons[0]}); {len(invalid)} invalid in all. "
                'Have the municipality repair it, or set geometry_policy = "fix" (repair and log) '
                'or "drop" (reject and log) for this source.'
            )
        if policy == "drop":
            ctx.log(
                "invalid-geometry",
                fids,
                [f"Invalid geometry ({r}); dropped by policy 'drop'." for r in reasons],
                values=reasons,
            )
            keep[invalid] = False
        else:
            before = shapely.area(geoms[invalid])
            fixed = _polygonal_parts(shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False))
            failed = shapely.is_missing(fixed) | shapely.is_empty(fixed)
            after = np.where(failed, 0.0, shapely.area(np.where(failed, np.array(None), fixed)))
            ctx.log(
                "invalid-geometry",
                fids[failed],
                [f"Invalid geometry ({r}) that no repair turns into a polygon." for r in reasons[failed]],
                values=reasons[failed],
            )
            ok = ~failed
            ctx.log(
                "repaired-geometry",
                fids[ok],
                [
                    f"Invalid geometry ({r}) repaired with make_valid; area {b:.2f} → {a:.2f} (source units)."
                    for r, b, a in zip(reasons[ok], before[ok], after[ok], strict=True)
                ],
                values=reasons[ok],
            )
            geoms[invalid[ok]] = fixed[ok]
            keep[invalid[failed]] = False
    if collection.any():
        geoms[collection] = _polygonal_parts(geoms[collection])
        lost = collection & keep & (shapely.is_missing(geoms) | shapely.is_empty(geoms))
        ctx.log("wrong-geometry-type", frame.index[lost], "A geometry collection without polygons.")
        keep &= ~lost
    out = frame.loc[keep].copy()
    out = out.set_geometry(gpd.GeoSeries(geoms[keep], index=out.index, crs=frame.crs))
    return out


def _polygon_fix(ctx: _Ctx, type_id: int) -> str:
    """The fix for lines or points where polygons are needed: the right layer, or what a CityGML file holds."""
    if type_id not in (1, 2, 5):
        return " Choose the file's polygon layer with source_layer, or ask for the areas as polygons."
    if ctx.src.layer == "buildings" and ctx.src.path.suffix.lower() in (".gml", ".xml"):
        return (
            " A CityGML (LoD1/LoD2) file is read through GDAL's GML driver, which takes the building's first "
            "geometry, often its terrain intersection lines, not its footprint: deliver the footprints as "
            "polygons (ALKIS AX_Gebaeude, or the LoD2 GroundSurface exported to a GeoPackage or Shapefile)."
        )
    return (
        " The layer holds lines (outlines or boundaries): choose the file's polygon layer with source_layer, "
        "or ask for the areas as polygons."
    )


def _reading(ctx: _Ctx) -> None:
    """Log what reading found: unreadable features, the library's warnings, an encoding that did not fit."""
    sf = ctx.sf
    for u in sf.unreadable:
        where = (
            f"feature {u.fid}"
            if u.fid is not None
            else (f"the feature at position {u.position}" if u.position is not None else "a feature")
        )
        ctx.issues.add(
            "unreadable-feature",
            ags=ctx.src.ags or None,
            source_id=ctx.src.id,
            layer=ctx.src.layer,
            source_fid=u.fid,
            value=None if u.position is None else f"position {u.position}",
            message=f"{ctx.where}: GDAL cannot read {where} ({u.message}); the rest of the source was read. "
            "Ask the municipality for an undamaged delivery.",
        )
    for text in sf.warnings:
        ctx.log_source("read-warning", f"While reading {ctx.where}: {text}", value=text[:200])
    if sf.encoding_note:
        ctx.log_source("encoding-mismatch", sf.encoding_note)


_GEOGRAPHIC_LIMIT = 1_000.0
"""No longitude or latitude in degrees lies beyond this (a generous bound that swapped axes also pass)."""
_PROJECTED_LIMIT = 100_000_000.0
"""No easting or northing in metres lies beyond this (a zone-prefixed UTM easting is about 3.3e7)."""


def _non_finite(geoms: np.ndarray, *, limit: float) -> np.ndarray:
    """Mask of geometries with a coordinate that is NaN, infinite, or beyond `limit` in absolute value."""
    bad = np.zeros(len(geoms), dtype=bool)
    present = ~shapely.is_missing(geoms)
    if not present.any():
        return bad
    coords, index = shapely.get_coordinates(geoms[present], return_index=True)
    wrong = ~(np.abs(coords) <= limit).all(axis=1)  # NaN compares False
    bad[np.flatnonzero(present)[np.unique(index[wrong])]] = True
    return bad


def _coordinates(ctx: _Ctx, frame: gpd.GeoDataFrame, crs: CRS) -> gpd.GeoDataFrame:
    """Reject coordinates no CRS has (NaN, infinite, 1e300); drop Z and M values with one log entry."""
    geoms = np.asarray(frame.geometry.array, dtype=object)
    limit = _GEOGRAPHIC_LIMIT if crs.is_geographic else _PROJECTED_LIMIT
    bad = _non_finite(geoms, limit=limit)
    if bad.any():
        shown = []
        for g in geoms[bad]:
            xy = shapely.get_coordinates(g)
            first = xy[~(np.abs(xy) <= limit).all(axis=1)][0]
            shown.append(f"({first[0]:.6g}, {first[1]:.6g})")
        ctx.log(
            "invalid-coordinates",
            frame.index[bad],
            [
                f"Coordinate {c} in {ctx.where} is not a number, infinite or beyond any value of {crs.name}; "
                "the feature is rejected. Ask the municipality to correct the geometry."
                for c in shown
            ],
            values=shown,
        )
        frame = frame.loc[~bad]
        geoms = geoms[~bad]
    has_z = shapely.has_z(geoms)
    has_m = shapely.has_m(geoms) if hasattr(shapely, "has_m") else np.zeros(len(geoms), dtype=bool)
    extra = has_z | has_m
    if extra.any():
        what = " and ".join(n for n, m in (("Z", has_z), ("M", has_m)) if m.any())
        ctx.log_source(
            "z-dropped",
            f"{int(extra.sum()):,d} features of {ctx.where} carry {what} values; the district dataset is "
            "two-dimensional, so they were dropped.",
            value=what,
        )
        frame = frame.set_geometry(gpd.GeoSeries(shapely.force_2d(geoms), index=frame.index, crs=frame.crs))
    return frame


def _unclosed_rings(ctx: _Ctx, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Apply the geometry policy to rings the source left unclosed (the reader closed them), whether the
    geometry was plain (GEOS refused it: ``SourceFrame.unclosed``) or held arcs (``Linearisation.unclosed``)."""
    unclosed = dict(ctx.sf.unclosed)
    if ctx.sf.linearised is not None:
        for fid in ctx.sf.linearised.unclosed:
            unclosed.setdefault(int(fid), "it does not end where it starts")
    fids = sorted(f for f in unclosed if f in frame.index)
    if not fids:
        return frame
    policy = ctx.src.geometry_policy
    reasons = [unclosed[f] for f in fids]
    if policy == "raise":
        raise GeometryError(
            f"{ctx.src.key} ({ctx.src.path}), layer {ctx.sf.layer_name}, feature {fids[0]} "
            f"(id {ctx.ids.get(fids[0])!r}): a ring is not closed ({reasons[0]}); {len(fids)} such in all. "
            'Have the municipality repair it, or set geometry_policy = "fix" (close it and log) '
            'or "drop" (reject and log) for this source.'
        )
    if policy == "drop":
        ctx.log(
            "invalid-geometry",
            fids,
            "A ring of the geometry does not end where it starts; dropped by policy 'drop'.",
            values=["unclosed ring"] * len(fids),
        )
        return frame.drop(index=fids)
    ctx.log(
        "repaired-geometry",
        fids,
        "A ring of the geometry did not end where it starts; closed by policy 'fix' (its first point repeated).",
        values=["unclosed ring"] * len(fids),
    )
    return frame


def _diagnose_outside(raw_geoms: np.ndarray, boundary: Any, *, geographic: bool, inside: int) -> str:
    """Why most features of a source fall outside its municipality: a wrong CRS, or a file for a larger area.

    `raw_geoms` are in the source's own coordinates, `boundary` in the district CRS; `geographic` says whether
    the source's CRS is in degrees (then degrees are no hint), `inside` how many features lie inside.
    """
    xmin, ymin, _, _ = shapely.total_bounds(raw_geoms)
    bxmin, bymin, _, _ = shapely.bounds(boundary)
    hints = []
    if 2_000_000 < xmin < 6_000_000 and ymin > 5_000_000:
        hints.append("the eastings look like Gauß-Krüger (DHDN, EPSG:3146x)")
    if xmin > 10_000_000:
        hints.append("the eastings carry a zone prefix (e.g. 32…)")
    if abs(xmin) < 180 and abs(ymin) < 90 and not geographic:
        hints.append("the coordinates look like degrees (EPSG:4326/4258)")
    if inside and not hints:
        return (
            f"{inside:,d} features lie in the municipality and the others around it, so the CRS fits: the file "
            "covers a larger area (a delivery for the district or the Land). Select this municipality's "
            "features with `where`, declare the file once as a top-level [[sources]] entry with `ags_field` "
            "where it has a municipality field, or set outside_share = 1.0 for this source to keep all of them "
            "(each feature outside is logged)"
        )
    if not geographic:
        hints.append(f"offset from the municipality about ({xmin - bxmin:,.0f}, {ymin - bymin:,.0f}) m")
    hints.append("declare the right crs for this source or ask for a corrected delivery")
    return "its CRS is wrong or undeclared: " + "; ".join(hints)


def _outside(
    ctx: _Ctx,
    frame: gpd.GeoDataFrame,
    boundary: Any,
    settings: HarmoniseSettings,
    raw_geoms: np.ndarray,
    *,
    source_crs: CRS,
) -> gpd.GeoDataFrame | None:
    if boundary is None or frame.empty:
        return frame
    area = shapely.buffer(boundary, settings.outside_buffer) if settings.outside_buffer else boundary
    shapely.prepare(area)
    points = shapely.point_on_surface(np.asarray(frame.geometry.array, dtype=object))
    inside = shapely.contains(area, points)
    share = 1.0 - inside.mean()
    limit = ctx.src.outside_share if ctx.src.outside_share is not None else settings.outside_share
    if share > limit:
        hint = _diagnose_outside(
            raw_geoms,
            boundary,
            geographic=bool(source_crs.is_geographic),
            inside=int(inside.sum()),
        )
        ctx.log(
            "source-outside-municipality",
            frame.index,
            f"{share:.0%} of the features of {ctx.where} fall outside municipality {ctx.src.ags} "
            f"(more than {limit:.0%}): {hint}.",
        )
        return None
    ctx.log(
        "outside-municipality",
        frame.index[~inside],
        f"The feature lies outside municipality {ctx.src.ags} (beyond {settings.outside_buffer:g} m).",
    )
    return frame


def _as_text(series: pd.Series) -> pd.Series:
    """Text form of source values: whole numbers without '.0', strings stripped, empty → NA (vectorised)."""
    kind = pd.api.types.infer_dtype(series, skipna=True)
    if kind in ("floating", "integer", "mixed-integer-float", "decimal"):
        numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        out = pd.Series(pd.NA, index=series.index, dtype="string")
        finite = np.isfinite(numbers)
        whole = finite & (numbers == np.round(numbers))
        out[whole] = numbers[whole].astype(np.int64).astype(str)
        out[finite & ~whole] = numbers[finite & ~whole].astype(str)
        return out
    if kind in ("string", "empty", "boolean"):
        out = series.astype("string")
    else:

        def conv(v: Any) -> Any:
            if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
                return pd.NA
            if isinstance(v, float) and v.is_integer():
                return str(int(v))
            if isinstance(v, bytes):
                return v.decode("utf-8", "replace")
            return str(v)

        out = pd.Series([conv(v) for v in series], index=series.index, dtype="string")
    out = out.str.strip()
    return out.mask(out == "")


def _coerce(ctx: _Ctx, name: str, dtype: str, series: pd.Series) -> pd.Series:
    text = _as_text(series)
    if dtype == "string":
        return text
    present = text.notna()
    if dtype == "boolean":
        lower = text.str.lower()
        out = pd.Series(pd.NA, index=series.index, dtype="boolean")
        out[lower.isin(_TRUE).fillna(False)] = True
        out[lower.isin(_FALSE - {""}).fillna(False)] = False
        bad = present & out.isna()
    else:
        numbers = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
        if dtype in ("Int32", "Int64"):
            whole = numbers.notna() & (numbers == np.round(numbers))
            out = pd.Series(pd.NA, index=series.index, dtype=dtype)
            out[whole] = numbers[whole].astype("int64")
        else:
            out = numbers.astype("Float64")
        bad = present & out.isna()
    if bad.any():
        ctx.log(
            "invalid-value",
            series.index[bad.to_numpy()],
            f"Field {name}: value cannot be read as {dtype}; set to empty.",
            field=name,
            values=text[bad],
        )
    return out


def _known_codes(codelist: CodeList) -> str:
    """The codes of a short list by name, a long one by its file: what a user may map a value to."""
    codes = list(codelist.values)
    if len(codes) <= 12:
        return "codes: " + ", ".join(map(str, codes))
    return f"{len(codes)} codes in layers/codelists/{codelist.name}.yaml"


def _apply_codes(ctx: _Ctx, name: str, values: pd.Series, codelist: CodeList) -> pd.Series:
    mapping = ctx.src.codes.get(name, {})
    text = _as_text(values)
    out = values
    if mapping:
        hit = text.isin(list(mapping)).fillna(False)
        if hit.any():
            out = values.astype(object).copy()
            out[hit] = text[hit].map(mapping)
            for raw, count in text[hit].value_counts().items():
                ctx.log_source(
                    "mapped-code",
                    f"Field {name}: source value {raw!r} mapped to code {mapping[raw]!r} by the configuration "
                    f"({count} features).",
                    value=raw,
                )
    out = _typed(out, codelist.type)
    normalise = _NORMALISERS.get(codelist.name)
    if normalise is not None:
        out = _normalised(ctx, name, out, normalise(out), codelist)
    known = out.isin(list(codelist.values)).fillna(False)
    unknown = text.notna() & ~known
    if unknown.any():
        ctx.log(
            "unknown-code",
            values.index[unknown.to_numpy()],
            f"Field {name}: code not in code list {codelist.name} ({_known_codes(codelist)}); set to empty. "
            f"Map it with codes.{name} in the configuration "
            f'(codes = {{ {name} = {{ "<delivered value>" = <code> }} }}) or ask the municipality.',
            field=name,
            values=text[unknown.to_numpy()],
        )
        out = out.where(~unknown, pd.NA)
    return out


def _normalised(ctx: _Ctx, name: str, values: pd.Series, normalised: pd.Series, codelist: CodeList) -> pd.Series:
    """Values a code list reads in other spellings (labels, ASCII) replaced by their code, one info per value."""
    changed = normalised.notna() & values.notna() & (normalised != values.astype("string"))
    changed = changed.fillna(False)
    for raw, count in values[changed].astype("string").value_counts().items():
        code = normalised[changed & (values.astype("string") == raw)].iloc[0]
        ctx.log_source(
            "normalised-code",
            f"Field {name}: {raw!r} read as code {code!r} of code list {codelist.name} ({count} features).",
            value=raw,
        )
    return values.astype("string").where(~changed, normalised)


_NORMALISERS = {USE_CODELIST: normalise_uses}
"""Code lists whose values are also accepted in other spellings, with the function that reads them."""


def _typed(series: pd.Series, codelist_type: str) -> pd.Series:
    if codelist_type.startswith("int"):
        numbers = pd.to_numeric(_as_text(series), errors="coerce")
        out = pd.Series(pd.NA, index=series.index, dtype="Int32")
        whole = numbers.notna() & (numbers == np.round(numbers))
        out[whole] = numbers[whole].astype("int64")
        return out
    return _as_text(series)


AGS_RESTORED = "AGS read as a number lost its leading zero; restored."


def restore_ags(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """AGS as text, with the leading zero a number lost restored.

    Returns the AGS texts and the mask of the values that were restored (7 digits read as a number).

    Examples
    --------
    >>> text, restored = restore_ags(pd.Series([7999001, "07999002", None]))
    >>> text.tolist(), restored.tolist()
    (['07999001', '07999002', <NA>], [True, False, False])
    """
    text = _as_text(values)
    padded = text.str.fullmatch(r"\d{7}").fillna(False).to_numpy(dtype=bool)
    return text.where(~padded, "0" + text), padded


def _ags(ctx: _Ctx, values: pd.Series, scheme: str) -> tuple[pd.Series, np.ndarray]:
    text, padded, bad = normalise_codes(values, scheme=scheme)
    ctx.log("repaired-value", values.index[padded], AGS_RESTORED, field="ags", values=_as_text(values)[padded])
    return text, bad


def _attributes(
    ctx: _Ctx, frame: gpd.GeoDataFrame, layer: LayerDef, schema: Schema, *, scheme: str = "ags"
) -> tuple[pd.DataFrame, np.ndarray]:
    """Map, coerce and check attributes; returns canonical columns and a rejection mask."""
    out = pd.DataFrame(index=frame.index)
    reject = np.zeros(len(frame), dtype=bool)
    for f in layer.fields:
        column = ctx.src.fields.get(f.name, f.name)
        if f.name in ctx.src.values:
            raw = pd.Series([ctx.src.values[f.name]] * len(frame), index=frame.index, dtype=object)
        elif column in frame.columns:
            raw = frame[column]
        elif f.name == "ags":
            raw = pd.Series([ctx.src.ags] * len(frame), index=frame.index, dtype=object)
        else:
            out[f.name] = pd.Series(pd.NA, index=frame.index, dtype=f.dtype)
            continue
        if f.name == "ags":
            values, bad = _ags(ctx, raw, scheme)
            spec = get_scheme(scheme)
            ctx.log(
                "invalid-ags",
                frame.index[bad & values.notna().to_numpy()],
                f"The municipality code is not {spec.form} ({spec.title}).",
                field="ags",
                values=values[bad & values.notna().to_numpy()],
            )
            reject |= bad & values.notna().to_numpy()
            out[f.name] = values
        elif f.codelist:
            out[f.name] = _apply_codes(ctx, f.name, raw, schema.codelist(f.codelist)).astype(f.dtype)
        else:
            out[f.name] = _coerce(ctx, f.name, f.dtype, raw)
    # GRZ/GFZ of 0 or below mean "not set" in real plans ("GFZ 0,00"), never a permitted 0
    for name in UNSET_AT_ZERO.get(layer.name, ()):
        values = out[name]
        unset = (values <= 0).fillna(False).to_numpy(dtype=bool)
        if unset.any():
            ctx.log(
                "unset-value",
                frame.index[unset],
                f"Field {name}: {ctx.src.fields.get(name, name)} of 0 or below means not set; left empty.",
                field=name,
                values=values[unset].astype(str),
            )
            out[name] = values.mask(unset)
    # A Baugebiet (besondere Art) determines its Baufläche (allgemeine Art) where the plan left it empty.
    if "bes_art" in out.columns and "allg_art" in out.columns:
        bes = schema.codelist("xplan_bes_art")
        derived = out["bes_art"].map(lambda c: bes.values.get(c, {}).get("allg_art") if pd.notna(c) else pd.NA)
        out["allg_art"] = out["allg_art"].fillna(derived.astype("Int32")).astype("Int32")
    for f in layer.fields:
        if f.required:
            missing = out[f.name].isna().to_numpy() & ~reject
            ctx.log(
                "missing-value",
                frame.index[missing],
                f"Required field {f.name} is empty (source field {ctx.src.fields.get(f.name, f.name)!r}).",
                field=f.name,
            )
            reject |= missing
    return out, reject


def harmonise_source(
    sf: SourceFrame,
    src: SourceConfig,
    *,
    layer: LayerDef,
    schema: Schema,
    settings: HarmoniseSettings,
    boundary: Any = None,
    issues: IssueLog,
) -> Harmonised:
    """Turn one raw source into canonical features in the district CRS, logging every issue.

    Parameters
    ----------
    sf
        The source as read (:func:`flaechen.read.read_source`).
    src
        Its resolved configuration.
    layer, schema
        The canonical layer definition and the whole schema (code lists, issue types).
    settings
        District CRS and thresholds.
    boundary
        The municipality's boundary in the district CRS (a shapely polygon), for the location check.
    issues
        The log to add to.

    Returns
    -------
    Harmonised
        The canonical frame (index: the source FID), how many features were read, the transformation.
    """
    frame = sf.frame
    if sf.implicit_fields:
        # the format's own attributes (XPlanGML) beneath what the configuration maps
        src = replace(src, fields=MappingProxyType({**sf.implicit_fields, **src.fields}))
    key_column = src.fields.get(layer.key, layer.key)
    generated = key_column not in frame.columns and layer.key not in src.values
    if generated:
        frame = frame.copy()
        frame[key_column] = generated_ids(src.id, frame.index)
    ids = (
        _as_text(frame[key_column])
        if key_column in frame.columns
        else pd.Series(pd.NA, index=frame.index, dtype="string")
    )
    ctx = _Ctx(src, sf, issues, ids)
    if generated and len(frame):
        ctx.log_source(
            "generated-id",
            f"{ctx.where} has no field {key_column!r} for {layer.key}: each feature's {layer.key} is "
            f"'{src.id}/<FID>' (e.g. {ids.iloc[0]!r}). Map an identifier field with fields.{layer.key} "
            "where the delivery has one.",
            value=layer.key,
        )
    n_read = len(frame)
    held = sf.held if sf.held >= 0 else n_read + len(sf.unreadable)
    _reading(ctx)

    if len(sf.excluded):
        ctx.log("filtered", sf.excluded, f"Excluded by the configuration's filter where = {src.where!r}.")
        frame = frame.drop(index=sf.excluded)
    deselected = np.setdiff1d(sf.deselected, sf.excluded)
    if len(deselected):
        names = frame.loc[deselected, "xplan_plan_name"].astype("string").fillna("(no plan)")
        ctx.log(
            "filtered",
            deselected,
            [f"Area of plan {n!r}, not one of plans = {list(src.plans)}." for n in names],
            field="plan_name",
            values=names,
        )
        frame = frame.drop(index=deselected)

    for canonical, column in sf.missing_fields:
        own = isinstance(src, SourceConfig) and src.expanded_from and canonical in src.own_fields
        by = (
            f"by source {src.expanded_from!r} for all layers of its source_layers"
            if own
            else "by the configuration's defaults"
        )
        ctx.log_source(
            "missing-field",
            f"{ctx.where} has no field {column!r} (mapped to {canonical} {by}); {canonical} is empty for this source.",
            value=column,
        )
    if sf.linearised is not None:
        frame = _linearised(ctx, frame, sf.linearised)

    source_crs = _source_crs(ctx)
    frame = frame.set_crs(source_crs, allow_override=True)
    frame = _coordinates(ctx, frame, source_crs)
    frame = _unclosed_rings(ctx, frame)
    frame = _geometry(ctx, frame)

    raw_geoms = np.asarray(frame.geometry.array, dtype=object)
    choice = (
        choose_transformation(source_crs, settings.crs, bounds=geographic_bounds(raw_geoms, source_crs))
        if len(frame)
        else None
    )
    if choice is not None and not choice.is_identity:
        accuracy = "unknown" if choice.accuracy is None else f"{choice.accuracy:g} m"
        ctx.log_source(
            "crs-transformation",
            f"Reprojected {source_crs.name} → {settings.crs.name} with {choice.description} (accuracy {accuracy}).",
            value=choice.description,
        )
        if choice.missing_grids:
            ctx.log_source(
                "missing-grid",
                f"A more accurate transformation ({choice.better_accuracy:g} m) needs grid(s) "
                f"{', '.join(choice.missing_grids)}, not installed; install Debian's proj-data or put the grid "
                "into a folder named in district.grid_dirs.",
                value=", ".join(choice.missing_grids),
            )
        geoms = reproject(raw_geoms, choice)
        frame = frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=settings.crs))
    else:
        frame = frame.to_crs(settings.crs) if len(frame) else frame.set_crs(settings.crs, allow_override=True)
    untransformable = _non_finite(np.asarray(frame.geometry.array, dtype=object), limit=np.inf)
    if untransformable.any():
        ctx.log(
            "invalid-coordinates",
            frame.index[untransformable],
            f"The coordinates cannot be transformed from {source_crs.name} into the district CRS.",
        )
        raw_geoms = raw_geoms[~untransformable]
        frame = frame.loc[~untransformable]

    checked = _outside(ctx, frame, boundary, settings, raw_geoms, source_crs=source_crs)
    if checked is None:
        return Harmonised(empty_layer(layer, settings.crs), n_read, choice, held, len(sf.unreadable))
    frame = checked

    attrs, reject = _attributes(ctx, frame, layer, schema, scheme=settings.code_scheme)
    if layer.name != BOUNDARY_LAYER:  # a municipality's boundary parts are united below, not rejected
        reject |= _duplicate_keys(ctx, frame, attrs[layer.key], layer, reject)

    keep = ~reject
    out = attrs.loc[keep].copy()
    geoms = np.asarray(frame.geometry.array, dtype=object)[keep]
    out["source_id"] = pd.Series(src.id, index=out.index, dtype="string")
    out["source_layer"] = pd.Series(sf.layer_name, index=out.index, dtype="string")
    out["source_fid"] = pd.Series(out.index.to_numpy(), index=out.index, dtype="Int64")
    out["source_hash"] = pd.Series(sf.content_hash, index=out.index, dtype="string")
    result = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(shapely_to_multi(geoms), index=out.index), crs=settings.crs)

    if layer.name == "parcels" and len(result):
        _area_findings(ctx, result, settings.area_tolerance)
    united = 0
    if layer.name == BOUNDARY_LAYER:
        result, united = _unite_boundary_parts(ctx, result)
    return Harmonised(result, n_read, choice, held, len(sf.unreadable), united)


def _duplicate_keys(
    ctx: _Ctx, frame: gpd.GeoDataFrame, keys: pd.Series, layer: LayerDef, reject: np.ndarray
) -> np.ndarray:
    """Mask of features whose key an earlier feature of the delivery has (``duplicate-id``; the first is kept)."""
    compared = register_key(keys) if layer.name in POINT_LAYERS else keys
    dup: np.ndarray = compared.duplicated(keep="first").to_numpy() & keys.notna().to_numpy() & ~reject
    first = pd.Series(keys.to_numpy(), index=compared.to_numpy()).groupby(level=0).first()
    ctx.log(
        "duplicate-id",
        frame.index[dup],
        [
            f"{layer.key} {k!r} occurs more than once in this delivery"
            + (f" (as {first[c]!r}: {_SAME_REGISTER_ID})" if first[c] != k else "")
            + "; the first is kept."
            for k, c in zip(keys[dup], compared[dup], strict=True)
        ],
        field=layer.key,
        values=keys[dup],
    )
    return dup


def _areas_text(areas: np.ndarray, *, show: int = 5) -> str:
    """The areas of a municipality's boundary parts, in hectares: all of a few, the largest of many.

    Every part's entry carries this text: listing 1,687 parts (a boundary file of parcels) in each of 1,687
    entries made a 70 MB issue log.
    """
    if len(areas) <= show:
        return ", ".join(f"{a / 10_000:,.1f} ha" for a in areas)
    largest = np.sort(areas)[::-1][:show]
    return (
        ", ".join(f"{a / 10_000:,.1f} ha" for a in largest)
        + f" and {len(areas) - show:,d} smaller, {areas.sum() / 10_000:,.1f} ha in all"
    )


def _unite_boundary_parts(ctx: _Ctx, boundaries: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int]:
    """One feature per municipality: the features of one AGS are united (the first feature's row is kept).

    A file of several municipalities (``ags_field``) with more than one feature for an AGS gets a
    ``duplicate-boundary`` warning naming their areas; a municipality's own boundary file is its boundary
    as a whole, however many features it has. Returns the united frame and how many features were united
    into another.
    """
    if boundaries.empty or boundaries["ags"].is_unique:
        return boundaries, 0
    geoms = np.asarray(boundaries.geometry.array, dtype=object)
    codes = boundaries["ags"].astype(str).to_numpy()
    first = ~pd.Series(codes).duplicated(keep="first").to_numpy()
    firsts = np.flatnonzero(first)
    united = geoms[firsts].copy()
    for j, i in enumerate(firsts):
        part = codes == codes[i]
        if part.sum() < 2:
            continue
        united[j] = shapely.union_all(geoms[part])
        if ctx.src.ags_field:
            areas = _areas_text(shapely.area(geoms[part]))
            name = boundaries["name"].iloc[i]
            ctx.log(
                "duplicate-boundary",
                boundaries.index[part],
                f"{ctx.src.path.name}: {int(part.sum()):,d} features carry {ctx.src.ags_field} = {codes[i]} "
                f"({name}; areas {areas}); their union is the municipality's boundary. "
                "If one belongs to another municipality, correct its AGS in the boundary file.",
                field=ctx.src.ags_field,
                values=[codes[i]] * int(part.sum()),
            )
    out = boundaries.loc[first].copy()
    out = out.set_geometry(gpd.GeoSeries(shapely_to_multi(united), index=out.index, crs=boundaries.crs))
    return out, len(boundaries) - len(out)


def harmonise_shared_source(
    sf: SourceFrame,
    src: SourceConfig,
    *,
    municipalities: Sequence[MunicipalityConfig],
    schema: Schema,
    settings: HarmoniseSettings,
    boundaries: Mapping[str, Any],
    issues: IssueLog,
    serves: Sequence[str] | None = None,
) -> Harmonised:
    """A file for several municipalities: each feature goes to the municipality its ``ags_field`` names.

    Features of a code that is no municipality of the district are logged once per code with their count
    (``outside-district``), features without a code once per feature (``missing-value``). `serves` limits
    the file to some municipalities (a boundary file for those without their own): features of the others
    are ``filtered``. Each municipality's features are harmonised as its own delivery
    (:func:`harmonise_source`); what reading found about the whole file is logged once.
    """
    frame = sf.frame
    codes, padded, _ = normalise_codes(frame[src.ags_field], scheme=settings.code_scheme)
    text = codes.fillna("").astype(str)

    def log(issue_type: str, mask: np.ndarray, messages: str, **more: Any) -> None:
        """One issue per feature of `mask`, naming its municipality code."""
        if mask.any():
            issues.add_many(
                issue_type,
                ags=more.pop("ags", text[mask].tolist()),
                source_id=src.id,
                layer=src.layer,
                source_fids=frame.index[mask].tolist(),
                messages=messages,
                **more,
            )

    log("repaired-value", padded, AGS_RESTORED, field=src.ags_field, values=[c[1:] for c in text[padded]])
    excluded = frame.index.isin(sf.excluded)
    log("filtered", excluded, f"Excluded by the configuration's filter where = {src.where!r}.")
    by_ags = {m.ags: m for m in municipalities}
    district = list(by_ags)
    wanted = district if serves is None else list(serves)
    elsewhere = codes.isin(set(district) - set(wanted)).fillna(False).to_numpy() & ~excluded
    log(
        "filtered",
        elsewhere,
        f"Not read from {src.path.name}: the configuration takes this municipality's {src.layer} from elsewhere "
        "(its own boundary, or boundary = false).",
        feature_ids=text[elsewhere].tolist(),
    )
    excluded = excluded | elsewhere
    missing = codes.isna().to_numpy() & ~excluded
    log(
        "missing-value",
        missing,
        f"No municipality code in {src.ags_field}: the feature belongs to no municipality.",
        ags=None,
        field=src.ags_field,
    )
    foreign = codes.notna().to_numpy() & ~codes.isin(district).fillna(False).to_numpy() & ~excluded
    for code, count in codes[foreign].value_counts().sort_index().items():
        issues.add(
            "outside-district",
            ags=str(code),
            source_id=src.id,
            layer=src.layer,
            field=src.ags_field,
            value=str(int(count)),
            message=(
                f"{int(count)} features of {src.path.name} have {src.ags_field} = {code!r}, no municipality of "
                "the district; not read. Add the municipality to the configuration if it belongs to the district."
            ),
        )
    _reading(_Ctx(src, sf, issues, pd.Series(dtype="string")))
    frames: list[gpd.GeoDataFrame] = []
    transformation = None
    united = 0
    for ags in wanted:
        part = (codes == ags).fillna(False).to_numpy() & ~excluded
        if not part.any():
            continue
        # what reading found about the whole file is logged once, above, not once per municipality
        sub = replace(
            sf,
            frame=frame.loc[part],
            excluded=np.array([], dtype=np.int64),
            unreadable=(),
            warnings=(),
            encoding_note=None,
        )
        result = harmonise_source(
            sub,
            for_municipality(src, by_ags[ags]),
            layer=schema.layer(src.layer),
            schema=schema,
            settings=settings,
            boundary=boundaries.get(ags),
            issues=issues,
        )
        frames.append(result.frame)
        transformation = transformation or result.transformation
        united += result.united
    frames = [f for f in frames if len(f)]
    merged = (
        gpd.GeoDataFrame(pd.concat(frames), geometry="geometry", crs=settings.crs)
        if frames
        else empty_layer(schema.layer(src.layer), settings.crs)
    )
    held = sf.held if sf.held >= 0 else len(frame) + len(sf.unreadable)
    return Harmonised(merged, len(frame), transformation, held, len(sf.unreadable), united)


def for_municipality(src: SourceConfig, m: MunicipalityConfig) -> SourceConfig:
    """`src` as the delivery of municipality `m`: a boundary source also gets the municipality's own facts.

    Examples
    --------
    >>> from pathlib import Path
    >>> from flaechen.config import MunicipalityConfig
    >>> m = MunicipalityConfig(ags="07999101", name="Ahausen", population=1200, boundary=None, sources=())
    >>> src = SourceConfig(id="boundaries", layer="municipalities", path=Path("b.geojson"), ags="")
    >>> dict(for_municipality(src, m).values)
    {'ags': '07999101', 'name': 'Ahausen', 'population': 1200}
    """
    if src.layer != BOUNDARY_LAYER:
        return replace(src, ags=m.ags)
    values = {**src.values, "ags": m.ags, "name": m.name, "population": m.population}
    return replace(src, ags=m.ags, values=MappingProxyType(values))


def register_key(ids: pd.Series) -> pd.Series:
    """Register ids compared as one where they differ only by case, spaces or leading zeros of numbers.

    Examples
    --------
    >>> register_key(pd.Series(["0137", "137", " bf-07 ", "BF-7", "BF 10"])).tolist()
    ['137', '137', 'bf-7', 'bf-7', 'bf10']
    """
    text = ids.astype("string").str.casefold().str.replace(r"\s+", "", regex=True)
    return text.str.replace(r"(?<!\d)0+(?=\d)", "", regex=True)


def generated_ids(source_id: str, fids: pd.Index) -> pd.Series:
    """Keys for a source without an identifier field: ``<source id>/<FID>``.

    Stable for as long as the delivered file is the same (GDAL's FID is the GeoPackage row id, the
    Shapefile record number, the GML feature's position).

    Examples
    --------
    >>> generated_ids("07999001-buildings", pd.Index([1, 2])).tolist()
    ['07999001-buildings/1', '07999001-buildings/2']
    """
    return pd.Series([f"{source_id}/{int(f)}" for f in fids], index=fids, dtype="string")


def shapely_to_multi(geoms: np.ndarray) -> np.ndarray:
    """Promote polygons to multipolygons so a layer has one geometry type."""
    geoms = np.array(geoms, dtype=object)
    single = shapely.get_type_id(geoms) == 3
    if single.any():
        parts, index = shapely.get_parts(geoms[single], return_index=True)
        geoms[single] = shapely.multipolygons(parts, indices=index)
    return geoms


def _area_findings(ctx: _Ctx, parcels: gpd.GeoDataFrame, tolerance: float) -> None:
    official = parcels["official_area"].astype("Float64")
    computed = shapely.area(np.asarray(parcels.geometry.array, dtype=object))
    ratio = computed / official.to_numpy(dtype=float, na_value=np.nan)
    deviates = np.abs(ratio - 1.0) > tolerance
    deviates &= np.isfinite(ratio)
    if deviates.any():
        ctx.log(
            "area-deviation",
            parcels.index[deviates],
            [
                f"Computed area {c:,.1f} m² deviates {r - 1:+.2%} from the official {o:,.1f} m² "
                f"(tolerance {tolerance:.1%})."
                for c, r, o in zip(
                    computed[deviates],
                    ratio[deviates],
                    official.to_numpy(dtype=float, na_value=np.nan)[deviates],
                    strict=True,
                )
            ],
            field="official_area",
            values=[f"{r:.4f}" for r in ratio[deviates]],
        )


def empty_layer(layer: LayerDef, crs: CRS) -> gpd.GeoDataFrame:
    """An empty canonical layer with typed columns (a layer no source delivered)."""
    columns: dict[str, Any] = {f.name: pd.Series(dtype=f.dtype) for f in layer.fields}
    columns.update(
        {
            "source_id": pd.Series(dtype="string"),
            "source_layer": pd.Series(dtype="string"),
            "source_fid": pd.Series(dtype="Int64"),
            "source_hash": pd.Series(dtype="string"),
        }
    )
    return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def canonical_columns(layer: LayerDef) -> list[str]:
    """Column order of a canonical layer: its fields, then provenance, then geometry."""
    return [*layer.field_names, *PROVENANCE_FIELDS, "geometry"]
