"""``flaechen export``: the district dataset as GeoParquet, as a QGIS project, or into PostGIS.

A thin layer over :mod:`flaechen.export`; user errors are :class:`~flaechen.errors.FlaechenError`
subclasses, which the main CLI prints cleanly. Progress is logged (silenced by ``--quiet``).

Examples
--------
.. code-block:: console

    $ flaechen export out/demo --format parquet
    $ flaechen export out/demo --format qgis
    $ flaechen export out/demo --to service=kreis --schema flaechen
    $ FLAECHEN_PG_DSN=postgresql://gis@db/kreis flaechen export out/demo --to env
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def add_parser(subparsers: Any) -> None:
    """Add the ``export`` command to the main CLI's subparsers."""
    parser = subparsers.add_parser(
        "export",
        help="export the district dataset as GeoParquet, as a QGIS project, or into PostGIS",
        description=(
            "Export OUT_DIR/district.gpkg (or the GeoPackage given): --format parquet writes one "
            "GeoParquet file per layer with bounding-box columns; --format qgis embeds the QGIS styles "
            "and writes district.qgz beside the GeoPackage; --to writes everything into one PostGIS "
            "schema, replacing an earlier export in one transaction."
        ),
        epilog=(
            "Connections for --to: postgresql://USER@HOST/DB, service=NAME (a service in "
            "pg_service.conf), or env (the variable FLAECHEN_PG_DSN, else libpq's PG* variables). "
            "Passwords are never printed; prefer a service file or ~/.pgpass to a password on the "
            "command line."
        ),
    )
    parser.add_argument(
        "source", metavar="OUT_DIR_OR_GPKG", type=Path, help="output folder of `flaechen run`, or a GeoPackage"
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--format",
        choices=("parquet", "qgis"),
        help="parquet: GeoParquet files; qgis: styles in the GeoPackage and district.qgz",
    )
    target.add_argument(
        "--to",
        metavar="DATABASE",
        help="PostGIS database: postgresql://…, service=NAME or env",
    )
    parser.add_argument(
        "--dest",
        metavar="DIR",
        type=Path,
        default=None,
        help="folder for --format parquet (default: parquet/ beside the GeoPackage)",
    )
    parser.add_argument("--schema", default="flaechen", help="target schema for --to (default: flaechen)")
    parser.add_argument(
        "--crs",
        default=None,
        help="district CRS for --format qgis (default: the CRS of the GeoPackage's layers)",
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.set_defaults(func=_run)


def _district_crs(gpkg: Path) -> str:
    import pyogrio

    from flaechen.district import district_contents
    from flaechen.errors import CRSError

    found = {pyogrio.read_info(gpkg, layer=name)["crs"] for name in district_contents(gpkg).layer_names}
    found.discard(None)
    if len(found) != 1:
        raise CRSError(
            f"{gpkg}: the layers are in {len(found)} CRSs ({', '.join(sorted(found)) or 'none'}); "
            "give the district CRS with --crs"
        )
    return str(found.pop())


def _run(args: argparse.Namespace) -> int:
    from flaechen.district import resolve_district
    from flaechen.errors import ExportError
    from flaechen.export import style_gpkg, to_parquet, to_postgis, write_qgis_project

    gpkg = resolve_district(args.source)
    if args.dest is not None and args.format != "parquet":
        raise ExportError("--dest goes with --format parquet only")
    if args.to is not None:
        to_postgis(gpkg, args.to, schema=args.schema)
        written: list[Path] = []
    elif args.format == "parquet":
        written = to_parquet(gpkg, args.dest if args.dest is not None else gpkg.parent / "parquet")
    else:
        style_gpkg(gpkg)
        written = [write_qgis_project(gpkg, crs=args.crs or _district_crs(gpkg))]
    if not args.quiet:
        for path in written:
            print(path)
        if args.to is not None:
            print(f"schema {args.schema}: exported")
    return 0
