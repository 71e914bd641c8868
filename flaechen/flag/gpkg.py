"""Re-running the flagging step on an existing district dataset (``flaechen flag``).

I/O lives here, at the edge: read the canonical layers from ``district.gpkg`` (with the one reader,
:func:`flaechen.district.read_district`), flag, and write layer
``candidates`` and tables ``summary``, ``rules`` and ``parcel_measures`` back into it atomically.

Examples
--------
>>> from flaechen.flag import flag_gpkg
>>> section = {"rules": {"bauluecke": {"min_area_m2": 300}}}
>>> import shutil
>>> _ = shutil.copy("out/demo/district.gpkg", "district-neu.gpkg")
>>> result = flag_gpkg("district-neu.gpkg", flag_section=section)
>>> bool(result.candidates.loc[result.candidates["category"] == "Baulücke", "area_m2"].min() >= 300)
True
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flaechen.district import read_district, resolve_district
from flaechen.flag.constraints import load_constraints
from flaechen.flag.core import INPUT_LAYERS, OPTIONAL_LAYERS, FlagResult, flag
from flaechen.flag.rules import load_rules
from flaechen.flag.settings import FlagSettings, parse_flag_section
from flaechen.gpkg import update_gpkg

log = logging.getLogger(__name__)

OUTPUT_LAYER = "candidates"
OUTPUT_TABLES = ("summary", "rules", "parcel_measures")


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
        An existing ``district.gpkg`` (written by ``flaechen run``), or the output folder holding it.
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
    path = resolve_district(gpkg_path)
    base = Path(base_dir) if base_dir is not None else path.parent
    settings = parse_flag_section(flag_section, base_dir=base)
    rules = load_rules(settings.rules)
    layers = read_district(path, layers=INPUT_LAYERS, optional=OPTIONAL_LAYERS)
    constraints = load_constraints(settings, base_dir=base, crs=layers["parcels"].crs)
    result = flag(layers, rules=rules, constraints=constraints, workers=workers)
    update_gpkg(
        path,
        layers={OUTPUT_LAYER: result.candidates},
        tables={"summary": result.summary, "rules": result.rules, "parcel_measures": result.measures},
    )
    log.info("wrote layer %s and tables %s into %s", OUTPUT_LAYER, ", ".join(OUTPUT_TABLES), path)
    return result
