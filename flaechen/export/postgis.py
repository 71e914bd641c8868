"""PostGIS export: the district dataset as one schema of a PostgreSQL database, replaced in one transaction.

Many districts keep their geodata in PostgreSQL/PostGIS, shared by all municipalities. :func:`to_postgis`
writes every layer and table of `district.gpkg` into one schema (default ``flaechen``): geometry columns
with their SRID, a spatial index and a primary key per table, and the descriptions of `layers/*.yaml` as
table and column comments, so they show in QGIS, DBeaver or pgAdmin. The QGIS styles of `layers/styles/`
go into the `layer_styles` table QGIS reads for PostgreSQL layers, so the layers open styled in QGIS too.

How a re-export stays consistent: everything happens in ONE transaction. The new tables are built in a
staging schema, then the tables of the previous export are dropped and the new ones moved into the target
schema, then the transaction commits. Readers see the previous content until the commit and the new
content after it, never a mix; an error at any point rolls everything back and leaves the previous content
untouched. Other objects in the target schema (a planner's own tables) are left alone; the table
`export_info` records which tables belong to the export.

Connection: a libpq connection string or URI (``postgresql://user@host/db``), a service from
`pg_service.conf` (``service=kreis``), or ``env``: the variable ``FLAECHEN_PG_DSN``, else libpq's own
``PG*`` variables (PGHOST, PGSERVICE, PGPASSWORD …). Passwords are never logged or shown in messages;
prefer a service file or `~/.pgpass` to a password in a URI on the command line.

Examples
--------
With a server named ``kreis`` in the PostgreSQL service file (not run as a doctest: it needs the server;
``tests/export/test_postgis.py`` runs it against a real one):

>>> from flaechen.export import to_postgis
>>> to_postgis("out/demo/district.gpkg", "service=kreis", schema="flaechen")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import psycopg
import shapely
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from flaechen import __version__
from flaechen.district import district_contents, read_layer, resolve_district
from flaechen.errors import ExportError
from flaechen.export.styles import available_styles, read_qml
from flaechen.layers import LayerDef, load_schema

log = logging.getLogger(__name__)

DSN_VARIABLE = "FLAECHEN_PG_DSN"
"""Environment variable read for ``env`` (a connection string or URI)."""

INFO_TABLE = "export_info"
"""Table in the target schema that records the last export and the tables it owns."""

STAGING_SUFFIX = "__staging"

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

_PG_TYPES = {
    "string": "text",
    "int32": "integer",
    "int64": "bigint",
    "float64": "double precision",
    "bool": "boolean",
}

PROVENANCE_COMMENTS = {
    "source_id": "Source of the feature: the id of the delivery in the district configuration",
    "source_layer": "Layer of the delivered file the feature was read from",
    "source_fid": "Feature id in the delivered file",
    "source_hash": "Hash of the delivered feature (detects changes between deliveries)",
}

TABLE_COMMENTS = {
    "issues": "Prüfprotokoll: issue log, one row per problem found in a delivery (layers/issue_types.yaml)",
    "summary": "Potenziale je Gemeinde: candidates per municipality and category",
    "parcel_measures": "Messwerte je Flurstück: what the flagging step measured on every parcel",
    "rules": "Regeln: the flagging rules and parameters the candidates were derived with",
    "quality": "Flächenabgleich: computed against official parcel area per municipality",
    "accounting": "Bilanz je Quelle: features read, kept and rejected per source",
    "sources": "Quellen: the deliveries the dataset was built from",
    INFO_TABLE: "flaechen export: when and from what this schema was last exported, and its tables",
}

ISSUE_COMMENTS = {
    "ags": "AGS of the municipality whose delivery has the issue",
    "source_id": "Source (delivery) in the district configuration",
    "layer": "Canonical layer the feature belongs to",
    "source_fid": "Feature id in the delivered file",
    "feature_id": "Key of the feature (e.g. parcel_id), where known",
    "field": "Field the issue concerns",
    "value": "Value as delivered",
    "issue_type": "Issue type (layers/issue_types.yaml)",
    "severity": "error, warning or info",
    "responsible": "Who must fix it at the source: municipality or district",
    "rejected": "Whether the feature was kept out of the district dataset",
    "message": "What is wrong and how to fix it",
}


# --------------------------------------------------------------------------------------------- connection


@dataclass(frozen=True)
class Target:
    """Where to connect: the libpq connection string and a description safe to show (no password)."""

    conninfo: str
    shown: str
    password: str | None


def _redact(conninfo: str) -> tuple[str, str | None]:
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError as exc:
        raise ExportError(
            "the connection string cannot be parsed; give postgresql://USER@HOST/DB, "
            "service=NAME (pg_service.conf) or env"
        ) from exc
    password = params.pop("password", None)
    shown = make_conninfo("", **{k: str(v) for k, v in params.items() if v is not None})
    return shown or "libpq defaults", None if password is None else str(password)


def resolve_target(dsn_or_service: str, *, environ: dict[str, str] | None = None) -> Target:
    """Turn the user's connection argument into a libpq connection string.

    Parameters
    ----------
    dsn_or_service
        ``postgresql://…`` (or ``postgres://…``), a libpq key/value string such as ``service=kreis`` or
        ``host=db dbname=gis``, or ``env`` to read ``FLAECHEN_PG_DSN`` (else libpq's ``PG*`` variables).
    environ
        The environment to read for ``env``; `os.environ` by default.

    Raises
    ------
    ExportError
        Where the argument is none of these, or ``env`` finds nothing to connect with.
    """
    env = os.environ if environ is None else environ
    given = dsn_or_service.strip()
    if given == "env":
        conninfo = env.get(DSN_VARIABLE, "")
        if not conninfo and not any(k in env for k in ("PGHOST", "PGSERVICE", "PGDATABASE")):
            raise ExportError(
                f"--to env: set {DSN_VARIABLE} (e.g. postgresql://user@host/db) or libpq's PGSERVICE "
                "or PGHOST/PGDATABASE"
            )
        shown, password = _redact(conninfo)
        origin = DSN_VARIABLE if conninfo else "PG* environment variables"
        return Target(conninfo, f"{shown} (from {origin})", password or env.get("PGPASSWORD"))
    if given.startswith(("postgresql://", "postgres://")) or "=" in given:
        shown, password = _redact(given)
        return Target(given, shown, password)
    raise ExportError(
        f"not a database connection: {given.split('@')[-1]!r}; give postgresql://USER@HOST/DB, "
        "service=NAME (a service in pg_service.conf) or env"
    )


def _scrub(message: str, target: Target) -> str:
    return message.replace(target.password, "***") if target.password else message


def connect(target: Target) -> psycopg.Connection:
    """Open a connection; failures become an :class:`ExportError` without the password."""
    try:
        return psycopg.connect(target.conninfo, connect_timeout=15, application_name="flaechen export")
    except psycopg.Error as exc:
        reason = _scrub(str(exc).strip(), target)
        raise ExportError(f"cannot connect to PostgreSQL ({target.shown}): {reason}") from None


# ----------------------------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Column:
    """One column of an exported table."""

    name: str
    type: str
    comment: str | None


@dataclass(frozen=True)
class Table:
    """One table to export: its columns, rows, key and (for layers) geometry."""

    name: str
    columns: tuple[Column, ...]
    frame: pd.DataFrame
    key: str
    comment: str
    geometry: str | None = None
    srid: int | None = None


def _pg_type_of_dtype(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer" if dtype.itemsize <= 4 else "bigint"
    if pd.api.types.is_float_dtype(dtype):
        return "double precision"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "timestamptz"
    return "text"


def _columns(frame: pd.DataFrame, layer: LayerDef | None, extra: dict[str, str]) -> list[Column]:
    fields = {f.name: f for f in layer.fields} if layer else {}
    columns = []
    for name in frame.columns:
        if name in fields:
            field = fields[name]
            pg_type = f"varchar({field.length})" if field.length else _PG_TYPES[field.type]
            unit = f" [{field.unit}]" if field.unit else ""
            columns.append(Column(name, pg_type, field.description + unit))
        else:
            comment = PROVENANCE_COMMENTS.get(name) or extra.get(name)
            columns.append(Column(name, _pg_type_of_dtype(frame[name]), comment))
    return columns


def check_identifier(name: str, what: str) -> None:
    """Raise :class:`ExportError` unless `name` is a plain lower-case PostgreSQL identifier."""
    if not _IDENTIFIER.match(name):
        raise ExportError(f"{what} {name!r} is not a plain PostgreSQL name; use lower-case letters, digits and '_'")


def collect_tables(gpkg: Path) -> list[Table]:
    """Read every layer and table of the GeoPackage into export-ready :class:`Table` objects.

    Raises
    ------
    ExportError
        Where a layer's key has empty or duplicate values (it becomes the primary key).
    """
    schema = load_schema()
    found = district_contents(gpkg)
    tables: list[Table] = []
    for name in found.layer_names:
        check_identifier(name, "layer")
        frame = read_layer(found, name)
        layer = schema.layers.get(name)
        key = layer.key if layer and layer.key in frame.columns else None
        if key is None:
            frame.insert(0, "fid", range(1, len(frame) + 1))
            key = "fid"
        keys = frame[key]
        if keys.isna().any() or keys.duplicated().any():
            dupes = sorted(map(str, keys[keys.duplicated()].unique()))[:5]
            raise ExportError(
                f"{gpkg}: layer {name!r} has empty or duplicate {key} values (e.g. {dupes}); "
                "the key becomes the primary key in PostGIS: rebuild the dataset with `flaechen run`"
            )
        epsg = frame.crs.to_epsg() if frame.crs is not None else None
        if epsg is None:
            raise ExportError(f"{gpkg}: layer {name!r} has no EPSG-coded CRS; PostGIS needs an SRID")
        geom = found.entries[name].geometry_column or "geom"
        attributes = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        columns = _columns(attributes, layer, {})
        geom_type = layer.geometry if layer else "Geometry"
        comment = f"{layer.title}: {layer.description}" if layer else f"Layer {name}"
        columns.append(Column(geom, f"geometry({geom_type}, {epsg})", f"Geometry, EPSG:{epsg}"))
        attributes[geom] = _ewkb(frame, epsg)
        tables.append(Table(name, tuple(columns), attributes, key, comment, geom, epsg))
    for name in found.tables:
        check_identifier(name, "table")
        frame = read_layer(found, name, with_fid=True)
        definition = schema.layers.get(name)
        extra = ISSUE_COMMENTS if name == "issues" else {}
        columns = _columns(frame, definition, extra | {"fid": "Row id in district.gpkg"})
        if definition is not None:
            comment = f"{definition.title}: {definition.description}"
        else:
            comment = TABLE_COMMENTS.get(name, f"Table {name}")
        key = definition.key if definition is not None and definition.key in frame.columns else "fid"
        if key != "fid" and (frame[key].isna().any() or frame[key].duplicated().any()):
            key = "fid"
        tables.append(Table(name, tuple(columns), frame, key, comment))
    return tables


def _ewkb(frame: gpd.GeoDataFrame, srid: int) -> list[str | None]:
    geoms = shapely.set_srid(frame.geometry.values.to_numpy(), srid)
    return list(shapely.to_wkb(geoms, hex=True, include_srid=True).tolist())


def _python_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _text(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else str(value)


def _rows(table: Table) -> Iterator[tuple[Any, ...]]:
    columns = []
    for column in table.columns:
        values = [_python_value(v) for v in table.frame[column.name].tolist()]
        if column.type == "text":  # free-form columns may hold numbers or lists next to text
            values = [_text(v) for v in values]
        columns.append(values)
    return zip(*columns, strict=True)


# ---------------------------------------------------------------------------------------------- writing


def _create_table(cur: psycopg.Cursor, schema: str, table: Table) -> None:
    ident = sql.Identifier(schema, table.name)
    definition = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.type)) for c in table.columns
    )
    cur.execute(sql.SQL("CREATE TABLE {} ({})").format(ident, definition))


def copy_rows(cur: psycopg.Cursor, schema: str, table: Table) -> None:
    """Load the rows of `table` with COPY."""
    names = sql.SQL(", ").join(sql.Identifier(c.name) for c in table.columns)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(schema, table.name), names)
    with cur.copy(statement) as copy:
        for row in _rows(table):
            copy.write_row(row)


def _finish_table(cur: psycopg.Cursor, schema: str, table: Table) -> None:
    ident = sql.Identifier(schema, table.name)
    cur.execute(
        sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY ({})").format(
            ident, sql.Identifier(f"{table.name}_pkey"), sql.Identifier(table.key)
        )
    )
    if table.geometry:
        cur.execute(
            sql.SQL("CREATE INDEX {} ON {} USING gist ({})").format(
                sql.Identifier(f"{table.name}_{table.geometry}_idx"), ident, sql.Identifier(table.geometry)
            )
        )
    cur.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(ident, sql.Literal(table.comment)))
    for column in table.columns:
        if column.comment:
            cur.execute(
                sql.SQL("COMMENT ON COLUMN {}.{} IS {}").format(
                    ident, sql.Identifier(column.name), sql.Literal(column.comment)
                )
            )
    cur.execute(sql.SQL("ANALYZE {}").format(ident))


def _schema_exists(cur: psycopg.Cursor, schema: str) -> bool:
    cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
    return cur.fetchone() is not None


def _tables_in(cur: psycopg.Cursor, schema: str) -> set[str]:
    cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
    return {r[0] for r in cur.fetchall()}


def _previous_tables(cur: psycopg.Cursor, schema: str) -> set[str]:
    if INFO_TABLE not in _tables_in(cur, schema):
        return set()
    cur.execute(sql.SQL("SELECT tables FROM {}").format(sql.Identifier(schema, INFO_TABLE)))
    row = cur.fetchone()
    return {*row[0], INFO_TABLE} if row else {INFO_TABLE}


def _write_info(cur: psycopg.Cursor, schema: str, gpkg: Path, tables: list[Table]) -> None:
    ident = sql.Identifier(schema, INFO_TABLE)
    cur.execute(
        sql.SQL(
            "CREATE TABLE {} (exported_at timestamptz PRIMARY KEY, source text, flaechen_version text, tables text[])"
        ).format(ident)
    )
    cur.execute(
        sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s)").format(ident),
        (datetime.now(UTC), gpkg.name, __version__, [t.name for t in tables]),
    )
    cur.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(ident, sql.Literal(TABLE_COMMENTS[INFO_TABLE])))


def _swap(cur: psycopg.Cursor, staging: str, schema: str, tables: list[Table]) -> None:
    new = {t.name for t in tables} | {INFO_TABLE}
    if _schema_exists(cur, schema):
        previous = _previous_tables(cur, schema)
        foreign = (new & _tables_in(cur, schema)) - previous
        if foreign:
            raise ExportError(
                f"schema {schema!r} already holds tables {sorted(foreign)} that no flaechen export "
                "created; choose another --schema or drop them"
            )
        for name in sorted(previous & _tables_in(cur, schema)):
            cur.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(schema, name)))
    else:
        cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        cur.execute(
            sql.SQL("COMMENT ON SCHEMA {} IS {}").format(
                sql.Identifier(schema),
                sql.Literal("Flächenkreislaufwirtschaft: district dataset exported by flaechen"),
            )
        )
    for name in sorted(new):
        cur.execute(
            sql.SQL("ALTER TABLE {} SET SCHEMA {}").format(sql.Identifier(staging, name), sql.Identifier(schema))
        )
    cur.execute(sql.SQL("DROP SCHEMA {}").format(sql.Identifier(staging)))


# The table QGIS creates on "Save style … in database" for PostgreSQL layers (QGIS 3.22); QGIS looks it up
# on the search path and applies a layer's default style from it when the layer is added.
_QGIS_STYLE_TABLE = sql.SQL(
    "CREATE TABLE public.layer_styles (id SERIAL PRIMARY KEY, f_table_catalog varchar, "
    "f_table_schema varchar, f_table_name varchar, f_geometry_column varchar, stylename text, "
    "styleqml xml, stylesld xml, useasdefault boolean, description text, "
    "owner varchar(63) DEFAULT CURRENT_USER, ui xml, update_time timestamp DEFAULT CURRENT_TIMESTAMP, "
    "type varchar)"
)


def _store_styles(conn: psycopg.Connection, cur: psycopg.Cursor, schema: str, tables: list[Table]) -> None:
    """Store the QGIS styles of `layers/styles/` as default styles of the exported layers.

    Into the `layer_styles` table QGIS uses (created in `public` where missing), in the export's
    transaction, so QGIS shows the PostGIS layers styled as the GeoPackage's. Where the role may not create
    or write that table (PostgreSQL 15 forbids CREATE in `public` to ordinary roles), the data export goes
    on without styles and a warning says what to grant.
    """
    styles = available_styles()
    styled = [t for t in tables if t.geometry and t.name in styles]
    if not styled:
        return
    try:
        with conn.transaction():  # a savepoint: a failure here undoes the styles only
            cur.execute("SELECT to_regclass('layer_styles') IS NOT NULL")
            exists = cur.fetchone()
            if not (exists and exists[0]):
                cur.execute(_QGIS_STYLE_TABLE)
            cur.execute("SELECT current_database()")
            row = cur.fetchone()
            database = row[0] if row else None
            for table in styled:
                where = (database, schema, table.name, table.geometry)
                cur.execute(
                    "UPDATE layer_styles SET useasdefault = false WHERE f_table_catalog = %s "
                    "AND f_table_schema = %s AND f_table_name = %s AND f_geometry_column = %s",
                    where,
                )
                cur.execute(
                    "DELETE FROM layer_styles WHERE f_table_catalog = %s AND f_table_schema = %s "
                    "AND f_table_name = %s AND f_geometry_column = %s AND stylename = %s",
                    (*where, table.name),
                )
                cur.execute(
                    "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                    "f_geometry_column, stylename, styleqml, useasdefault, description) "
                    "VALUES (%s, %s, %s, %s, %s, XMLPARSE(DOCUMENT %s), true, %s)",
                    (*where, table.name, read_qml(styles[table.name]), "flaechen: layers/styles/" + table.name),
                )
    except psycopg.Error as exc:
        log.warning(
            "QGIS styles not stored in layer_styles (%s); the data is exported. To store them, let the "
            "database owner run: CREATE TABLE public.layer_styles … (as QGIS does on its first 'Save style "
            "in database') and GRANT SELECT, INSERT, UPDATE, DELETE ON public.layer_styles to this role",
            str(exc).strip().splitlines()[0],
        )
        return
    log.info("stored QGIS styles of %d layers in layer_styles", len(styled))


def to_postgis(
    gpkg_path: str | os.PathLike[str],
    dsn_or_service: str,
    *,
    schema: str = "flaechen",
) -> None:
    """Export the district dataset into one PostGIS schema, replacing the previous export atomically.

    Parameters
    ----------
    gpkg_path
        The district GeoPackage, or the output folder holding `district.gpkg`.
    dsn_or_service
        ``postgresql://USER@HOST/DB``, ``service=NAME`` (pg_service.conf), any libpq key/value string, or
        ``env`` (``FLAECHEN_PG_DSN``, else libpq's ``PG*`` variables).
    schema
        Target schema; created where missing. Tables of an earlier export are replaced, other tables
        in it are kept.

    Raises
    ------
    ExportError
        Where the database is unreachable, lacks PostGIS, the schema holds foreign tables of the same
        names, or a layer cannot be keyed. Nothing has changed in the database then.

    Examples
    --------
    >>> to_postgis("out/demo", "service=kreis")  # doctest: +SKIP
    """
    check_identifier(schema, "schema")
    staging = f"{schema}{STAGING_SUFFIX}"
    check_identifier(staging, "staging schema")
    gpkg = resolve_district(gpkg_path)
    tables = collect_tables(gpkg)
    target = resolve_target(dsn_or_service)
    log.info("exporting %s to PostgreSQL (%s), schema %s", gpkg, target.shown, schema)
    with connect(target) as conn:
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
                if cur.fetchone() is None:
                    raise ExportError(
                        f"PostGIS is not enabled in the database ({target.shown}); "
                        "run CREATE EXTENSION postgis; as its owner"
                    )
                # one export per schema at a time; a second one waits for this one to commit
                cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"flaechen:{schema}",))
                cur.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(staging)))
                cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(staging)))
                for table in tables:
                    _create_table(cur, staging, table)
                    copy_rows(cur, staging, table)
                    _finish_table(cur, staging, table)
                    log.info("  %s: %d rows", table.name, len(table.frame))
                _write_info(cur, staging, gpkg, tables)
                _swap(cur, staging, schema, tables)
                _store_styles(conn, cur, schema, tables)
        except psycopg.Error as exc:
            reason = _scrub(str(exc).strip(), target)
            raise ExportError(
                f"export to schema {schema!r} failed and was rolled back, the previous content is unchanged: {reason}"
            ) from None
    log.info("exported %d tables to schema %s", len(tables), schema)
