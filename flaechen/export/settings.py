"""The ``[export]`` table of a district configuration: which exports a run writes besides the GeoPackage.

.. code-block:: toml

    [export]
    parquet = true                 # GeoParquet into OUT_DIR/parquet/ (or a folder name: "geoparquet")
    postgis = "service=kreis"      # a pg_service.conf service, "env", or postgresql://user@host/db
    schema = "flaechen"            # target schema in PostGIS

A password never belongs in the configuration (it is shared and versioned): use a service with
`~/.pgpass`, or ``env`` with ``FLAECHEN_PG_DSN``/``PGPASSWORD`` set where the run happens.

Examples
--------
>>> settings = parse_export_section({"parquet": True, "postgis": "service=kreis"})
>>> settings.postgis, settings.schema
('service=kreis', 'flaechen')
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from flaechen.errors import ExportError
from flaechen.validation import Settings, invalid, validate

log = logging.getLogger(__name__)


class ExportSettings(Settings):
    """Validated ``[export]`` settings.

    Attributes
    ----------
    parquet
        Folder for GeoParquet, relative to the output folder (``true`` means ``"parquet"``); None for no
        GeoParquet export.
    postgis
        Database to export to (``service=NAME``, ``env`` or ``postgresql://…`` without password); None for
        no PostGIS export.
    schema
        Target schema in PostGIS (a plain lower-case PostgreSQL name).
    """

    parquet: str | None = None
    postgis: str | None = None
    schema_: str = Field("flaechen", alias="schema")

    model_config = ConfigDict(populate_by_name=True)

    @property
    def schema(self) -> str:  # type: ignore[override]
        """Target schema in PostGIS."""
        return self.schema_

    @field_validator("parquet", mode="before")
    @classmethod
    def _parquet(cls, value: Any) -> Any:
        if value is True:
            return "parquet"
        if value is False or value is None:
            return None
        if isinstance(value, str) and value and not Path(value).is_absolute():
            return value
        raise invalid(
            f"must be true, false or a folder name inside the output folder, not {value!r}",
            'write parquet = true or parquet = "geoparquet"',
        )

    @field_validator("postgis")
    @classmethod
    def _postgis(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip():
            raise invalid("must not be empty", 'give a connection such as "service=kreis"')
        return check_connection(value, checked="checked at export time")

    @field_validator("schema_")
    @classmethod
    def _schema(cls, value: str) -> str:
        return check_schema(value, example="flaechen")


def check_connection(value: str, *, checked: str) -> str:
    """Check a PostgreSQL connection setting: resolvable, and no password in the configuration.

    `checked` stands in for the service name, which is looked up later (e.g. "checked at export time").
    """
    from flaechen.export.postgis import resolve_target

    try:
        target = resolve_target(value, environ={"PGSERVICE": checked})
    except ExportError as exc:
        raise invalid(str(exc), 'use "service=NAME", "env" or postgresql://user@host/db') from None
    if target.password and value != "env":
        raise invalid(
            "the connection carries a password",
            'keep passwords out of the configuration: use a service in pg_service.conf with ~/.pgpass, or "env"',
        )
    return value


def check_schema(value: str, *, example: str) -> str:
    """Check a PostgreSQL schema name (`example` is suggested in the fix)."""
    from flaechen.export.postgis import check_identifier

    try:
        check_identifier(value, "schema")
    except ExportError as exc:
        raise invalid(str(exc), f'e.g. schema = "{example}"') from None
    return value


def parse_export_section(section: ExportSettings | Mapping[str, Any] | None) -> ExportSettings:
    """Validate the ``[export]`` table of a district configuration (a typed table is returned as it is).

    Raises
    ------
    flaechen.errors.ConfigError
        With every problem found: unknown keys, wrong types, a password in the connection, a schema name
        PostgreSQL would need quoted.
    """
    if isinstance(section, ExportSettings):
        return section
    return validate(ExportSettings, dict(section or {}), prefix="export")


def run_exports(gpkg_path: str | os.PathLike[str], settings: ExportSettings) -> list[Path]:
    """Run the exports `settings` ask for on a district GeoPackage; return the files written.

    The GeoParquet folder is resolved against the GeoPackage's folder (the output folder).
    """
    from flaechen.export.parquet import to_parquet
    from flaechen.export.postgis import to_postgis

    gpkg = Path(gpkg_path)
    written: list[Path] = []
    if settings.parquet:
        written += to_parquet(gpkg, gpkg.parent / settings.parquet)
    if settings.postgis:
        to_postgis(gpkg, settings.postgis, schema=settings.schema)
    return written
