"""Exports of the district dataset for planners and analysts: QGIS, GeoParquet and PostGIS.

- :func:`style_gpkg` embeds the QGIS styles of `layers/styles/` in the GeoPackage (`layer_styles`);
- :func:`write_qgis_project` writes `district.qgz` beside it: grouped, styled, relative paths;
- :func:`to_parquet` writes every layer as GeoParquet with bounding-box columns;
- :func:`to_postgis` replaces a PostGIS schema with the dataset in one transaction.

Examples
--------
>>> from flaechen.export import style_gpkg, write_qgis_project, to_parquet
>>> style_gpkg("out/demo/district.gpkg")
>>> write_qgis_project("out/demo/district.gpkg", crs="EPSG:25832")
PosixPath('out/demo/district.qgz')
>>> to_parquet("out/demo/district.gpkg", "out/demo/parquet")[0]
PosixPath('out/demo/parquet/candidates.parquet')
"""

from typing import TYPE_CHECKING

from flaechen._lazy import lazy_exports

if TYPE_CHECKING:
    from flaechen.errors import ExportError
    from flaechen.export.parquet import to_parquet
    from flaechen.export.postgis import to_postgis
    from flaechen.export.qgis_project import write_qgis_project
    from flaechen.export.settings import ExportSettings, parse_export_section, run_exports
    from flaechen.export.styles import style_gpkg

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ExportError": "flaechen.errors",
        "ExportSettings": "flaechen.export.settings",
        "parse_export_section": "flaechen.export.settings",
        "run_exports": "flaechen.export.settings",
        "style_gpkg": "flaechen.export.styles",
        "to_parquet": "flaechen.export.parquet",
        "to_postgis": "flaechen.export.postgis",
        "write_qgis_project": "flaechen.export.qgis_project",
    },
)

__all__ = [
    "ExportError",
    "ExportSettings",
    "parse_export_section",
    "run_exports",
    "style_gpkg",
    "to_parquet",
    "to_postgis",
    "write_qgis_project",
]
