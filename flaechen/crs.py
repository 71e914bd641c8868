"""Coordinate reference systems: resolving them, choosing the most accurate transformation, reprojecting.

DHDN (Gauß-Krüger) → ETRS89 is accurate to about a metre or better only with the BETA2007 grid
(``de_adv_BETA2007.tif``, or ``BETA2007.gsb`` as Debian's ``proj-data`` ships it); a Helmert
transformation is off by up to a few metres. flaechen picks the most accurate transformation that is
available for the data's area, says which one ran, and warns where a better one needs a missing grid.

Examples
--------
>>> choice = choose_transformation("EPSG:31466", "EPSG:25832", bounds=(6.6, 50.2, 7.3, 50.5))
>>> "DHDN to ETRS89" in choice.description and choice.description.endswith("UTM zone 32N")
True
>>> choice.accuracy is not None and choice.accuracy <= 3.0  # about 0.1 m with BETA2007, metres without
True
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj import datadir as proj_datadir
from pyproj.exceptions import CRSError as ProjCRSError
from pyproj.transformer import AreaOfInterest, TransformerGroup

from flaechen.errors import CRSError

log = logging.getLogger(__name__)

SYSTEM_GRID_DIRS = (Path("/usr/share/proj"), Path("/usr/local/share/proj"))
"""Folders searched for PROJ grids besides the ones a configuration names (Debian's proj-data)."""

ADV_CRS_ALIASES = {
    "ETRS89_UTM32": "EPSG:25832",
    "ETRS89_UTM33": "EPSG:25833",
    "ETRS89_Lat-Lon": "EPSG:4258",
    "ETRS89_Lon-Lat": "EPSG:4258",
    "DE_DHDN_3GK2": "EPSG:31466",
    "DE_DHDN_3GK3": "EPSG:31467",
    "DE_DHDN_3GK4": "EPSG:31468",
    "DE_DHDN_3GK5": "EPSG:31469",
    "DE_PD/83_3GK3": "EPSG:3396",
    "DE_PD/83_3GK4": "EPSG:3397",
    "DE_RD/83_3GK4": "EPSG:3398",
    "DE_RD/83_3GK5": "EPSG:3399",
}
"""CRS names of the German surveying authorities (AdV CRS registry) that GDAL cannot resolve, with their EPSG
codes. They are matched with or without the ``urn:adv:crs:`` prefix, ignoring case, a height system after
``*`` (``ETRS89_UTM32*DE_DHHN2016_NH``) and the state realisation of DHDN (``DE_DHDN_3GK3_NW177``,
``…_BW100``, ``…_HE100``, ``…_RP180``)."""

_ADV_LOOKUP = {k.lower(): v for k, v in ADV_CRS_ALIASES.items()}
_ADV_REALISATION = re.compile(r"^(de_dhdn_3gk\d)_[a-z]{2}\d+$")


def adv_crs(name: str) -> str | None:
    """The EPSG code of an AdV CRS name, or None where `name` is none.

    Examples
    --------
    >>> adv_crs("urn:adv:crs:ETRS89_UTM32"), adv_crs("ETRS89_UTM33*DE_DHHN2016_NH"), adv_crs("DE_DHDN_3GK3_NW177")
    ('EPSG:25832', 'EPSG:25833', 'EPSG:31467')
    """
    text = name.strip()
    lowered = text.lower()
    for prefix in ("urn:adv:crs:", "urn:ogc:def:crs:adv::", "adv:"):
        if lowered.startswith(prefix):
            lowered = lowered[len(prefix) :]
            break
    lowered = lowered.split("*", 1)[0].strip()
    hit = _ADV_LOOKUP.get(lowered)
    if hit is None:
        m = _ADV_REALISATION.match(lowered)
        hit = _ADV_LOOKUP.get(m.group(1)) if m else None
    return hit


_SRS_NAME = re.compile(rb'srsName\s*=\s*["\']([^"\']+)["\']')


def gml_srs_name(path: Path, *, limit: int = 1 << 20) -> str | None:
    """The first ``srsName`` a GML/NAS file states (from its first `limit` bytes), or None.

    GDAL leaves a layer without CRS where it cannot resolve the name (``urn:adv:crs:ETRS89_UTM32``);
    the name is then read from the file itself so that it can be resolved here.
    """
    with path.open("rb") as fh:
        head = fh.read(limit)
    m = _SRS_NAME.search(head)
    return m.group(1).decode("utf-8", "replace") if m else None


def use_grid_dirs(extra: Iterable[Path] = ()) -> list[Path]:
    """Make PROJ search the system grid folders and `extra` for grids; return the folders in use.

    PROJ keeps its search path per process; adding a folder twice is harmless.
    """
    used = [d for d in (*SYSTEM_GRID_DIRS, *extra) if d.is_dir()]
    for d in used:
        _append_data_dir(str(d.resolve()))
    return used


@cache
def _append_data_dir(directory: str) -> None:
    proj_datadir.append_data_dir(directory)


def resolve_crs(value: str | CRS, *, where: str) -> CRS:
    """Resolve a CRS given by a user or a file, including the AdV names GDAL does not know.

    Raises
    ------
    CRSError
        Naming `where` the CRS was given and how to fix it.
    """
    if isinstance(value, CRS):
        return value
    text = str(value).strip()
    alias = adv_crs(text)
    try:
        return CRS.from_user_input(alias or text)
    except ProjCRSError:
        raise CRSError(
            f'{where}: cannot resolve CRS {text!r}; declare it with an EPSG code, e.g. crs = "EPSG:25832"'
        ) from None


@dataclass(frozen=True)
class TransformationChoice:
    """The transformation that reprojects a source, and what it says about accuracy."""

    transformer: Transformer | None
    description: str
    accuracy: float | None
    """Accuracy in metres as PROJ reports it (None where unknown; 0 for a pure conversion)."""
    missing_grids: tuple[str, ...] = ()
    """Grids a more accurate transformation needs that are not installed."""
    better_accuracy: float | None = None

    @property
    def is_identity(self) -> bool:
        return self.transformer is None


def choose_transformation(
    source: CRS | str,
    target: CRS | str,
    *,
    bounds: tuple[float, float, float, float] | None = None,
) -> TransformationChoice:
    """Choose the most accurate available transformation from `source` to `target`.

    Parameters
    ----------
    source, target
        The CRSs.
    bounds
        The data's extent in geographic coordinates (lon/lat, west, south, east, north): restricts the
        candidates to transformations valid there (a grid for another state is no help).
    """
    src = resolve_crs(source, where="source CRS")
    dst = resolve_crs(target, where="target CRS")
    if src.equals(dst, ignore_axis_order=True):
        return TransformationChoice(None, "none (same CRS)", 0.0)
    aoi = AreaOfInterest(*bounds) if bounds and np.all(np.isfinite(bounds)) else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        group = TransformerGroup(src, dst, always_xy=True, area_of_interest=aoi)
    if not group.transformers:
        raise CRSError(f"no transformation from {src.name} to {dst.name} is available")
    best = group.transformers[0]
    missing: list[str] = []
    better: float | None = None
    best_acc = best.accuracy if best.accuracy is not None and best.accuracy >= 0 else None
    for op in group.unavailable_operations:
        acc = op.accuracy if op.accuracy is not None and op.accuracy >= 0 else None
        if acc is not None and (best_acc is None or acc < best_acc):
            missing += [g.short_name for g in op.grids if not g.available]
            better = acc if better is None else min(better, acc)
    return TransformationChoice(
        transformer=best,
        description=best.description,
        accuracy=best_acc,
        missing_grids=tuple(dict.fromkeys(missing)),
        better_accuracy=better,
    )


def geographic_bounds(geoms: np.ndarray, crs: CRS) -> tuple[float, float, float, float] | None:
    """The lon/lat extent of geometries in `crs` (None when empty or not transformable)."""
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    if not np.all(np.isfinite([xmin, ymin, xmax, ymax])):
        return None
    if crs.is_geographic:
        return (xmin, ymin, xmax, ymax)
    try:
        to_geo = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
        w, s, e, n = to_geo.transform_bounds(xmin, ymin, xmax, ymax)
    except Exception:  # coordinates far outside the CRS's area: no usable extent
        return None
    if not np.all(np.isfinite([w, s, e, n])) or not (-180 <= w <= 180 and -90 <= s <= 90):
        return None
    return (w, s, e, n)


def reproject(geoms: np.ndarray, choice: TransformationChoice) -> np.ndarray:
    """Reproject an array of shapely geometries with the chosen transformation (vectorised)."""
    if choice.transformer is None:
        return geoms
    return np.asarray(shapely.transform(geoms, choice.transformer.transform, interleaved=False))
