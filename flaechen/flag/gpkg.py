"""Re-running the flagging step on an existing district dataset (``flaechen flag``).

I/O lives here, at the edge: read the canonical layers from ``district.gpkg``, flag, and write layer
``candidates`` and tables ``summary``, ``rules`` and ``parcel_measures`` back into it atomically.

Examples
--------
>>> from flaechen.flag import flag_gpkg
>>> section = {"rules": {"bauluecke": {"min_area_m2": 300}}}
>>> result = flag_gpkg("out/district.gpkg", flag_section=section)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio

from flaechen.errors import SourceError
from flaechen.flag.constraints import load_constraints
from flaechen.flag.core import INPUT_LAYERS, OPTIONAL_LAYERS, FlagResult, flag
from flaechen.flag.rules import load_rules
from flaechen.flag.settings import FlagSettings, parse_flag_section
from flaechen.gpkg import update_gpkg
from flaechen.layers import load_schema

log = logging.getLogger(__name__)

OUTPUT_LAYER = "candidates"
OUTPUT_TABLES = ("summary", "rules", "parcel_measures")


def read_district(gpkg_path: str | os.PathLike[str]) -> dict[str, gpd.GeoDataFrame]:
    """Read the canonical layers of a district GeoPackage, with the schema's nullable dtypes.

    The optional layers ``land_use`` and ``built_up_area`` are read where the file has them.

    Raises
    ------
    flaechen.errors.SourceError
        The file is missing or lacks a canonical layer.
    """
    path = Path(gpkg_path)
    if not path.is_file():
        raise SourceError(f"{path}: no such district dataset; run `flaechen run` first")
    present = {name for name, _ in pyogrio.list_layers(path)}
    missing = [name for name in INPUT_LAYERS if name not in present]
    if missing:
        raise SourceError(f"{path} lacks layer(s) {', '.join(missing)}; rebuild it with `flaechen run`")
    schema = load_schema()
    layers: dict[str, gpd.GeoDataFrame] = {}
    for name in INPUT_LAYERS + tuple(n for n in OPTIONAL_LAYERS if n in present):
        frame = pyogrio.read_dataframe(path, layer=name)
        try:
            fields = schema.layer(name).fields
        except KeyError:  # an optional layer the schema does not define (yet): read as it is
            fields = ()
        for f in fields:
            if f.name in frame.columns:
                frame[f.name] = frame[f.name].astype(f.dtype)
        layers[name] = frame
    return layers


def flag_gpkg(
    gpkg_path: str | os.PathLike[str],
    *,
    flag_section: FlagSettings | Mapping[str, Any] | None = None,
    base_dir: Path | None = None,
    workers: int | None = None,
) -> FlagResult:
    """Flag the district dataset in `gpkg_path` and write the results into it, atomically.

    Parameters
    ----------
    gpkg_path
        An existing ``district.gpkg`` (written by ``flaechen run``).
    flag_section
        The ``[flag]`` table of the district configuration (rules overrides, constraints); defaults and
        no constraints when None.
    base_dir
        Folder the table's relative paths are resolved against (the configuration's folder); the
        GeoPackage's folder when None.
    workers
        Worker processes; None uses every core.

    Returns
    -------
    FlagResult
        What was written: layer ``candidates``, tables ``summary``, ``rules`` and ``parcel_measures``.
    """
    path = Path(gpkg_path)
    base = Path(base_dir) if base_dir is not None else path.parent
    settings = parse_flag_section(flag_section, base_dir=base)
    rules = load_rules(settings.rules)
    layers = read_district(path)
    constraints = load_constraints(settings, base_dir=base, crs=layers["parcels"].crs)
    result = flag(layers, rules=rules, constraints=constraints, workers=workers)
    update_gpkg(
        path,
        layers={OUTPUT_LAYER: result.candidates},
        tables={"summary": result.summary, "rules": result.rules, "parcel_measures": result.measures},
    )
    log.info("wrote layer %s and tables %s into %s", OUTPUT_LAYER, ", ".join(OUTPUT_TABLES), path)
    return result
