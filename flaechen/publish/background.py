"""The offline map background: raster tiles drawn from the district's own data.

A workshop audience recognises its village by streets, houses, woods and water. The district dataset
holds all of them: the actual land use (layer ``land_use`` where delivered, otherwise the parcels'
``actual_use`` text of ALKIS vereinfacht), and the buildings. :func:`render_background` draws them in a
few muted colours into an XYZ pyramid of PNG tiles (``site/tiles/{z}/{x}/{y}.png``, Web Mercator, 256 px)
that Leaflet shows with a plain ``L.tileLayer`` — from a USB stick, with no network and no plug-in.

Why raster tiles rather than vector tiles: a browser refuses ``fetch``/XHR from ``file://`` (and the
site's Content-Security-Policy has ``connect-src 'none'``), and every vector-tile client for Leaflet or
MapLibre loads its tiles that way; raster tiles are plain images, which ``file://`` pages may load. The
measurements behind the choice are in ``flaechen/publish/README.md``.

How it is drawn: per zoom level, blocks of ``metatile × metatile`` tiles are rasterised at twice the
resolution (:func:`rasterio.features.rasterize`, one call per block with the classes in drawing order),
coloured through a palette and averaged down (anti-aliased edges), then cut into tiles. Each class has
a zoom from which it is drawn: land use at every level, streets from 13, buildings from 14. Tiles of one
colour (open fields, forest interiors) are encoded once.

Examples
--------
>>> features, source = background_features("out/demo/district.gpkg")
>>> source  # Lindenhöh delivers land-use polygons, the others only their parcels' actual use
'land_use+parcels'
>>> tiles = render_background(features, out_dir=Path("kacheln"), min_zoom=12, max_zoom=14)
>>> tiles.min_zoom, tiles.max_zoom, tiles.files == len(list(Path("kacheln").rglob("*.png")))
(12, 14, True)
"""

from __future__ import annotations

import io
import logging
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import geopandas as gpd
import mercantile
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from PIL import Image
from rasterio.features import rasterize
from rasterio.transform import Affine

from flaechen.district import read_district
from flaechen.landuse import normalise_uses, parse_actual_use
from flaechen.palette import colours as palette_colours
from flaechen.workers import fork_map, resolve_workers

log = logging.getLogger(__name__)

WEB_MERCATOR = "EPSG:3857"
TILE_SIZE = 256


@dataclass(frozen=True)
class BackgroundClass:
    """One kind of ground on the background: its colour and the zoom from which it is drawn."""

    key: str
    label: str
    colour: str
    min_zoom: int = 0


_COLOURS = palette_colours("background")
"""The background's colours, from the one palette (``layers/palette.yaml``)."""

PAPER = BackgroundClass("paper", "Sonstige Fläche", _COLOURS["paper"])
OUTSIDE = BackgroundClass("outside", "Außerhalb des Kreises", _COLOURS["outside"])

CLASSES: tuple[BackgroundClass, ...] = (
    BackgroundClass("farmland", "Landwirtschaft", _COLOURS["farmland"]),
    BackgroundClass("grass", "Grünland, Heide, Moor", _COLOURS["grass"]),
    BackgroundClass("forest", "Wald, Gehölz", _COLOURS["forest"]),
    BackgroundClass("green", "Sport, Freizeit, Friedhof", _COLOURS["green"]),
    BackgroundClass("housing", "Wohnen, gemischte Nutzung", _COLOURS["housing"]),
    BackgroundClass("commercial", "Gewerbe, Industrie", _COLOURS["commercial"]),
    BackgroundClass("public", "Öffentliche Zwecke", _COLOURS["public"]),
    BackgroundClass("rail", "Bahn", _COLOURS["rail"], 11),
    BackgroundClass("water", "Gewässer", _COLOURS["water"]),
    BackgroundClass("path", "Weg", _COLOURS["path"], 14),
    BackgroundClass("street", "Straße, Platz", _COLOURS["street"], 12),
    BackgroundClass("street_edge", "Straßenrand", _COLOURS["street_edge"], 15),
    BackgroundClass("building", "Gebäude", _COLOURS["building"], 14),
    BackgroundClass("building_edge", "Gebäudekante", _COLOURS["building_edge"], 16),
)
"""The classes in drawing order, bottom to top. Colours are muted so that the potentials drawn over
them keep the eye; ``*_edge`` classes are outlines drawn from the zoom where they help."""

LEGEND_CLASSES = ("housing", "commercial", "public", "green", "forest", "grass", "water", "street", "building")
"""Classes named in the map's legend (the others are shades of the paper or outlines)."""

AX_CLASS: dict[str, str] = {
    "AX_Wohnbauflaeche": "housing",
    "AX_FlaecheGemischterNutzung": "housing",
    "AX_IndustrieUndGewerbeflaeche": "commercial",
    "AX_Halde": "commercial",
    "AX_Bergbaubetrieb": "commercial",
    "AX_TagebauGrubeSteinbruch": "commercial",
    "AX_FlaecheBesondererFunktionalerPraegung": "public",
    "AX_SportFreizeitUndErholungsflaeche": "green",
    "AX_Friedhof": "green",
    "AX_Strassenverkehr": "street",
    "AX_Platz": "street",
    "AX_Weg": "path",
    "AX_Bahnverkehr": "rail",
    "AX_Flugverkehr": "commercial",
    "AX_Schiffsverkehr": "water",
    "AX_Landwirtschaft": "farmland",
    "AX_Wald": "forest",
    "AX_Gehoelz": "forest",
    "AX_Heide": "grass",
    "AX_Moor": "grass",
    "AX_Sumpf": "grass",
    "AX_UnlandVegetationsloseFlaeche": "paper",
    "AX_Fliessgewaesser": "water",
    "AX_StehendesGewaesser": "water",
    "AX_Hafenbecken": "water",
    "AX_Meer": "water",
}
"""ALKIS object class (code list ``alkis_nutzung``) → background class."""

GRASS_SUBTYPES = ("grünland", "gruenland", "wiese", "weide", "streuobstwiese")
"""Unterarten of AX_Landwirtschaft drawn as grassland rather than farmland."""


@dataclass(frozen=True)
class TileSet:
    """The background tiles written for a site.

    Attributes
    ----------
    path
        Folder holding ``{z}/{x}/{y}.png``.
    min_zoom, max_zoom
        Zoom levels rendered; Leaflet enlarges the last one beyond it.
    bounds
        ``(west, south, east, north)`` in degrees: tiles exist for this box only.
    files, bytes
        Number and total size of the tile files.
    source
        What the land use was drawn from: ``"land_use"``, ``"parcels"`` or ``"none"``.
    detail_from, detail_blocks
        The first zoom drawn only where buildings stand, and per such zoom the blocks drawn
        (``[x0, y0, x1, y1]``, tile numbers, ends exclusive); None and empty where every level is complete.
    base_blocks
        Per zoom below ``detail_from``, the blocks drawn: those reaching into the district (empty: all
        of `bounds`). The map asks for no other tile.
    """

    path: Path
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float]
    files: int
    bytes: int
    source: str
    detail_from: int | None = None
    detail_blocks: dict[int, list[list[int]]] = field(default_factory=dict)
    base_blocks: dict[int, list[list[int]]] = field(default_factory=dict)

    def layer_options(self, url: str = "tiles/{z}/{x}/{y}.png") -> dict[str, object]:
        """What the map's script needs to show the tiles: plain values for the page's JSON configuration."""
        return {
            "url": url,
            "minZoom": self.min_zoom,
            "maxZoom": self.max_zoom,
            "bounds": list(self.bounds),
            "detailFrom": self.detail_from,
            "detailBlocks": {str(z): blocks for z, blocks in self.detail_blocks.items()},
            "baseBlocks": {str(z): blocks for z, blocks in self.base_blocks.items()},
        }


def classify_uses(uses: pd.Series) -> pd.Series:
    """Background class of each land use as delivered: an ALKIS class, label, ASCII spelling or number.

    Names are read by :func:`flaechen.landuse.normalise_uses`; an Unterart of farmland naming grassland
    (``"Landwirtschaft / Grünland"``) is drawn as grassland. Unknown uses become ``"paper"``, missing
    ones NA.

    Examples
    --------
    >>> classify_uses(pd.Series(["Wald / Laubholz", "AX_Fliessgewaesser", "Landwirtschaft / Grünland", None])).tolist()
    ['forest', 'water', 'grass', <NA>]
    """
    text = uses.astype("string")
    classes = normalise_uses(text)
    mapped = classes.map(lambda c: AX_CLASS.get(c, "paper") if isinstance(c, str) else "paper")
    # the Unterart after " / " (extract keeps the string dtype also where no value has one)
    sub = text.str.extract(r" / (.*)$", expand=False).astype("string").str.strip().str.lower()
    grass = classes.eq("AX_Landwirtschaft").fillna(False) & sub.isin(GRASS_SUBTYPES).fillna(False)
    mapped = mapped.where(~grass, "grass")
    return mapped.where(text.notna() & text.str.strip().ne(""), pd.NA).astype("string")


def dominant_uses(actual_use: pd.Series) -> pd.Series:
    """The dominant use of each parcel's ``actual_use`` text, as delivered (with its Unterart).

    The text is read by :func:`flaechen.landuse.parse_actual_use` (every real form of ALKIS vereinfacht);
    the use with the largest area wins, the first named where the text gives no areas.

    Examples
    --------
    >>> dominant_uses(pd.Series(["Weg;12|Wald / Nadelholz;1800", "Wohnbaufläche;412;Straßenverkehr;30", None])).tolist()
    ['Wald / Nadelholz', 'Wohnbaufläche', <NA>]
    """
    pairs = parse_actual_use(actual_use.reset_index(drop=True))
    out = pd.Series(pd.NA, index=actual_use.index, dtype="string")
    if pairs.empty:
        return out
    pairs = pairs.assign(rank=pairs["area_m2"].fillna(-1.0))
    best = pairs.sort_values(["parcel", "rank", "position"], ascending=[True, False, True], kind="stable")
    best = best.drop_duplicates("parcel", keep="first")
    values = out.to_numpy(dtype=object)
    values[best["parcel"].to_numpy(dtype=np.int64)] = best["use_text"].to_numpy(dtype=object)
    return pd.Series(values, index=actual_use.index).astype("string")


def background_features(path: str | os.PathLike[str]) -> tuple[gpd.GeoDataFrame, str]:
    """Read what the background is drawn from: land use polygons by class, and the buildings.

    Land use comes from layer ``land_use`` for the municipalities that delivered it, and from the parcels'
    ``actual_use`` for the others (the dominant use of each parcel, without its key or owner: only
    ``actual_use``, ``ags`` and the geometry are read). Parcels with no land use are left out (the
    paper shows through).

    Returns
    -------
    (GeoDataFrame, str)
        Columns ``class`` and ``geometry`` in the district CRS; and the land use's source
        (``"land_use"``, ``"parcels"``, ``"land_use+parcels"`` or ``"none"``).
    """
    read = read_district(
        path,
        layers=[],
        optional=["land_use", "parcels", "buildings"],
        columns={"land_use": ["ags", "use"], "parcels": ["actual_use", "ags"], "buildings": []},
        missing_columns="skip",
    )
    frames: list[gpd.GeoDataFrame] = []
    covered: set[str] = set()
    sources: list[str] = []
    if "land_use" in read and len(read["land_use"]) and "use" in read["land_use"].columns:
        gdf = read["land_use"]
        frames.append(gpd.GeoDataFrame({"class": classify_uses(gdf["use"])}, geometry=gdf.geometry.values, crs=gdf.crs))
        covered = set(gdf["ags"].astype(str)) if "ags" in gdf.columns else {"*"}
        sources.append("land_use")
    if "parcels" in read and "*" not in covered:
        gdf = read["parcels"]
        if "actual_use" in gdf.columns:
            # the parcels' actual use where a municipality delivered no land use polygons
            if covered and "ags" in gdf.columns:
                gdf = gdf[~gdf["ags"].astype(str).isin(covered).to_numpy()]
            if len(gdf):
                classes = classify_uses(dominant_uses(gdf["actual_use"]))
                frames.append(gpd.GeoDataFrame({"class": classes}, geometry=gdf.geometry.values, crs=gdf.crs))
                sources.append("parcels")
    source = "+".join(sources) or "none"
    if "buildings" in read:
        gdf = read["buildings"]
        frames.append(
            gpd.GeoDataFrame(
                {"class": pd.Series("building", index=gdf.index)}, geometry=gdf.geometry.values, crs=gdf.crs
            )
        )
    if not frames:
        return gpd.GeoDataFrame({"class": pd.Series([], dtype="string")}, geometry=gpd.GeoSeries([])), source
    crs = frames[0].crs
    out = pd.concat([f.to_crs(crs) if f.crs != crs else f for f in frames], ignore_index=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=crs)
    keep = out["class"].notna() & ~(out.geometry.isna() | out.geometry.is_empty)
    dropped = int((~keep).sum())
    if dropped:
        log.info("background: %d features without land use or geometry left out", dropped)
    return out[keep].reset_index(drop=True), source


def zoom_range(extent: tuple[float, float, float, float], *, max_zoom: int, viewport_px: int = 700) -> tuple[int, int]:
    """Zoom levels worth rendering: from one below the zoom where the extent fits `viewport_px`.

    `extent` is ``(west, south, east, north)`` in degrees.
    """
    west, south, east, north = extent
    x0, y0 = mercantile.xy(west, south)
    x1, y1 = mercantile.xy(east, north)
    span = max(x1 - x0, y1 - y0, 1.0)
    world = 2 * math.pi * 6378137.0
    fit = math.floor(math.log2(world * viewport_px / (TILE_SIZE * span)))
    return max(0, min(fit - 1, max_zoom)), max_zoom


def _hex_rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)


def _tile_range(bounds: tuple[float, float, float, float], z: int) -> tuple[int, int, int, int]:
    """The tiles ``x0 ≤ x < x1, y0 ≤ y < y1`` of zoom `z` covering `bounds` (degrees), as mercantile.tiles
    finds them, without listing them (a wide district has hundreds of thousands at zoom 16)."""
    west, south, east, north = bounds
    eps = 1e-11  # mercantile's LL_EPSILON: an east or south edge on a tile border takes no extra tile
    top_left = mercantile.tile(max(west, -180.0), min(north, 85.051129), z)
    bottom_right = mercantile.tile(min(east, 180.0) - eps, max(south, -85.051129) + eps, z)
    return top_left.x, top_left.y, bottom_right.x + 1, bottom_right.y + 1


def _blocks(tile_range: tuple[int, int, int, int], size: int) -> Iterator[tuple[int, int, int, int]]:
    """Blocks ``(x0, y0, x1, y1)`` (exclusive ends) of at most `size` × `size` tiles covering `tile_range`."""
    x0, y0, x1, y1 = tile_range
    for bx in range(x0, x1, size):
        for by in range(y0, y1, size):
            yield bx, by, min(bx + size, x1), min(by + size, y1)


def render_background(
    features: gpd.GeoDataFrame,
    *,
    out_dir: Path,
    extent: shapely.Geometry | None = None,
    max_zoom: int = 16,
    min_zoom: int | None = None,
    supersample: int = 2,
    metatile: int = 4,
    source: str = "parcels",
    workers: int | None = None,
    detail_from: int | None = 16,
) -> TileSet:
    """Draw the background into an XYZ pyramid of PNG tiles.

    Parameters
    ----------
    features
        From :func:`background_features`: ``class`` and geometry, in a projected or geographic CRS.
    out_dir
        Folder receiving ``{z}/{x}/{y}.png`` (created).
    extent
        The district's area (in the CRS of `features`): drawn on paper colour, the rest greyed. The
        union of the features' envelopes by default.
    max_zoom
        Highest zoom rendered (16 ≈ 1.5 m per pixel in Germany: houses and streets sharp).
    min_zoom
        Lowest zoom rendered; by default one below the zoom at which the district fills the screen.
    supersample
        Rasterise at this multiple of the resolution and average down (anti-aliasing); 1 switches it off.
    metatile
        Tiles per side of the blocks rasterised at once (memory grows with its square).
    source
        Recorded in the result: what the land use was drawn from.
    workers
        Processes drawing blocks at once; None uses every available core.
    detail_from
        Zoom levels from this one on are drawn only in blocks where buildings stand (the map enlarges
        the level below elsewhere); None draws every level everywhere.

    Returns
    -------
    TileSet
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if features.crs is None:
        raise ValueError("background features need a CRS")
    merc = features.to_crs(WEB_MERCATOR)
    area = shapely.union_all(shapely.envelope(features.geometry.to_numpy())) if extent is None else extent
    area_merc = gpd.GeoSeries([area], crs=features.crs).to_crs(WEB_MERCATOR).iloc[0]
    west, south, east, north = gpd.GeoSeries([area], crs=features.crs).to_crs("EPSG:4326").total_bounds
    lo, hi = zoom_range((west, south, east, north), max_zoom=max_zoom)
    if min_zoom is not None:
        lo = max(0, min(min_zoom, max_zoom))

    order = {c.key: i + 2 for i, c in enumerate(CLASSES)}  # 0 outside, 1 paper
    palette = np.zeros((256, 3), dtype=np.uint16)
    palette[0] = _hex_rgb(OUTSIDE.colour)
    palette[1] = _hex_rgb(PAPER.colour)
    for c in CLASSES:
        palette[order[c.key]] = _hex_rgb(c.colour)

    classes = merc["class"].astype("string").to_numpy(dtype=object)
    values = np.array([order.get(c, 1) for c in classes], dtype=np.uint8)  # "paper" → 1
    sort = np.argsort(values, kind="stable")  # drawing order: later classes over earlier ones
    geoms, values, classes = merc.geometry.to_numpy()[sort], values[sort], classes[sort]
    # outlines (street edges, building edges) as lines, drawn right after their own fill
    edge_class = np.array([EDGES.get(c, "") for c in classes], dtype=object)
    edges = np.full(len(geoms), None, dtype=object)
    has_edge = edge_class != ""
    edges[has_edge] = _geojson(shapely.boundary(geoms[has_edge]))
    min_zoom_of = {c.key: c.min_zoom for c in CLASSES}
    job = _Job(
        shapes=_geojson(geoms),
        values=values,
        fill_zoom=np.array([min_zoom_of.get(c, 0) for c in classes], dtype=np.int64),
        edges=edges,
        edge_values=np.array([order.get(e, 0) for e in edge_class], dtype=np.uint8),
        edge_zoom=np.array([min_zoom_of.get(e, 99) for e in edge_class], dtype=np.int64),
        tree=shapely.STRtree(geoms),
        area=area_merc,
        palette=palette,
        supersample=supersample,
        out_dir=out_dir,
    )
    shapely.prepare(area_merc)
    tasks = []
    detail: dict[int, list[list[int]]] = {}
    base: dict[int, list[list[int]]] = {}
    is_building = classes == "building"
    buildings = shapely.STRtree(geoms[is_building]) if is_building.any() else None
    for z in range(lo, hi + 1):
        blocks = list(_blocks(_tile_range((west, south, east, north), z), metatile))
        # only blocks reaching into the district: of municipalities far apart (a district of several
        # deliveries), the box between them would be hundreds of thousands of grey tiles; the map shows
        # its own grey (the outside colour) where no tile is asked for
        boxes = np.array([_block_box(z, *b) for b in blocks], dtype=object)
        blocks = [b for b, inside in zip(blocks, shapely.intersects(area_merc, boxes), strict=True) if inside]
        if detail_from is not None and z >= detail_from:
            # the finest levels only where houses stand: in the fields they would show nothing new
            blocks = [b for b in blocks if buildings is not None and len(buildings.query(_block_box(z, *b)))]
            detail[z] = [list(b) for b in blocks]
        else:
            base[z] = [list(b) for b in blocks]
        tasks += [(z, *block) for block in blocks]
    nworkers = min(resolve_workers(workers), max(1, len(tasks) // 8))
    if nworkers > 1:
        tasks.sort(key=lambda t: -t[0])  # the many small blocks of the deepest zoom first
    done = fork_map(_render_task, tasks, job=job, workers=nworkers, chunksize=4)
    files = sum(d[0] for d in done)
    total = sum(d[1] for d in done)
    log.info("background: %d tiles (zoom %d–%d), %.1f MB, land use from %s", files, lo, hi, total / 1e6, source)
    return TileSet(
        path=out_dir,
        min_zoom=lo,
        max_zoom=hi,
        bounds=(round(float(west), 6), round(float(south), 6), round(float(east), 6), round(float(north), 6)),
        files=files,
        bytes=total,
        source=source,
        detail_from=min(detail) if detail else None,
        detail_blocks=detail,
        base_blocks=base,
    )


EDGES = {"street": "street_edge", "building": "building_edge"}
"""Classes outlined (from their edge class's zoom on)."""


@dataclass(frozen=True)
class _Job:
    """Everything a block needs, in Web Mercator, sorted in drawing order.

    ``shapes`` and ``edges`` are GeoJSON-like mappings, converted once for every block and zoom level
    that draws them (the conversion, not the rasterising, was most of the time).
    """

    shapes: np.ndarray
    values: np.ndarray
    fill_zoom: np.ndarray
    edges: np.ndarray
    edge_values: np.ndarray
    edge_zoom: np.ndarray
    tree: shapely.STRtree
    area: shapely.Geometry
    palette: np.ndarray
    supersample: int
    out_dir: Path


def _render_task(job: _Job, task: tuple[int, int, int, int, int]) -> tuple[int, int]:
    return _render_block(job, *task)


def _geojson(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """GeoJSON-like mappings of `geoms` for :func:`rasterio.features.rasterize`.

    (Multi)polygons and (multi)line strings — every parcel, building and outline — are converted in bulk
    from one coordinate array (as ``MultiPolygon`` / ``MultiLineString``); anything else through
    ``__geo_interface__``.

    Examples
    --------
    >>> _geojson(np.array([shapely.box(0, 0, 1, 1), shapely.LineString([(0, 0), (1, 1)])]))[1]
    {'type': 'MultiLineString', 'coordinates': [[[0.0, 0.0], [1.0, 1.0]]]}
    """
    out = np.empty(len(geoms), dtype=object)
    kind = shapely.get_type_id(geoms)
    polygons = np.isin(kind, [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON])
    lines = np.isin(kind, [shapely.GeometryType.LINESTRING, shapely.GeometryType.MULTILINESTRING])
    for mask, name in ((polygons, "MultiPolygon"), (lines, "MultiLineString")):
        picked = np.flatnonzero(mask)
        if not len(picked):
            continue
        parts, owner = shapely.get_parts(geoms[picked], return_index=True)
        if name == "MultiPolygon":
            rings, ring_part = shapely.get_rings(parts, return_index=True)
        else:
            rings, ring_part = parts, np.arange(len(parts))
        coords = shapely.get_coordinates(rings).tolist()  # one list, sliced per ring below
        ends = np.cumsum(shapely.get_num_coordinates(rings)).tolist()
        items: list[list[object]] = [[] for _ in range(len(parts))]
        start = 0
        for end, part in zip(ends, ring_part.tolist(), strict=True):
            items[part].append(coords[start:end])
            start = end
        members: list[list[object]] = [[] for _ in range(len(picked))]
        for item, o in zip(items, owner.tolist(), strict=True):
            members[o].append(item if name == "MultiPolygon" else item[0])
        for i, coordinates in zip(picked.tolist(), members, strict=True):
            out[i] = {"type": name, "coordinates": coordinates}
    for i in np.flatnonzero(~(polygons | lines)).tolist():
        out[i] = geoms[i].__geo_interface__
    return out


def _block_box(z: int, x0: int, y0: int, x1: int, y1: int) -> shapely.Geometry:
    """The Web Mercator rectangle of the tiles x0 ≤ x < x1, y0 ≤ y < y1 of zoom z."""
    top_left = mercantile.xy_bounds(x0, y0, z)
    bottom_right = mercantile.xy_bounds(x1 - 1, y1 - 1, z)
    return shapely.box(top_left.left, bottom_right.bottom, bottom_right.right, top_left.top)


def _render_block(job: _Job, z: int, x0: int, y0: int, x1: int, y1: int) -> tuple[int, int]:
    """Draw one block of tiles and write them; returns (files, bytes).

    Every tile of the block is written, also those beside the district (greyed): the map asks for every
    tile inside the tile set's bounds, and a missing file would be an error in the browser's console.
    """
    s = job.supersample
    box = _block_box(z, x0, y0, x1, y1)
    left, bottom, right, top = box.bounds
    width, height = (x1 - x0) * TILE_SIZE, (y1 - y0) * TILE_SIZE
    if not job.area.intersects(box):
        packed = np.full((height, width), _pack(job.palette[:1])[0], dtype=np.uint32)
    else:
        transform = Affine((right - left) / (width * s), 0.0, left, 0.0, -(top - bottom) / (height * s), top)
        hits = np.sort(job.tree.query(box))
        shapes: list[tuple[shapely.Geometry, int]] = [(job.area, 1)]
        for i in hits[job.fill_zoom[hits] <= z]:
            shapes.append((job.shapes[i], int(job.values[i])))
            if job.edge_zoom[i] <= z:
                shapes.append((job.edges[i], int(job.edge_values[i])))
        raster = rasterize(shapes, out_shape=(height * s, width * s), transform=transform, fill=0, dtype="uint8")
        packed = _colour(raster, job.palette, s)
    # the block's colours found once (not once per tile)
    codes, found = pd.factorize(packed.ravel())  # by hashing: a sort of the block took longer than its drawing
    colours = np.asarray(found, dtype=np.uint32)
    index = codes.reshape(packed.shape)
    files = written = 0
    for tx in range(x0, x1):
        folder = job.out_dir / str(z) / str(tx)
        folder.mkdir(parents=True, exist_ok=True)
        for ty in range(y0, y1):
            px, py = (tx - x0) * TILE_SIZE, (ty - y0) * TILE_SIZE
            data = _tile_png(index[py : py + TILE_SIZE, px : px + TILE_SIZE], colours)
            (folder / f"{ty}.png").write_bytes(data)
            files += 1
            written += len(data)
    return files, written


def _tile_png(index: NDArray[np.intp], colours: NDArray[np.uint32]) -> bytes:
    """A tile given as indices into its block's colours (``0xRRGGBB``): PNG with the tile's own palette."""
    present = np.bincount(index.ravel(), minlength=len(colours)) > 0
    used = colours[present]
    if len(used) == 1:
        colour = int(used[0])
        return _uniform_png((colour >> 16, (colour >> 8) & 255, colour & 255))
    rgb = np.stack([(used >> 16) & 255, (used >> 8) & 255, used & 255], axis=1).astype(np.uint8)
    if len(used) > 256:
        return _png(rgb[(np.cumsum(present) - 1)[index]])
    image = Image.fromarray((np.cumsum(present) - 1)[index].astype(np.uint8), mode="P")
    image.putpalette(rgb.tobytes())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


@cache
def _uniform_png(colour: tuple[int, int, int]) -> bytes:
    """A tile of one colour (open fields, forest, outside the district), encoded once per process."""
    return _png(np.full((TILE_SIZE, TILE_SIZE, 3), colour, dtype=np.uint8))


def _pack(rgb: NDArray[np.integer]) -> NDArray[np.uint32]:
    """``(n, 3)`` channels → ``0xRRGGBB`` integers."""
    channels = rgb.astype(np.uint32)
    packed: NDArray[np.uint32] = channels @ np.array([1 << 16, 1 << 8, 1], dtype=np.uint32)
    return packed


@cache
def _mix_table(palette: bytes) -> NDArray[np.uint32]:
    """The mean colour (``0xRRGGBB``) of every 2 × 2 combination of the first 16 palette entries,
    indexed by the four class values packed 4 bits apart."""
    colours = np.frombuffer(palette, dtype=np.uint16).reshape(-1, 3)[:16].astype(np.uint32)
    key = np.arange(1 << 16, dtype=np.uint32)
    total = sum(colours[(key >> (4 * k)) & 15] for k in range(4))
    return _pack(total // 4)


def _colour(raster: NDArray[np.uint8], palette: NDArray[np.uint16], supersample: int) -> NDArray[np.uint32]:
    """Colour a class raster through the palette and average `supersample` × `supersample` pixels.

    Returns ``0xRRGGBB`` per output pixel. At the usual factor 2 with at most 16 classes, the four class
    values of an output pixel form one 16-bit key into a table of their mean colours (one lookup per
    pixel); otherwise the three channels are packed 10 bits apart into one integer, so that one lookup
    and one sum serve all three (a sum of up to 4 × 255 fits in 10 bits; larger factors use 16 bits).

    Examples
    --------
    >>> palette = np.array([[0, 0, 0], [255, 255, 255]], dtype=np.uint16)
    >>> hex(int(_colour(np.array([[0, 1], [1, 1]], dtype=np.uint8), palette, 2)[0, 0]))
    '0xbfbfbf'
    """
    s = supersample
    if s == 1:
        return _pack(palette)[raster]
    if s == 2 and int(raster.max()) < 16:
        quads = [raster[i::2, j::2].astype(np.uint16) << (4 * (2 * i + j)) for i in range(2) for j in range(2)]
        padded = np.zeros((16, 3), dtype=np.uint16)
        padded[: min(16, len(palette))] = palette[:16]
        mixed: NDArray[np.uint32] = _mix_table(padded.tobytes())[quads[0] | quads[1] | quads[2] | quads[3]]
        return mixed
    bits = 10 if s * s * 255 < 1024 else 16
    dtype = np.uint64
    channels: NDArray[np.uint64] = palette.astype(np.uint64)
    packed = channels[:, 0] + channels[:, 1] * (1 << bits) + channels[:, 2] * (1 << (2 * bits))
    values = np.take(packed, raster)
    total = np.zeros((raster.shape[0] // s, raster.shape[1] // s), dtype=dtype)
    for i in range(s):
        for j in range(s):
            total += values[i::s, j::s]
    mask = dtype((1 << bits) - 1)
    out = np.empty((*total.shape, 3), dtype=np.uint8)
    for channel in range(3):
        out[..., channel] = ((total >> dtype(channel * bits)) & mask) // (s * s)
    return _pack(out.reshape(-1, 3)).reshape(total.shape)


def _png(tile: np.ndarray) -> bytes:
    """A tile as a PNG with an exact palette where it has at most 256 colours (nearly always: the
    classes and their anti-aliased mixes), else quantised to 256 colours."""
    flat = tile.reshape(-1, 3)
    packed = (flat[:, 0].astype(np.uint32) * 65536) | (flat[:, 1].astype(np.uint32) * 256) | flat[:, 2]
    colours, index = np.unique(packed, return_inverse=True)
    if len(colours) <= 256:
        image = Image.fromarray(index.reshape(tile.shape[:2]).astype(np.uint8), mode="P")
        rgb = np.stack([(colours >> 16) & 255, (colours >> 8) & 255, colours & 255], axis=1).astype(np.uint8)
        image.putpalette(rgb.tobytes())
    else:
        image = Image.fromarray(np.ascontiguousarray(tile), mode="RGB").quantize(colors=256, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def legend_entries() -> list[tuple[str, str]]:
    """``(label, colour)`` of the background classes shown in the legend."""
    by_key = {c.key: c for c in CLASSES}
    return [(by_key[k].label, by_key[k].colour) for k in LEGEND_CLASSES]
