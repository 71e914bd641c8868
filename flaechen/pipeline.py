"""The district pipeline: declared sources → read → harmonise → merge → account → write.

Examples
--------
>>> from flaechen.config import load_config
>>> from flaechen.pipeline import run
>>> result = run(load_config("district.toml"), out_dir="out/district")  # doctest: +SKIP
>>> result.gpkg  # doctest: +SKIP
PosixPath('out/district/district.gpkg')
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from flaechen.atomic import atomic_write
from flaechen.codes import normalise_codes
from flaechen.config import DistrictConfig, MunicipalityConfig, SourceConfig
from flaechen.crs import use_grid_dirs
from flaechen.errors import AccountingError, FlaechenError, SourceError
from flaechen.gpkg import write_gpkg
from flaechen.harmonise import (
    AGS_RESTORED,
    BOUNDARY_LAYER,
    Harmonised,
    HarmoniseSettings,
    canonical_columns,
    empty_layer,
    harmonise_source,
)
from flaechen.issues import IssueLog, spreadsheet_safe
from flaechen.layers import CANONICAL_LAYERS, load_schema
from flaechen.merge import concat_layer, place_point_sites, qualify_duplicate_keys, resolve_border_duplicates
from flaechen.outdir import OutputFolder
from flaechen.read import SourceFrame, expand_source, inspect_source, read_source  # noqa: F401 - inspect_source: patched by tests

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""Called as progress(step, done, total) on long steps."""

BOUNDARY_SOURCE_ID = "boundaries"

COUNTED_ISSUES = ("outside-district",)
"""Rejecting issue types logged once for many features, their number in ``value``."""


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
    """What the run lost (:func:`data_losses`): the command then finishes with exit status 3."""


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


def _for_municipality(src: SourceConfig, m: MunicipalityConfig) -> SourceConfig:
    """`src` as the delivery of municipality `m`: a boundary source also gets the municipality's own facts."""
    if src.layer != BOUNDARY_LAYER:
        return dataclasses.replace(src, ags=m.ags)
    values = {**src.values, "ags": m.ags, "name": m.name, "population": m.population}
    return dataclasses.replace(src, ags=m.ags, values=MappingProxyType(values))


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


def _without_boundaries(config: DistrictConfig, issues: IssueLog, crs: CRS) -> gpd.GeoDataFrame:
    """Rows of layer ``municipalities`` for the municipalities declared with ``boundary = false`` (no geometry)."""
    rows = []
    for m in config.municipalities:
        if not m.without_boundary:
            continue
        rows.append({"ags": m.ags, "name": m.name, "population": m.population, "source_id": BOUNDARY_SOURCE_ID})
        issues.add(
            "no-boundary",
            ags=m.ags,
            source_id=BOUNDARY_SOURCE_ID,
            layer=BOUNDARY_LAYER,
            message=(
                f"No boundary for {m.name} (boundary = false): its features are not checked against its "
                "extent, and it has no geometry in layer municipalities."
            ),
        )
    layer = load_schema().layer(BOUNDARY_LAYER)
    frame = empty_layer(layer, crs)
    if not rows:
        return frame
    table = pd.DataFrame(rows).reindex(columns=[c for c in frame.columns if c != "geometry"])
    for column in table.columns:
        table[column] = table[column].astype(frame[column].dtype)
    return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries([None] * len(table), crs=crs), crs=crs)


def _municipality_layer(
    config: DistrictConfig, frames: Sequence[gpd.GeoDataFrame], issues: IssueLog, crs: CRS
) -> gpd.GeoDataFrame:
    """Layer ``municipalities``: the harmonised boundaries and the municipalities without one, in declared order."""
    layer = load_schema().layer(BOUNDARY_LAYER)
    merged = concat_layer([*frames, _without_boundaries(config, issues, crs)], crs=crs)
    if merged.empty:
        return empty_layer(layer, crs)
    order = {m.ags: i for i, m in enumerate(config.municipalities)}
    merged = merged.iloc[np.argsort(merged["ags"].map(order).to_numpy(), kind="stable")].reset_index(drop=True)
    return merged[canonical_columns(layer)]


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


def _harmonise_district_source(
    sf: SourceFrame,
    src: SourceConfig,
    config: DistrictConfig,
    schema: Any,
    settings: HarmoniseSettings,
    boundaries: Mapping[str, Any],
    issues: IssueLog,
    *,
    serves: Sequence[str] | None = None,
) -> Harmonised:
    """A file for several municipalities: each feature goes to the municipality its ``ags_field`` names.

    Features of a code that is no municipality of the district are logged once per code with their count
    (``outside-district``), features without a code once per feature (``missing-value``). `serves` limits
    the file to some municipalities (a boundary file for those without their own): features of the others
    are ``filtered``.
    """
    frame = sf.frame
    codes, padded, _ = normalise_codes(frame[src.ags_field], scheme=config.code_scheme)
    if padded.any():
        issues.add_many(
            "repaired-value",
            ags=codes[padded].astype(str).tolist(),
            source_id=src.id,
            layer=src.layer,
            source_fids=frame.index[padded].tolist(),
            field=src.ags_field,
            values=[c[1:] for c in codes[padded].astype(str)],
            messages=AGS_RESTORED,
        )
    excluded = frame.index.isin(sf.excluded)
    if excluded.any():
        issues.add_many(
            "filtered",
            ags=codes[excluded].fillna("").astype(str).tolist(),
            source_id=src.id,
            layer=src.layer,
            source_fids=frame.index[excluded].tolist(),
            messages=f"Excluded by the configuration's filter where = {src.where!r}.",
        )
    district = [m.ags for m in config.municipalities]
    wanted = district if serves is None else list(serves)
    elsewhere = codes.isin(set(district) - set(wanted)).fillna(False).to_numpy() & ~excluded
    if elsewhere.any():
        issues.add_many(
            "filtered",
            ags=codes[elsewhere].astype(str).tolist(),
            source_id=src.id,
            layer=src.layer,
            source_fids=frame.index[elsewhere].tolist(),
            feature_ids=codes[elsewhere].astype(str).tolist(),
            messages=f"Not read from {src.path.name}: the configuration takes this municipality's "
            f"{src.layer} from elsewhere (its own boundary, or boundary = false).",
        )
        excluded = excluded | elsewhere
    missing = codes.isna().to_numpy() & ~excluded
    if missing.any():
        issues.add_many(
            "missing-value",
            ags=None,
            source_id=src.id,
            layer=src.layer,
            source_fids=frame.index[missing].tolist(),
            field=src.ags_field,
            messages=f"No municipality code in {src.ags_field}: the feature belongs to no municipality.",
        )
    foreign = codes.notna().to_numpy() & ~codes.isin(district).fillna(False).to_numpy() & ~excluded
    for code, count in codes[foreign].value_counts().sort_index().items():
        issues.add(
            "outside-district",
            ags=str(code),
            source_id=src.id,
            layer=src.layer,
            field=src.ags_field,
            value=str(int(count)),
            message=(
                f"{int(count)} features of {src.path.name} have {src.ags_field} = {code!r}, no municipality of "
                "the district; not read. Add the municipality to the configuration if it belongs to the district."
            ),
        )
    _log_district_source_reading(issues, src, sf)
    frames: list[gpd.GeoDataFrame] = []
    transformation = None
    united = 0
    for ags in wanted:
        part = (codes == ags).fillna(False).to_numpy() & ~excluded
        if not part.any():
            continue
        # what reading found about the whole file is logged once, below, not once per municipality
        sub = dataclasses.replace(
            sf,
            frame=frame.loc[part],
            excluded=np.array([], dtype=np.int64),
            unreadable=(),
            warnings=(),
            encoding_note=None,
        )
        result = harmonise_source(
            sub,
            _for_municipality(src, config.municipality(ags)),
            layer=schema.layer(src.layer),
            schema=schema,
            settings=settings,
            boundary=boundaries.get(ags),
            issues=issues,
        )
        frames.append(result.frame)
        transformation = transformation or result.transformation
        united += result.united
    merged = concat_layer(frames, crs=settings.crs) if frames else empty_layer(schema.layer(src.layer), settings.crs)
    held = sf.held if sf.held >= 0 else len(frame) + len(sf.unreadable)
    return Harmonised(merged, len(frame), transformation, held, len(sf.unreadable), united)


def _log_district_source_reading(issues: IssueLog, src: SourceConfig, sf: SourceFrame) -> None:
    """What reading a district-wide file found (unreadable features, warnings, encoding): logged once."""
    where = f"{src.path.name}, layer {sf.layer_name}"
    for u in sf.unreadable:
        issues.add(
            "unreadable-feature",
            ags=None,
            source_id=src.id,
            layer=src.layer,
            source_fid=u.fid,
            value=None if u.position is None else f"position {u.position}",
            message=f"{where}: GDAL cannot read a feature ({u.message}); the rest of the file was read.",
        )
    for text in sf.warnings:
        issues.add(
            "read-warning",
            ags=None,
            source_id=src.id,
            layer=src.layer,
            value=text[:200],
            message=f"While reading {where}: {text}",
        )
    if sf.encoding_note:
        issues.add("encoding-mismatch", ags=None, source_id=src.id, layer=src.layer, message=sf.encoding_note)


def build_district(
    config: DistrictConfig, *, progress: Progress | None = None, problems: list[str] | None = None
) -> DistrictDataset:
    """Read, harmonise and merge every declared source into the district dataset.

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
    progress = progress or _no_progress
    schema = load_schema()
    crs = CRS.from_user_input(config.crs)
    use_grid_dirs(config.grid_dirs)
    settings = HarmoniseSettings(
        crs=crs,
        outside_share=config.outside_share,
        outside_buffer=config.outside_buffer,
        area_tolerance=config.area_tolerance,
        code_scheme=config.code_scheme,
    )
    issues = IssueLog()
    per_layer: dict[str, list[gpd.GeoDataFrame]] = {name: [] for name in CANONICAL_LAYERS}
    source_rows: list[dict[str, Any]] = []
    read_counts: dict[str, tuple[int, int, int, int]] = {}
    boundary_sources = _boundary_sources(config)
    sources = _expanded_sources(config, issues, problems=problems)
    total = len(boundary_sources) + len(sources)
    boundaries: dict[str, Any] = {}
    planned = [(src, serves) for src, serves in boundary_sources] + [(src, None) for src in sources]
    for i, (src, serves) in enumerate(planned):
        if i == len(boundary_sources):
            # every other source is checked against its municipality's boundary
            municipalities = _municipality_layer(config, per_layer[BOUNDARY_LAYER], issues, crs)
            boundaries = dict(zip(municipalities["ags"], municipalities.geometry.array, strict=True))
        progress("read and harmonise", i, total)
        try:
            sf = read_source(src)
            if src.ags_field:
                result = _harmonise_district_source(
                    sf, src, config, schema, settings, boundaries, issues, serves=serves
                )
            else:
                mine = _for_municipality(src, config.municipality(src.ags))
                result = harmonise_source(
                    sf,
                    mine,
                    layer=schema.layer(src.layer),
                    schema=schema,
                    settings=settings,
                    boundary=boundaries.get(src.ags),
                    issues=issues,
                )
            if serves is not None:
                _check_boundaries_found(src, result, serves, config)
        except FlaechenError as exc:
            if problems is None:
                raise
            problems.append(str(exc))
            continue
        per_layer[src.layer].append(result.frame)
        read_counts[src.id] = (result.held, result.read, result.unreadable, result.united)
        t = result.transformation
        source_rows.append(
            {
                "source_id": src.id,
                "ags": src.ags,
                "layer": src.layer,
                "path": str(src.path),
                "source_layer": sf.layer_name,
                "content_hash": sf.content_hash,
                "features": result.read,
                "transformation": None if t is None else t.description,
                "accuracy_m": None if t is None else t.accuracy,
                "missing_grids": None if t is None or not t.missing_grids else ", ".join(t.missing_grids),
            }
        )
    if not sources:
        municipalities = _municipality_layer(config, per_layer[BOUNDARY_LAYER], issues, crs)
        boundaries = dict(zip(municipalities["ags"], municipalities.geometry.array, strict=True))
    progress("read and harmonise", total, total)

    progress("merge", 0, 1)
    layers: dict[str, gpd.GeoDataFrame] = {"municipalities": municipalities}
    for name, frames in per_layer.items():
        if name == BOUNDARY_LAYER:
            continue
        merged = concat_layer(frames, crs=crs)
        if name == "parcels":
            merged = resolve_border_duplicates(
                merged,
                boundaries={k: v for k, v in boundaries.items() if v is not None},
                overlap=config.border_overlap,
                issues=issues,
            )
        if name == "brownfields" and len(merged):
            merged = place_point_sites(merged, layers["parcels"], issues=issues)
        if name != "parcels" and schema.layer(name).key:
            merged = qualify_duplicate_keys(merged, key=schema.layer(name).key, layer=name, issues=issues)
        columns = canonical_columns(schema.layer(name))
        if merged.empty:
            merged = empty_layer(schema.layer(name), crs)
        layers[name] = merged[columns]
    progress("merge", 1, 1)

    issue_frame = issues.to_frame()
    read = [src for src in (*(b for b, _ in boundary_sources), *sources) if src.id in read_counts]
    accounting_frame = _accounting(read, read_counts, layers, issue_frame)
    unbalanced = accounting_frame[~accounting_frame["balanced"]]
    if not unbalanced.empty:
        lines = [
            f"{r.source_id}: the source holds {r.held}, in dataset {r.kept}, rejected {r.rejected}, "
            f"unreadable {r.unreadable}"
            for r in unbalanced.itertuples()
        ]
        raise AccountingError(
            "features were lost (held != in dataset + rejected + unreadable). This is a bug in flaechen; "
            "please report it with the issue log:\n  " + "\n  ".join(lines)
        )
    return DistrictDataset(
        crs=crs,
        layers=layers,
        issues=issue_frame,
        accounting=accounting_frame,
        quality=_quality(config, layers["parcels"], issue_frame),
        sources=pd.DataFrame(
            source_rows,
            columns=[
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
            ],
        ),
    )


def _accounting(
    sources: Sequence[SourceConfig],
    read_counts: Mapping[str, tuple[int, int, int, int]],
    layers: Mapping[str, gpd.GeoDataFrame],
    issues: pd.DataFrame,
) -> pd.DataFrame:
    """Balance every source against its own count: held = in the dataset + rejected + unreadable.

    ``held`` is what the source holds by its own count (the layer's feature count, not what the reader
    returned), ``read`` what could be read of it; ``rejected`` counts the features read that the issue log
    rejects, ``unreadable`` those that could not be read (each in the log as ``unreadable-feature``).
    """
    rows = []
    rejected = issues[issues["rejected"].fillna(False) & (issues["issue_type"] != "unreadable-feature")]
    # issues that stand for many features at once carry their count as value (one entry per AGS)
    counted = rejected["issue_type"].isin(COUNTED_ISSUES)
    for src in sources:
        held, read, unreadable, united = read_counts[src.id]
        kept = int((layers[src.layer]["source_id"] == src.id).sum()) + united
        mine = rejected["source_id"] == src.id
        rej = rejected.loc[mine & ~counted, "source_fid"].dropna().nunique()
        rej += int(pd.to_numeric(rejected.loc[mine & counted, "value"]).sum())
        rows.append(
            {
                "source_id": src.id,
                "layer": src.layer,
                "path": str(src.path),
                "held": held,
                "read": read,
                "kept": kept,
                "rejected": int(rej),
                "unreadable": unreadable,
            }
        )
    columns = ["source_id", "layer", "path", "held", "read", "kept", "rejected", "unreadable"]
    frame = pd.DataFrame(rows, columns=columns)  # typed even where nothing was read (no boundaries, no source)
    frame["balanced"] = (frame["held"] == frame["kept"] + frame["rejected"] + frame["unreadable"]) & (
        frame["read"] == frame["held"] - frame["unreadable"]
    )
    return frame


def data_losses(dataset: DistrictDataset) -> list[str]:
    """What a run lost: sources with features that could not be read, municipalities whose parcels were all
    rejected. Each entry is one sentence for the terminal; an empty list means nothing was lost.
    """
    losses: list[str] = []
    acc = dataset.accounting
    for r in acc[acc["unreadable"] > 0].itertuples():
        losses.append(
            f"{r.source_id} ({Path(r.path).name}): {r.unreadable:,d} of {r.held:,d} features could not be read "
            "(issue type unreadable-feature); ask the municipality for an undamaged delivery."
        )
    parcels = acc[acc["layer"] == "parcels"]
    kept_by_ags = dataset.layers["parcels"]["ags"].value_counts()
    for ags in (
        dataset.sources.loc[dataset.sources["layer"] == "parcels", "ags"].unique() if len(dataset.sources) else []
    ):
        ids = set(
            dataset.sources.loc[(dataset.sources["ags"] == ags) & (dataset.sources["layer"] == "parcels"), "source_id"]
        )
        delivered = parcels[parcels["source_id"].isin(ids)]
        if delivered["held"].sum() > 0 and kept_by_ags.get(ags, 0) == 0:
            types = dataset.issues[dataset.issues["source_id"].isin(ids) & dataset.issues["rejected"].fillna(False)][
                "issue_type"
            ].value_counts()
            why = ", ".join(f"{t} {n:,d}" for t, n in types.items()) or "see the issue log"
            losses.append(
                f"municipality {ags}: all {int(delivered['held'].sum()):,d} delivered parcels were rejected ({why})."
            )
    return losses


def _quality(config: DistrictConfig, parcels: gpd.GeoDataFrame, issues: pd.DataFrame) -> pd.DataFrame:
    """Area findings per municipality: median computed/official ratio and the share beyond the tolerance."""
    official = parcels["official_area"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    ratio = shapely.area(np.asarray(parcels.geometry.array, dtype=object)) / official
    frame = pd.DataFrame({"ags": parcels["ags"].to_numpy(), "ratio": ratio})
    frame = frame[np.isfinite(frame["ratio"])]
    rows = []
    for m in config.municipalities:
        r = frame.loc[frame["ags"] == m.ags, "ratio"]
        n_parcels = int((parcels["ags"] == m.ags).sum())
        rows.append(
            {
                "ags": m.ags,
                "name": m.name,
                "parcels": n_parcels,
                "with_official_area": len(r),
                "median_area_ratio": float(r.median()) if len(r) else None,
                "share_deviating": float((np.abs(r - 1) > config.area_tolerance).mean()) if len(r) else None,
                "tolerance": config.area_tolerance,
                "issues": int((issues["ags"] == m.ags).sum()),
                "rejected": int(issues.loc[(issues["ags"] == m.ags) & issues["rejected"].fillna(False)].shape[0]),
            }
        )
    return pd.DataFrame(rows)


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
        losses=data_losses(dataset),
    )


@dataclass
class CheckReport:
    """What :func:`check_district` found."""

    problems: list[str]
    """Problems that stop a run (configuration, unreadable sources, CRS, geometry under ``raise``)."""
    dataset: DistrictDataset | None = None
    """The dataset a run would build from the sources that can be read (issue log, accounting)."""
    losses: list[str] = field(default_factory=list)
    """What a run would lose (:func:`data_losses`)."""


def check_district(config: DistrictConfig, *, progress: Progress | None = None) -> CheckReport:
    """Check the configuration and read every feature of every source, without writing anything.

    Finds every problem reading can find — each source's failure, unreadable features, encodings,
    coordinates, invalid geometries, filters — and reports all at once.
    """
    problems: list[str] = []  # the configuration itself is validated whole by load_config
    dataset = build_district(config, progress=progress, problems=problems)
    return CheckReport(problems=problems, dataset=dataset, losses=data_losses(dataset))


def check(config: DistrictConfig) -> list[str]:
    """Check the configuration and read every source; returns every problem that would stop a run.

    An empty list when a run can go ahead. See :func:`check_district` for the issue log and losses too.
    """
    return check_district(config).problems
