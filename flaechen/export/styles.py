"""QGIS styles: the QML files in `layers/styles/` and their default entries in a GeoPackage.

QGIS keeps the styles it saves "in the database" in a table `layer_styles` inside the GeoPackage; a layer
opened from the GeoPackage then gets its default style from there. :func:`style_gpkg` writes that table
exactly as QGIS 3.22 creates and fills it (same columns, types, triggers and `gpkg_contents` entry), one
default style per layer, taken from the hand-written QML files kept in the repository.

Examples
--------
>>> import sqlite3
>>> from flaechen.export import style_gpkg
>>> style_gpkg("out/demo/district.gpkg")
>>> with sqlite3.connect("out/demo/district.gpkg") as db:
...     db.execute("SELECT useAsDefault FROM layer_styles WHERE f_table_name = 'candidates'").fetchone()
(1,)
"""

from __future__ import annotations

import logging
import os
import sqlite3
import xml.etree.ElementTree as ET
from contextlib import closing
from pathlib import Path

from flaechen.district import resolve_district
from flaechen.errors import ExportError
from flaechen.export.forms import fields_qml, with_fields
from flaechen.layers import layers_dir, load_schema
from flaechen.palette import apply_to_qml

log = logging.getLogger(__name__)

STYLE_TABLE = "layer_styles"

# The table as QGIS 3.22 (through GDAL's GeoPackage driver) creates it on "Save style … in database".
_CREATE_TABLE = (
    'CREATE TABLE IF NOT EXISTS "layer_styles" ( "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, '
    '"f_table_catalog" TEXT(256), "f_table_schema" TEXT(256), "f_table_name" TEXT(256), '
    '"f_geometry_column" TEXT(256), "styleName" TEXT(30), "styleQML" TEXT, "styleSLD" TEXT, '
    '"useAsDefault" BOOLEAN, "description" TEXT, "owner" TEXT(30), "ui" TEXT(30), '
    "\"update_time\" DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
)
# GDAL keeps feature counts in gpkg_ogr_contents up to date with these triggers.
_COUNT_TRIGGERS = (
    'CREATE TRIGGER IF NOT EXISTS "trigger_insert_feature_count_layer_styles" AFTER INSERT ON '
    '"layer_styles" BEGIN UPDATE gpkg_ogr_contents SET feature_count = feature_count + 1 '
    "WHERE lower(table_name) = lower('layer_styles'); END",
    'CREATE TRIGGER IF NOT EXISTS "trigger_delete_feature_count_layer_styles" AFTER DELETE ON '
    '"layer_styles" BEGIN UPDATE gpkg_ogr_contents SET feature_count = feature_count - 1 '
    "WHERE lower(table_name) = lower('layer_styles'); END",
)
_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"


def styles_dir() -> Path:
    """Return the folder with the QGIS styles (`layers/styles/`, one `<layer>.qml` per layer)."""
    return layers_dir() / "styles"


def available_styles(directory: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """Map layer names to their QML style files.

    Parameters
    ----------
    directory
        Folder to look in; :func:`styles_dir` by default.
    """
    root = Path(directory) if directory is not None else styles_dir()
    return {path.stem: path for path in sorted(root.glob("*.qml"))}


def read_qml(path: str | os.PathLike[str]) -> str:
    """Read a QML file (``<layer>.qml``), check it is a QGIS style, and complete it from the one palette and
    the layer's schema: category colours, German field aliases and value maps (:mod:`flaechen.export.forms`).

    Raises
    ------
    ExportError
        Where the file is not well-formed XML or its root element is not `<qgis>`.
    """
    text = Path(path).read_text(encoding="utf-8")
    try:
        root = ET.fromstring(text.split("\n", 1)[1] if text.startswith("<!DOCTYPE") else text)
    except ET.ParseError as exc:
        raise ExportError(f"{path}: not a valid QML style ({exc}); fix the XML") from exc
    if root.tag != "qgis":
        raise ExportError(f"{path}: root element is <{root.tag}>, a QML style needs <qgis>")
    # the categories' colours from the one palette (layers/palette.yaml), the fields' German aliases and
    # value maps from the layer's schema (layers/<layer>.yaml)
    return with_fields(apply_to_qml(text, Path(path).stem), Path(path).stem)


def _describe(layer: str, path: Path) -> str:
    first_comment = ""
    for line in path.read_text(encoding="utf-8").splitlines()[:3]:
        if line.startswith("<!--"):
            first_comment = line.removeprefix("<!--").removesuffix("-->").strip()
    return first_comment or f"flaechen style of {layer}"


def _ensure_table(db: sqlite3.Connection) -> None:
    exists = db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (STYLE_TABLE,)).fetchone()
    if exists:
        return
    db.execute(_CREATE_TABLE)
    db.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change, "
        f"srs_id) VALUES (?, 'attributes', ?, '', {_NOW}, 0)",
        (STYLE_TABLE, STYLE_TABLE),
    )
    has_ogr_contents = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='gpkg_ogr_contents'"
    ).fetchone()
    if has_ogr_contents:
        db.execute("INSERT INTO gpkg_ogr_contents (table_name, feature_count) VALUES (?, 0)", (STYLE_TABLE,))
        for trigger in _COUNT_TRIGGERS:
            db.execute(trigger)


def style_gpkg(
    gpkg_path: str | os.PathLike[str],
    *,
    styles: str | os.PathLike[str] | None = None,
) -> None:
    """Embed the QGIS styles of `layers/styles/` as each layer's default style in a GeoPackage.

    Every spatial layer that has a `<layer>.qml` gets a row in `layer_styles` named after the layer and
    marked `useAsDefault`, and every attribute table with a schema in `layers/` one holding its German
    field names and value maps (:func:`flaechen.export.forms.fields_qml`). Other styles of a layer (e.g.
    saved by a planner) are kept but no longer default, and an earlier flaechen style of the same name is
    replaced. QGIS applies the default style whenever the layer is added from the GeoPackage. The change is
    one SQLite transaction: readers see all styles or none.

    Parameters
    ----------
    gpkg_path
        The district GeoPackage, or the output folder holding `district.gpkg`.
    styles
        Folder with the QML files; `layers/styles/` by default.

    Raises
    ------
    ExportError
        Where the GeoPackage is missing or a QML file is broken.

    Examples
    --------
    >>> style_gpkg("out/demo/district.gpkg")
    """
    gpkg = resolve_district(gpkg_path)
    qml_files = available_styles(styles)
    with closing(sqlite3.connect(gpkg, isolation_level=None)) as db:
        geometry_columns = dict(db.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall())
        todo = [
            (name, geometry_columns[name], read_qml(qml_files[name]), _describe(name, qml_files[name]))
            for name in sorted(geometry_columns)
            if name in qml_files
        ]
        unstyled = sorted(set(geometry_columns) - set(qml_files))
        # attribute tables with a schema (summary, changes, …): their German field names and value maps
        schema = load_schema()
        attribute_tables = db.execute("SELECT table_name FROM gpkg_contents WHERE data_type = 'attributes'")
        todo += [
            (name, "", fields_qml(name), f"flaechen: German field names of {name}")
            for (name,) in sorted(attribute_tables.fetchall())
            if name in schema.layers
        ]
        db.execute("BEGIN IMMEDIATE")
        try:
            _ensure_table(db)
            for name, column, document, description in todo:
                db.execute(
                    "UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_name = ? AND f_geometry_column = ?",
                    (name, column),
                )
                db.execute(
                    "DELETE FROM layer_styles WHERE f_table_name = ? AND f_geometry_column = ? AND styleName = ?",
                    (name, column, name),
                )
                db.execute(
                    "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                    "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
                    f"owner, ui, update_time) VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '', NULL, {_NOW})",
                    (name, column, name, document, description),
                )
            db.execute(f"UPDATE gpkg_contents SET last_change = {_NOW} WHERE table_name = ?", (STYLE_TABLE,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    log.info("styled %d layers", len(todo))  # gpkg may be a staged temporary file: no name
    if unstyled:
        log.info("no style in %s for: %s", styles or styles_dir(), ", ".join(unstyled))
