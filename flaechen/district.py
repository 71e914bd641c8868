"""The district dataset read back: the one reader of ``district.gpkg`` for flag, export, publish, plan and notebooks.

A GeoPackage cannot tell an integer column with empty values from a float column, nor an empty text
column from anything else. :func:`read_district` restores the types of the canonical schemas in
`layers/` (an AGS stays text, a building state an integer, a flag a nullable boolean) and reads only what
is asked for: the layers named, and of each only the columns named (through Arrow, so that values of
other fields never enter memory). Every problem is one :class:`~flaechen.errors.DistrictError` that
names the file, the layer or column and the fix.

Examples
--------
>>> from flaechen.district import read_district
>>> data = read_district("out/demo", layers=["municipalities", "candidates"],
...                      columns={"candidates": ["ags", "category", "area_m2"]})
>>> list(data["candidates"].columns), str(data["candidates"]["ags"].dtype)
(['ags', 'category', 'area_m2', 'geometry'], 'string')
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd
import pyogrio
from pyproj import CRS

from flaechen.errors import DistrictError
from flaechen.layers import CANONICAL_LAYERS, PROVENANCE_FIELDS, load_schema

log = logging.getLogger(__name__)

DISTRICT_FILE = "district.gpkg"
"""The name of the district dataset inside an output folder."""

LAYER_ORDER = ("candidates", *CANONICAL_LAYERS)
"""Spatial layers in a stable order: derived results first, then the merged data."""

TABLE_ORDER = ("summary", "issues", "rules", "parcel_measures", "quality", "accounting", "sources")
"""Attribute tables in a stable order."""

INTERNAL_TABLES = frozenset({"layer_styles"})
"""Tables of the GeoPackage that belong to a GIS, not to the dataset."""

PROVENANCE_DTYPES = {name: "Int64" if name == "source_fid" else "string" for name in PROVENANCE_FIELDS}
"""The types of the provenance columns every harmonised feature carries."""

REBUILD = "rebuild it with `flaechen run CONFIG --out DIR`"


@dataclass(frozen=True)
class LayerInfo:
    """One layer or table of a district GeoPackage, as its header describes it (no feature read).

    Attributes
    ----------
    name
        The layer name.
    geometry_type
        E.g. ``"MultiPolygon"``; None for an attribute table.
    fields
        The attribute columns, in file order.
    geometry_column
        The name of the geometry column (``geom`` where GDAL wrote it); None for an attribute table.
    """

    name: str
    geometry_type: str | None
    fields: tuple[str, ...]
    geometry_column: str | None = None


@dataclass(frozen=True)
class Contents:
    """What a district GeoPackage holds: its spatial layers and attribute tables, in a stable order.

    Attributes
    ----------
    path
        The GeoPackage.
    entries
        Every layer and table (``layer_styles`` excluded) by name, spatial layers first.
    """

    path: Path
    entries: Mapping[str, LayerInfo]

    @property
    def layers(self) -> tuple[tuple[str, str], ...]:
        """Spatial layers as (name, geometry type), in :data:`LAYER_ORDER` first."""
        return tuple((i.name, i.geometry_type) for i in self.entries.values() if i.geometry_type)

    @property
    def layer_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.layers)

    @property
    def tables(self) -> tuple[str, ...]:
        """Attribute tables without geometry, in :data:`TABLE_ORDER` first."""
        return tuple(i.name for i in self.entries.values() if not i.geometry_type)

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def fields(self, name: str) -> tuple[str, ...]:
        """The attribute columns of layer or table `name`."""
        return self.entries[name].fields


def resolve_district(path: str | os.PathLike[str]) -> Path:
    """Return the district GeoPackage for an output folder or a GeoPackage path.

    Raises
    ------
    DistrictError
        Where neither the file nor ``<folder>/district.gpkg`` exists.

    Examples
    --------
    >>> resolve_district("no/such/folder")
    Traceback (most recent call last):
    ...
    flaechen.errors.DistrictError: no/such/folder: no district dataset here; run `flaechen run CONFIG --out DIR` \
first, then pass DIR or DIR/district.gpkg
    """
    given = Path(path)
    target = given / DISTRICT_FILE if given.is_dir() else given
    if not target.is_file():
        raise DistrictError(
            f"{target}: no district dataset here; run `flaechen run CONFIG --out DIR` first, "
            "then pass DIR or DIR/district.gpkg"
        )
    return target


def _ordered(names: Iterable[str], order: tuple[str, ...]) -> list[str]:
    rank = {name: i for i, name in enumerate(order)}
    return sorted(names, key=lambda n: (rank.get(n, len(order)), n))


def district_contents(path: str | os.PathLike[str]) -> Contents:
    """List the layers and tables of a district GeoPackage with their fields, reading no feature.

    Parameters
    ----------
    path
        The district GeoPackage, or the output folder holding ``district.gpkg``.

    Raises
    ------
    DistrictError
        Where the file is missing or is not a GeoPackage GDAL can read.
    """
    gpkg = resolve_district(path)
    try:
        listed = [(str(name), str(gtype) if gtype else None) for name, gtype in pyogrio.list_layers(gpkg)]
        info = {name: pyogrio.read_info(gpkg, layer=name) for name, _ in listed if name not in INTERNAL_TABLES}
    except pyogrio.errors.DataSourceError as exc:
        raise DistrictError(f"{gpkg}: cannot be read as a GeoPackage ({exc}); {REBUILD}") from exc
    geometry = {name: gtype for name, gtype in listed if name not in INTERNAL_TABLES}
    spatial = _ordered([n for n, g in geometry.items() if g], LAYER_ORDER)
    tables = _ordered([n for n, g in geometry.items() if not g], TABLE_ORDER)
    entries = {
        n: LayerInfo(
            name=n,
            geometry_type=geometry[n],
            fields=tuple(str(f) for f in info[n]["fields"]),
            geometry_column=(str(info[n]["geometry_name"]) or "geom") if geometry[n] else None,
        )
        for n in (*spatial, *tables)
    }
    return Contents(path=gpkg, entries=entries)


def schema_dtypes(layer: str) -> dict[str, str]:
    """The pandas dtype of every column of `layer` the schemas in `layers/` define (provenance included).

    Examples
    --------
    >>> schema_dtypes("municipalities")["ags"]
    'string'
    >>> schema_dtypes("buildings")["state"]
    'Int32'
    """
    schema = load_schema()
    if layer not in schema.layers:
        return {}
    dtypes = {f.name: f.dtype for f in schema.layer(layer).fields}
    if layer in CANONICAL_LAYERS:
        dtypes |= PROVENANCE_DTYPES
    return dtypes


def typed(frame: pd.DataFrame, layer: str, *, path: str | os.PathLike[str] = DISTRICT_FILE) -> pd.DataFrame:
    """Give the columns of `frame` the types of `layer`'s schema (in place; returns `frame`).

    Columns the schema does not know are left as read.

    Raises
    ------
    DistrictError
        Where a column holds values its schema type cannot take, or numbers where the schema keeps text
        (``07999001`` saved as the number 7999001 by another program): a file changed outside flaechen.
    """
    for column, dtype in schema_dtypes(layer).items():
        if column not in frame.columns or str(frame[column].dtype) == dtype:
            continue
        values = frame[column]
        numeric = pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)
        if dtype == "string" and numeric and values.notna().any():
            raise DistrictError(
                f"{path}: layer {layer!r}, column {column!r} holds numbers where the schema keeps text (a key such "
                f"as the AGS loses its leading zeros as a number); the file was changed outside flaechen: {REBUILD}"
            )
        try:
            frame[column] = frame[column].astype(dtype)
        except (TypeError, ValueError) as exc:
            raise DistrictError(
                f"{path}: layer {layer!r}, column {column!r} holds values that are not {dtype} ({exc}); "
                f"the file was changed outside flaechen: {REBUILD}"
            ) from None
    return frame


def _crs_text(crs: object) -> str:
    return CRS.from_user_input(crs).to_string() if crs is not None else "no CRS"


def read_district(
    path: str | os.PathLike[str] | Contents,
    *,
    layers: Sequence[str] | None = None,
    columns: Mapping[str, Sequence[str]] | None = None,
    optional: Sequence[str] = (),
    missing_columns: Literal["raise", "skip"] = "raise",
    with_fid: bool = False,
) -> dict[str, pd.DataFrame]:
    """Read layers and tables of a district dataset, typed by the schemas in `layers/`.

    Spatial layers come back as GeoDataFrames in the district CRS (every layer read must share one CRS),
    attribute tables as DataFrames. Only the layers asked for are read, and of each only the columns
    asked for (through Arrow).

    Parameters
    ----------
    path
        The district GeoPackage, the output folder holding ``district.gpkg``, or what
        :func:`district_contents` found in it (which saves looking again when reading layer by layer).
    layers
        The layers and tables to read; each must be in the file. None reads every layer and table
        (``layer_styles`` excluded).
    columns
        Per layer, the columns to read (without the geometry, which a spatial layer always brings);
        layers not named here are read whole.
    optional
        Layers and tables read where the file has them; those it lacks are left out of the result.
    missing_columns
        ``"raise"``: a column asked for that the layer lacks is an error; ``"skip"``: it is left out (the
        caller compares the result's columns with what it asked for).
    with_fid
        Attribute tables get the GeoPackage row id as their first column ``fid``.

    Returns
    -------
    dict
        Layer name to frame, in the order asked for (`layers`, then `optional`).

    Raises
    ------
    DistrictError
        The file is missing or unreadable, a layer or column asked for is not in it, the layers read are
        in different CRSs, or a column's values do not fit its schema type.

    Examples
    --------
    >>> data = read_district("out/demo", layers=["parcels"], optional=["land_use", "no_such_layer"])
    >>> sorted(data)
    ['land_use', 'parcels']
    """
    found = path if isinstance(path, Contents) else district_contents(path)
    gpkg = found.path
    wanted = list(found.entries) if layers is None else list(dict.fromkeys(layers))
    missing = [name for name in wanted if name not in found]
    if missing:
        raise DistrictError(
            f"{gpkg} lacks layer(s) {', '.join(missing)}"
            + ("; run `flaechen flag DIR` (or `flaechen run`) first" if "candidates" in missing else f"; {REBUILD}")
        )
    wanted += [name for name in optional if name in found and name not in wanted]
    out: dict[str, pd.DataFrame] = {}
    crs: object = None
    for name in wanted:
        info = found.entries[name]
        asked = None if columns is None or name not in columns else list(dict.fromkeys(columns[name]))
        if asked is not None:
            lacking = [c for c in asked if c not in info.fields]
            if lacking and missing_columns == "raise":
                raise DistrictError(
                    f"{gpkg}: layer {name!r} lacks the column(s) {', '.join(lacking)} "
                    f"(see layers/{name}.yaml); {REBUILD}"
                )
            asked = [c for c in asked if c in info.fields]
        try:
            frame = pyogrio.read_dataframe(
                gpkg,
                layer=name,
                columns=asked,
                read_geometry=info.geometry_type is not None,
                fid_as_index=with_fid and info.geometry_type is None,
                use_arrow=True,
            )
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise DistrictError(f"{gpkg}: layer {name!r} cannot be read ({exc}); {REBUILD}") from exc
        if info.geometry_type is not None:
            if frame.crs is None:
                raise DistrictError(f"{gpkg}: layer {name!r} has no CRS; a district dataset declares one: {REBUILD}")
            if crs is None:
                crs = frame.crs
            elif frame.crs != crs:
                raise DistrictError(
                    f"{gpkg}: layer {name!r} is in {_crs_text(frame.crs)}, other layers in {_crs_text(crs)}; "
                    f"a district dataset has one CRS: {REBUILD}"
                )
        else:
            frame = pd.DataFrame(frame)
            if with_fid:
                frame = frame.rename_axis("fid").reset_index()
        out[name] = typed(frame, name, path=gpkg)
        log.debug("read %s from %s: %d rows, columns %s", name, gpkg, len(frame), list(frame.columns))
    return out


def read_layer(
    path: str | os.PathLike[str] | Contents,
    layer: str,
    *,
    columns: Sequence[str] | None = None,
    with_fid: bool = False,
) -> pd.DataFrame:
    """Read one layer or table of a district dataset: :func:`read_district` of that layer alone.

    Examples
    --------
    >>> read_layer("out/demo", "parcels", columns=["parcel_id", "ags"]).columns.tolist()
    ['parcel_id', 'ags', 'geometry']
    """
    chosen = None if columns is None else {layer: columns}
    return read_district(path, layers=[layer], columns=chosen, with_fid=with_fid)[layer]
