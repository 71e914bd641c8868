"""The demo's planted truth: which parcels are reuse candidates by construction, and which must not be.

:func:`plant` decides, per municipality, which plots stay vacant (Baulücken, some on farm or recreational
land as in real villages), which buildings stand empty (Leerstand), which commercial plots are under-used,
where a farmstead stands inside the village, and whose footprints one delivery leaves out; gardens behind
houses are cut by the settlement layout. :func:`planted_truth` then lists

* the *truth*: every Baulücke, Brachfläche, Leerstand, Untergenutzte Fläche and Außenreserve, and
* the *non-candidates*: gardens behind houses, street and path parcels, built lots whose footprints are
  missing from the delivery, farmsteads inside the village,

written to ``planted_truth.gpkg`` (layers ``truth`` and ``non_candidates``, field ``category`` / ``kind``)
so that ``flaechen evaluate OUT planted_truth.gpkg --layer truth --field category`` measures the flags.

Municipalities in :data:`NO_PLAN` deliver no zoning (the §34 case): without a plan nothing is zoned
building land outside the built-up area (no Außenreserve) and no GRZ says a lot is under-used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from numpy.typing import NDArray

from flaechen.demo.names import STREETS, MunicipalitySpec

NO_PLAN = (6,)
"""Numbers of the municipalities that deliver no B-Plan and no FNP (Lindenhöh): building land by §34 only."""

HIDDEN_FOOTPRINTS = (1,)
"""Numbers of the municipalities whose building delivery leaves out the footprints of a few built lots
(their addresses carry house numbers: Hohenmaar delivers them)."""

VACANT_USES = (
    (0.3, "Landwirtschaft / Grünland"),
    (0.1, "Sport-, Freizeit- und Erholungsfläche / Grünanlage"),
)
"""Shares of the vacant lots whose actual use is not the quarter's (farm plots, green plots between houses)."""


def plant(
    rng: np.random.Generator, spec: MunicipalitySpec, parcels: pd.DataFrame, *, reserves: NDArray[Any]
) -> pd.DataFrame:
    """Mark the planted potentials and traps of one municipality (columns ``_vacant``, ``_underused``,
    ``_leer``, ``_farm``, ``_hidden``, ``_reserve``) and give settlement parcels an address."""
    parcels = parcels.copy()
    n = len(parcels)
    kind = parcels["_kind"].to_numpy(dtype=object)
    site = parcels["_site"].to_numpy()
    area = parcels["_area"].to_numpy(dtype=float)
    has_quad = ~np.isnan(parcels["_q0x"].to_numpy(dtype=float))
    plot = np.isin(kind, ["res", "mix", "com"]) & has_quad & (site < 0)
    r = rng.random((5, n))
    vacant = plot & (area >= 300) & (((kind == "res") & (r[0] < 0.045)) | ((kind == "mix") & (r[0] < 0.03)))
    underused = plot & (kind == "com") & (r[1] > 0.85)
    leer = plot & ~vacant & ~underused & (r[2] < 0.012)
    farm = np.zeros(n, dtype=bool)
    cand = np.flatnonzero(plot & (kind == "mix") & ~vacant & ~leer & (area >= 450))
    if len(cand):
        farm[rng.choice(cand, size=min(len(cand), 2), replace=False)] = True
    hidden = np.zeros(n, dtype=bool)
    if spec.number in HIDDEN_FOOTPRINTS:
        hidden = plot & (kind == "res") & ~vacant & ~leer & ~farm & (r[3] < 0.012)
    use = parcels["actual_use"].to_numpy(dtype=object).copy()
    size = pd.Series(np.round(area).astype(np.int64)).astype(str).to_numpy(dtype=object)
    pick = r[4]
    lo = 0.0
    for share, text in VACANT_USES:
        sel = vacant & (pick >= lo) & (pick < lo + share)
        use[sel] = text + ";" + size[sel]
        lo += share
    use[farm] = "Fläche gemischter Nutzung / Landwirtschaftliche Betriebsfläche;" + size[farm]
    kind = kind.copy()
    kind[farm] = "farm"
    parcels["_kind"] = kind
    parcels["actual_use"] = use
    parcels["_vacant"] = vacant
    parcels["_underused"] = underused
    parcels["_leer"] = leer
    parcels["_farm"] = farm
    parcels["_hidden"] = hidden
    parcels["_reserve"] = _in_reserves(parcels, reserves)
    parcels["address"] = _addresses(spec, parcels, unbuilt=vacant | (kind == "garden"))
    return parcels


def _in_reserves(parcels: pd.DataFrame, reserves: NDArray[Any]) -> NDArray[Any]:
    open_land = parcels["_kind"].isin(["field", "grass", "forest"]).to_numpy()
    if len(reserves) == 0:
        return np.zeros(len(parcels), dtype=bool)
    area = shapely.union_all(np.asarray(reserves, dtype=object))
    shapely.prepare(area)
    points = shapely.point_on_surface(parcels["geometry"].to_numpy())
    return np.asarray(open_land & shapely.contains(area, points), dtype=bool)


def _addresses(spec: MunicipalitySpec, parcels: pd.DataFrame, *, unbuilt: NDArray[Any]) -> NDArray[Any]:
    """Street and house number for the built lots of the settlement, the street alone for unbuilt ones."""
    kind = parcels["_kind"].to_numpy(dtype=object)
    block = parcels["_block"].to_numpy()
    settled = np.isin(kind, ["res", "mix", "com", "farm", "garden"]) & (block >= 0) & (block < 1_000_000)
    street = np.asarray(STREETS, dtype=object)[(block * 7 + spec.number) % len(STREETS)]
    numbered = settled & ~unbuilt
    order = pd.Series(np.where(numbered, block, -1)).groupby(np.where(numbered, block, -1)).cumcount() + 1
    out = np.full(len(parcels), None, dtype=object)
    out[settled] = street[settled]
    out[numbered] = street[numbered] + " " + order.to_numpy()[numbered].astype(str)
    return out


GRZ_BAUNVO = {
    1000: 0.2,
    1100: 0.4,
    1200: 0.4,
    1300: 0.6,
    1400: 0.6,
    1450: 0.6,
    1500: 0.6,
    1700: 0.8,
    1800: 0.8,
    4000: 0.8,
}
"""BauNVO §17 GRZ by XPlanung besondere Art, where the generated plan gives none."""

UNDERUSE_RATIO = 0.25
"""Built coverage below this share of the permitted GRZ is under-use (the definition of issue 3)."""


def mark_underuse(parcels: pd.DataFrame, buildings: pd.DataFrame, zoning: pd.DataFrame) -> NDArray[Any]:
    """Built plots under a B-Plan whose true building coverage is below a quarter of the plan's GRZ.

    Computed from the generator's own plans and footprints (the ground truth a surveyor applying the
    definition would record): the planted under-used commercial plots, and houses that also own a garden
    plot two doors down (a multipart parcel, one part unbuilt) where the plan's GRZ is high enough.
    """
    n = len(parcels)
    out = np.zeros(n, dtype=bool)
    bplan = zoning[zoning["plan_type"] == "BPlan"].reset_index(drop=True)
    if bplan.empty or buildings.empty:
        return out
    geoms = parcels["geometry"].to_numpy()
    area = shapely.area(geoms)
    foot = np.bincount(
        buildings["_parcel"].to_numpy(), weights=shapely.area(buildings["geometry"].to_numpy()), minlength=n
    )
    kind = parcels["_kind"].to_numpy(dtype=object)
    cand = np.flatnonzero((foot > 0) & np.isin(kind, ["res", "mix", "com"]) & (parcels["_site"].to_numpy() < 0))
    tree = shapely.STRtree(bplan["geometry"].to_numpy())
    p, z = tree.query(geoms[cand], predicate="intersects")
    share = shapely.area(shapely.intersection(geoms[cand[p]], bplan["geometry"].to_numpy()[z])) / area[cand[p]]
    keep = share >= 0.5
    p, z = p[keep], z[keep]
    grz = bplan["grz"].to_numpy(dtype=float)[z]
    bes = bplan["bes_art"].astype("Int32").fillna(0).to_numpy(dtype=int)[z]
    grz = np.where(np.isnan(grz), [GRZ_BAUNVO.get(b, np.nan) for b in bes], grz)
    idx = cand[p]
    ratio = foot[idx] / area[idx] / grz
    out[idx[ratio < UNDERUSE_RATIO]] = True
    return out


def planted_truth(parcels: pd.DataFrame, *, crs: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The planted truth and the planted non-candidates of the whole district (see the module text)."""
    kind = parcels["_kind"].to_numpy(dtype=object)
    site = parcels["_site"].to_numpy()
    area = parcels["_area"].to_numpy(dtype=float)
    ags = parcels["ags"].astype(str).to_numpy()
    planned = ~np.isin(ags, [f"07999{k:03d}" for k in NO_PLAN])
    built = parcels["_built"].to_numpy(dtype=bool)
    categories = [
        ("Brachfläche", site >= 0),
        ("Leerstand", parcels["_leer"].to_numpy(dtype=bool)),
        ("Baulücke", np.isin(kind, ["res", "mix", "com"]) & ~built & (site < 0) & (area >= 200)),
        ("Untergenutzte Fläche", parcels["_underuse_truth"].to_numpy(dtype=bool) & planned),
        ("Außenreserve", parcels["_reserve"].to_numpy(dtype=bool) & planned & (area >= 200)),
    ]
    traps = [
        ("Garten hinter dem Haus", kind == "garden"),
        ("Straße", kind == "street"),
        ("Weg", kind == "track"),
        ("bebaut, Gebäude nicht geliefert", parcels["_hidden"].to_numpy(dtype=bool)),
        ("Hofstelle im Dorf", parcels["_farm"].to_numpy(dtype=bool)),
    ]

    def frame(pairs: list[tuple[str, NDArray[Any]]], column: str) -> gpd.GeoDataFrame:
        taken = np.zeros(len(parcels), dtype=bool)
        rows = []
        for label, mask in pairs:
            sel = mask & ~taken  # the first (most specific) category wins, as in the flags' priority
            taken |= sel
            rows.append(
                pd.DataFrame(
                    {
                        "parcel_id": parcels["parcel_id"].to_numpy()[sel],
                        "ags": ags[sel],
                        column: label,
                        "area_m2": np.round(area[sel], 1),
                        "geometry": parcels["geometry"].to_numpy()[sel],
                    }
                )
            )
        return gpd.GeoDataFrame(pd.concat(rows, ignore_index=True), geometry="geometry", crs=crs)

    return frame(categories, "category"), frame(traps, "kind")


def write_truth(path: Path, truth: gpd.GeoDataFrame, non_candidates: gpd.GeoDataFrame) -> None:
    """Write layers ``truth`` and ``non_candidates`` into the GeoPackage `path` (replacing it)."""
    path.unlink(missing_ok=True)
    pyogrio.write_dataframe(truth, path, layer="truth", driver="GPKG", promote_to_multi=True)
    pyogrio.write_dataframe(non_candidates, path, layer="non_candidates", driver="GPKG", promote_to_multi=True)
