"""The register in a GeoPackage (``OUT_DIR/register.gpkg``), updated in place, in one transaction.

The register is the planners' record: a run never rewrites the file. The first run creates it (atomically,
with the QGIS style and form of ``layers/styles/sites.qml``); every later run opens it with SQLite, takes
the write lock (``BEGIN IMMEDIATE``: a planner saving in QGIS at that moment makes the run wait, then fail
with a clear message) and, in one transaction, updates the derived fields of the existing sites, inserts
the new ones and appends the history snapshot and the changes. The fields planners edit are never
written by an update, so edits saved meanwhile are kept.

The spatial index triggers are those of the GeoPackage rtree extension, each restricted to updates of the
geometry or the feature id (as GeoPackage 1.4 does for its update triggers): a plain SQLite client without
the spatial SQL functions (``sqlite3``, DB Browser) can then edit the attributes, e.g. a note.

Examples
--------
>>> store = GpkgRegister("out/demo/register.gpkg")
>>> state = store.read(crs="EPSG:25832")
>>> state.surveys, sorted(set(state.sites["state"]))
(['2025-04-01', '2026-04-01'], ['aktiv', 'entfallen'])
"""

from __future__ import annotations

import logging
import os
import sqlite3
import struct
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from flaechen.errors import RegisterError
from flaechen.gpkg import write_gpkg
from flaechen.layers import LayerDef, load_schema
from flaechen.register.match import PLANNER_FIELDS, CarryOver, empty_sites
from flaechen.register.state import RegisterState

log = logging.getLogger(__name__)

REGISTER_FILE = "register.gpkg"
SITES, HISTORY, CHANGES = "sites", "history", "changes"
LOCK_TIMEOUT_S = 30.0
"""How long a run waits for a planner's open write transaction before it gives up."""

_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


# ------------------------------------------------------------------------------------- geometry blobs
def to_gpkg_blob(geom: Any, srs_id: int) -> bytes | None:
    """Encode a shapely geometry as a GeoPackage geometry blob (little endian, xy envelope)."""
    if geom is None:
        return None
    if shapely.is_empty(geom):
        return b"GP\x00" + bytes([0x01 | 0x10]) + struct.pack("<i", srs_id) + bytes(shapely.to_wkb(geom, byte_order=1))
    minx, miny, maxx, maxy = shapely.bounds(geom)
    header = b"GP\x00\x03" + struct.pack("<i4d", srs_id, minx, maxx, miny, maxy)
    return header + bytes(shapely.to_wkb(geom, byte_order=1, flavor="iso"))


def _parse_blob(blob: bytes) -> tuple[int, bytes, tuple[float, ...] | None]:
    flags = blob[3]
    env_type = (flags >> 1) & 0x07
    order = "<" if flags & 0x01 else ">"
    size = _ENVELOPE_BYTES.get(env_type, 0)
    env = struct.unpack(f"{order}4d", blob[8 : 8 + 32]) if size else None
    return flags, blob[8 + size :], env


def _st_is_empty(blob: bytes | None) -> int | None:
    if blob is None:
        return None
    flags, wkb, _ = _parse_blob(blob)
    if flags & 0x10:
        return 1
    return int(shapely.is_empty(shapely.from_wkb(wkb)))


def _st_bound(index: int) -> Callable[[bytes | None], float | None]:
    def bound(blob: bytes | None) -> float | None:
        if blob is None:
            return None
        _, wkb, env = _parse_blob(blob)
        if env is not None:  # minx, maxx, miny, maxy
            return env[index]
        minx, miny, maxx, maxy = shapely.bounds(shapely.from_wkb(wkb))
        return float((minx, maxx, miny, maxy)[index])

    return bound


def connect(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """Open a GeoPackage with the spatial SQL functions its rtree triggers call (as GDAL provides them)."""
    db = sqlite3.connect(path, isolation_level=None, timeout=LOCK_TIMEOUT_S)
    db.create_function("ST_IsEmpty", 1, _st_is_empty, deterministic=True)
    for name, index in (("ST_MinX", 0), ("ST_MaxX", 1), ("ST_MinY", 2), ("ST_MaxY", 3)):
        db.create_function(name, 1, _st_bound(index), deterministic=True)
    return db


def plain_client_triggers(db: sqlite3.Connection, table: str) -> None:
    """Restrict the rtree update triggers of `table` to changes of the geometry or the feature id.

    GDAL writes GeoPackage 1.2's triggers, two of which fire on *any* update and call spatial SQL functions
    that plain SQLite lacks: a note saved with ``sqlite3`` would fail with "no such function: ST_IsEmpty".
    The same triggers restricted with ``UPDATE OF <fid>, <geom>`` keep the index right for every change
    that moves a feature and let attribute updates through.
    """
    (geom,) = db.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (table,)).fetchone()
    fid = next(r[1] for r in db.execute(f'PRAGMA table_info("{table}")') if r[5] == 1)
    for name, sql in db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? AND name LIKE 'rtree_%'",
        (table,),
    ).fetchall():
        marker = f'AFTER UPDATE ON "{table}"'
        if marker in sql:
            db.execute(f'DROP TRIGGER "{name}"')
            db.execute(sql.replace(marker, f'AFTER UPDATE OF "{fid}", "{geom}" ON "{table}"'))


# ------------------------------------------------------------------------------------------ the store
class GpkgRegister:
    """The register kept in a GeoPackage.

    Parameters
    ----------
    path
        The register file, or the output folder that holds ``register.gpkg``.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        given = Path(path)
        self.path = given / REGISTER_FILE if given.is_dir() or given.suffix != ".gpkg" else given
        self._read_marker: str | None = None

    def __repr__(self) -> str:
        return f"GpkgRegister({str(self.path)!r})"

    @property
    def where(self) -> str:
        return str(self.path)

    def exists(self) -> bool:
        return self.path.is_file()

    def read(self, *, crs: Any) -> RegisterState:
        """The register as it is now (an empty state where there is no register yet)."""
        if not self.exists():
            return RegisterState.empty(crs)
        try:
            layers = {name for name, _ in pyogrio.list_layers(self.path)}
            if SITES not in layers:
                raise RegisterError(
                    f"{self.path}: no layer '{SITES}'; this is not a flaechen register. Move it away or "
                    "name another output folder."
                )
            sites = pyogrio.read_dataframe(self.path, layer=SITES, fid_as_index=False)
            history = (
                pyogrio.read_dataframe(self.path, layer=HISTORY, read_geometry=False)
                if HISTORY in layers
                else pd.DataFrame()
            )
            changes = (
                pyogrio.read_dataframe(self.path, layer=CHANGES, read_geometry=False)
                if CHANGES in layers
                else pd.DataFrame()
            )
        except pyogrio.errors.DataSourceError as exc:
            raise RegisterError(f"{self.path}: cannot read the register ({exc}); restore it from a backup") from exc
        self._read_marker = str(history["run_at"].max()) if len(history) else None
        return RegisterState.from_frames(sites, history, changes, crs=crs)

    def write(self, result: CarryOver, *, history: pd.DataFrame, crs: Any) -> None:
        """Apply a carry-over: create the register, or update it in place in one transaction."""
        if not self.exists():
            self._create(result, history)
            return
        self._update(result, history)

    # --------------------------------------------------------------------------------- first run
    def _create(self, result: CarryOver, history: pd.DataFrame) -> None:
        from flaechen.export.styles import style_gpkg

        def finish(tmp: Path) -> None:
            with closing(connect(tmp)) as db:
                plain_client_triggers(db, SITES)
            style_gpkg(tmp)

        sites = result.sites if len(result.sites) else empty_sites(result.sites.crs)
        write_gpkg(
            self.path,
            layers={SITES: sites},
            tables={HISTORY: _typed(history, HISTORY), CHANGES: _typed(result.changes, CHANGES)},
            finish=finish,
        )
        log.info("register created: %s (%d sites)", self.path, len(sites))

    # --------------------------------------------------------------------------------- later runs
    def _update(self, result: CarryOver, history: pd.DataFrame) -> None:
        schema = load_schema()
        sites_layer = schema.layer(SITES)
        derived = [f.name for f in sites_layer.fields if f.derived and f.name != "site_id"]
        try:
            db = connect(self.path)
        except sqlite3.Error as exc:
            raise RegisterError(f"{self.path}: cannot open the register ({exc})") from exc
        with closing(db):
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise RegisterError(
                    f"{self.path}: the register is locked ({exc}): a planner is saving edits (QGIS). Save or "
                    "discard them and run again."
                ) from exc
            try:
                has_history = db.execute("SELECT 1 FROM gpkg_contents WHERE table_name = ?", (HISTORY,)).fetchone()
                marker = db.execute(f'SELECT max(run_at) FROM "{HISTORY}"').fetchone()[0] if has_history else None
                if marker != self._read_marker:
                    raise RegisterError(
                        f"{self.path}: another run updated the register since this run read it; run again"
                    )
                geom_col, srs_id = db.execute(
                    "SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?", (SITES,)
                ).fetchone()
                self._ensure_columns(db, SITES, sites_layer)
                plain_client_triggers(db, SITES)
                new = result.sites[result.sites["site_id"].isin(result.new_ids)]
                old = result.sites[~result.sites["site_id"].isin(result.new_ids)]
                assignments = ", ".join(f'"{c}" = ?' for c in derived) + f', "{geom_col}" = ?'
                db.executemany(
                    f'UPDATE "{SITES}" SET {assignments} WHERE site_id = ?',
                    [
                        [*(_py(row[c]) for c in derived), to_gpkg_blob(row.geometry, srs_id), row["site_id"]]
                        for _, row in old.iterrows()
                    ],
                )
                columns = [*sites_layer.field_names]
                placeholders = ", ".join("?" for _ in range(len(columns) + 1))
                names = ", ".join(f'"{c}"' for c in columns) + f', "{geom_col}"'
                db.executemany(
                    f'INSERT INTO "{SITES}" ({names}) VALUES ({placeholders})',
                    [
                        [*(_py(row[c]) for c in columns), to_gpkg_blob(row.geometry, srs_id)]
                        for _, row in new.iterrows()
                    ],
                )
                self._append(db, HISTORY, _typed(history, HISTORY))
                self._append(db, CHANGES, _typed(result.changes, CHANGES))
                self._touch(db, SITES, result.sites)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        log.info(
            "register updated in place: %s (%d sites, %d new, %d history rows)",
            self.path,
            len(result.sites),
            len(result.new_ids),
            len(history),
        )

    @staticmethod
    def _ensure_columns(db: sqlite3.Connection, table: str, layer: LayerDef) -> None:
        present = {r[1] for r in db.execute(f'PRAGMA table_info("{table}")')}
        types = {"string": "TEXT", "float64": "REAL", "int32": "INTEGER", "int64": "INTEGER", "bool": "BOOLEAN"}
        for f in layer.fields:
            if f.name not in present:
                db.execute(f'ALTER TABLE "{table}" ADD COLUMN "{f.name}" {types[f.type]}')
                log.info("register: added column %s.%s (a newer schema)", table, f.name)

    def _append(self, db: sqlite3.Connection, table: str, frame: pd.DataFrame) -> None:
        exists = db.execute(
            "SELECT 1 FROM gpkg_contents WHERE table_name = ?",
            (table,),
        ).fetchone()
        layer = load_schema().layer(table)
        if not exists:
            types = {"string": "TEXT", "float64": "REAL", "int32": "INTEGER", "int64": "INTEGER", "bool": "BOOLEAN"}
            cols = ", ".join(f'"{f.name}" {types[f.type]}' for f in layer.fields)
            db.execute(f'CREATE TABLE "{table}" (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, {cols})')
            db.execute(
                "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
                "VALUES (?, 'attributes', ?, '', strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
                (table, table),
            )
        else:
            self._ensure_columns(db, table, layer)
        if frame.empty:
            return
        columns = list(layer.field_names)
        names = ", ".join(f'"{c}"' for c in columns)
        db.executemany(
            f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" for _ in columns)})',
            [[_py(v) for v in row] for row in frame[columns].itertuples(index=False)],
        )
        has_counts = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?",
            (f"trigger_insert_feature_count_{table}",),
        ).fetchone()
        if not has_counts:
            db.execute("UPDATE gpkg_ogr_contents SET feature_count = NULL WHERE lower(table_name) = lower(?)", (table,))
        db.execute(
            "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name = ?",
            (table,),
        )

    @staticmethod
    def _touch(db: sqlite3.Connection, table: str, sites: gpd.GeoDataFrame) -> None:
        if len(sites):
            minx, miny, maxx, maxy = sites.total_bounds
            db.execute(
                "UPDATE gpkg_contents SET min_x = ?, min_y = ?, max_x = ?, max_y = ?, "
                "last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name = ?",
                (float(minx), float(miny), float(maxx), float(maxy), table),
            )


def _py(value: Any) -> Any:
    """A value SQLite (and psycopg) accepts: None for every kind of missing, Python scalars."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _typed(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    layer = load_schema().layer(table)
    out = pd.DataFrame(index=frame.index)
    for f in layer.fields:
        values = frame[f.name] if f.name in frame else pd.Series([None] * len(frame), index=frame.index)
        out[f.name] = pd.array(values.tolist(), dtype=f.dtype)
    return out.reset_index(drop=True)


__all__ = ["PLANNER_FIELDS", "REGISTER_FILE", "GpkgRegister", "RegisterError", "connect", "to_gpkg_blob"]
