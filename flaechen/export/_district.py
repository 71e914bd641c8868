"""Reading the district GeoPackage for export: which layers and tables it holds, in a stable order."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from flaechen.export.errors import ExportError
from flaechen.layers import CANONICAL_LAYERS, PROVENANCE_FIELDS, load_schema

DISTRICT_FILE = "district.gpkg"
"""The name of the district dataset inside an output folder."""

LAYER_ORDER = ("candidates", *CANONICAL_LAYERS)
"""Spatial layers in the order they are exported: derived results first, then the merged data."""

TABLE_ORDER = ("summary", "issues", "rules", "parcel_measures", "quality", "accounting", "sources")
"""Attribute tables in the order they are exported."""

INTERNAL_TABLES = frozenset({"layer_styles"})
"""Tables of the GeoPackage that belong to a GIS, not to the dataset."""


@dataclass(frozen=True)
class Contents:
    """What a district GeoPackage holds.

    Attributes
    ----------
    layers
        Spatial layers (name, geometry type), canonical ones in `LAYER_ORDER` first.
    tables
        Attribute tables without geometry (issues, summary, rules, …), `layer_styles` excluded.
    """

    layers: tuple[tuple[str, str], ...]
    tables: tuple[str, ...]

    @property
    def layer_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.layers)


def resolve_gpkg(path: str | os.PathLike[str]) -> Path:
    """Return the district GeoPackage for an output folder or a GeoPackage path.

    Raises
    ------
    ExportError
        Where neither the file nor `<folder>/district.gpkg` exists.
    """
    given = Path(path)
    target = given / DISTRICT_FILE if given.is_dir() else given
    if not target.is_file():
        raise ExportError(
            f"{target}: no district GeoPackage here; run `flaechen run CONFIG --out DIR` first, "
            "then pass DIR or DIR/district.gpkg"
        )
    return target


def _ordered(names: list[str], order: tuple[str, ...]) -> list[str]:
    rank = {name: i for i, name in enumerate(order)}
    return sorted(names, key=lambda n: (rank.get(n, len(order)), n))


def contents(gpkg: Path) -> Contents:
    """List the spatial layers and attribute tables of a district GeoPackage."""
    try:
        listed = pyogrio.list_layers(gpkg)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise ExportError(f"{gpkg}: cannot be read as a GeoPackage ({exc})") from exc
    geometry = {str(name): gtype for name, gtype in listed}
    spatial = _ordered([n for n, g in geometry.items() if g], LAYER_ORDER)
    tables = _ordered([n for n, g in geometry.items() if not g and n not in INTERNAL_TABLES], TABLE_ORDER)
    return Contents(layers=tuple((n, str(geometry[n])) for n in spatial), tables=tuple(tables))


def read_layer(gpkg: Path, name: str) -> gpd.GeoDataFrame:
    """Read one spatial layer, CRS kept, fields of a canonical layer in their schema's nullable types.

    A GeoPackage cannot tell an integer column with empty values from a float column, nor an empty text
    column from anything else; the schema in `layers/` restores the types (an AGS stays a string, a
    building state an integer).
    """
    return _typed(pyogrio.read_dataframe(gpkg, layer=name), name)


def _typed(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    schema = load_schema()
    if name in schema.layers:
        for field in schema.layer(name).fields:
            if field.name in frame.columns:
                frame[field.name] = frame[field.name].astype(field.dtype)
    for column in PROVENANCE_FIELDS:
        if column in frame.columns:
            frame[column] = frame[column].astype("string")
    return frame


def read_table(gpkg: Path, name: str, *, with_fid: bool = False) -> pd.DataFrame:
    """Read one attribute table (typed by its schema in `layers/` where it has one).

    With `with_fid`, the GeoPackage row id becomes the first column `fid`.
    """
    raw = pyogrio.read_dataframe(gpkg, layer=name, read_geometry=False, fid_as_index=with_fid)
    frame = _typed(pd.DataFrame(raw), name)
    if with_fid:
        frame = frame.rename_axis("fid").reset_index()
    return frame


def geometry_columns(gpkg: Path) -> dict[str, str]:
    """Map each spatial table to its geometry column name (`gpkg_geometry_columns`)."""
    with closing(sqlite3.connect(f"file:{gpkg}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall()
    return {str(t): str(c) for t, c in rows}
