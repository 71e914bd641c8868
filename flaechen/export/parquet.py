"""GeoParquet export: one file per layer, with bounding-box columns for fast spatial filtering.

Each spatial layer becomes `<layer>.parquet` in GeoParquet 1.1 with a `bbox` covering column
(xmin, ymin, xmax, ymax per feature), so readers such as `geopandas.read_parquet(..., bbox=...)`,
DuckDB or GDAL skip row groups outside an area of interest. Attribute tables (issues, summary, rules)
become plain Parquet files. Nothing in the files needs flaechen to be read.

Examples
--------
>>> from flaechen.export import to_parquet
>>> to_parquet("out/demo/district.gpkg", "out/demo/parquet")[:2]
[PosixPath('out/demo/parquet/candidates.parquet'), PosixPath('out/demo/parquet/municipalities.parquet')]
"""

from __future__ import annotations

import logging
import os
from functools import partial
from pathlib import Path

from flaechen.atomic import atomic_write
from flaechen.district import district_contents, read_layer, resolve_district

log = logging.getLogger(__name__)

GEOPARQUET_VERSION = "1.1.0"
"""GeoParquet version written: the first with the `bbox` covering column."""


def to_parquet(gpkg_path: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write every layer and table of a district GeoPackage as (Geo)Parquet.

    Parameters
    ----------
    gpkg_path
        The district GeoPackage, or the output folder holding `district.gpkg`.
    out_dir
        Folder for the Parquet files (created if needed); files of the same name are replaced, each
        atomically.

    Returns
    -------
    list of Path
        The files written: spatial layers first, then tables.

    Examples
    --------
    Read back only what lies in an area of interest (row groups outside it are skipped):

    >>> paths = to_parquet("out/demo", "out/demo/parquet")
    >>> import geopandas
    >>> every = geopandas.read_parquet(paths[0])
    >>> some = geopandas.read_parquet(paths[0], bbox=(350_000, 5_580_000, 351_000, 5_581_000))
    >>> 0 < len(some) < len(every)
    True
    """
    gpkg = resolve_district(gpkg_path)
    target_dir = Path(out_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    found = district_contents(gpkg)
    written: list[Path] = []
    for name in found.layer_names:
        frame = read_layer(found, name)
        target = target_dir / f"{name}.parquet"
        atomic_write(
            target,
            partial(
                frame.to_parquet,
                index=False,
                compression="zstd",
                schema_version=GEOPARQUET_VERSION,
                write_covering_bbox=True,
            ),
        )
        log.info("wrote %s (%d features)", target, len(frame))
        written.append(target)
    for name in found.tables:
        table = read_layer(found, name)
        target = target_dir / f"{name}.parquet"
        atomic_write(target, partial(table.to_parquet, index=False, compression="zstd"))
        log.info("wrote %s (%d rows)", target, len(table))
        written.append(target)
    return written
