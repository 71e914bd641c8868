"""The register step of ``flaechen run`` (called by :func:`flaechen.pipeline.run`, kept out of it).

Examples
--------
>>> import shutil
>>> from pathlib import Path
>>> from flaechen.config import load_config
>>> from flaechen.flag import flag, load_rules
>>> from flaechen.pipeline import build_district
>>> config = load_config("out/demo/input-2026/district.toml")  # the demo's second delivery
>>> dataset = build_district(config)
>>> flagged = flag(dataset.layers, rules=load_rules())
>>> Path("kopie").mkdir(exist_ok=True)
>>> _ = shutil.copy("out/demo/register.gpkg", "kopie/register.gpkg")
>>> update = register_step(config, dataset, flagged, out_dir="kopie")
>>> update.survey, update.previous_survey  # the second survey run again compares with the first
('2026-04-01', '2025-04-01')
>>> update.commit()
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from flaechen.issues import IssueLog
from flaechen.register.core import RegisterStore, RegisterUpdate, prepare
from flaechen.register.gpkg_store import GpkgRegister
from flaechen.register.settings import RegisterSettings, parse_register_section

if TYPE_CHECKING:
    from flaechen.config import DistrictConfig
    from flaechen.flag.core import FlagResult
    from flaechen.pipeline import DistrictDataset

log = logging.getLogger(__name__)


def export_value(export: Any, key: str, default: Any = None) -> Any:
    """A key of the ``[export]`` table, typed (:class:`~flaechen.export.settings.ExportSettings`) or raw."""
    if isinstance(export, Mapping):
        return export.get(key, default)
    return getattr(export, key, default) if export is not None else default


def open_store(settings: RegisterSettings, *, out_dir: str | os.PathLike[str], export: Any) -> RegisterStore:
    """The register's store as configured: ``OUT_DIR/register.gpkg`` or a PostGIS schema."""
    store = settings.store
    if store == "auto":
        store = "postgis" if export_value(export, "postgis") else "gpkg"
    if store == "gpkg":
        return GpkgRegister(Path(out_dir))
    from flaechen.register.postgis_store import PostgisRegister

    return PostgisRegister.from_settings(settings, export=export, out_dir=out_dir)


def register_step(
    config: DistrictConfig,
    dataset: DistrictDataset,
    flag_result: FlagResult,
    *,
    out_dir: str | os.PathLike[str],
) -> RegisterUpdate | None:
    """Carry the register over to this run's candidates; add changes, monitoring and conflicts to the dataset.

    Returns None where the register is switched off (``[register] enabled = false``). The caller writes
    ``district.gpkg`` and then calls :meth:`RegisterUpdate.commit`.
    """
    settings = parse_register_section(getattr(config, "register", None))
    if not settings.enabled:
        return None
    store = open_store(settings, out_dir=out_dir, export=getattr(config, "export", None))
    update = prepare(
        store,
        dataset.layers,
        candidates=flag_result.candidates,
        measures=flag_result.measures,
        rules_table=flag_result.rules,
        settings=settings,
    )
    issues = IssueLog()
    update.log_issues(issues)
    if len(issues):
        dataset.issues = pd.concat([dataset.issues, issues.to_frame()], ignore_index=True)
    return update
