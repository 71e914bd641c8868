"""Write the true district the way its municipalities deliver, and plant the defects.

Each municipality has its own habits (see ``data/demo/district.toml``, which declares them):

========  =============================================================================================
07999001  Hohenmaar: one GeoPackage (EPSG:25832, ALKIS field names) + two XPlanGML B-Plans
07999002  Mühlental: Shapefiles in DHDN / Gauß-Krüger zone 2 (EPSG:31466), cp1252 .dbf without .cpg
07999003  Kelberath: GeoJSON (EPSG:4326)
07999004  Wiesenau: CSV with a WKT column and no CRS (declared EPSG:25832) + an XPlanGML B-Plan
07999005  Steinbüchel: a GeoPackage with other field names, buildings as GeoJSON, a wrongly labelled
          supplementary buildings file (UTM zone prefix on the easting)
07999006  Lindenhöh: Shapefile in EPSG:25832 with a UTF-8 .cpg, GeoJSON, CSV, and a supplementary
          brownfield file whose coordinates are Gauß-Krüger values labelled EPSG:25832; no plan (§34),
          land use as separate polygons (nutzung.gpkg)
========  =============================================================================================

Every planted defect is recorded as ``{"source_id", "feature_id", "issue_type", "detail"}`` using the
issue type names of ``layers/issue_types.yaml``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely
import shapely.affinity

from flaechen.config import SourceConfig, load_config
from flaechen.demo.district import CRS, Truth
from flaechen.demo.names import HOSTILE_NAMES, MUNICIPALITIES
from flaechen.demo.xplan import write_bplan

logger = logging.getLogger(__name__)

GK_CRS = "EPSG:31466"
_BETA_GRIDS = ("de_adv_BETA2007.tif", "BETA2007.gsb")


@dataclass
class Manifest:
    """Planted defects and notes collected while writing the sources."""

    defects: list[dict[str, Any]] = field(default_factory=list)
    transformation: str = ""

    def add(self, source_id: str, feature_id: str | None, issue_type: str, detail: str) -> None:
        self.defects.append(
            {"source_id": source_id, "feature_id": feature_id, "issue_type": issue_type, "detail": detail}
        )


# ------------------------------------------------------------------------------------------- transformations


def _find_beta2007() -> Path | None:
    dirs = [Path(d) for d in pyproj.datadir.get_data_dir().split(os.pathsep) if d]
    for env in ("PROJ_DATA", "PROJ_LIB"):
        dirs += [Path(d) for d in os.environ.get(env, "").split(os.pathsep) if d]
    user_dir = pyproj.datadir.get_user_data_dir()  # type: ignore[attr-defined]  # pyproj does not re-export it
    dirs += [Path(user_dir), Path("/usr/share/proj"), Path("/usr/local/share/proj")]
    for name in _BETA_GRIDS:
        for d in dirs:
            if (d / name).is_file():
                return d / name
    return None


def gk_transformer() -> tuple[pyproj.Transformer, str]:
    """ETRS89 / UTM 32N → DHDN / Gauß-Krüger zone 2, as accurately as this machine allows.

    The most accurate transformation is EPSG "DHDN to ETRS89 (8)", the NTv2 grid BETA2007 (about 0.1 m),
    run here in reverse as an explicit PROJ pipeline with the grid's absolute path (no global PROJ search
    path is changed). A reader that also uses BETA2007 gets the true coordinates back to millimetres.
    Without the grid, the best available (Helmert, metres off) runs and the returned description says so.

    Returns
    -------
    tuple
        The transformer (always_xy) and a description of the transformation that ran.
    """
    grid = _find_beta2007()
    if grid is not None:
        pipeline = (
            "+proj=pipeline +step +inv +proj=utm +zone=32 +ellps=GRS80 "
            f"+step +inv +proj=hgridshift +grids={grid} "
            "+step +proj=tmerc +lat_0=0 +lon_0=6 +k=1 +x_0=2500000 +y_0=0 +ellps=bessel"
        )
        return pyproj.Transformer.from_pipeline(pipeline), f"Inverse of DHDN to ETRS89 (8), NTv2 grid {grid.name}"
    group = pyproj.transformer.TransformerGroup(CRS, GK_CRS, always_xy=True)
    best = group.transformers[0]
    logger.warning("BETA2007 grid not found: Gauß-Krüger demo sources use %r (metres off)", best.description)
    return best, best.description


def _transform(geoms: np.ndarray, transformer: pyproj.Transformer) -> np.ndarray:
    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return np.asarray(shapely.transform(geoms, fn))


def _to_crs(gdf: gpd.GeoDataFrame, crs: str, gk: pyproj.Transformer) -> gpd.GeoDataFrame:
    if crs == GK_CRS:
        out = gdf.copy()
        out["geometry"] = _transform(gdf.geometry.to_numpy(), gk)
        return out.set_crs(GK_CRS, allow_override=True)
    return gdf.to_crs(crs)


# ---------------------------------------------------------------------------------------------- writers


def _write_gpkg(gdf: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG", promote_to_multi=False)


def _write_geojson(gdf: gpd.GeoDataFrame, path: Path) -> None:
    pyogrio.write_dataframe(
        gdf.to_crs("EPSG:4326") if gdf.crs and gdf.crs != "EPSG:4326" else gdf,
        path,
        driver="GeoJSON",
        layer_options={"COORDINATE_PRECISION": 8, "RFC7946": "NO"},
    )


def _write_shapefile(gdf: gpd.GeoDataFrame, path: Path, *, encoding: str, cpg: bool) -> None:
    pyogrio.write_dataframe(gdf, path, driver="ESRI Shapefile", encoding=encoding)
    if not cpg:
        path.with_suffix(".cpg").unlink(missing_ok=True)
        with open(path.with_suffix(".dbf"), "r+b") as f:  # no language driver id either: encoding undeclared
            f.seek(29)
            f.write(b"\x00")


def _write_csv(gdf: gpd.GeoDataFrame, path: Path) -> None:
    df = pd.DataFrame(gdf.drop(columns="geometry"))
    wkt = shapely.to_wkt(gdf.geometry.to_numpy(), rounding_precision=3, trim=True)
    df.insert(0, "wkt", wkt)
    df.to_csv(path, index=False, lineterminator="\n")


# ---------------------------------------------------------------------------------------------- helpers


def _bow_tie(geom: shapely.Geometry) -> shapely.Geometry:
    """The same four corners in the order 0, 1, 3, 2: a self-intersecting (bow-tie) polygon."""
    coords = np.asarray(shapely.get_exterior_ring(geom).coords)[:4]
    return shapely.Polygon(coords[[0, 1, 3, 2]])


_BES_LABEL = {
    1000: "WS",
    1100: "WR",
    1200: "WA",
    1300: "WB",
    1400: "MD",
    1450: "MDW",
    1500: "MI",
    1550: "MU",
    1600: "MK",
    1700: "GE",
    1800: "GI",
    2000: "SO",
    2100: "SO",
    3000: "SO",
    4000: "SO",
}
_ALLG_LABEL = {1000: "W", 2000: "M", 3000: "G", 4000: "S"}


def _label(values: pd.Series, mapping: dict[int, str]) -> list[Any]:
    return [None if pd.isna(v) else mapping[int(v)] for v in values]


@dataclass(frozen=True)
class _Ctx:
    root: Path
    truth: Truth
    manifest: Manifest
    gk: pyproj.Transformer
    sources: Mapping[str, SourceConfig]

    def layer(self, name: str, ags: str) -> pd.DataFrame:
        df = getattr(self.truth, name)
        return df[df["ags"] == ags].reset_index(drop=True)

    def folder(self, slug: str) -> Path:
        d = self.root / "sources" / slug
        d.mkdir(parents=True, exist_ok=True)
        return d


def _invert(values: pd.Series, codes: Mapping[str, Any]) -> pd.Series:
    """Canonical values back to the delivered ones (the last delivered spelling of a value wins, as the most
    specific level of the configuration comes last); values stay as they are unless every one inverts."""
    inverse = {canonical: delivered for delivered, canonical in codes.items()}
    present = values.dropna()
    if present.empty or not present.isin(list(inverse)).all():
        return values
    return values.map(inverse)


def _deliver(
    ctx: _Ctx,
    source_id: str,
    frame: pd.DataFrame,
    *,
    keep: tuple[str, ...] = (),
    values: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> gpd.GeoDataFrame:
    """The true features as source ``source_id`` delivers them, derived from the demo configuration.

    The configuration maps delivered names and values to canonical ones (``fields``, ``codes``); inverting
    those mappings gives the delivery: every mapped canonical field under its delivered name, its coded values
    in their delivered spelling. So ``data/demo/district.toml`` alone declares each municipality's habits.

    Parameters
    ----------
    ctx
        The generator's context (truth, configuration).
    source_id
        The ``id`` of the source in ``data/demo/district.toml``.
    frame
        True features with canonical column names and a ``geometry`` column in the district CRS.
    keep
        Canonical fields delivered under their canonical name (the configuration needs no mapping for them).
    values
        Delivered values of mapped fields where the habit is more than a code list (e.g. labels that several
        codes share, rounded areas); replace the inverted truth.
    extra
        Columns only the delivery has (e.g. a status column a ``where`` filters on), by delivered name.
    """
    source = ctx.sources[source_id]
    columns: dict[str, Any] = {}
    for canonical, delivered in source.fields.items():
        if values is not None and canonical in values:
            columns[delivered] = values[canonical]
        elif canonical in frame.columns:
            codes = source.codes.get(canonical)
            columns[delivered] = _invert(frame[canonical], codes) if codes else frame[canonical]
    for name in keep:
        columns[name] = frame[name]
    columns.update(extra or {})
    table = pd.DataFrame(columns, index=frame.index)
    return gpd.GeoDataFrame(table, geometry=frame["geometry"].to_numpy(), crs=CRS)


def _pick(df: pd.DataFrame, mask: np.ndarray, k: int = 1, *, offset: int = 0) -> np.ndarray:
    idx = np.flatnonzero(mask)
    if len(idx) < k + offset:
        raise RuntimeError("demo generator: too few candidates to plant a defect; raise the scale")
    step = max(len(idx) // (k + offset + 1), 1)
    return idx[step * (np.arange(k) + offset + 1) % len(idx)]


def _apart_from_truth(ctx: _Ctx, zoning: pd.DataFrame, among: np.ndarray) -> np.ndarray:
    """Zoning features that hold no planted candidate needing building land (Baulücke, untergenutzte Fläche,
    Außenreserve), out of the features ``among``: a code defect planted there would take the building land
    from under the planted truth. Where every feature holds some, those holding the fewest."""
    parcels = ctx.truth.parcels
    kind = parcels["_kind"].to_numpy(dtype=object)
    planted = (
        parcels["_reserve"].to_numpy(dtype=bool)
        | parcels["_underuse_truth"].to_numpy(dtype=bool)
        | (np.isin(kind, ["res", "mix", "com"]) & ~parcels["_built"].to_numpy(dtype=bool))
    )
    points = shapely.point_on_surface(parcels["geometry"].to_numpy()[planted])
    held = np.zeros(len(zoning), dtype=np.int64)
    if len(points):
        features, _ = shapely.STRtree(points).query(zoning["geometry"].to_numpy(), predicate="contains")
        np.add.at(held, features, 1)
    if not among.any():
        return among
    return np.asarray(among & (held == held[among].min()))


def _plots(df: pd.DataFrame, kind: str = "res") -> np.ndarray:
    # single quadrilaterals only (not the multipart plots): the bow-tie defect reorders their corners
    quad_ok = df["_q0x"].notna().to_numpy() & (shapely.get_num_coordinates(df["geometry"].to_numpy()) == 5)
    quad_ok &= shapely.get_type_id(df["geometry"].to_numpy()) == 3
    return np.asarray((df["_kind"].to_numpy() == kind) & quad_ok & (df["_site"].to_numpy() < 0))


# ---------------------------------------------------------------------------------------------- municipalities


def _hohenmaar(ctx: _Ctx) -> None:
    """07999001: one GeoPackage with ALKIS field names; B-Plans as XPlanGML."""
    spec = MUNICIPALITIES[0]
    d = ctx.folder(spec.slug)
    gpkg = d / "hohenmaar.gpkg"
    p = ctx.layer("parcels", spec.ags)
    sid = "hohenmaar-flurstuecke"
    bow = _pick(p, _plots(p), 1)[0]
    p.loc[bow, "geometry"] = _bow_tie(p.loc[bow, "geometry"])
    ctx.manifest.add(
        sid,
        p.loc[bow, "parcel_id"],
        "repaired-geometry",
        "bow-tie parcel; geometry_policy fix (district default) repairs it",
    )
    dev = np.abs(p["official_area"] / p["_area"] - 1)
    for i in _pick(p, (dev > 0.01).to_numpy() & np.isin(p["_kind"], ["field", "grass", "forest"]), 3):
        ctx.manifest.add(
            sid,
            p.loc[i, "parcel_id"],
            "area-deviation",
            f"official area {p.loc[i, 'official_area']:.0f} m² vs drawn {p.loc[i, '_area']:.0f} m²",
        )
    empty_key = f"07{spec.gemarkungen[0][0]:04d}999000010000__"
    extra = p.iloc[[0]].copy()
    extra["parcel_id"] = empty_key
    extra["geometry"] = shapely.Polygon()
    extra["official_area"] = 0.0
    p = pd.concat([p, extra], ignore_index=True)
    ctx.manifest.add(sid, empty_key, "empty-geometry", "parcel delivered with an empty polygon")
    # ALKIS vereinfacht also carries the municipality key and the Gemarkung's name
    out = _deliver(ctx, sid, p, keep=("flur",), extra={"gmdschl": p["ags"], "gemarkung": p["gemarkung_name"]})
    _write_gpkg(out, gpkg, "flurstuecke")
    b = ctx.layer("buildings", spec.ags)
    # the footprints of a few built lots are missing from the delivery (their addresses have house numbers)
    hidden = ctx.layer("parcels", spec.ags)["_hidden"].to_numpy(dtype=bool)[b["_parcel"].to_numpy()]
    b = b[~hidden].reset_index(drop=True)
    dup = _pick(b, np.ones(len(b), dtype=bool), 2)
    b.loc[dup[1], "building_id"] = b.loc[dup[0], "building_id"]
    ctx.manifest.add(
        "hohenmaar-gebaeude",
        b.loc[dup[0], "building_id"],
        "duplicate-id",
        "two buildings share one gml_id; the second is rejected",
    )
    _write_gpkg(_deliver(ctx, "hohenmaar-gebaeude", b, extra={"gmdschl": b["ags"]}), gpkg, "gebaeude")
    bf = ctx.layer("brownfields", spec.ags)
    _write_gpkg(_brownfields(ctx, "hohenmaar-brachflaechen", bf), gpkg, "brachflaechen")
    z = ctx.layer("zoning", spec.ags)
    fnp = z[z["plan_type"] == "FNP"]
    _write_gpkg(_deliver(ctx, "hohenmaar-fnp", fnp, keep=("allg_art",)), gpkg, "fnp")
    bp = z[z["plan_type"] == "BPlan"]
    com = bp["_kind"].isin(["com", "military"]).to_numpy()
    for mask, number, name, fname in (
        (~com, "1", "Nr. 1 Ortskern und Wohngebiete", "bplan_01_ortskern.gml"),
        (com, "7", "Nr. 7 Gewerbegebiet Am Bahnhof", "bplan_07_gewerbegebiet.gml"),
    ):
        part = bp[mask]
        write_bplan(
            d / fname,
            plan_id=f"GML_BP{number}_{spec.ags}",
            name=name,
            number=number,
            ags=spec.ags,
            municipality=spec.name,
            rechtsstand=4000,
            features=part,
            gml_ids=list(part["zoning_id"]),
        )


def _brownfields(ctx: _Ctx, source_id: str, bf: pd.DataFrame, *, flag: type = bool) -> gpd.GeoDataFrame:
    """A brownfield register as ``source_id`` delivers it; the suspicion flag as bool or 0/1 (``flag=int``)."""
    return _deliver(ctx, source_id, bf, values={"contamination_suspected": bf["contamination_suspected"].astype(flag)})


def _muehlental(ctx: _Ctx) -> None:
    """07999002: Shapefiles in Gauß-Krüger zone 2, cp1252 without .cpg, short German column names."""
    spec = MUNICIPALITIES[1]
    d = ctx.folder(spec.slug)
    p = ctx.layer("parcels", spec.ags)
    p["STATUS"] = "aktuell"
    sid = "muehlental-flurstuecke"
    # a parcel of Hohenmaar at the common border, delivered by both (same key), and a near copy (new key)
    h = ctx.layer("parcels", MUNICIPALITIES[0].ags)
    m2_poly = ctx.truth.municipalities.geometry[1]
    near = (
        shapely.dwithin(h.geometry.to_numpy(), m2_poly, 1.0)
        & (h["_area"] > 300).to_numpy()
        & (h["_area"] < 60_000).to_numpy()
    )
    twins = _pick(h, near, 2)
    same = h.iloc[[twins[0]]].copy()
    copy = h.iloc[[twins[1]]].copy()
    copy["geometry"] = shapely.affinity.scale(copy.geometry.iloc[0], 0.985, 0.985, origin="centroid")
    gem = spec.gemarkungen[0][0]
    copy["parcel_id"] = f"07{gem:04d}998000010000__"
    copy["gemarkung"], copy["flur"], copy["zaehler"], copy["nenner"] = f"{gem:04d}", "998", "1", None
    for df in (same, copy):
        df["gemarkung_name"] = spec.gemarkungen[0][1]
        df["ags"] = spec.ags
        df["STATUS"] = "aktuell"
    ctx.manifest.add(
        sid,
        same["parcel_id"].iloc[0],
        "border-duplicate",
        "same key delivered by 07999001 (hohenmaar-flurstuecke) at the common border",
    )
    ctx.manifest.add(
        sid,
        copy["parcel_id"].iloc[0],
        "border-duplicate",
        f"different key, ≥ 95 % mutual overlap with {h.loc[twins[1], 'parcel_id']} of 07999001",
    )
    # two historic records (already merged parcels) that the configuration filters out
    hist = p.iloc[_pick(p, np.isin(p["_kind"], ["field", "grass"]), 2)].copy()
    hist["STATUS"] = "historisch"
    hist["parcel_id"] = [f"07{gem:04d}997{k + 1:05d}0000__" for k in range(len(hist))]
    for key in hist["parcel_id"]:
        ctx.manifest.add(sid, key, "filtered", "historic record (STATUS = 'historisch') excluded by `where`")
    p = pd.concat([p, same, copy, hist], ignore_index=True)
    # the Gemarkung by name, whole square metres, and the status column the configuration's `where` reads
    out = _deliver(
        ctx,
        sid,
        p,
        values={"gemarkung": p["gemarkung_name"], "official_area": p["official_area"].round().astype(np.int64)},
        extra={"STATUS": p["STATUS"]},
    )
    _write_shapefile(_to_crs(out, GK_CRS, ctx.gk), d / "flurstuecke.shp", encoding="cp1252", cpg=False)
    bo = _deliver(ctx, "muehlental-gebaeude", ctx.layer("buildings", spec.ags))
    _write_shapefile(_to_crs(bo, GK_CRS, ctx.gk), d / "gebaeude.shp", encoding="cp1252", cpg=False)
    bfo = _brownfields(ctx, "muehlental-brachen", ctx.layer("brownfields", spec.ags), flag=int)
    _write_shapefile(_to_crs(bfo, GK_CRS, ctx.gk), d / "brachen.shp", encoding="cp1252", cpg=False)
    z = ctx.layer("zoning", spec.ags)
    bp = z[z["plan_type"] == "BPlan"].reset_index(drop=True)
    labels = _label(bp["bes_art"], _BES_LABEL)
    bad = int(_pick(bp, _apart_from_truth(ctx, bp, np.ones(len(bp), dtype=bool)), 1)[0])
    labels[bad] = "WX"
    # the local habit: restricted commercial areas written "GEe" (mapped by the source's own codes)
    labels = ["GEe" if (lab == "GE" and k % 2 == 0) else lab for k, lab in enumerate(labels)]
    ctx.manifest.add(
        "muehlental-bplan",
        bp.loc[bad, "zoning_id"],
        "unknown-code",
        "Baugebiet label 'WX' is not in the configuration's code mapping",
    )
    bpo = _deliver(ctx, "muehlental-bplan", bp, values={"bes_art": labels})
    _write_shapefile(_to_crs(bpo, GK_CRS, ctx.gk), d / "bplan.shp", encoding="cp1252", cpg=False)
    fnp = z[z["plan_type"] == "FNP"]
    fo = _deliver(ctx, "muehlental-fnp", fnp, values={"allg_art": _label(fnp["allg_art"], _ALLG_LABEL)})
    _write_shapefile(_to_crs(fo, GK_CRS, ctx.gk), d / "fnp.shp", encoding="cp1252", cpg=False)


def _kelberath(ctx: _Ctx) -> None:
    """07999003: GeoJSON in EPSG:4326."""
    spec = MUNICIPALITIES[2]
    d = ctx.folder(spec.slug)
    p = ctx.layer("parcels", spec.ags)
    sid = "kelberath-flurstuecke"
    null = _pick(p, _plots(p), 1)[0]
    p["parcel_id"] = p["parcel_id"].astype(object)
    p.loc[null, "parcel_id"] = None
    ctx.manifest.add(sid, None, "missing-value", "parcel without Flurstückskennzeichen")
    _write_geojson(_deliver(ctx, sid, p, keep=("flur",)), d / "flurstuecke.geojson")
    b = ctx.layer("buildings", spec.ags)
    nid = f"DERP{spec.ags[-3:]}999999999"
    extra = b.iloc[[0]].copy()
    extra["building_id"] = nid
    extra["geometry"] = None
    b = pd.concat([b, extra], ignore_index=True)
    ctx.manifest.add("kelberath-gebaeude", nid, "empty-geometry", "building feature with a null geometry")
    _write_geojson(_deliver(ctx, "kelberath-gebaeude", b), d / "gebaeude.geojson")
    bf = ctx.layer("brownfields", spec.ags)
    _write_geojson(_brownfields(ctx, "kelberath-brachflaechen", bf), d / "brachflaechen.geojson")
    z = ctx.layer("zoning", spec.ags)
    bad = int(_pick(z, _apart_from_truth(ctx, z, (z["plan_type"] == "BPlan").to_numpy()), 1)[0])
    z["bes_art"] = z["bes_art"].astype("Int32")
    z.loc[bad, "bes_art"] = 1234
    ctx.manifest.add(
        "kelberath-bauleitplanung",
        z.loc[bad, "zoning_id"],
        "unknown-code",
        "besondereArtDerBaulNutzung 1234 is not in the code list",
    )
    keep = ("allg_art", "bes_art", "grz", "gfz", "rechtsstand")
    _write_geojson(_deliver(ctx, "kelberath-bauleitplanung", z, keep=keep), d / "bauleitplanung.geojson")


def _wiesenau(ctx: _Ctx) -> None:
    """07999004: CSV with WKT geometry, no CRS in the files (declared EPSG:25832); B-Plan as XPlanGML."""
    spec = MUNICIPALITIES[3]
    d = ctx.folder(spec.slug)
    p = ctx.layer("parcels", spec.ags)
    bow = _pick(p, _plots(p), 1)[0]
    p.loc[bow, "geometry"] = _bow_tie(p.loc[bow, "geometry"])
    ctx.manifest.add(
        "wiesenau-flurstuecke",
        p.loc[bow, "parcel_id"],
        "invalid-geometry",
        "bow-tie parcel; this source's geometry_policy is drop",
    )
    _write_csv(_deliver(ctx, "wiesenau-flurstuecke", p, keep=("flur",)), d / "flurstuecke.csv")
    _write_csv(_deliver(ctx, "wiesenau-gebaeude", ctx.layer("buildings", spec.ags)), d / "gebaeude.csv")
    bf = ctx.layer("brownfields", spec.ags)
    _write_csv(_brownfields(ctx, "wiesenau-brachflaechen", bf), d / "brachflaechen.csv")
    z = ctx.layer("zoning", spec.ags)
    fnp = z[z["plan_type"] == "FNP"]
    _write_csv(_deliver(ctx, "wiesenau-fnp", fnp, keep=("allg_art",)), d / "fnp.csv")
    bp = z[z["plan_type"] == "BPlan"]
    write_bplan(
        d / "bplan_12_im_wiesengrund.gml",
        plan_id=f"GML_BP12_{spec.ags}",
        name=HOSTILE_NAMES["xplan_template"],
        number="12",
        ags=spec.ags,
        municipality=spec.name,
        rechtsstand=4000,
        features=bp,
        gml_ids=list(bp["zoning_id"]),
    )


def _steinbuechel(ctx: _Ctx) -> None:
    """07999005: a GeoPackage with other field names, GeoJSON buildings, a supplement with a zone prefix."""
    spec = MUNICIPALITIES[4]
    d = ctx.folder(spec.slug)
    gpkg = d / "steinbuechel.gpkg"
    p = ctx.layer("parcels", spec.ags)
    sid = "steinbuechel-liegenschaften"
    a, b2 = _pick(p, _plots(p), 2)
    p.loc[b2, "parcel_id"] = p.loc[a, "parcel_id"]
    ctx.manifest.add(sid, p.loc[a, "parcel_id"], "duplicate-id", "two different parcels carry the same key")
    null = _pick(p, _plots(p, "mix") | _plots(p, "com"), 1)[0]
    p["parcel_id"] = p["parcel_id"].astype(object)
    p.loc[null, "parcel_id"] = None
    ctx.manifest.add(sid, None, "missing-value", "parcel without key")
    # the parcel number also as one text ("12/3"), which the configuration does not read
    number = p["zaehler"] + np.where(p["nenner"].isna(), "", "/" + p["nenner"].fillna(""))
    _write_gpkg(_deliver(ctx, sid, p, extra={"nummer": number}), gpkg, "liegenschaften")
    bf = ctx.layer("brownfields", spec.ags)
    _write_gpkg(_brownfields(ctx, "steinbuechel-brachen", bf), gpkg, "brachen")
    z = ctx.layer("zoning", spec.ags)
    labels = np.where(
        z["plan_type"] == "FNP",
        _label(z["allg_art"], _ALLG_LABEL),
        np.asarray(_label(z["bes_art"], _BES_LABEL), dtype=object),
    )
    bad = int(_pick(z, _apart_from_truth(ctx, z, (z["plan_type"] == "BPlan").to_numpy()), 1)[0])
    labels[bad] = "XY"
    ctx.manifest.add(
        "steinbuechel-bauleitplanung",
        z.loc[bad, "zoning_id"],
        "unknown-code",
        "zoning label 'XY' is not in the configuration's code mapping",
    )
    fnp = (z["plan_type"] == "FNP").to_numpy()
    labelled = {"bes_art": np.where(fnp, np.array(None), labels), "allg_art": np.where(fnp, labels, np.array(None))}
    _write_gpkg(
        _deliver(ctx, "steinbuechel-bauleitplanung", z, keep=("grz", "gfz"), values=labelled), gpkg, "bauleitplanung"
    )
    b = ctx.layer("buildings", spec.ags)
    # a later supplement: the last buildings again, with the UTM zone number prefixed to the easting
    supp = b.iloc[-3:].copy()
    supp["building_id"] = [f"DERP{spec.ags[-3:]}9{k:08d}" for k in range(len(supp))]
    _write_geojson(_deliver(ctx, "steinbuechel-gebaeude", b), d / "gebaeude.geojson")
    supp["geometry"] = shapely.transform(supp.geometry.to_numpy(), lambda xy: xy + np.array([32_000_000.0, 0.0]))
    _write_gpkg(_deliver(ctx, "steinbuechel-gebaeude-nachtrag", supp), d / "gebaeude_nachtrag.gpkg", "gebaeude")
    for key in supp["building_id"]:
        ctx.manifest.add(
            "steinbuechel-gebaeude-nachtrag",
            key,
            "source-outside-municipality",
            "labelled EPSG:25832 but the easting carries the zone prefix 32 (32xxxxxx m)",
        )


def _lindenhoeh(ctx: _Ctx) -> None:
    """07999006: Shapefile (EPSG:25832, UTF-8 .cpg), GeoJSON buildings, CSV brownfields, land use as polygons
    (GeoPackage), no plan at all."""
    spec = MUNICIPALITIES[5]
    d = ctx.folder(spec.slug)
    p = ctx.layer("parcels", spec.ags)
    flurstuecke = _deliver(ctx, "lindenhoeh-flurstuecke", p, keep=("flur",))
    _write_shapefile(flurstuecke, d / "flurstuecke.shp", encoding="UTF-8", cpg=True)
    _write_geojson(_deliver(ctx, "lindenhoeh-gebaeude", ctx.layer("buildings", spec.ags)), d / "gebaeude.geojson")
    # no plan: Lindenhöh has neither B-Plan nor FNP (building land by §34 BauGB only); its actual use comes
    # as separate polygons (ALKIS tatsächliche Nutzung, neighbours of one class merged), the class as label
    nutzung = _deliver(ctx, "lindenhoeh-nutzung", _land_use_polygons(p, spec.ags))
    _write_gpkg(nutzung, d / "nutzung.gpkg", "nutzung")
    bf = ctx.layer("brownfields", spec.ags)
    _write_csv(_brownfields(ctx, "lindenhoeh-brachflaechen", bf), d / "brachflaechen.csv")
    # a supplement whose coordinates are Gauß-Krüger values, declared as EPSG:25832
    supp = bf.iloc[:2].copy()
    supp["site_id"] = [f"BF-{spec.ags}-N{k + 1}" for k in range(len(supp))]
    supp["name"] = [f"Nachtrag: {n}" for n in supp["name"]]
    supp_gk = gpd.GeoDataFrame(supp, geometry="geometry", crs=CRS)
    supp_gk["geometry"] = _transform(supp_gk.geometry.to_numpy(), ctx.gk)
    _write_csv(_brownfields(ctx, "lindenhoeh-brachen-nachtrag", supp_gk), d / "brachen_nachtrag.csv")
    for key in supp["site_id"]:
        ctx.manifest.add(
            "lindenhoeh-brachen-nachtrag",
            key,
            "source-outside-municipality",
            "Gauß-Krüger (EPSG:31466) coordinates in a source declared EPSG:25832",
        )


def _land_use_polygons(parcels: pd.DataFrame, ags: str) -> gpd.GeoDataFrame:
    """The parcels' actual use as ALKIS land-use polygons: parcels of one Nutzungsart merged where they touch."""
    label = parcels["actual_use"].astype(str).str.split(";").str[0].str.split(" / ").str[0].to_numpy()
    geoms = shapely.make_valid(parcels["geometry"].to_numpy())
    rows = []
    for use in sorted(set(label)):
        merged = shapely.union_all(geoms[label == use], grid_size=0.001)
        for part in shapely.get_parts(merged):
            if shapely.get_type_id(part) == 3 and part.area > 1.0:
                rows.append({"use": use, "geometry": part})
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
    frame.insert(0, "land_use_id", [f"DERP{ags[-3:]}N{i:07d}" for i in range(len(frame))])
    return frame


WRITERS: tuple[Callable[[_Ctx], None], ...] = (
    _hohenmaar,
    _muehlental,
    _kelberath,
    _wiesenau,
    _steinbuechel,
    _lindenhoeh,
)


def write_sources(root: Path, truth: Truth, *, config_path: Path) -> Manifest:
    """Write every source file under ``root / "sources"`` and return the planted defects.

    Parameters
    ----------
    root
        The demo folder (the one holding ``district.toml``).
    truth
        The true district from :func:`flaechen.demo.district.build_truth`.
    config_path
        The demo configuration: each source is written the way its ``fields`` and ``codes`` say it is
        delivered.
    """
    gk, description = gk_transformer()
    manifest = Manifest(transformation=description)
    config = load_config(config_path)
    sources = {s.id: s for m in config.municipalities for s in m.sources}
    ctx = _Ctx(root, truth, manifest, gk, sources)
    (root / "sources").mkdir(parents=True, exist_ok=True)
    boundaries = truth.municipalities.copy()
    _write_geojson(boundaries, root / "sources" / "gemeinden.geojson")
    for writer in WRITERS:
        writer(ctx)
    return manifest
