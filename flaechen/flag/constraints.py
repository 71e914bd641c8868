"""Constraints that lower or exclude candidates: vector layers and rasters, summarised per parcel.

A constraint answers, for every parcel, one of three things: it *applies* (``"betroffen"``), it does not
(``"frei"``), or it has *no data* for the parcel (``"keine Daten"``) — a parcel outside a raster, on its
nodata pixels, or outside a vector layer's extent is never counted as free of the constraint.

* Vector constraints (protected areas, flood zones): the share of the parcel they cover, computed exactly
  through the same STRtree overlay as the other layers (:mod:`flaechen.flag.overlay`); they apply above
  ``min_share``.
* Raster constraints (slope from a terrain model, flood depth): read with rasterio block by block; the
  parcels are burnt into a label raster (``rasterio.features.rasterize``) and summarised with
  ``numpy.bincount``, so no Python loop runs over pixels; a parcel smaller than a pixel takes the pixel
  under its centroid. ``derive = "slope_percent"`` turns a terrain model into slope first.

Examples
--------
A flood zone delivered as a GeoPackage, excluding the candidates it covers:

>>> from pathlib import Path
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> zone = gpd.GeoDataFrame({"klasse": ["HQ100"]}, geometry=[box(350_000, 5_600_000, 350_500, 5_600_200)],
...                         crs="EPSG:25832")
>>> zone.to_file("hq100.gpkg", layer="hq100")
>>> specs = {"constraints": [{"name": "hq100", "kind": "vector", "path": "hq100.gpkg", "effect": "exclude"}]}
>>> [(c.name, c.effect) for c in load_constraints(specs, base_dir=Path("."), crs="EPSG:25832")]
[('hq100', 'exclude')]
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import rasterio
import rasterio.features
import rasterio.windows
import shapely
from pyproj import CRS
from rasterio.transform import Affine

from flaechen.errors import CRSError, SourceError
from flaechen.flag.metrics import AREA_EPSILON
from flaechen.flag.overlay import Overlaps
from flaechen.flag.settings import FlagSettings, RasterConstraintSpec, VectorConstraintSpec, parse_flag_section

log = logging.getLogger(__name__)

APPLIES = "betroffen"
CLEAR = "frei"
NO_DATA = "keine Daten"


@dataclass(frozen=True)
class VectorConstraint:
    """A polygon constraint layer, read and reprojected to the district CRS.

    Attributes
    ----------
    geometries
        The constraint's polygons (shapely array, district CRS).
    extent
        Where the layer has data: its bounding box (``extent = "bounds"``), or None where it covers the
        whole district.
    """

    name: str
    effect: str
    label: str
    geometries: np.ndarray
    min_share: float = 0.0
    extent: Any = None
    kind: str = "vector"


@dataclass(frozen=True)
class RasterConstraint:
    """A raster constraint: a file read block by block when flagging."""

    name: str
    effect: str
    label: str
    path: Path
    band: int = 1
    derive: str | None = None
    statistic: str = "mean"
    above: float | None = None
    below: float | None = None
    unit: str = ""
    min_valid_share: float = 0.5
    kind: str = "raster"

    @property
    def threshold(self) -> float:
        return self.above if self.above is not None else self.below  # type: ignore[return-value]


Constraint = VectorConstraint | RasterConstraint


def _same_crs(a: Any, b: Any) -> bool:
    return CRS.from_user_input(a) == CRS.from_user_input(b)


def _read_vector(spec: VectorConstraintSpec, crs: Any) -> VectorConstraint:
    options: dict[str, Any] = {}
    if spec.path.suffix.lower() in (".gml", ".xml"):
        options["WRITE_GFS"] = "NO"  # never write a .gfs sidecar next to the source
    try:
        frame = pyogrio.read_dataframe(spec.path, layer=spec.layer, where=spec.where, **options)
    except Exception as exc:
        raise SourceError(
            f"constraint {spec.name!r}: cannot read {spec.path}{f' layer {spec.layer!r}' if spec.layer else ''}: {exc}"
        ) from exc
    if frame.crs is None:
        raise CRSError(
            f"constraint {spec.name!r}: {spec.path} has no CRS; "
            f"assign one (e.g. ogr2ogr -a_srs {CRS.from_user_input(crs).to_string()}) and run again"
        )
    if not _same_crs(frame.crs, crs):
        log.info("constraint %r: reprojecting from %s to %s", spec.name, frame.crs.to_string(), crs)
        frame = frame.to_crs(crs)
    geoms = frame.geometry.to_numpy()
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    if not polygonal.all():
        log.warning("constraint %r: %d non-polygon features ignored", spec.name, int((~polygonal).sum()))
        geoms = geoms[polygonal]
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        log.warning("constraint %r: %d invalid polygons repaired (make_valid)", spec.name, int(invalid.sum()))
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    extent = None
    if spec.extent == "bounds" and len(geoms):
        extent = shapely.box(*shapely.total_bounds(geoms))
    return VectorConstraint(
        name=spec.name,
        effect=spec.effect,
        label=spec.label or spec.name,
        geometries=geoms,
        min_share=spec.min_share,
        extent=extent,
    )


def _open_raster(spec: RasterConstraintSpec, crs: Any) -> RasterConstraint:
    try:
        with rasterio.open(spec.path) as src:
            raster_crs = src.crs
            count = src.count
            transform = src.transform
    except rasterio.errors.RasterioIOError as exc:
        raise SourceError(f"constraint {spec.name!r}: cannot open raster {spec.path}: {exc}") from exc
    if raster_crs is None:
        raise CRSError(f"constraint {spec.name!r}: raster {spec.path} has no CRS; assign one with gdal_edit.py -a_srs")
    if not _same_crs(raster_crs.to_wkt(), crs):
        target = CRS.from_user_input(crs).to_string()
        raise CRSError(
            f"constraint {spec.name!r}: raster {spec.path} is in {raster_crs.to_string()}, the district in "
            f"{target}; reproject it once with `gdalwarp -t_srs {target} …` and point the configuration at the result"
        )
    if transform.b != 0 or transform.d != 0:
        raise SourceError(
            f"constraint {spec.name!r}: raster {spec.path} is rotated; warp it to a north-up grid "
            "(`gdalwarp -t_srs …`) and point the configuration at the result"
        )
    if spec.band > count:
        raise SourceError(f"constraint {spec.name!r}: raster {spec.path} has {count} band(s), not band {spec.band}")
    return RasterConstraint(
        name=spec.name,
        effect=spec.effect,
        label=spec.label or spec.name,
        path=spec.path,
        band=spec.band,
        derive=spec.derive,
        statistic=spec.statistic,
        above=spec.above,
        below=spec.below,
        unit=spec.unit or "",
        min_valid_share=spec.min_valid_share,
    )


def load_constraints(
    flag_section: FlagSettings | Mapping[str, Any] | None, *, base_dir: Path, crs: Any
) -> list[Constraint]:
    """Validate the ``[flag]`` table and read its constraint layers.

    Parameters
    ----------
    flag_section
        The raw ``[flag]`` table of the district configuration (see :mod:`flaechen.flag.settings`).
    base_dir
        Folder relative paths are resolved against (the configuration file's folder).
    crs
        The district CRS; vector layers are reprojected to it (logged), rasters must already be in it.

    Returns
    -------
    list
        :class:`VectorConstraint` and :class:`RasterConstraint` objects, in the order configured.

    Raises
    ------
    flaechen.errors.ConfigError
        Every problem of the table at once.
    flaechen.errors.SourceError, flaechen.errors.CRSError
        A file cannot be read, or a raster is in another CRS.
    """
    settings = parse_flag_section(flag_section, base_dir=Path(base_dir))
    out: list[Constraint] = []
    for spec in settings.constraints:
        out.append(_read_vector(spec, crs) if isinstance(spec, VectorConstraintSpec) else _open_raster(spec, crs))
        log.info("constraint %r (%s, %s) from %s", spec.name, spec.kind, spec.effect, spec.path)
    return out


def vector_status(
    constraint: VectorConstraint,
    ov: Overlaps,
    *,
    parcels: np.ndarray,
    parcel_area: np.ndarray,
    min_overlap: float,
) -> pd.DataFrame:
    """Per parcel: the share a vector constraint covers and its status (betroffen, frei, keine Daten)."""
    n = len(parcel_area)
    keep = ov.area >= min_overlap - AREA_EPSILON
    covered = np.bincount(ov.parcel[keep], weights=ov.area[keep], minlength=n)
    share = np.minimum(np.divide(covered, parcel_area, out=np.zeros(n), where=parcel_area > 0), 1.0)
    applies = (share > constraint.min_share) & (covered > 0)
    if constraint.extent is None:
        has_data = np.ones(n, dtype=bool)
    else:
        shapely.prepare(constraint.extent)
        has_data = shapely.covers(constraint.extent, parcels)
    status = np.where(applies, APPLIES, np.where(has_data, CLEAR, NO_DATA))
    return pd.DataFrame(
        {
            "status": pd.Series(status, dtype="string"),
            "value": pd.Series(share, dtype="Float64"),
            "valid_share": pd.Series(np.where(has_data | applies, 1.0, 0.0), dtype="Float64"),
        }
    )


def _slope(z: np.ndarray, xres: float, yres: float, *, degrees: bool) -> np.ndarray:
    if z.shape[0] < 2 or z.shape[1] < 2:
        return np.full(z.shape, np.nan)
    dzdy, dzdx = np.gradient(z, yres, xres)
    rise = np.hypot(dzdx, dzdy)
    return np.asarray(np.degrees(np.arctan(rise)) if degrees else rise * 100.0)


def raster_status(
    constraint: RasterConstraint,
    *,
    parcels: np.ndarray,
    parcel_area: np.ndarray,
    block_pixels: int = 4_000_000,
) -> pd.DataFrame:
    """Per parcel: a raster statistic over its pixels and the constraint's status.

    The parcels are burnt into a label raster block by block (pixel-centre rule); count, sum, min and
    max of the valid pixels are gathered with ``numpy.bincount``/``ufunc.at``. A parcel without any
    burnt pixel inside the raster takes the pixel under its centroid. The share of the parcel with valid
    pixels below ``min_valid_share`` (outside the raster, nodata) gives ``"keine Daten"``. Parcels are
    expected not to overlap (a cadastre): where they do, a pixel counts for the one burnt last.
    """
    n = len(parcels)
    count = np.zeros(n)
    total = np.zeros(n)
    vmin = np.full(n, np.inf)
    vmax = np.full(n, -np.inf)
    burnt = np.zeros(n)
    pbounds = shapely.bounds(parcels)
    centroids = shapely.get_coordinates(shapely.centroid(parcels))
    with rasterio.open(constraint.path) as src:
        nodata = src.nodata
        xres, yres = abs(src.transform.a), abs(src.transform.e)
        pixel_area = xres * yres
        rows = max(1, block_pixels // max(1, src.width))
        halo = 1 if constraint.derive else 0
        for row0 in range(0, src.height, rows):
            nrows = min(rows, src.height - row0)
            t = src.transform  # north-up (checked when the constraint was loaded)
            block_transform = Affine(t.a, 0.0, t.c, 0.0, t.e, t.f + t.e * row0)
            left, right = sorted((t.c, t.c + t.a * src.width))
            bottom, top = sorted((t.f + t.e * row0, t.f + t.e * (row0 + nrows)))
            inside = (pbounds[:, 0] < right) & (pbounds[:, 2] > left) & (pbounds[:, 1] < top) & (pbounds[:, 3] > bottom)
            idx = np.flatnonzero(inside)
            if len(idx) == 0:
                continue
            r0 = max(0, row0 - halo)
            r1 = min(src.height, row0 + nrows + halo)
            data = src.read(constraint.band, window=rasterio.windows.Window(0, r0, src.width, r1 - r0)).astype(
                np.float64
            )
            valid = np.isfinite(data)
            if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
                valid &= data != nodata
            data = np.where(valid, data, np.nan)
            if constraint.derive:
                data = _slope(data, xres, yres, degrees=constraint.derive == "slope_degrees")
            data = data[row0 - r0 : row0 - r0 + nrows]
            labels = rasterio.features.rasterize(
                zip(parcels[idx], np.arange(1, len(idx) + 1), strict=True),
                out_shape=(nrows, src.width),
                transform=block_transform,
                fill=0,
                dtype="int32",
            )
            flat = labels.ravel()
            values = data.ravel()
            on = flat > 0
            burnt += np.bincount(idx[flat[on] - 1], minlength=n)[:n] if on.any() else 0
            ok = on & np.isfinite(values)
            lab = idx[flat[ok] - 1]
            val = values[ok]
            count += np.bincount(lab, minlength=n)
            total += np.bincount(lab, weights=val, minlength=n)
            np.minimum.at(vmin, lab, val)
            np.maximum.at(vmax, lab, val)
        # Parcels too small to hold a pixel centre: the pixel under the centroid.
        small = np.flatnonzero(burnt == 0)
        if len(small):
            t = src.transform
            cols = np.floor((centroids[small, 0] - t.c) / t.a).astype(np.int64)
            rws = np.floor((centroids[small, 1] - t.f) / t.e).astype(np.int64)
            inr = (cols >= 0) & (cols < src.width) & (rws >= 0) & (rws < src.height)
            for k in np.flatnonzero(inr):
                r = int(rws[k])
                r0, r1 = max(0, r - 1), min(src.height, r + 2)
                block = src.read(constraint.band, window=rasterio.windows.Window(0, r0, src.width, r1 - r0)).astype(
                    np.float64
                )
                ok = np.isfinite(block) & ((block != nodata) if nodata is not None else True)
                block = np.where(ok, block, np.nan)
                if constraint.derive:
                    block = _slope(block, xres, yres, degrees=constraint.derive == "slope_degrees")
                v = block[r - r0, cols[k]]
                if np.isfinite(v):
                    p = small[k]
                    count[p], total[p], vmin[p], vmax[p] = 1, v, v, v
                    burnt[p] = -1  # marks the centroid fallback
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    stat = {"mean": mean, "min": vmin, "max": vmax}[constraint.statistic]
    stat = np.where(count > 0, stat, np.nan)
    valid_share = np.where(
        burnt < 0,
        1.0,
        np.minimum(np.divide(count * pixel_area, parcel_area, out=np.zeros(n), where=parcel_area > 0), 1.0),
    )
    has_data = (count > 0) & (valid_share >= constraint.min_valid_share)
    if constraint.above is not None:
        applies = has_data & (stat > constraint.above)
    else:
        applies = has_data & (stat < constraint.below)
    status = np.where(applies, APPLIES, np.where(has_data, CLEAR, NO_DATA))
    return pd.DataFrame(
        {
            "status": pd.Series(status, dtype="string"),
            "value": pd.Series(stat, dtype="Float64").mask(~np.isfinite(stat)),
            "valid_share": pd.Series(valid_share, dtype="Float64"),
        }
    )


def constraint_status(
    constraints: Sequence[Constraint],
    overlaps: Mapping[str, Overlaps],
    *,
    parcels: np.ndarray,
    parcel_area: np.ndarray,
    min_overlap: float,
) -> dict[str, pd.DataFrame]:
    """Status of every constraint for every parcel: ``{name: DataFrame(status, value, valid_share)}``."""
    out: dict[str, pd.DataFrame] = {}
    for c in constraints:
        if isinstance(c, VectorConstraint):
            out[c.name] = vector_status(
                c, overlaps[overlay_key(c)], parcels=parcels, parcel_area=parcel_area, min_overlap=min_overlap
            )
        else:
            out[c.name] = raster_status(c, parcels=parcels, parcel_area=parcel_area)
        counts = out[c.name]["status"].value_counts()
        told = ", ".join(f"{status} {n:,d}" for status, n in counts.items()) or "no parcel to judge"
        log.info("constraint %r: %s", c.name, told)
    return out


def overlay_key(constraint: VectorConstraint) -> str:
    """Name of a vector constraint among the indexed overlay layers."""
    return f"constraint:{constraint.name}"
