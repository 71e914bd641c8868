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
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from flaechen.atomic import atomic_write
from flaechen.codes import normalise_codes
from flaechen.config import BoundaryConfig, DistrictConfig, SourceConfig
from flaechen.crs import use_grid_dirs
from flaechen.errors import AccountingError, FlaechenError, SourceError
from flaechen.gpkg import write_gpkg
from flaechen.harmonise import (
    AGS_RESTORED,
    Harmonised,
    HarmoniseSettings,
    canonical_columns,
    empty_layer,
    harmonise_source,
    shapely_to_multi,
)
from flaechen.issues import IssueLog, spreadsheet_safe
from flaechen.layers import CANONICAL_LAYERS, load_schema
from flaechen.merge import concat_layer, place_point_sites, resolve_border_duplicates
from flaechen.read import SourceFrame, check_plans, check_where, expand_source, inspect_source, read_source
from flaechen.xplan import xplan_version

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


def _read_boundaries(
    config: DistrictConfig, issues: IssueLog, crs: CRS
) -> tuple[gpd.GeoDataFrame, list[dict[str, Any]]]:
    """Municipality boundaries from [boundaries] and/or per-municipality boundary sources."""
    wanted = {m.ags: m for m in config.municipalities}
    rows: list[dict[str, Any]] = []
    accounting: list[dict[str, Any]] = []
    for b, codes in _boundary_groups(config):
        sf = read_source(b)
        frame = sf.frame
        file_crs = CRS.from_user_input(b.crs) if b.crs else sf.file_crs
        if file_crs is None:
            raise SourceError(f"{b.key} ({b.path}): no CRS in the file; declare crs for the boundaries")
        if b.ags_field is None:
            # a municipality's own boundary file: every feature (the filter aside) is part of its boundary
            text = pd.Series(codes[0], index=frame.index, dtype="string")
            text[frame.index.isin(sf.excluded)] = pd.NA
            padded = np.zeros(len(frame), dtype=bool)
        else:
            text, padded, _ = normalise_codes(frame[b.ags_field], scheme=config.code_scheme)
        if padded.any():
            issues.add_many(
                "repaired-value",
                ags=list(text[padded].astype(str)),
                source_id=BOUNDARY_SOURCE_ID,
                layer="municipalities",
                source_fids=frame.index[padded].tolist(),
                field="ags",
                values=[s[1:] for s in text[padded].astype(str)],
                messages=AGS_RESTORED,
            )
        geoms = shapely.make_valid(np.asarray(gpd.GeoSeries(frame.geometry.values, crs=file_crs).to_crs(crs).array))
        used = np.zeros(len(frame), dtype=bool)
        for code in codes:
            hit = (text == code).fillna(False).to_numpy()
            if not hit.any():
                raise SourceError(
                    f"{b.key} ({b.path}): no feature with {b.ags_field} = {code!r} for municipality "
                    f"{wanted[code].name}; fix the AGS in the configuration or the boundary file."
                )
            used |= hit
            geom = shapely.union_all(np.asarray(geoms[hit], dtype=object))
            rows.append(
                {
                    "ags": code,
                    "name": wanted[code].name,
                    "population": wanted[code].population,
                    "source_id": BOUNDARY_SOURCE_ID,
                    "source_layer": sf.layer_name,
                    "source_fid": int(frame.index[hit][0]),
                    "source_hash": sf.content_hash,
                    "geometry": geom,
                }
            )
        unused = ~used
        if unused.any():
            issues.add_many(
                "filtered",
                ags=list(text[unused].fillna("").astype(str)),
                source_id=BOUNDARY_SOURCE_ID,
                layer="municipalities",
                source_fids=frame.index[unused].tolist(),
                feature_ids=list(text[unused].fillna("").astype(str)),
                messages="Boundary of a municipality that is not part of the district configuration.",
            )
        accounting.append(
            {
                "source_id": BOUNDARY_SOURCE_ID,
                "layer": "municipalities",
                "path": str(b.path),
                "read": len(frame),
                "kept": int(used.sum()),
                "rejected": int(unused.sum()),
            }
        )
    for m in config.municipalities:
        if m.without_boundary:
            rows.append(
                {
                    "ags": m.ags,
                    "name": m.name,
                    "population": m.population,
                    "source_id": BOUNDARY_SOURCE_ID,
                    "source_layer": None,
                    "source_fid": None,
                    "source_hash": None,
                    "geometry": None,
                }
            )
            issues.add(
                "no-boundary",
                ags=m.ags,
                source_id=BOUNDARY_SOURCE_ID,
                layer="municipalities",
                message=(
                    f"No boundary for {m.name} (boundary = false): its features are not checked against its "
                    "extent, and it has no geometry in layer municipalities."
                ),
            )
    layer = load_schema().layer("municipalities")
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    gdf["geometry"] = shapely_to_multi(np.asarray(gdf.geometry.array, dtype=object))
    for f in layer.fields:
        gdf[f.name] = gdf[f.name].astype(f.dtype)
    for col, dtype in (
        ("source_id", "string"),
        ("source_layer", "string"),
        ("source_fid", "Int64"),
        ("source_hash", "string"),
    ):
        gdf[col] = gdf[col].astype(dtype)
    return gdf[canonical_columns(layer)], accounting


def _boundary_groups(config: DistrictConfig) -> list[tuple[BoundaryConfig, list[str]]]:
    """Each boundary source with the AGS of the municipalities it serves."""
    groups: dict[str, tuple[BoundaryConfig, list[str]]] = {}
    for m in config.municipalities:
        if m.without_boundary:
            continue
        b = m.boundary or config.boundaries
        assert b is not None  # the configuration guarantees one
        groups.setdefault(b.key, (b, []))[1].append(m.ags)
    return list(groups.values())


def _expanded_sources(config: DistrictConfig, issues: IssueLog) -> list[SourceConfig]:
    """Every source to read: a source with ``source_layers`` stands for one source per matched layer."""
    out: list[SourceConfig] = []
    for src in config.sources:
        expanded, skipped = expand_source(src)
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
) -> Harmonised:
    """A file for the whole district: each feature goes to the municipality its ``ags_field`` names.

    Features of a code that is no municipality of the district are logged once per code with their count
    (``outside-district``), features without a code once per feature (``missing-value``).
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
    wanted = [m.ags for m in config.municipalities]
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
    foreign = codes.notna().to_numpy() & ~codes.isin(wanted).fillna(False).to_numpy() & ~excluded
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
    frames: list[gpd.GeoDataFrame] = []
    transformation = None
    for ags in wanted:
        part = (codes == ags).fillna(False).to_numpy() & ~excluded
        if not part.any():
            continue
        sub = dataclasses.replace(sf, frame=frame.loc[part], excluded=np.array([], dtype=np.int64))
        result = harmonise_source(
            sub,
            dataclasses.replace(src, ags=ags),
            layer=schema.layer(src.layer),
            schema=schema,
            settings=settings,
            boundary=boundaries.get(ags),
            issues=issues,
        )
        frames.append(result.frame)
        transformation = transformation or result.transformation
    merged = concat_layer(frames, crs=settings.crs) if frames else empty_layer(schema.layer(src.layer), settings.crs)
    return Harmonised(merged, len(frame), transformation)


def build_district(config: DistrictConfig, *, progress: Progress | None = None) -> DistrictDataset:
    """Read, harmonise and merge every declared source into the district dataset.

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
    municipalities, accounting = _read_boundaries(config, issues, crs)
    boundaries = dict(zip(municipalities["ags"], municipalities.geometry.array, strict=True))

    per_layer: dict[str, list[gpd.GeoDataFrame]] = {name: [] for name in CANONICAL_LAYERS if name != "municipalities"}
    source_rows: list[dict[str, Any]] = []
    read_counts: dict[str, int] = {}
    sources = _expanded_sources(config, issues)
    for i, src in enumerate(sources):
        progress("read and harmonise", i, len(sources))
        sf = read_source(src)
        if src.ags_field:
            result = _harmonise_district_source(sf, src, config, schema, settings, boundaries, issues)
        else:
            result = harmonise_source(
                sf,
                src,
                layer=schema.layer(src.layer),
                schema=schema,
                settings=settings,
                boundary=boundaries.get(src.ags),
                issues=issues,
            )
        per_layer[src.layer].append(result.frame)
        read_counts[src.id] = result.read
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
    progress("read and harmonise", len(sources), len(sources))

    progress("merge", 0, 1)
    layers: dict[str, gpd.GeoDataFrame] = {"municipalities": municipalities}
    for name, frames in per_layer.items():
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
        columns = canonical_columns(schema.layer(name))
        if merged.empty:
            merged = empty_layer(schema.layer(name), crs)
        layers[name] = merged[columns]
    progress("merge", 1, 1)

    issue_frame = issues.to_frame()
    accounting_frame = _accounting(sources, read_counts, layers, issue_frame, accounting)
    unbalanced = accounting_frame[~accounting_frame["balanced"]]
    if not unbalanced.empty:
        lines = [
            f"{r.source_id}: read {r.read}, in dataset {r.kept}, rejected {r.rejected}" for r in unbalanced.itertuples()
        ]
        raise AccountingError("features were lost (read != in dataset + rejected):\n  " + "\n  ".join(lines))
    return DistrictDataset(
        crs=crs,
        layers=layers,
        issues=issue_frame,
        accounting=accounting_frame,
        quality=_quality(config, layers["parcels"], issue_frame),
        sources=pd.DataFrame(source_rows),
    )


def _accounting(
    sources: Sequence[SourceConfig],
    read_counts: Mapping[str, int],
    layers: Mapping[str, gpd.GeoDataFrame],
    issues: pd.DataFrame,
    boundary_rows: list[dict[str, Any]],
) -> pd.DataFrame:
    rows = list(boundary_rows)
    rejected = issues[issues["rejected"].fillna(False)]
    # issues that stand for many features at once carry their count as value (one entry per AGS)
    counted = rejected["issue_type"].isin(COUNTED_ISSUES)
    for src in sources:
        kept = int((layers[src.layer]["source_id"] == src.id).sum())
        mine = rejected["source_id"] == src.id
        rej = rejected.loc[mine & ~counted, "source_fid"].dropna().nunique()
        rej += int(pd.to_numeric(rejected.loc[mine & counted, "value"]).sum())
        rows.append(
            {
                "source_id": src.id,
                "layer": src.layer,
                "path": str(src.path),
                "read": read_counts[src.id],
                "kept": kept,
                "rejected": int(rej),
            }
        )
    frame = pd.DataFrame(rows)
    frame["balanced"] = frame["read"] == frame["kept"] + frame["rejected"]
    return frame


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
) -> RunResult:
    """Build the district dataset from a configuration and write everything into `out_dir`.

    Writes ``district.gpkg`` (the district layers, the issue log and, with `flag`, layer ``candidates`` and
    tables ``summary``, ``rules``, ``parcel_measures``; the commercial areas with their assessment and the
    scenarios, see :mod:`flaechen.plan`; every layer with its QGIS style), ``issues.csv``, the assessment
    sheets, score cards and scenario page, the QGIS project ``district.qgz`` and, with `publish`, the
    offline map site ``site/``.
    """
    from flaechen.export import style_gpkg, write_qgis_project
    from flaechen.export.settings import run_exports
    from flaechen.output import check_output_dir

    progress = progress or _no_progress
    check_output_dir(out_dir)  # the configuration is validated whole by load_config; the folder before reading
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
    extras["qgis_project"] = write_qgis_project(gpkg, crs=config.crs, title=config.name)
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
        progress("publish the map site", 1, 1)
    return RunResult(dataset=dataset, out_dir=Path(out_dir), gpkg=gpkg, issues_csv=csv_path, extras=extras)


def check(config: DistrictConfig) -> list[str]:
    """Open every declared source and check it against its settings without reading features or writing.

    The configuration itself is already validated whole (:func:`flaechen.config.load_config`).
    Returns every problem found (an empty list when all is well).
    """
    problems: list[str] = []
    for b, _ in _boundary_groups(config):
        try:
            inspect_source(b)
            check_where(b)
        except FlaechenError as exc:
            problems.append(str(exc))
    for declared in config.sources:
        try:
            expanded, _ = expand_source(declared)
        except FlaechenError as exc:
            problems.append(str(exc))
            continue
        for src in expanded:
            try:
                inspect_source(src)
                check_where(src)
                if src.plans and src.layer == "zoning" and xplan_version(src.path):
                    check_plans(src)
            except FlaechenError as exc:
                problems.append(str(exc))
    return problems
