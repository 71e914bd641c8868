"""How well the Innenbereich estimate agrees with the settlement land use of the same ALKIS.

The reference: a parcel whose dominant actual use is settlement land (Wohnbau-, gemischte, Gewerbe- and
funktional geprägte Fläche, :data:`flaechen.flag.uses.SETTLEMENT_USES`) belongs to the built-up area.
Its *settlement cores* are those settlement parcels with at least ``core_buildings`` main buildings
within half the IBTool gap: settlement land in the built fabric, not an estate laid out but not built
yet (which is no §34 Innenbereich whatever its land use says).

Examples
--------
>>> import numpy as np, pandas as pd
>>> m = pd.DataFrame({"use": ["Wohnbaufläche", "Landwirtschaft", "Wohnbaufläche"], "inside": [True, False, False],
...     "area_m2": [500.0, 5000.0, 700.0]})
>>> a = innenbereich_agreement(m, core=np.array([True, False, False]))
>>> a["settlement_parcels_inside"], a["core_parcels_inside"], a["parcels_agreeing"]
(0.5, 1.0, 0.6667)
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from flaechen.flag.uses import SETTLEMENT_USES


def settlement_cores(
    parcel_geoms: np.ndarray,
    building_geoms: np.ndarray,
    use: pd.Series,
    *,
    min_building_area: float,
    gap_area: float,
    core_buildings: int = 3,
) -> np.ndarray:
    """Mask of the settlement parcels with at least `core_buildings` main buildings within half the gap."""
    settlement = use.astype("string").isin(SETTLEMENT_USES).fillna(False).to_numpy(dtype=bool)
    main = building_geoms[shapely.area(building_geoms) >= min_building_area]
    if len(main) == 0:
        return np.zeros(len(parcel_geoms), dtype=bool)
    tree = shapely.STRtree(main)
    p, _ = tree.query(parcel_geoms, predicate="dwithin", distance=math.sqrt(gap_area) / 2)
    near = np.bincount(p, minlength=len(parcel_geoms))
    return np.asarray(settlement & (near >= core_buildings), dtype=bool)


def innenbereich_agreement(measures: pd.DataFrame, *, core: np.ndarray) -> dict[str, float | int]:
    """Agreement of ``measures.inside`` with the settlement land use, per parcel and by area.

    Returns
    -------
    dict
        ``parcels``, ``settlement_parcels``, ``core_parcels``; the shares of settlement and core parcels
        the estimate puts inside (per parcel and by area); the share of other parcels it puts inside; and
        the overall agreement (inside = settlement) per parcel and by area. Shares rounded to 4 decimals.
    """
    settlement = measures["use"].astype("string").isin(SETTLEMENT_USES).fillna(False).to_numpy(dtype=bool)
    inside = measures["inside"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    area = pd.to_numeric(measures["area_m2"]).to_numpy(dtype=float)

    def share(mask: np.ndarray, of: np.ndarray) -> float:
        return round(float(mask.sum() / of.sum()), 4) if of.sum() else float("nan")

    def area_share(mask: np.ndarray, of: np.ndarray) -> float:
        return round(float(area[mask].sum() / area[of].sum()), 4) if of.any() else float("nan")

    agree = inside == settlement
    return {
        "parcels": len(measures),
        "settlement_parcels": int(settlement.sum()),
        "core_parcels": int(core.sum()),
        "settlement_parcels_inside": share(settlement & inside, settlement),
        "settlement_area_inside": area_share(settlement & inside, settlement),
        "core_parcels_inside": share(core & inside, core),
        "core_area_inside": area_share(core & inside, core),
        "other_parcels_inside": share(~settlement & inside, ~settlement),
        "parcels_agreeing": share(agree, np.ones(len(agree), dtype=bool)),
        "area_agreeing": area_share(agree, np.ones(len(agree), dtype=bool)),
    }


def read_full_alkis(path: str, *, ags: str, crs: str = "EPSG:25832") -> dict[str, gpd.GeoDataFrame]:
    """Read a full ALKIS GeoPackage converted from NAS (one layer per object class) as district layers.

    Parcels from ``AX_Flurstueck`` (key ``flurstueckskennzeichen``), buildings from ``AX_Gebaeude``, land use
    from every layer of an ALKIS class of the tatsächliche Nutzung (``use`` = the layer name). Arcs are
    linearised by GDAL (the non-Arrow reader; shapely cannot hold curves). For the measurements of this
    module on ``../shared/data/real/alkis_full/``; the district pipeline reads deliveries through its
    configuration.
    """
    import pyogrio
    from pyproj import CRS

    from flaechen.harmonise import empty_layer
    from flaechen.layers import load_schema

    schema = load_schema()
    classes = set(schema.codelist("alkis_nutzung").values)
    names = [n for n, _ in pyogrio.list_layers(path)]

    def read(layer: str, columns: list[str]) -> gpd.GeoDataFrame:
        frame = pyogrio.read_dataframe(path, layer=layer, columns=columns, use_arrow=False)
        frame["geometry"] = shapely.make_valid(frame.geometry.to_numpy())
        return frame.to_crs(crs)

    flst = read("AX_Flurstueck", ["flurstueckskennzeichen"])
    parcels = gpd.GeoDataFrame(
        {
            "parcel_id": flst["flurstueckskennzeichen"].astype("string"),
            "ags": pd.array([ags] * len(flst), dtype="string"),
        },
        geometry=flst.geometry.to_numpy(),
        crs=crs,
    )
    geb = read("AX_Gebaeude", ["gml_id"])
    buildings = gpd.GeoDataFrame(
        {"building_id": geb["gml_id"].astype("string"), "ags": pd.array([ags] * len(geb), dtype="string")},
        geometry=geb.geometry.to_numpy(),
        crs=crs,
    )
    uses = []
    for name in names:
        if name in classes:
            lu = read(name, ["gml_id"])
            uses.append(
                gpd.GeoDataFrame(
                    {"land_use_id": lu["gml_id"].astype("string"), "ags": ags, "use": name},
                    geometry=lu.geometry,
                    crs=crs,
                )
            )
    land_use = gpd.GeoDataFrame(pd.concat(uses, ignore_index=True), geometry="geometry", crs=crs)
    land_use["ags"] = land_use["ags"].astype("string")
    hull = shapely.buffer(shapely.envelope(shapely.union_all(parcels.geometry.to_numpy())), 100.0)
    municipalities = gpd.GeoDataFrame(
        {"ags": pd.array([ags], dtype="string"), "name": [ags], "population": pd.array([pd.NA], dtype="Int64")},
        geometry=[hull],
        crs=crs,
    )
    return {
        "municipalities": municipalities,
        "parcels": parcels,
        "zoning": empty_layer(schema.layer("zoning"), CRS.from_user_input(crs)),
        "brownfields": empty_layer(schema.layer("brownfields"), CRS.from_user_input(crs)),
        "buildings": buildings,
        "land_use": land_use,
    }


def ortslage_from_land_use(
    land_use: gpd.GeoDataFrame, *, ags: str, close_m: float = 15.0, fill_holes_m2: float = 0.0
) -> gpd.GeoDataFrame:
    """An Ortslage-like built-up area from the settlement land use: its polygons dissolved, streets between
    them closed over `close_m`, enclosed open land smaller than `fill_holes_m2` filled (a stand-in for the
    ATKIS Ortslage where none is at hand; the Ortslage encloses the gardens and plots between the houses)."""
    from flaechen.flag.innenbereich import fill_small_holes
    from flaechen.flag.uses import use_label

    labels = use_label(land_use["use"])
    settlement = land_use.geometry.to_numpy()[labels.isin(SETTLEMENT_USES).fillna(False).to_numpy(dtype=bool)]
    union = shapely.union_all(settlement)
    closed = shapely.buffer(shapely.buffer(union, close_m, quad_segs=4), -close_m, quad_segs=4)
    parts = shapely.get_parts(closed)
    if fill_holes_m2 > 0:
        parts = fill_small_holes(parts, fill_holes_m2)
    return gpd.GeoDataFrame(
        {
            "area_id": [f"OL{i + 1}" for i in range(len(parts))],
            "ags": pd.array([ags] * len(parts), dtype="string"),
            "kind": "ortslage",
            "source_name": pd.array([pd.NA] * len(parts), dtype="string"),
        },
        geometry=parts,
        crs=land_use.crs,
    )


NAIVE_EXCLUDED_USES = ("Straßenverkehr", "Weg", "Platz", "Bahnverkehr", "Fließgewässer", "Stehendes Gewässer")
"""Uses the naive rule of issue 11 leaves out: streets and water."""


def naive_bauluecken(measures: pd.DataFrame, *, min_area: float = 200.0, max_area: float = 2500.0) -> np.ndarray:
    """The naive rule a survey comparison of issue 11 started from, as a mask over the parcels' measures.

    At least half of the parcel inside the delivered built-up area as drawn (``built_up_share``), no
    building on it, 200–2,500 m², dominant use neither street nor water. It found 16 of 19 surveyed
    Baulücken of a real village with 96 candidates; the flags are compared with it on the real sets.
    """
    share = pd.to_numeric(measures["built_up_share"], errors="coerce").astype("Float64").fillna(0.0)
    area = pd.to_numeric(measures["area_m2"], errors="coerce").astype("Float64").fillna(0.0)
    buildings = pd.to_numeric(measures["building_count"], errors="coerce").astype("Float64").fillna(0.0)
    use = measures["use"].astype("string")
    mask = (share >= 0.5) & (buildings == 0) & (area >= min_area) & (area <= max_area)
    mask &= ~use.isin(NAIVE_EXCLUDED_USES).fillna(False)
    return np.asarray(mask.to_numpy(dtype=bool))
