"""Reading declared sources with pyogrio (GDAL, Arrow): one I/O engine for every format GDAL reads.

This is the input edge of the pipeline: it turns a :class:`~flaechen.config.SourceConfig` into a raw
GeoDataFrame indexed by the source's feature id (GDAL FID), with the file's CRS and a content hash, and
turns every way a delivery can be unreadable into one clear :class:`~flaechen.errors.SourceError`.
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import logging
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.raw
import shapely
from pyogrio.errors import DataLayerError, DataSourceError, FieldError
from pyproj import CRS

from flaechen.config import BoundaryConfig, SourceConfig
from flaechen.crs import adv_crs, gml_srs_name, resolve_crs
from flaechen.curves import DEFAULT_MAX_DEVIATION, linearise_wkb, wkb_type_name
from flaechen.errors import CRSError, SourceError
from flaechen.landuse import normalise_use
from flaechen.xplan import XPLAN_OPEN_OPTIONS, attach_plans, implicit_fields, read_plans, select_plans, xplan_version

log = logging.getLogger(__name__)

_GML_SUFFIXES = {".gml", ".xml"}
_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg")

Declared = SourceConfig | BoundaryConfig


@dataclass(frozen=True)
class SourceFrame:
    """A source as read: raw columns, FID index, the CRS the file states, provenance facts."""

    frame: gpd.GeoDataFrame
    layer_name: str
    file_crs: CRS | None
    content_hash: str
    excluded: np.ndarray
    """FIDs the configured filter (``where``) excluded."""
    implicit_fields: Mapping[str, str] = field(default_factory=dict)
    """Canonical field → source field the format itself defines (XPlanGML), beneath the configured ones."""
    deselected: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    """FIDs of areas of XPlanGML plans the source's ``plans`` does not select."""
    missing_fields: tuple[tuple[str, str], ...] = ()
    """(canonical field, source field) of inherited mappings the layer lacks: left empty, logged once."""
    linearised: Linearisation | None = None
    """Where the source holds circular arcs: what their linearisation did."""


@dataclass(frozen=True)
class Linearisation:
    """What linearising a source's circular arcs did (see :mod:`flaechen.curves`)."""

    max_deviation: float
    """Largest distance between arc and polyline, in the source's units."""
    curved: np.ndarray
    """FIDs of the features that held arcs."""
    area_change: np.ndarray
    """Relative change of area per curved feature (same order as `curved`)."""
    unclosed: np.ndarray
    """FIDs with a ring whose end did not meet its start (closed on reading)."""
    unparsable: dict[int, str]
    """FID → why its geometry cannot be read (it has none in the frame)."""


@contextmanager
def _gdal_warnings(where: str) -> Iterator[None]:
    """Keep GDAL's warnings (through pyogrio) off the terminal: each distinct one is logged once, naming `where`.

    E.g. NAS read by the GML driver: "Field with same name (identifier) already exists".
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for text in dict.fromkeys(" ".join(str(w.message).split()) for w in caught):
        log.debug("%s: %s", where, text)


def _open_options(src: Declared) -> dict[str, Any]:
    options: dict[str, Any] = dict(src.open_options)
    if xplan_version(src.path):
        # keep XPlanGML's relations (gehoertZuBereich …) as fields: each area finds its own plan
        options = {**XPLAN_OPEN_OPTIONS, **options}
    if src.path.suffix.lower() in _GML_SUFFIXES:
        # GDAL's GML driver writes a .gfs file beside the source unless told not to: never write there.
        options.setdefault("WRITE_GFS", "NO")
    return options


def _label(src: Declared) -> str:
    return f"{src.key} ({src.path})"


def list_source_layers(path: Path) -> list[str]:
    """Layer names of a file, without writing anything beside it (GML is listed from a temporary copy)."""
    with _gdal_warnings(str(path)):
        return _list_source_layers(path)


def _list_source_layers(path: Path) -> list[str]:
    if path.suffix.lower() in _GML_SUFFIXES:
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / path.name
            shutil.copyfile(path, copy)
            return [str(name) for name, _ in pyogrio.list_layers(copy)]
    return [str(name) for name, _ in pyogrio.list_layers(path)]


def _resolve_layer(src: Declared) -> str | None:
    if not src.path.exists():
        raise SourceError(
            f"{_label(src)}: file not found. Fix `path` (relative to the configuration's folder) "
            "or put the delivery there."
        )
    if src.source_layer:
        return src.source_layer
    try:
        layers = list_source_layers(src.path)
    except DataSourceError as exc:
        raise _unreadable(src, exc) from None
    if len(layers) > 1:
        raise SourceError(
            f"{_label(src)}: the file holds {len(layers)} layers ({', '.join(layers)}); "
            "name the one to read with `source_layer`."
        )
    return layers[0] if layers else None


def _unreadable(src: Declared, exc: Exception) -> SourceError:
    return SourceError(
        f"{_label(src)}: GDAL cannot read the file ({exc}). Is it complete and of the format its "
        "extension says? Ask the municipality for a new delivery."
    )


def inspect_source(src: Declared) -> dict[str, Any]:
    """Open a source's layer and check the declared settings against it (see :func:`_inspect_source`)."""
    with _gdal_warnings(_label(src)):
        return _inspect_source(src)


def _inspect_source(src: Declared) -> dict[str, Any]:
    """Open a source's layer and check the declared settings against it, without reading features.

    Returns pyogrio's layer information (fields, CRS, feature count, …) plus ``layer_name``.

    Raises
    ------
    SourceError
        Missing file, unknown layer, corrupt file, or a mapped field that the layer does not have.
    CRSError
        The file has no CRS and the configuration declares none, or the file's CRS cannot be resolved.
    """
    layer = _resolve_layer(src)
    try:
        info = pyogrio.read_info(src.path, layer=layer, encoding=src.encoding, **_open_options(src))
    except DataLayerError:
        try:
            known = list_source_layers(src.path)
        except DataSourceError:
            known = []
        hint = difflib.get_close_matches(str(layer), known, n=1)
        raise SourceError(
            f"{_label(src)}: no layer {layer!r} in the file"
            + (f"; did you mean {hint[0]!r}?" if hint else ".")
            + f" Layers: {', '.join(known) or 'none'}. Fix `source_layer`."
        ) from None
    except DataSourceError as exc:
        raise _unreadable(src, exc) from None
    fields = [str(f) for f in info["fields"]]
    mapped: list[str] = []
    info["missing_fields"] = ()
    if isinstance(src, SourceConfig) and src.ags_field and src.ags_field not in fields:
        close = difflib.get_close_matches(src.ags_field, fields, n=1)
        raise SourceError(
            f"{_label(src)}, layer {info.get('layer_name') or layer!r}: ags_field {src.ags_field!r} is not in "
            "the layer" + (f" (did you mean {close[0]!r}?)" if close else "") + f". Its fields: {', '.join(fields)}."
        )
    if isinstance(src, SourceConfig) and src.x_field:
        lacking = [f for f in (src.x_field, src.y_field) if f not in fields]
        if lacking:
            raise SourceError(
                f"{_label(src)}, layer {info.get('layer_name') or layer!r}: coordinate field(s) "
                f"{', '.join(map(repr, lacking))} not in the table. Its fields: {', '.join(fields)}. "
                "Fix `x_field` / `y_field`."
            )
    if isinstance(src, SourceConfig):
        # a mapping inherited from defaults (or shared by the layers of source_layers) that this file lacks
        # leaves the field empty: real deliveries omit attributes they do not set (XPlanGML)
        inherited = {
            canonical: str(column)
            for canonical, column in src.fields.items()
            if str(column) not in fields and (canonical not in src.own_fields or src.expanded_from)
        }
        info["missing_fields"] = tuple(sorted(inherited.items()))
        mapped = [str(v) for k, v in src.fields.items() if k not in inherited]
    else:
        mapped = [f for f in (src.ags_field, src.name_field) if f]
    missing = [m for m in mapped if m not in fields]
    if missing:
        problems = []
        for m in missing:
            close = difflib.get_close_matches(m, fields, n=1, cutoff=0.6) or [
                f for f in fields if f.lower() == m.lower()
            ]
            problems.append(f"{m!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise SourceError(
            f"{_label(src)}, layer {info.get('layer_name') or layer!r}: mapped field(s) "
            f"{', '.join(problems)} not in the layer. Its fields: {', '.join(fields)}. Fix `fields`."
        )
    points_table = isinstance(src, SourceConfig) and bool(src.x_field)
    if info.get("geometry_type") is None and not points_table:
        raise SourceError(
            f"{_label(src)}: layer {info.get('layer_name') or layer!r} holds no geometry (a table of "
            f"{', '.join(fields[:8])}{' …' if len(fields) > 8 else ''}). Name a spatial layer with source_layer, "
            "or the coordinate columns of a table of points with x_field and y_field."
        )
    if info.get("crs") is None and src.path.suffix.lower() in _GML_SUFFIXES:
        # GDAL leaves the CRS empty where it cannot resolve the file's srsName (urn:adv:crs:ETRS89_UTM32)
        name = gml_srs_name(src.path)
        if name and adv_crs(name):
            info["crs"] = adv_crs(name)
            info["crs_name"] = name
    if info.get("crs") is None and src.crs is None:
        raise CRSError(
            f"{_label(src)}: the file carries no CRS and the configuration declares none. "
            f'Add crs = "EPSG:…" to {src.key} (ask the municipality which system the coordinates are in).'
        )
    if info.get("crs") is not None:
        resolve_crs(info["crs"], where=_label(src))
    info["layer_name"] = layer or (info.get("layer_name") if "layer_name" in info else None)
    return dict(info)


def expand_source(src: SourceConfig) -> tuple[list[SourceConfig], list[str]]:
    """The sources one declared source stands for: itself, or one per layer its ``source_layers`` match.

    Each matched layer becomes a source of its own (id ``<id>/<layer>``, so the accounting and the issue
    log name the layer). For ``land_use`` the layer name gives ``use`` where no mapping does (``AX_Wald``);
    layers a pattern matches that are no land-use class (``AX_Flurstueck`` for ``AX_*``) are skipped and
    returned as the second element. Named layers (no pattern) are always read.

    Raises
    ------
    SourceError
        Missing file, or a name or pattern that matches no layer of the file (naming the layers it holds).
    """
    if not src.source_layers:
        return [src], []
    if not src.path.exists():
        raise SourceError(
            f"{_label(src)}: file not found. Fix `path` (relative to the configuration's folder) "
            "or put the delivery there."
        )
    try:
        layers = list_source_layers(src.path)
    except DataSourceError as exc:
        raise _unreadable(src, exc) from None
    chosen: list[str] = []
    skipped: list[str] = []
    for pattern in src.source_layers:
        is_pattern = any(ch in pattern for ch in "*?[")
        hits = fnmatch.filter(layers, pattern) if is_pattern else [n for n in layers if n == pattern]
        if not hits:
            hint = difflib.get_close_matches(pattern, layers, n=1)
            raise SourceError(
                f"{_label(src)}: source_layers entry {pattern!r} matches no layer of the file"
                + (f"; did you mean {hint[0]!r}?" if hint else "")
                + f" Layers: {', '.join(layers) or 'none'}. Fix `source_layers`."
            )
        for name in hits:
            if name in chosen:
                continue
            if is_pattern and src.layer == "land_use" and normalise_use(name) is None:
                skipped.append(name)
                continue
            chosen.append(name)
    out = []
    for name in chosen:
        values = dict(src.values)
        if src.layer == "land_use" and "use" not in src.fields and "use" not in values:
            values["use"] = name
        out.append(
            replace(
                src,
                id=f"{src.id}/{name}",
                source_layer=name,
                source_layers=(),
                expanded_from=src.id,
                values=MappingProxyType(values),
                key=f"{src.key} (layer {name})",
            )
        )
    return out, [n for n in dict.fromkeys(skipped) if n not in chosen]


def content_hash(path: Path) -> str:
    """SHA-256 of a source file (with a Shapefile's sidecar files), to tell deliveries apart."""
    digest = hashlib.sha256()
    paths = [path]
    if path.suffix.lower() == ".shp":
        paths = [p for p in (path.with_suffix(s) for s in _SIDECARS) if p.exists()]
    for p in paths:
        with p.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def read_source(src: Declared) -> SourceFrame:
    """Read every feature of a declared source, indexed by its FID (see :func:`_read_source`)."""
    with _gdal_warnings(_label(src)):
        return _read_source(src)


def _read_source(src: Declared) -> SourceFrame:
    """Read every feature of a declared source, indexed by its FID.

    Features the configured filter (``where``) excludes are read too, and their FIDs returned in
    ``excluded``, so the harmonising step can log them: nothing is lost in silence.
    """
    info = inspect_source(src)
    layer = info["layer_name"]
    options = _open_options(src)
    linearised = None
    try:
        try:
            frame = pyogrio.read_dataframe(
                src.path, layer=layer, encoding=src.encoding, fid_as_index=True, use_arrow=True, **options
            )
        except (NotImplementedError, shapely.errors.GEOSException):
            # arcs ("Nonlinear geometry types are not currently supported"), or WKB GEOS refuses (an unclosed
            # ring): flaechen.curves reads the WKB itself, closing rings and linearising arcs, and says so
            frame, linearised = read_curved(src, layer=layer, options=options, info=info)
        if isinstance(src, SourceConfig) and src.x_field and src.y_field:
            frame = points_from_columns(frame, x=src.x_field, y=src.y_field)
        implicit: dict[str, str] = {}
        deselected = np.array([], dtype=np.int64)
        if isinstance(src, SourceConfig) and src.layer == "zoning" and xplan_version(src.path):
            frame, implicit, deselected = _xplan(src, frame, layer=str(layer), options=options)
        excluded = np.array([], dtype=np.int64)
        if src.where:
            # All columns: GDAL evaluates a filter on ignored fields as NULL, so `columns=[]` would
            # silently exclude every feature.
            kept = pyogrio.read_dataframe(
                src.path,
                layer=layer,
                encoding=src.encoding,
                fid_as_index=True,
                read_geometry=False,
                where=src.where,
                **options,
            ).index
            excluded = np.setdiff1d(frame.index.to_numpy(), kept.to_numpy())
    except (FieldError, DataLayerError) as exc:
        raise SourceError(f"{_label(src)}: the filter where = {src.where!r} is invalid ({exc}). Fix `where`.") from None
    except DataSourceError as exc:
        raise _unreadable(src, exc) from None
    if not isinstance(frame, gpd.GeoDataFrame):
        raise SourceError(
            f"{_label(src)}: layer {layer!r} has no geometry; name a spatial layer, or the columns of a table "
            "of points with x_field and y_field."
        )
    frame.index = frame.index.astype(np.int64)
    frame.index.name = "fid"
    file_crs = resolve_crs(info["crs"], where=_label(src)) if info.get("crs") else None
    log.info("read %s: %d features from %s", getattr(src, "id", src.key), len(frame), src.path.name)
    return SourceFrame(
        frame=frame,
        layer_name=str(layer or info.get("layer_name") or src.path.stem),
        file_crs=file_crs,
        content_hash=content_hash(src.path),
        excluded=excluded,
        missing_fields=tuple(info.get("missing_fields", ())),
        implicit_fields=MappingProxyType(implicit),
        deselected=deselected,
        linearised=linearised,
    )


def check_where(src: Declared) -> None:
    """Raise a :class:`~flaechen.errors.SourceError` where the source's filter (``where``) is not valid OGR SQL.

    Evaluated on the first feature only, so that `flaechen check` finds it without reading the source.
    """
    if not src.where:
        return
    info = inspect_source(src)
    try:
        with _gdal_warnings(_label(src)):
            pyogrio.read_dataframe(
                src.path,
                layer=info["layer_name"],
                encoding=src.encoding,
                read_geometry=False,
                where=src.where,
                max_features=1,
                **_open_options(src),
            )
    except Exception as exc:  # every way GDAL rejects a filter
        raise SourceError(
            f"{_label(src)}: the filter where = {src.where!r} is invalid ({exc}). Fields of the layer: "
            f"{', '.join(map(str, info['fields']))}. Fix `where` (OGR SQL, text in single quotes)."
        ) from None


def check_plans(src: SourceConfig) -> pd.DataFrame:
    """The plans of an XPlanGML source (:func:`flaechen.xplan.read_plans`), checked against its ``plans``.

    Raises
    ------
    SourceError
        A ``plans`` entry that names no plan of the file (listing the plans it holds).
    """
    plans = read_plans(src.path, options=dict(src.open_options))
    held = [f"{r.name} ({r.number})" if r.number else str(r.name) for r in plans.drop_duplicates("plan").itertuples()]
    named = plans.rename(columns={"name": "xplan_plan_name", "number": "xplan_plan_number"})
    for wanted in src.plans:
        if not select_plans(named, (wanted,)).any():
            raise SourceError(
                f"{_label(src)}: plans entry {wanted!r} names no plan of the file. Its plans: "
                f"{', '.join(held) or 'none'}. Fix `plans` (a plan's name or number)."
            )
    return plans


def _xplan(
    src: SourceConfig, frame: gpd.GeoDataFrame, *, layer: str, options: dict[str, Any]
) -> tuple[gpd.GeoDataFrame, dict[str, str], np.ndarray]:
    """XPlanGML: each area's own plan, the standard's attribute mapping, the plans the source selects."""
    plans = check_plans(src)
    frame = attach_plans(frame, plans, layer=layer)
    deselected = np.array([], dtype=np.int64)
    if src.plans:
        deselected = frame.index[~select_plans(frame, src.plans)].to_numpy(dtype=np.int64)
    return frame, implicit_fields(frame.columns), deselected


def points_from_columns(frame: pd.DataFrame, *, x: str, y: str) -> gpd.GeoDataFrame:
    """Points from two coordinate columns (text or numbers, German decimal commas too).

    A row whose coordinates are empty or not numbers gets no geometry (the geometry check logs it);
    a geometry the file carried besides is replaced.

    Examples
    --------
    >>> points_from_columns(pd.DataFrame({"lon": ["7,1", None], "lat": [50.5, 51]}), x="lon", y="lat").geometry.tolist()
    [<POINT (7.1 50.5)>, None]
    """

    def number(column: str) -> np.ndarray:
        text = frame[column].astype("string").str.strip().str.replace(",", ".", regex=False)
        values: np.ndarray = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        return values

    xs, ys = number(x), number(y)
    ok = np.isfinite(xs) & np.isfinite(ys)
    geoms = np.full(len(frame), None, dtype=object)
    geoms[ok] = shapely.points(xs[ok], ys[ok])
    data = pd.DataFrame(frame.drop(columns=frame.geometry.name) if isinstance(frame, gpd.GeoDataFrame) else frame)
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, index=frame.index))


def _max_deviation(src: Declared, info: dict[str, Any]) -> float:
    """The configured deviation in metres, in the source's units (degrees for geographic coordinates)."""
    metres = getattr(src, "arc_max_deviation", None) or DEFAULT_MAX_DEVIATION
    crs = src.crs or info.get("crs")
    try:
        geographic = crs is not None and resolve_crs(crs, where=_label(src)).is_geographic
    except CRSError:
        geographic = False
    return metres / 111_320.0 if geographic else metres


def read_curved(
    src: Declared, *, layer: str | None, options: dict[str, Any], info: dict[str, Any]
) -> tuple[gpd.GeoDataFrame, Linearisation]:
    """Read a layer with circular arcs: attributes through Arrow, the ISO WKB linearised by flaechen.curves.

    pyogrio hands curved WKB to shapely, which cannot parse it; GDAL's own stroking knows only an angle
    step. The WKB is therefore taken from GDAL's Arrow stream as it is and linearised with a bound in
    metres (``arc_max_deviation``).
    """
    frame = pyogrio.read_dataframe(
        src.path,
        layer=layer,
        encoding=src.encoding,
        fid_as_index=True,
        use_arrow=True,
        read_geometry=False,
        **options,
    )
    meta, table = pyogrio.raw.read_arrow(
        src.path, layer=layer, encoding=src.encoding, columns=[], return_fids=True, **options
    )
    fid_name = meta.get("fid_column") or "OGC_FID"
    geometry_name = meta.get("geometry_name") or "wkb_geometry"
    fids = np.asarray(table.column(fid_name).to_numpy(zero_copy_only=False), dtype=np.int64)
    deviation = _max_deviation(src, info)
    result = linearise_wkb(table.column(geometry_name).to_pylist(), max_deviation=deviation)
    geometries = pd.Series(result.geometries, index=fids).reindex(frame.index.astype(np.int64))
    crs = info.get("crs")
    out = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometries.to_numpy(), index=frame.index), crs=crs)
    unparsable = {
        int(fids[i]): f"its {wkb_type_name(table.column(geometry_name)[i].as_py())} geometry cannot be read ({msg})"
        for i, msg in result.errors.items()
    }
    log.info(
        "%s: %d features with circular arcs linearised within %g (largest area change %.4f %%)",
        getattr(src, "id", src.key),
        int(result.curved.sum()),
        deviation,
        100 * float(result.area_change.max(initial=0.0)),
    )
    return out, Linearisation(
        max_deviation=deviation,
        curved=fids[result.curved],
        area_change=result.area_change[result.curved],
        unclosed=fids[result.unclosed > 0],
        unparsable=unparsable,
    )
