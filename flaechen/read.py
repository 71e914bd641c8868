"""Reading declared sources with pyogrio (GDAL, Arrow): one I/O engine for every format GDAL reads.

This is the input edge of the pipeline: it turns a :class:`~flaechen.config.SourceConfig` into a raw
GeoDataFrame indexed by the source's feature id (GDAL FID), with the file's CRS and a content hash, and
turns every way a delivery can be unreadable into one clear :class:`~flaechen.errors.SourceError`.

Nothing is lost in silence: the reader counts what the source holds by itself (the layer's feature
count, forced where the driver does not know it) and compares it with what it read. A read that stops
early (a corrupt page in a GeoPackage, a record GDAL cannot parse) is resumed past the bad feature, and
every feature that could not be read is returned in ``SourceFrame.unreadable`` with its position or FID
and GDAL's message. Geometries GEOS cannot parse (an unclosed ring) are returned repaired where that is
possible (``SourceFrame.unclosed``) so the geometry policy decides about them; warnings GDAL and the
libraries emit while reading are collected in ``SourceFrame.warnings`` instead of reaching the terminal.
"""

from __future__ import annotations

import codecs
import difflib
import fnmatch
import hashlib
import logging
import re
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
from pyogrio.errors import DataLayerError, DataSourceError
from pyproj import CRS

from flaechen.config import BoundaryConfig, SourceConfig
from flaechen.crs import adv_crs, gml_srs_name, resolve_crs
from flaechen.curves import DEFAULT_MAX_DEVIATION, linearise_wkb, wkb_type_name
from flaechen.errors import CRSError, SourceError
from flaechen.landuse import normalise_use
from flaechen.xplan import (
    XPLAN_OPEN_OPTIONS,
    attach_plans,
    implicit_fields,
    plan_type_of,
    read_plans,
    select_plans,
    xplan_version,
)

log = logging.getLogger(__name__)

_GML_SUFFIXES = {".gml", ".xml"}
_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg")

Declared = SourceConfig | BoundaryConfig


_SQL_DRIVERS = {"GPKG", "SQLite"}
"""Drivers whose FIDs are SQLite rowids: a damaged file is read on by FID, not by position."""

_GIVE_UP_AFTER = 3
"""Consecutive positions GDAL cannot read before the rest of a sequential source counts as unreadable."""


@dataclass(frozen=True)
class Unreadable:
    """A feature the source holds but GDAL could not read."""

    message: str
    """What GDAL (or GEOS) said."""
    fid: int | None = None
    position: int | None = None
    """0-based position in the layer (sequential formats, where no FID is known)."""


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
    held: int = -1
    """How many features the source holds by its own count (-1: as many as were read)."""
    unreadable: tuple[Unreadable, ...] = ()
    """Features the source holds that could not be read."""
    unclosed: dict[int, str] = field(default_factory=dict)
    """FIDs whose geometry had an unclosed ring, with GEOS's message; ``frame`` holds them closed."""
    warnings: tuple[str, ...] = ()
    """Warnings GDAL and the libraries emitted while reading (each once, with a count)."""
    encoding_note: str | None = None
    """Set where the declared text encoding did not fit the data and another one was used."""
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
    if src.path.suffix.lower() == ".shp":
        _check_sidecars(src)
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


def _sidecar(path: Path, suffix: str) -> Path | None:
    """The Shapefile part with `suffix` beside `path`, in any letter case (``.DBF`` from Windows tools)."""
    for candidate in path.parent.glob(f"{path.stem}.*"):
        if candidate.suffix.lower() == suffix:
            return candidate
    return None


def _check_sidecars(src: Declared) -> None:
    """A Shapefile needs its .shx (index) and .dbf (attributes) beside the .shp; say which one is missing."""
    missing = [s for s in (".shx", ".dbf") if _sidecar(src.path, s) is None]
    if missing:
        what = {".shx": "the index of the shapes", ".dbf": "the attributes"}
        raise SourceError(
            f"{_label(src)}: the Shapefile is incomplete: "
            + ", ".join(f"{src.path.stem}{s} ({what[s]})" for s in missing)
            + " missing beside it. Ask the municipality for all parts of the delivery "
            "(.shp, .shx, .dbf, .prj and .cpg)."
        )


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
    if isinstance(src, SourceConfig) and src.layer == "zoning" and layer and xplan_version(src.path):
        _check_plan_class(src, str(layer))
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


_OTHER_PLANS = {
    "RP_": "a Raumordnungsplan (regional plan)",
    "LP_": "a Landschaftsplan",
    "SO_": "sonstige Planwerke (protected areas, nature conservation, monuments, other law)",
    "XP_": "the plan's presentation objects (labels, symbols)",
}


def _check_plan_class(src: SourceConfig, layer: str) -> None:
    """Layer ``zoning`` holds B-Plan and FNP areas: an XPlanGML class of another plan kind is an error.

    Read as zoning, the 339 areas of a regional plan's ``RP_WohnenSiedlung`` would be zoning without a plan type
    or a use, which no rule reads: they would seem delivered and say nothing.
    """
    if plan_type_of(layer) is not None:
        return
    kind = next((what for prefix, what in _OTHER_PLANS.items() if layer.startswith(prefix)), None)
    if kind is None:
        return
    raise SourceError(
        f"{_label(src)}: layer {layer!r} is a class of {kind}, not of a B-Plan (BP_…) or FNP (FP_…); layer zoning "
        "holds the areas of B-Plans and FNPs. Choose a BP_ or FP_ class with source_layer (e.g. "
        "BP_BaugebietsTeilFlaeche, FP_BebauungsFlaeche); areas that restrict development (a Vorranggebiet, a "
        'protected area) belong in [[flag.constraints]] with kind = "vector" and layer = that class.'
    )


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


def _gdal_message(exc: BaseException) -> str:
    """GDAL's message without the SQL statement and function names quoted in front of it."""
    text = " ".join(str(exc).split())
    if text.startswith("Failed to prepare SQL") and ": " in text:
        text = text.rsplit(": ", 1)[-1]
    text = re.sub(r"^In \w+\(\):\s*", "", text)
    text = re.sub(r"^sqlite3_step\(.*\)\s*:\s*", "SQLite: ", text)
    return text or type(exc).__name__


@contextmanager
def captured_warnings(into: list[str]) -> Iterator[None]:
    """Collect the warnings raised inside (GDAL's through pyogrio, shapely's, numpy's, pandas') into `into`.

    Each distinct message is recorded once, with a count where it repeated, so the caller can put them
    into the issue log naming the source instead of letting them reach the terminal.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    counts: dict[str, int] = {}
    for w in caught:
        text = " ".join(str(w.message).split())
        counts[text] = counts.get(text, 0) + 1
    into.extend(text if n == 1 else f"{text} ({n} times)" for text, n in counts.items())


def check_encoding(src: Declared) -> None:
    """Raise a :class:`~flaechen.errors.SourceError` for an encoding name that does not exist."""
    if src.encoding is None:
        return
    try:
        codecs.lookup(src.encoding)
    except LookupError:
        close = difflib.get_close_matches(src.encoding.lower(), ["utf-8", "cp1252", "iso-8859-1", "cp850"], n=1)
        raise SourceError(
            f"{src.key}.encoding: {src.encoding!r} is not a known text encoding"
            + (f"; did you mean {close[0]!r}?" if close else "")
            + '; use e.g. "cp1252" (Windows, most German Shapefiles) or "utf-8".'
        ) from None


def _is_utf8(name: str) -> bool:
    return codecs.lookup(name).name == "utf-8"


def _declared_encoding(src: Declared) -> str | None:
    """The encoding the configuration or the Shapefile's .cpg declares."""
    if src.encoding:
        return src.encoding
    cpg = _sidecar(src.path, ".cpg") if src.path.suffix.lower() == ".shp" else None
    if cpg is not None:
        name = cpg.read_text(encoding="ascii", errors="replace").strip()
        try:
            codecs.lookup(name)
        except LookupError:
            return None
        return name
    return None


def _choose_encoding(src: Declared, layer: str | None, info: dict[str, Any]) -> tuple[str | None, str | None]:
    """The encoding to read a Shapefile's .dbf with, checked against its bytes.

    The text is read once byte for byte (ISO-8859-1 maps every byte) and tested: text that is valid UTF-8
    with non-ASCII characters is UTF-8 whatever was declared; text declared UTF-8 that is not is read as
    cp1252 (Windows, the usual encoding of German Shapefiles). Returns the encoding and a note where it
    differs from the declaration.
    """
    declared = _declared_encoding(src)
    dbf = _sidecar(src.path, ".dbf") if src.path.suffix.lower() == ".shp" else None
    if dbf is None:
        return src.encoding, None
    text_fields = [str(f) for f, t in zip(info["fields"], info["dtypes"], strict=True) if t == "object"]
    if not text_fields:
        return src.encoding, None
    try:
        with captured_warnings([]):
            raw = pyogrio.read_dataframe(
                src.path, layer=layer, encoding="ISO-8859-1", columns=text_fields, read_geometry=False
            )
    except Exception:  # the real read reports what is wrong with the file
        return src.encoding, None
    non_ascii: list[bytes] = []
    for column in raw.columns:
        values = raw[column].dropna().astype(str)
        values = values[values.str.contains(r"[^\x00-\x7f]", regex=True)]
        non_ascii.extend(v.encode("latin-1") for v in values)
    if not non_ascii:
        return src.encoding, None

    def utf8(b: bytes) -> bool:
        try:
            b.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A fixed-width .dbf field may cut the last character of UTF-8 text in half.
            return exc.start >= len(b) - 3 and exc.reason == "unexpected end of data"
        return True

    is_utf8 = all(utf8(b) for b in non_ascii)
    example = next(iter(non_ascii))
    dbf_name = dbf.name
    if is_utf8 and (declared is None or not _is_utf8(declared)):
        shown = example.decode(declared or "ISO-8859-1", errors="replace")
        return "UTF-8", (
            f"{dbf_name} is declared {declared or 'nothing (GDAL would assume ISO-8859-1)'} but holds UTF-8 text "
            f'({shown!r} would be garbled); read as UTF-8. Set encoding = "utf-8" for {src.key}.'
        )
    if not is_utf8 and declared is not None and _is_utf8(declared):
        return "CP1252", (
            f"{dbf_name} is declared UTF-8 but its text is not UTF-8 (e.g. {example!r}); read as cp1252 "
            f'(Windows). Check the text, and set encoding = "cp1252" (or the right one) for {src.key}.'
        )
    return src.encoding, None


def _fid_column(info: dict[str, Any]) -> str:
    name = str(info.get("fid_column") or "")
    return f'"{name}"' if name else "FID"


def _frame(
    path: Path, *, layer: str | None, encoding: str | None, options: dict[str, Any], **kwargs: Any
) -> gpd.GeoDataFrame:
    """A (part of a) layer as a GeoDataFrame indexed by FID; geometries GEOS cannot parse come back empty."""
    kwargs.setdefault("on_invalid", "ignore")
    return pyogrio.read_dataframe(path, layer=layer, encoding=encoding, fid_as_index=True, **options, **kwargs)


def _salvage_by_fid(
    path: Path, *, layer: str, encoding: str | None, options: dict[str, Any], info: dict[str, Any], held: int
) -> tuple[list[gpd.GeoDataFrame], list[Unreadable]]:
    """Read a damaged SQLite-based source (GeoPackage) on by FID past every feature SQLite cannot read.

    The FIDs are read in windows; a read that fails or stops short at a damaged page narrows the window
    down to single FIDs, each probed alone with SQL: an error means the feature is there but cannot be
    read, a count of 0 that there is no such FID.
    """
    fid = _fid_column(info)
    table = '"' + layer.replace('"', '""') + '"'

    def scalar(sql: str) -> int | None:
        try:
            with captured_warnings([]):
                value = pyogrio.read_dataframe(path, sql=sql, read_geometry=False).iloc[0, 0]
        except Exception:
            return None
        return None if pd.isna(value) else int(value)

    def window(low: int, high: int) -> gpd.GeoDataFrame | None:
        try:
            with captured_warnings([]):
                return _frame(
                    path, layer=layer, encoding=encoding, options=options, where=f"{fid} >= {low} AND {fid} <= {high}"
                )
        except Exception:
            return None

    first = scalar(f"SELECT MIN({fid}) AS v FROM {table}")
    last = scalar(f"SELECT MAX({fid}) AS v FROM {table}")
    k = 1 if first is None else first
    full = 4096
    width = full
    parts: list[gpd.GeoDataFrame] = []
    lost: list[Unreadable] = []
    read = 0
    while (k <= last) if last is not None else (read + len(lost) < held):
        end = k + width - 1 if last is None else min(k + width - 1, last)
        part = window(k, end)
        if part is not None and len(part):
            parts.append(part)
            read += len(part)
            k, width = int(part.index.max()) + 1, full
            continue
        if part is not None and scalar(f"SELECT COUNT(*) AS v FROM {table} WHERE {fid} >= {k} AND {fid} <= {end}") == 0:
            k, width = end + 1, full  # no features there
            continue
        if width > 1:
            width = max(1, width // 16)
            continue
        try:
            with captured_warnings([]):
                probe = pyogrio.read_dataframe(
                    path, sql=f"SELECT COUNT(*) AS v FROM {table} WHERE {fid} = {k}", read_geometry=False
                )
            exists = int(probe.iloc[0, 0]) > 0
        except Exception as exc:  # SQLite says the page is damaged
            lost.append(Unreadable(fid=k, message=_gdal_message(exc)))
        else:
            if exists:
                try:
                    with captured_warnings([]):
                        one = _frame(path, layer=layer, encoding=encoding, options=options, fids=[k])
                    parts.append(one)
                    read += len(one)
                except Exception as exc:
                    lost.append(Unreadable(fid=k, message=_gdal_message(exc)))
        k += 1
    short = held - read - len(lost)
    if short > 0:
        # SQLite may not even find a feature on a damaged page. In the usual dense numbering the FIDs
        # between the first and last that were neither read nor probed as damaged are those features.
        seen = {u.fid for u in lost}.union(*(set(p.index.tolist()) for p in parts))
        gaps = [] if first is None or last is None or last - first > 10_000_000 else range(first, last + 1)
        missing = [f for f in gaps if f not in seen]
        message = "the layer counts this feature, but SQLite cannot find it (a damaged page)"
        if len(missing) == short:
            lost.extend(Unreadable(fid=f, message=message) for f in missing)
        else:
            lost.extend(Unreadable(message=f"{message}; its FID is not known") for _ in range(short))
    return parts, lost


def _salvage_by_position(
    path: Path, *, layer: str | None, encoding: str | None, options: dict[str, Any], held: int
) -> tuple[list[gpd.GeoDataFrame], list[Unreadable]]:
    """Read a source on by position past every feature GDAL cannot read (sequential formats)."""
    parts: list[gpd.GeoDataFrame] = []
    lost: list[Unreadable] = []
    position = 0
    failures = 0
    while position < held:
        message = "GDAL stopped reading here without an error message"
        try:
            with captured_warnings([]):
                part = _frame(path, layer=layer, encoding=encoding, options=options, skip_features=position)
        except Exception as exc:  # probed below
            part, message = None, _gdal_message(exc)
        if part is not None and len(part):
            parts.append(part)
            position += len(part)
            failures = 0
            continue
        try:
            with captured_warnings([]):
                one = _frame(
                    path, layer=layer, encoding=encoding, options=options, skip_features=position, max_features=1
                )
        except Exception as exc:
            one, message = None, _gdal_message(exc)
        if one is not None and len(one):
            parts.append(one)
            position += 1
            failures = 0
            continue
        failures += 1
        if failures >= _GIVE_UP_AFTER:
            lost.extend(
                Unreadable(
                    position=p, message=f"GDAL cannot read on from position {position - failures + 1}: {message}"
                )
                for p in range(position, held)
            )
            break
        lost.append(Unreadable(position=position, message=message))
        position += 1
    return parts, lost


def _reparse_geometries(
    path: Path, frame: gpd.GeoDataFrame, *, layer: str | None, options: dict[str, Any]
) -> tuple[dict[int, str], list[Unreadable]]:
    """Look again at features without geometry: an unclosed ring is closed, other garbage is unreadable.

    GDAL passes an unclosed ring on (with a warning); GEOS refuses to parse it, and pyogrio then gives
    no geometry. The features' WKB is read again and parsed here, so no geometry is lost in silence.
    """
    missing = frame.index[frame.geometry.isna().to_numpy()]
    if len(missing) == 0:
        return {}, []
    with captured_warnings([]):
        if len(missing) > 1000:
            _, fids, wkb, _ = pyogrio.raw.read(path, layer=layer, columns=[], return_fids=True, **options)
        else:
            _, fids, wkb, _ = pyogrio.raw.read(
                path, layer=layer, columns=[], fids=missing.to_numpy(), return_fids=True, **options
            )
    by_fid = dict(zip(np.asarray(fids, dtype=np.int64).tolist(), wkb, strict=True))
    unclosed: dict[int, str] = {}
    lost: list[Unreadable] = []
    for fid in missing.to_numpy().tolist():
        blob = by_fid.get(fid)
        if blob is None:
            continue  # no geometry at all: the geometry check logs it
        try:
            with captured_warnings([]):
                shapely.from_wkb(blob)
            continue
        except Exception as exc:  # GEOS's reason is the message
            reason = _gdal_message(exc)
        with captured_warnings([]):
            fixed = shapely.from_wkb(blob, on_invalid="fix")
        if fixed is not None and not fixed.is_empty:
            frame.loc[fid, frame.geometry.name] = fixed
            unclosed[fid] = reason
        else:
            lost.append(Unreadable(fid=fid, message=f"the geometry cannot be parsed ({reason})"))
    if lost:
        frame.drop(index=[u.fid for u in lost], inplace=True)
    return unclosed, lost


def read_source(src: Declared) -> SourceFrame:
    """Read every feature of a declared source, indexed by its FID, and account for what it holds.

    Features the configured filter (``where``) excludes are read too, and their FIDs returned in
    ``excluded``, so the harmonising step can log them: nothing is lost in silence. The source's own
    feature count is returned as ``held``; features it holds that GDAL cannot read are in ``unreadable``.

    Raises
    ------
    SourceError
        The file cannot be opened or counted at all, or the filter is invalid.
    """
    check_encoding(src)
    caught: list[str] = []
    with captured_warnings(caught):
        info = inspect_source(src)
    layer = info["layer_name"]
    options = _open_options(src)
    with captured_warnings(caught):
        encoding, encoding_note = _choose_encoding(src, layer, info)
        try:
            held = int(
                pyogrio.read_info(src.path, layer=layer, encoding=encoding, force_feature_count=True, **options)[
                    "features"
                ]
            )
        except (DataSourceError, DataLayerError) as exc:
            raise _unreadable(src, exc) from None
        linearised = None
        try:
            try:
                frame = _frame(
                    src.path, layer=layer, encoding=encoding, options=options, use_arrow=True, on_invalid="raise"
                )
            except (NotImplementedError, shapely.errors.GEOSException):
                # arcs ("Nonlinear geometry types are not currently supported"), or WKB GEOS refuses (an
                # unclosed ring): flaechen.curves reads the WKB itself, closing rings and linearising arcs
                frame, linearised = read_curved(src, layer=layer, options=options, info=info)
            complete = len(frame) >= held
        except Exception as exc:  # GDAL stopped: read on past the bad feature below
            log.debug("%s: the read stopped (%s); reading on feature by feature", _label(src), exc)
            frame, complete = None, False
        unreadable: list[Unreadable] = []
        if not complete:
            # A short read is discarded: the Arrow stream may have passed on parts of a damaged page.
            if info.get("driver") in _SQL_DRIVERS and layer is not None:
                parts, unreadable = _salvage_by_fid(
                    src.path, layer=layer, encoding=encoding, options=options, info=info, held=held
                )
            else:
                parts, unreadable = _salvage_by_position(
                    src.path, layer=layer, encoding=encoding, options=options, held=held
                )
            if not parts:
                raise SourceError(
                    f"{_label(src)}: GDAL cannot read any of the {held:,d} features the file holds "
                    f"({unreadable[0].message if unreadable else 'no message'}). "
                    "Ask the municipality for a new delivery."
                )
            frame = pd.concat(parts)
            frame = frame[~frame.index.duplicated(keep="first")]
            linearised = None  # the salvaged parts' geometries are checked below
            if unreadable:
                log.warning(
                    "%s: %d of %d features could not be read; read on past them",
                    getattr(src, "id", src.key),
                    len(unreadable),
                    held,
                )
        if isinstance(src, SourceConfig) and src.x_field and src.y_field:
            frame = points_from_columns(frame, x=src.x_field, y=src.y_field)
        implicit: dict[str, str] = {}
        deselected = np.array([], dtype=np.int64)
        if isinstance(src, SourceConfig) and src.layer == "zoning" and xplan_version(src.path):
            frame, implicit, deselected = _xplan(src, frame, layer=str(layer), options=options)
        if not isinstance(frame, gpd.GeoDataFrame):
            raise SourceError(
                f"{_label(src)}: layer {layer!r} has no geometry; name a spatial layer, or the columns of a "
                "table of points with x_field and y_field."
            )
        frame.index = frame.index.astype(np.int64)
        frame.index.name = "fid"
        unclosed: dict[int, str] = {}
        points_table = isinstance(src, SourceConfig) and bool(src.x_field)  # no WKB: rows without coordinates
        if linearised is None and not points_table and frame.geometry.isna().any():  # curves: flaechen.curves
            unclosed, garbage = _reparse_geometries(src.path, frame, layer=layer, options=options)
            unreadable.extend(garbage)
        excluded, broken = _excluded(
            src, frame, layer=layer, encoding=encoding, options=options, info=info, damaged=bool(unreadable)
        )
        if broken:
            frame = frame.drop(index=[u.fid for u in broken])
            unreadable.extend(broken)
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
        held=max(held, len(frame) + len(unreadable)),
        unreadable=tuple(unreadable),
        unclosed=unclosed,
        warnings=tuple(caught),
        encoding_note=encoding_note,
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
    log.log(
        logging.INFO if result.curved.any() else logging.DEBUG,
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


def _excluded(
    src: Declared,
    frame: gpd.GeoDataFrame,
    *,
    layer: str | None,
    encoding: str | None,
    options: dict[str, Any],
    info: dict[str, Any],
    damaged: bool,
) -> tuple[np.ndarray, list[Unreadable]]:
    """FIDs of `frame` the configured filter (``where``) excludes, and features it cannot be evaluated on.

    In a damaged source the filter is evaluated run by run over the FIDs read, so that its own read
    cannot stop at the damage and exclude the readable features after it.
    """
    none = np.array([], dtype=np.int64)
    if not src.where:
        return none, []
    fids = np.sort(frame.index.to_numpy())
    fid = _fid_column(info)
    runs: list[tuple[int, int] | None] = [None]
    if damaged and len(fids):
        breaks = np.flatnonzero(np.diff(fids) != 1) + 1
        runs = [(int(r[0]), int(r[-1])) for r in np.split(fids, breaks)]

    def matching(where: str) -> np.ndarray:
        # All columns: GDAL evaluates a filter on ignored fields as NULL, so `columns=[]` would
        # silently exclude every feature.
        with captured_warnings([]):
            found = pyogrio.read_dataframe(
                src.path,
                layer=layer,
                encoding=encoding,
                fid_as_index=True,
                read_geometry=False,
                where=where,
                **options,
            )
        return np.asarray(found.index.to_numpy(), dtype=np.int64)

    def invalid(exc: BaseException) -> SourceError:
        fields = ", ".join(str(f) for f in info["fields"])
        return SourceError(
            f"{_label(src)}: the filter where = {src.where!r} is invalid ({_gdal_message(exc)}). "
            f"Fields of the layer: {fields}. Fix `where` (OGR SQL, text in single quotes)."
        )

    kept: list[np.ndarray] = [none]
    broken: list[Unreadable] = []
    for run in runs:
        try:
            kept.append(
                matching(src.where if run is None else f"({src.where}) AND {fid} >= {run[0]} AND {fid} <= {run[1]}")
            )
        except Exception as exc:
            if run is None or run[1] - run[0] > 64:
                raise invalid(exc) from None
            for f in range(run[0], run[1] + 1):
                try:
                    kept.append(matching(f"({src.where}) AND {fid} = {f}"))
                except Exception as one:
                    broken.append(Unreadable(fid=f, message=f"the filter cannot be evaluated ({_gdal_message(one)})"))
    if damaged and len(runs) == len(broken) > 0:
        raise invalid(Exception(broken[0].message))
    skip = np.array([u.fid for u in broken], dtype=np.int64)
    return np.setdiff1d(np.setdiff1d(fids, np.concatenate(kept)), skip), broken
