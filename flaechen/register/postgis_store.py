"""The register in PostGIS: several planners at once, the same carry-over rules, one transaction per run.

Schema ``[register] schema`` (default ``register``, never the export's schema, which each export replaces)
holds ``sites`` (geometry ``geom``, MultiPolygon in the district CRS, GiST index), ``history`` and
``changes``, created on the first run. A run reads the register, carries it over and writes it back in
one transaction that first takes an exclusive lock on ``sites`` against other runs (planners keep
reading and editing), checks that no other run wrote since it read, updates only the derived fields of
existing sites, inserts the new ones and appends history and changes. The planners' fields are never
written, so edits saved from QGIS meanwhile are kept. Where the database holds no register yet and
``OUT_DIR/register.gpkg`` exists, the first run takes that register over with every edit.

Examples
--------
>>> store = PostgisRegister(resolve_target("service=kreis"), schema="register")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from typing import Any

import geopandas as gpd
import pandas as pd
import psycopg
import shapely
from psycopg import sql

from flaechen.errors import ConfigError, ExportError, Problem, RegisterError
from flaechen.export.postgis import Target, connect, resolve_target
from flaechen.export.styles import available_styles, read_qml
from flaechen.layers import load_schema
from flaechen.register.gpkg_store import GpkgRegister, _py, _typed
from flaechen.register.match import CarryOver
from flaechen.register.settings import RegisterSettings
from flaechen.register.state import RegisterState

log = logging.getLogger(__name__)

SITES, HISTORY, CHANGES = "sites", "history", "changes"
_PG_TYPES = {"string": "text", "float64": "double precision", "int32": "integer", "int64": "bigint", "bool": "boolean"}


class PostgisRegister:
    """The register kept in a PostGIS schema.

    Parameters
    ----------
    target
        Where to connect (:func:`flaechen.export.postgis.resolve_target`).
    schema
        The register's schema.
    take_over
        A GeoPackage register to take over where the database holds none yet.
    """

    def __init__(self, target: Target, *, schema: str = "register", take_over: GpkgRegister | None = None) -> None:
        self.target = target
        self.schema = schema
        self.take_over = take_over
        self._read_marker: str | None = None
        self._taking_over = False

    @classmethod
    def from_settings(
        cls, settings: RegisterSettings, *, export: Any, out_dir: str | os.PathLike[str]
    ) -> PostgisRegister:
        from flaechen.register.step import export_value

        connection = settings.connection or export_value(export, "postgis")
        if not connection:
            raise ConfigError(
                [
                    Problem(
                        None,
                        "register.store",
                        "'postgis' needs register.connection or [export] postgis",
                        'add connection = "service=kreis" (a pg_service.conf service) to [register]',
                    )
                ]
            )
        try:
            target = resolve_target(str(connection))
        except ExportError as exc:
            raise ConfigError([Problem(None, "register.connection", str(exc), 'use "service=NAME" or "env"')]) from None
        if settings.schema_name == export_value(export, "schema", "flaechen"):
            raise ConfigError(
                [
                    Problem(
                        None,
                        "register.schema",
                        f"{settings.schema_name!r} is the export's schema, which each export replaces",
                        'give the register its own schema, e.g. schema = "register"',
                    )
                ]
            )
        return cls(target, schema=settings.schema_name, take_over=GpkgRegister(out_dir))

    @property
    def where(self) -> str:
        return f"PostGIS {self.target.shown}, schema {self.schema}"

    def __repr__(self) -> str:
        return f"PostgisRegister({self.where!r})"

    # ------------------------------------------------------------------------------------------ read
    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return connect(self.target)
        except ExportError as exc:
            raise RegisterError(str(exc).replace("export", "register")) from None

    def _has_register(self, cur: psycopg.Cursor[Any]) -> bool:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", (f'"{self.schema}"."{SITES}"',))
        return bool(_one(cur))

    def read(self, *, crs: Any) -> RegisterState:
        """The register as it is now (taken over from the GeoPackage, or empty, where there is none)."""
        with self._connect() as conn, conn.cursor() as cur:
            if not self._has_register(cur):
                self._read_marker = None
                if self.take_over is not None and self.take_over.exists():
                    log.info("register: taking over %s into %s", self.take_over.path, self.where)
                    self._taking_over = True
                    return self.take_over.read(crs=crs)
                return RegisterState.empty(crs)
            schema = load_schema()
            fields = schema.layer(SITES).field_names
            cur.execute(
                sql.SQL("SELECT {}, ST_AsBinary(geom) FROM {}.{} ORDER BY site_id").format(
                    sql.SQL(", ").join(sql.Identifier(f) for f in fields),
                    sql.Identifier(self.schema),
                    sql.Identifier(SITES),
                )
            )
            rows = cur.fetchall()
            frame = pd.DataFrame([r[:-1] for r in rows], columns=list(fields))
            geoms = shapely.from_wkb([None if r[-1] is None else bytes(r[-1]) for r in rows])
            sites = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)
            history = self._table(cur, HISTORY)
            changes = self._table(cur, CHANGES)
            self._read_marker = self._marker(cur)
        return RegisterState.from_frames(sites, history, changes, crs=crs)

    def _table(self, cur: psycopg.Cursor[Any], name: str) -> pd.DataFrame:
        fields = load_schema().layer(name).field_names
        cur.execute(
            sql.SQL("SELECT {} FROM {}.{} ORDER BY fid").format(
                sql.SQL(", ").join(sql.Identifier(f) for f in fields), sql.Identifier(self.schema), sql.Identifier(name)
            )
        )
        return pd.DataFrame(cur.fetchall(), columns=list(fields))

    def _marker(self, cur: psycopg.Cursor[Any]) -> str | None:
        query = sql.SQL("SELECT max(run_at) FROM {}.{}")
        cur.execute(query.format(sql.Identifier(self.schema), sql.Identifier(HISTORY)))
        value = _one(cur)
        return None if value is None else str(value)

    # ------------------------------------------------------------------------------------------ write
    def write(self, result: CarryOver, *, history: pd.DataFrame, crs: Any) -> None:
        """Apply a carry-over in one transaction."""
        srid = gpd.GeoSeries([], crs=crs).crs.to_epsg()
        if srid is None:
            raise RegisterError(f"the district CRS {crs} has no EPSG code; PostGIS needs one for the register")
        schema = load_schema()
        layer = schema.layer(SITES)
        derived = [f.name for f in layer.fields if f.derived and f.name != "site_id"]
        s = sql.Identifier(self.schema)
        with self._connect() as conn, conn.cursor() as cur, conn.transaction():
            created = self._ensure(cur, srid)
            cur.execute(sql.SQL("LOCK TABLE {}.{} IN EXCLUSIVE MODE").format(s, sql.Identifier(SITES)))
            if not created and self._marker(cur) != self._read_marker:
                raise RegisterError(f"{self.where}: another run updated the register since this run read it; run again")
            sites = result.sites
            if created or self._taking_over:
                new, old = sites, sites.iloc[0:0]
            else:
                new = sites[sites["site_id"].isin(result.new_ids)]
                old = sites[~sites["site_id"].isin(result.new_ids)]
            geom = sql.SQL("ST_Multi(ST_GeomFromWKB(%s, {}))").format(sql.Literal(srid))
            cur.executemany(
                sql.SQL("UPDATE {}.{} SET {}, geom = {} WHERE site_id = %s").format(
                    s,
                    sql.Identifier(SITES),
                    sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in derived),
                    geom,
                ),
                [[*(_py(r[c]) for c in derived), _wkb(r.geometry), r["site_id"]] for _, r in old.iterrows()],
            )
            columns = list(layer.field_names)
            cur.executemany(
                sql.SQL("INSERT INTO {}.{} ({}, geom) VALUES ({}, {})").format(
                    s,
                    sql.Identifier(SITES),
                    sql.SQL(", ").join(sql.Identifier(c) for c in columns),
                    sql.SQL(", ").join(sql.Placeholder() for _ in columns),
                    geom,
                ),
                [[*(_py(r[c]) for c in columns), _wkb(r.geometry)] for _, r in new.iterrows()],
            )
            if self._taking_over and self.take_over is not None:
                before = self.take_over.read(crs=crs)
                self._append(cur, HISTORY, before.history)
                self._append(cur, CHANGES, before.changes)
            self._append(cur, HISTORY, _typed(history, HISTORY))
            self._append(cur, CHANGES, _typed(result.changes, CHANGES))
            self._style(conn, cur)
        log.info("register written to %s (%d sites, %d new)", self.where, len(result.sites), len(result.new_ids))

    def _ensure(self, cur: psycopg.Cursor[Any], srid: int) -> bool:
        """Create the schema and tables where missing; return whether the register is new."""
        if self._has_register(cur):
            return False
        schema = load_schema()
        s = sql.Identifier(self.schema)
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(s))
        for name in (SITES, HISTORY, CHANGES):
            layer = schema.layer(name)
            cols = [
                sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(_PG_TYPES[f.type]))
                for f in layer.fields
                if not (name == SITES and f.name == "site_id")
            ]
            if name == SITES:
                head = sql.SQL("site_id text PRIMARY KEY")
                tail = [sql.SQL("geom geometry(MultiPolygon, {})").format(sql.Literal(srid))]
            else:
                head = sql.SQL("fid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY")
                tail = []
            cur.execute(
                sql.SQL("CREATE TABLE {}.{} ({})").format(
                    s, sql.Identifier(name), sql.SQL(", ").join([head, *cols, *tail])
                )
            )
            cur.execute(
                sql.SQL("COMMENT ON TABLE {}.{} IS {}").format(s, sql.Identifier(name), sql.Literal(layer.description))
            )
        cur.execute(sql.SQL("CREATE INDEX ON {}.{} USING gist (geom)").format(s, sql.Identifier(SITES)))
        return True

    def _append(self, cur: psycopg.Cursor[Any], name: str, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        columns = list(load_schema().layer(name).field_names)
        cur.executemany(
            sql.SQL("INSERT INTO {}.{} ({}) VALUES ({})").format(
                sql.Identifier(self.schema),
                sql.Identifier(name),
                sql.SQL(", ").join(sql.Identifier(c) for c in columns),
                sql.SQL(", ").join(sql.Placeholder() for _ in columns),
            ),
            [[_py(v) for v in row] for row in frame[columns].itertuples(index=False)],
        )

    def _style(self, conn: psycopg.Connection[Any], cur: psycopg.Cursor[Any]) -> None:
        """The style and form of ``sites`` as its default style in QGIS's ``layer_styles`` (where allowed)."""
        qml = available_styles().get(SITES)
        if qml is None:
            return
        try:
            with conn.transaction():
                cur.execute("SELECT to_regclass('layer_styles') IS NOT NULL")
                if not _one(cur):
                    from flaechen.export.postgis import _QGIS_STYLE_TABLE

                    cur.execute(_QGIS_STYLE_TABLE)
                cur.execute("SELECT current_database()")
                where = (_one(cur), self.schema, SITES, "geom")
                cur.execute(
                    "UPDATE layer_styles SET useasdefault = false WHERE f_table_catalog = %s AND f_table_schema = %s "
                    "AND f_table_name = %s AND f_geometry_column = %s",
                    where,
                )
                cur.execute(
                    "DELETE FROM layer_styles WHERE f_table_catalog = %s AND f_table_schema = %s "
                    "AND f_table_name = %s AND f_geometry_column = %s AND stylename = %s",
                    (*where, SITES),
                )
                cur.execute(
                    "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                    "stylename, styleqml, useasdefault, description) "
                    "VALUES (%s, %s, %s, %s, %s, XMLPARSE(DOCUMENT %s), true, %s)",
                    (*where, SITES, read_qml(qml), "flaechen: Flächenregister"),
                )
        except psycopg.Error as exc:
            log.warning(
                "register: QGIS style not stored in layer_styles (%s); the register is written",
                str(exc).strip().splitlines()[0],
            )


def _wkb(geom: Any) -> bytes | None:
    return None if geom is None else bytes(shapely.to_wkb(geom))


def _one(cur: psycopg.Cursor[Any]) -> Any:
    """The first value of the row a query returned (a query that always returns one)."""
    row = cur.fetchone()
    if row is None:
        raise RegisterError("the database returned no row where one was expected")
    return row[0]
