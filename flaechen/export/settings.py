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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flaechen.errors import ConfigError
from flaechen.export.errors import ExportError

log = logging.getLogger(__name__)

_KNOWN = ("parquet", "postgis", "schema")


@dataclass(frozen=True)
class ExportSettings:
    """Validated ``[export]`` settings.

    Attributes
    ----------
    parquet
        Folder for GeoParquet, relative to the output folder; None for no GeoParquet export.
    postgis
        Database to export to (``service=NAME``, ``env`` or ``postgresql://…`` without password); None for
        no PostGIS export.
    schema
        Target schema in PostGIS.
    """

    parquet: str | None = None
    postgis: str | None = None
    schema: str = "flaechen"


def parse_export_section(section: Mapping[str, Any] | None) -> ExportSettings:
    """Validate the ``[export]`` table of a district configuration.

    Raises
    ------
    flaechen.errors.ConfigError
        With every problem found: unknown keys, wrong types, a password in the connection, a schema name
        PostgreSQL would need quoted.
    """
    from flaechen.export.postgis import check_identifier, resolve_target

    section = dict(section or {})
    problems = [
        f"[export]: unknown key {key!r} (known: {', '.join(_KNOWN)})" for key in sorted(set(section) - set(_KNOWN))
    ]

    parquet: str | None = None
    raw = section.get("parquet", False)
    if raw is True:
        parquet = "parquet"
    elif isinstance(raw, str) and raw and not Path(raw).is_absolute():
        parquet = raw
    elif raw is not False:
        problems.append(
            f"[export] parquet: expected true, false or a folder name inside the output folder, got {raw!r}"
        )

    postgis = section.get("postgis")
    if postgis is not None:
        if not isinstance(postgis, str) or not postgis.strip():
            problems.append(f'[export] postgis: expected a connection such as "service=kreis", got {postgis!r}')
            postgis = None
        else:
            try:
                target = resolve_target(postgis, environ={"PGSERVICE": "checked at export time"})
            except ExportError as exc:
                problems.append(f"[export] postgis: {exc}")
            else:
                if target.password and postgis != "env":
                    problems.append(
                        "[export] postgis: the connection carries a password; keep passwords out of the "
                        'configuration: use a service in pg_service.conf with ~/.pgpass, or "env"'
                    )
    schema = section.get("schema", "flaechen")
    if not isinstance(schema, str):
        problems.append(f"[export] schema: expected a name, got {schema!r}")
    else:
        try:
            check_identifier(schema, "[export] schema")
        except ExportError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError(problems)
    return ExportSettings(parquet=parquet, postgis=postgis, schema=str(schema))


def run_exports(gpkg_path: str | os.PathLike, settings: ExportSettings) -> list[Path]:
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
