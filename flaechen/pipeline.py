"""The district pipeline: declared sources → read → harmonise → merge → account → quality → write.

:func:`build_district` runs the stages in order, each a function of its own module: reading
(:mod:`flaechen.read`), harmonising (:mod:`flaechen.harmonise`), merging (:mod:`flaechen.merge`), accounting
(:mod:`flaechen.accounting`) and the quality findings (:mod:`flaechen.quality`); :func:`run` writes the
dataset and hands it to the later stages (flag, register, plan, QGIS, export, publish).

Examples
--------
>>> from flaechen.config import load_config
>>> from flaechen.pipeline import run
>>> result = run(load_config("out/demo/input/district.toml"), out_dir="out/district", publish=False)
>>> result.gpkg
PosixPath('out/district/district.gpkg')
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from flaechen.accounting import SourceCount, balance, check_balanced, data_losses
from flaechen.atomic import atomic_write
from flaechen.config import DistrictConfig, SourceConfig
from flaechen.crs import use_grid_dirs
from flaechen.errors import FlaechenError, SourceError
from flaechen.gpkg import write_gpkg
from flaechen.harmonise import (
    Harmonised,
    HarmoniseSettings,
    for_municipality,
    harmonise_shared_source,
    harmonise_source,
)
from flaechen.issues import IssueLog, spreadsheet_safe
from flaechen.layers import Schema, load_schema
from flaechen.merge import NO_BOUNDARY_SOURCE, merge_layers, municipality_layer
from flaechen.outdir import OutputFolder
from flaechen.quality import area_quality
from flaechen.read import expand_source, inspect_source, read_source  # noqa: F401 - inspect_source: patched by tests

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""Called as progress(step, done, total) on long steps."""

BOUNDARY_SOURCE_ID = NO_BOUNDARY_SOURCE
"""Source id of ``[boundaries]``; a municipality's own boundary file is ``boundaries-<AGS>``."""


def _no_progress(step: str, done: int, total: int) -> None:
    return None


@dataclass
class DistrictDataset:
    """The merged district dataset and everything known about how it was made."""

    crs: CRS
    layers: dict[str, gpd.GeoDataFrame]
    issues: pd.DataFrame
    accounting: pd.DataFrame
    """One row per source: features read, in the dataset, rejected; ``balanced`` says whether they add up."""
    quality: pd.DataFrame
    """Per municipality: parcels, median ratio computed/official area, share deviating beyond the tolerance."""
    sources: pd.DataFrame
    """One row per source: file, layer, content hash, transformation used."""


@dataclass
class RunResult:
    """What `flaechen run` produced."""

    dataset: DistrictDataset
    out_dir: Path
    gpkg: Path
    issues_csv: Path
    extras: dict[str, Any] = field(default_factory=dict)
    losses: list[str] = field(default_factory=list)
    """What the run lost (:func:`~flaechen.accounting.data_losses`): the command then exits with status 3."""


def _boundary_sources(config: DistrictConfig) -> list[tuple[SourceConfig, list[str]]]:
    """Each boundary file as a source of layer ``municipalities``, with the AGS of the municipalities it serves.

    ``[boundaries]`` is source ``boundaries``; a municipality's own boundary file is ``boundaries-<AGS>``.
    """
    shared: list[str] = []
    own: list[tuple[SourceConfig, list[str]]] = []
    for m in config.municipalities:
        if m.without_boundary:
            continue
        if m.boundary is None:
            shared.append(m.ags)
        else:
            own.append((m.boundary.as_source(source_id=f"{BOUNDARY_SOURCE_ID}-{m.ags}", ags=m.ags), [m.ags]))
    if shared:
        assert config.boundaries is not None  # the configuration guarantees one
        own.insert(0, (config.boundaries.as_source(source_id=BOUNDARY_SOURCE_ID), shared))
    return own


def _check_boundaries_found(
    src: SourceConfig, result: Harmonised, serves: Sequence[str], config: DistrictConfig
) -> None:
    """Every municipality a boundary source serves must have its boundary in it, or the source fails."""
    found = set(result.frame["ags"].dropna().astype(str))
    for code in serves:
        if code not in found:
            where = f"with {src.ags_field} = {code!r} " if src.ags_field else ""
            raise SourceError(
                f"{src.key} ({src.path}): no feature {where}for municipality {config.municipality(code).name} "
                "that passed the filter and the checks (rejected ones are in the issue log); fix the AGS in "
                "the configuration, the boundary file or its filter (where)."
            )


def _expanded_sources(
    config: DistrictConfig, issues: IssueLog, *, problems: list[str] | None = None
) -> list[SourceConfig]:
    """Every source to read: a source with ``source_layers`` stands for one source per matched layer.

    With `problems`, a source whose layers cannot be listed is recorded there and left out.
    """
    out: list[SourceConfig] = []
    for src in config.sources:
        try:
            expanded, skipped = expand_source(src)
        except FlaechenError as exc:
            if problems is None:
                raise
            problems.append(str(exc))
            continue
        out.extend(expanded)
        if skipped:
            issues.add(
                "skipped-layer",
                ags=src.ags,
                source_id=src.id,
                layer=src.layer,
                message=(
                    f"{src.path.name}: layers {', '.join(skipped)} match source_layers "
                    f"{list(src.source_layers)} but are no class of the land use; not read into {src.layer}."
                ),
                value=", ".join(skipped),
            )
    return out


def build_district(
    config: DistrictConfig, *, progress: Progress | None = None, problems: list[str] | None = None
) -> DistrictDataset:
    """Read, harmonise and merge every declared source into the district dataset, and account for it.

    The stages, in order: the boundary files are read and harmonised (:func:`read_and_harmonise`) into
    layer ``municipalities`` (:func:`~flaechen.merge.municipality_layer`); every source is read and
    harmonised, checked against its municipality's boundary; the layers are merged
    (:func:`~flaechen.merge.merge_layers`); every source is balanced against its own count
    (:func:`~flaechen.accounting.balance`); the parcels' areas are compared with the official ones
    (:func:`~flaechen.quality.area_quality`).

    Parameters
    ----------
    config
        The district configuration.
    progress
        Called as ``progress(step, done, total)`` on long steps.
    problems
        Where given, a source that fails (unreadable, wrong CRS, invalid geometry under ``raise`` …) is
        recorded here and left out, and the others are still read: :func:`check` finds every problem
        at once. Without it, the first failing source raises.

    Raises
    ------
    FlaechenError
        For a source that cannot be read, a CRS that cannot be resolved, an invalid geometry under the
        ``raise`` policy, or lost features (the accounting check).
    """
    build = _Build.start(config, progress=progress or _no_progress, problems=problems)
    boundary_files = _boundary_sources(config)
    sources = [(src, None) for src in _expanded_sources(config, build.issues, problems=problems)]
    build.total = len(boundary_files) + len(sources)

    boundary_results = read_and_harmonise(build, boundary_files, boundaries={})
    municipalities = municipality_layer(
        config, [r.result.frame for r in boundary_results], schema=build.schema, crs=build.crs, issues=build.issues
    )
    source_results = read_and_harmonise(build, sources, boundaries=_boundaries(municipalities))
    build.progress("read and harmonise", build.total, build.total)

    build.progress("merge", 0, 1)
    frames: dict[str, list[gpd.GeoDataFrame]] = {}
    for r in source_results:
        frames.setdefault(r.src.layer, []).append(r.result.frame)
    layers = merge_layers(config, frames, municipalities=municipalities, schema=build.schema, issues=build.issues)
    build.progress("merge", 1, 1)

    results = [*boundary_results, *source_results]
    issues = build.issues.to_frame()
    accounting = balance([r.count for r in results], layers=layers, issues=issues)
    check_balanced(accounting)
    quality = area_quality(
        layers["parcels"],
        municipalities=[(m.ags, m.name) for m in config.municipalities],
        tolerance=config.area_tolerance,
        issues=issues,
    )
    return DistrictDataset(
        crs=build.crs,
        layers=layers,
        issues=issues,
        accounting=accounting,
        quality=quality,
        sources=source_table(results),
    )


@dataclass
class _Build:
    """What the stages of one :func:`build_district` share."""

    config: DistrictConfig
    schema: Schema
    settings: HarmoniseSettings
    issues: IssueLog
    progress: Progress
    problems: list[str] | None
    """Where failing sources are recorded (:func:`check`); None: the first one raises."""
    total: int = 0
    """Sources to read and harmonise, the boundary files included (for progress)."""
    done: int = 0

    @classmethod
    def start(cls, config: DistrictConfig, *, progress: Progress, problems: list[str] | None) -> _Build:
        use_grid_dirs(config.grid_dirs)
        settings = HarmoniseSettings(
            crs=CRS.from_user_input(config.crs),
            outside_share=config.outside_share,
            outside_buffer=config.outside_buffer,
            area_tolerance=config.area_tolerance,
            code_scheme=config.code_scheme,
        )
        return cls(config, load_schema(), settings, IssueLog(), progress, problems)

    @property
    def crs(self) -> CRS:
        return self.settings.crs


@dataclass(frozen=True)
class SourceResult:
    """One source read and harmonised: its configuration, what reading found out, what harmonising made."""

    src: SourceConfig
    source_layer: str
    content_hash: str
    result: Harmonised

    @property
    def count(self) -> SourceCount:
        """What the source counts for table ``accounting``."""
        r = self.result
        return SourceCount(self.src.id, self.src.layer, str(self.src.path), r.held, r.read, r.unreadable, r.united)


def read_and_harmonise(
    build: _Build, sources: Sequence[tuple[SourceConfig, Sequence[str] | None]], *, boundaries: Mapping[str, Any]
) -> list[SourceResult]:
    """Read each source (:func:`~flaechen.read.read_source`) and harmonise it (:mod:`flaechen.harmonise`).

    `sources` pairs each source with the municipalities it serves where it is a boundary file (None for
    every other source); `boundaries` are the municipalities' boundaries by AGS, for the location check. A
    file with an ``ags_field`` serves several municipalities (``harmonise_shared_source``). A source that
    fails is recorded in ``build.problems`` where given, and raises otherwise.
    """
    config, schema, settings, issues = build.config, build.schema, build.settings, build.issues
    out: list[SourceResult] = []
    for src, serves in sources:
        build.progress("read and harmonise", build.done, build.total)
        build.done += 1
        try:
            sf = read_source(src)
            if src.ags_field:
                result = harmonise_shared_source(
                    sf,
                    src,
                    municipalities=config.municipalities,
                    serves=serves,
                    schema=schema,
                    settings=settings,
                    boundaries=boundaries,
                    issues=issues,
                )
            else:
                result = harmonise_source(
                    sf,
                    for_municipality(src, config.municipality(src.ags)),
                    layer=schema.layer(src.layer),
                    schema=schema,
                    settings=settings,
                    boundary=boundaries.get(src.ags),
                    issues=issues,
                )
            if serves is not None:
                _check_boundaries_found(src, result, serves, config)
        except FlaechenError as exc:
            if build.problems is None:
                raise
            build.problems.append(str(exc))
            continue
        out.append(SourceResult(src, sf.layer_name, sf.content_hash, result))
    return out


def _boundaries(municipalities: gpd.GeoDataFrame) -> dict[str, Any]:
    """Each municipality's boundary by AGS (None for one declared without a boundary)."""
    return dict(zip(municipalities["ags"], municipalities.geometry.array, strict=True))


SOURCE_COLUMNS = [
    "source_id",
    "ags",
    "layer",
    "path",
    "source_layer",
    "content_hash",
    "features",
    "transformation",
    "accuracy_m",
    "missing_grids",
]
"""Columns of table ``sources``."""


def source_table(results: Sequence[SourceResult]) -> pd.DataFrame:
    """Table ``sources``: per source read its file, layer, content hash, features and the transformation used."""
    rows = []
    for r in results:
        t = r.result.transformation
        rows.append(
            [
                r.src.id,
                r.src.ags,
                r.src.layer,
                str(r.src.path),
                r.source_layer,
                r.content_hash,
                r.result.read,
                None if t is None else t.description,
                None if t is None else t.accuracy,
                None if t is None or not t.missing_grids else ", ".join(t.missing_grids),
            ]
        )
    return pd.DataFrame(rows, columns=SOURCE_COLUMNS)


def write_dataset(
    dataset: DistrictDataset,
    out_dir: str | os.PathLike[str],
    *,
    extra_layers: Mapping[str, gpd.GeoDataFrame] | None = None,
    extra_tables: Mapping[str, pd.DataFrame] | None = None,
    finish: Callable[[Path], None] | None = None,
) -> tuple[Path, Path]:
    """Write ``district.gpkg`` (atomically, with `finish` applied before it lands) and ``issues.csv``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    gpkg = write_gpkg(
        out / "district.gpkg",
        layers={**dataset.layers, **(extra_layers or {})},
        tables={
            "issues": dataset.issues,
            "accounting": dataset.accounting,
            "quality": dataset.quality,
            "sources": dataset.sources,
            **(extra_tables or {}),
        },
        finish=finish,
    )
    csv_path = out / "issues.csv"
    # opened in spreadsheets: delivered text must not start a formula (a leading ' neutralises it)
    atomic_write(csv_path, lambda tmp: spreadsheet_safe(dataset.issues).to_csv(tmp, index=False, encoding="utf-8"))
    return gpkg, csv_path


def run(
    config: DistrictConfig,
    out_dir: str | os.PathLike[str],
    *,
    progress: Progress | None = None,
    flag: bool = True,
    publish: bool = True,
    wait: float = 0.0,
) -> RunResult:
    """Build the district dataset from a configuration and write everything into `out_dir`.

    Writes ``district.gpkg`` (the district layers, the issue log and, with `flag`, layer ``candidates`` and
    tables ``summary``, ``rules``, ``parcel_measures``; the commercial areas with their assessment and the
    scenarios, see :mod:`flaechen.plan`; every layer with its QGIS style), ``issues.csv``, the assessment
    sheets, score cards and scenario page, the QGIS project ``district.qgz`` and, with `publish`, the
    offline map site ``site/``, and ``run.json`` naming the run and what it wrote.

    The output folder is checked before any work and locked for the run (another run into it stops with a
    message, or waits up to `wait` seconds); a killed run's temporary files are removed. Where the run
    fails after writing some outputs (e.g. the map site cannot be built), ``run.json`` says which outputs
    are new and which are left from an earlier run, and so does the log.

    Raises
    ------
    OutputError
        The output folder is a file, cannot be written, or another run holds it.
    """
    progress = progress or _no_progress
    with OutputFolder(out_dir, wait=wait) as folder:  # checked and locked before any source is read
        written: list[Path] = []
        try:
            result = _run(config, out_dir, progress=progress, flag=flag, publish=publish, written=written)
        except BaseException:
            if written:
                folder.write_manifest(written, complete=False)
                log.error(
                    "the run stopped after writing %s: %s now holds these beside outputs of an earlier run "
                    "(see run.json); run again to bring them together",
                    ", ".join(p.name for p in written),
                    folder.path,
                )
            raise
        folder.write_manifest(written, complete=True)
    return result


def _run(
    config: DistrictConfig,
    out_dir: str | os.PathLike[str],
    *,
    progress: Progress,
    flag: bool,
    publish: bool,
    written: list[Path],
) -> RunResult:
    """The steps of :func:`run` inside the locked output folder; appends each output to `written`."""
    from flaechen.export import style_gpkg, write_qgis_project
    from flaechen.export.settings import run_exports

    exports = config.export
    dataset = build_district(config, progress=progress)
    extra_layers: dict[str, gpd.GeoDataFrame] = {}
    extra_tables: dict[str, pd.DataFrame] = {}
    extras: dict[str, Any] = {}
    if flag:
        from flaechen.flag import flag as flag_candidates
        from flaechen.flag import load_constraints, load_rules

        progress("flag reuse candidates", 0, 1)
        constraints = load_constraints(config.flag, base_dir=config.base_dir, crs=dataset.crs)
        result = flag_candidates(dataset.layers, rules=load_rules(config.flag.rules), constraints=constraints)
        extra_layers["candidates"] = result.candidates
        extra_tables.update({"summary": result.summary, "rules": result.rules, "parcel_measures": result.measures})
        extras["flag"] = result
        progress("flag reuse candidates", 1, 1)
        from flaechen.register.step import register_step

        register = register_step(config, dataset, result, out_dir=out_dir)
        if register is not None:
            extra_tables.update({"changes": register.changes, "monitoring": register.monitoring})
            extras["register"] = register
    if config.assessment.enabled or config.scenarios:
        from flaechen.flag import load_rules
        from flaechen.plan.run import plan_from_config

        progress("joint planning: commercial areas and scenarios", 0, 1)
        plan = plan_from_config(
            config,
            dataset.layers,
            candidates=extra_layers.get("candidates"),
            sources=dataset.sources,
            rules=load_rules(config.flag.rules),
            out_dir=out_dir,
            sites=extras["register"].result.sites if "register" in extras else None,
        )
        extra_layers.update(plan.layers())
        extra_tables.update(plan.tables())
        extras["plan"] = plan
        progress("joint planning: commercial areas and scenarios", 1, 1)
    progress("write district.gpkg", 0, 1)
    gpkg, csv_path = write_dataset(
        dataset,
        out_dir,
        extra_layers=extra_layers,
        extra_tables=extra_tables,
        finish=style_gpkg,
    )
    written += [gpkg, csv_path]
    extras["qgis_project"] = write_qgis_project(gpkg, crs=config.crs, title=config.name)
    written.append(extras["qgis_project"])
    progress("write district.gpkg", 1, 1)
    if "register" in extras:
        progress("update the register", 0, 1)
        extras["register"].commit()  # after district.gpkg: the register is never ahead of its dataset
        progress("update the register", 1, 1)
    from flaechen.register.report import write_reports

    extras["reports"] = write_reports(
        out_dir,
        dataset=dataset,
        summary=extras["flag"].summary if "flag" in extras else None,
        register=extras.get("register"),
        district=config.name,
    )
    if exports.parquet or exports.postgis:
        progress("export", 0, 1)
        extras["exports"] = run_exports(gpkg, exports)
        progress("export", 1, 1)
    if publish and not dataset.layers["municipalities"].geometry.notna().any():
        # the site is built per municipality, on its boundary: a district declared with boundary = false
        # throughout (e.g. registers without boundary files) has none to show
        log.warning(
            "map site not built: no municipality has a boundary (boundary = false); declare boundaries to publish"
        )
        publish = False
    if publish:
        from flaechen.publish import publish as publish_site

        progress("publish the map site", 0, 1)
        extras["site"] = publish_site(
            gpkg, out_dir, profile=config.publish, base_dir=config.base_dir, district_name=config.name
        )
        written.append(Path(extras["site"]).parent)
        progress("publish the map site", 1, 1)
    return RunResult(
        dataset=dataset,
        out_dir=Path(out_dir),
        gpkg=gpkg,
        issues_csv=csv_path,
        extras=extras,
        losses=_losses(dataset),
    )


def _losses(dataset: DistrictDataset) -> list[str]:
    """What the run that built `dataset` lost (:func:`~flaechen.accounting.data_losses`)."""
    return data_losses(
        dataset.accounting, sources=dataset.sources, parcels=dataset.layers["parcels"], issues=dataset.issues
    )


@dataclass
class CheckReport:
    """What :func:`check_district` found."""

    problems: list[str]
    """Problems that stop a run (configuration, unreadable sources, CRS, geometry under ``raise``)."""
    dataset: DistrictDataset | None = None
    """The dataset a run would build from the sources that can be read (issue log, accounting)."""
    losses: list[str] = field(default_factory=list)
    """What a run would lose (:func:`~flaechen.accounting.data_losses`)."""


def check_district(config: DistrictConfig, *, progress: Progress | None = None) -> CheckReport:
    """Check the configuration and read every feature of every source, without writing anything.

    Finds every problem reading can find — each source's failure, unreadable features, encodings,
    coordinates, invalid geometries, filters — and reports all at once.
    """
    problems: list[str] = []  # the configuration itself is validated whole by load_config
    dataset = build_district(config, progress=progress, problems=problems)
    return CheckReport(problems=problems, dataset=dataset, losses=_losses(dataset))


def check(config: DistrictConfig) -> list[str]:
    """Check the configuration and read every source; returns every problem that would stop a run.

    An empty list when a run can go ahead. See :func:`check_district` for the issue log and losses too.
    """
    return check_district(config).problems
