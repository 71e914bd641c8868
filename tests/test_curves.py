"""Circular arcs (CurvePolygon, CompoundCurve, MultiSurface, CircularString) linearised on reading.

Real data: the Monzel and Massenheim Gemarkungen (NAS converted keeping arcs) and the NAS files of
../shared/data/real/alkis/nas (AdV CRS names).
"""

from __future__ import annotations

import logging
import math
import struct
import textwrap

import numpy as np
import pyogrio.raw
import pytest
import shapely
from shapely.geometry import box

from flaechen.config import load_config, parse_config
from flaechen.crs import adv_crs, resolve_crs
from flaechen.curves import linearise_wkb, stroke_arc
from flaechen.errors import ConfigError, GeometryError
from flaechen.pipeline import build_district
from flaechen.read import expand_source, inspect_source, read_source


def _header(kind: int, *, z: bool = False) -> bytes:
    return struct.pack("<BI", 1, kind + (1000 if z else 0))


def _points(coords) -> bytes:
    coords = list(coords)
    return struct.pack("<I", len(coords)) + b"".join(struct.pack(f"<{len(c)}d", *c) for c in coords)


def circular_string(coords, *, z: bool = False) -> bytes:
    return _header(8, z=z) + _points(coords)


def line_string(coords, *, z: bool = False) -> bytes:
    return _header(2, z=z) + _points(coords)


def compound(*parts: bytes) -> bytes:
    return _header(9) + struct.pack("<I", len(parts)) + b"".join(parts)


def curve_polygon(*rings: bytes) -> bytes:
    return _header(10) + struct.pack("<I", len(rings)) + b"".join(rings)


def multi_surface(*parts: bytes) -> bytes:
    return _header(12) + struct.pack("<I", len(parts)) + b"".join(parts)


def polygon(*rings) -> bytes:
    return _header(3) + struct.pack("<I", len(rings)) + b"".join(_points(r) for r in rings)


def half_disc(radius: float = 10.0) -> bytes:
    """A half disc: the arc from (r, 0) over (0, r) to (-r, 0), closed by the diameter."""
    return curve_polygon(
        compound(
            circular_string([(radius, 0), (0, radius), (-radius, 0)]),
            line_string([(-radius, 0), (radius, 0)]),
        )
    )


@pytest.mark.parametrize("radius", [1.0, 25.0, 1000.0])
@pytest.mark.parametrize("deviation", [0.01, 0.001])
def test_every_vertex_lies_on_the_arc_and_every_chord_within_the_deviation(radius, deviation):
    s = math.sqrt(0.5) * radius
    line = stroke_arc(np.array([radius, 0.0]), np.array([s, s]), np.array([0.0, radius]), deviation)
    assert np.allclose(np.hypot(line[:, 0], line[:, 1]), radius)
    mids = (line[1:] + line[:-1]) / 2
    sagitta = radius - np.hypot(mids[:, 0], mids[:, 1])
    assert sagitta.max() <= deviation * (1 + 1e-9)
    assert sagitta.max() > deviation / 4  # not needlessly fine


def test_arcs_at_utm_coordinates_keep_their_points_on_the_circle():
    # a real Monzel parcel corner: with coordinates of millions of metres, naive circle formulas lose mm
    p0, p1, p2 = (
        np.array([353145.253, 5531522.863]),
        np.array([353146.415, 5531524.371]),
        np.array([353147.389, 5531526.007]),
    )
    line = stroke_arc(p0, p1, p2, 0.0001)
    # the circle through the three points, solved in local coordinates
    a, b = p1 - p0, p2 - p0
    centre = np.linalg.solve(2 * np.array([a, b]), [a @ a, b @ b])
    radii = np.hypot(*(line - p0 - centre).T)
    assert np.ptp(radii) < 1e-6
    # the stroked arc passes through the delivered middle point within a tenth of a millimetre
    assert shapely.LineString(line).distance(shapely.Point(p1)) < 1e-4


def test_an_arc_gives_the_same_vertices_in_both_directions():
    p0, p1, p2 = np.array([3.0, 4.0]), np.array([-4.0, 3.0]), np.array([-5.0, 0.0])
    forward = stroke_arc(p0, p1, p2, 0.001)
    backward = stroke_arc(p2, p1, p0, 0.001)
    assert np.allclose(forward, backward[::-1], atol=1e-9)


def test_full_circles_collinear_arcs_and_z():
    circle = stroke_arc(np.array([1.0, 0]), np.array([-1.0, 0]), np.array([1.0, 0]), 0.001)
    assert np.allclose(np.hypot(circle[:, 0], circle[:, 1]), 1.0) and len(circle) > 30
    straight = stroke_arc(np.array([0.0, 0]), np.array([1.0, 1]), np.array([2.0, 2]), 0.001)
    assert straight.tolist() == [[0, 0], [2, 2]]
    with_z = stroke_arc(np.array([1.0, 0, 10]), np.array([0.0, 1, 15]), np.array([-1.0, 0, 20]), 0.01)
    assert with_z[0, 2] == 10 and with_z[-1, 2] == 20 and np.all(np.diff(with_z[:, 2]) > 0)


def test_curve_polygons_in_multisurfaces_become_polygons_with_areas_near_the_exact_ones():
    holed = curve_polygon(
        circular_string([(0, -20), (20, 0), (0, 20), (-20, 0), (0, -20)]),
        circular_string([(5, 0), (0, 5), (-5, 0), (0, -5), (5, 0)]),
    )
    wkbs = [multi_surface(half_disc(), polygon([(30, 0), (40, 0), (40, 10), (30, 0)])), holed, None]
    result = linearise_wkb(wkbs, max_deviation=0.001)
    first, second, third = result.geometries
    assert first.geom_type == "MultiPolygon" and len(first.geoms) == 2
    assert first.area == pytest.approx(math.pi * 50 + 50, rel=1e-4)
    assert second.geom_type == "Polygon" and len(second.interiors) == 1
    assert second.area == pytest.approx(math.pi * (400 - 25), rel=1e-4)
    assert third is None
    assert result.curved.tolist() == [True, True, False]
    assert 0 < result.area_change[0] < 1e-4 and result.area_change[2] == 0
    assert shapely.is_valid(result.geometries[:2]).all()


def test_linear_geometries_pass_unchanged_and_unclosed_rings_are_closed_and_counted():
    ring = [(0, 0), (10, 0), (10, 10), (0, 10)]  # the last point does not repeat the first
    result = linearise_wkb([shapely.to_wkb(box(0, 0, 1, 1)), polygon(ring), b"\x01\x07\x00"], max_deviation=0.001)
    assert result.geometries[0].equals(box(0, 0, 1, 1))
    assert result.unclosed.tolist() == [0, 1, 0]
    assert result.geometries[1].area == 100
    assert not result.curved.any()
    assert 2 in result.errors and result.geometries[2] is None


def test_a_sliver_with_an_arc_is_stroked_finer_to_keep_its_area():
    # the segment between an arc of radius 50 m over 10° and its chord (about 1.1 m²): 1 cm off is ~5 %
    a = math.radians(5)
    ends = [(50 * math.cos(a), -50 * math.sin(a)), (50.0, 0.0), (50 * math.cos(a), 50 * math.sin(a))]
    sliver = curve_polygon(compound(circular_string(ends), line_string([ends[2], ends[0]])))
    coarse = linearise_wkb([sliver], max_deviation=0.01, max_area_change=None)
    kept = linearise_wkb([sliver], max_deviation=0.01)
    assert coarse.area_change[0] > 1e-3
    assert kept.area_change[0] <= 1e-4


@pytest.mark.parametrize(
    ("name", "epsg"),
    [
        ("urn:adv:crs:ETRS89_UTM32", "EPSG:25832"),
        ("ETRS89_UTM33", "EPSG:25833"),
        ("urn:adv:crs:ETRS89_UTM32*DE_DHHN2016_NH", "EPSG:25832"),
        ("urn:adv:crs:DE_DHDN_3GK2", "EPSG:31466"),
        ("DE_DHDN_3GK3_NW177", "EPSG:31467"),
        ("urn:adv:crs:DE_DHDN_3GK4_BY120", "EPSG:31468"),
        ("de_dhdn_3gk3", "EPSG:31467"),
    ],
)
def test_adv_crs_names_resolve_with_or_without_prefix(name, epsg):
    assert adv_crs(name) == epsg
    assert resolve_crs(name, where="test").to_epsg() == int(epsg.split(":")[1])


def test_the_configuration_accepts_adv_crs_names():
    raw = {
        "district": {"name": "K", "crs": "urn:adv:crs:ETRS89_UTM32"},
        "boundaries": {"path": "b.gpkg", "ags_field": "ags", "crs": "DE_DHDN_3GK3"},
        "municipalities": [
            {
                "ags": "07999001",
                "name": "A",
                "sources": [{"layer": "parcels", "path": "a.gpkg", "crs": "urn:adv:crs:ETRS89_UTM33"}],
            }
        ],
    }
    config = parse_config(raw, path=__import__("pathlib").Path("/tmp/district.toml"))
    assert config.crs == "EPSG:25832"
    assert config.boundaries.crs == "EPSG:31467"
    assert config.sources[0].crs == "EPSG:25833"
    raw["municipalities"][0]["sources"][0]["arc_max_deviation"] = -1
    with pytest.raises(ConfigError, match="arc_max_deviation"):
        parse_config(raw, path=__import__("pathlib").Path("/tmp/district.toml"))


@pytest.mark.real_data
def test_a_nas_file_states_its_crs_as_an_adv_name_and_is_read_without_writing_beside_it(shared_real, tmp_path):
    folder = shared_real / "alkis" / "nas"
    before = sorted(p.name for p in folder.iterdir())
    config = tmp_path / "district.toml"
    config.write_text(
        textwrap.dedent(f"""\
        [district]
        name = "NAS"
        [boundaries]
        path = "{shared_real / "boundaries" / "vg250_gemeinden_nrw.geojson"}"
        ags_field = "ags"
        [[municipalities]]
        ags = "05366020"
        name = "Hellenthal"
        [[municipalities.sources]]
        layer = "parcels"
        path = "{folder / "NRW_NAS-konform.xml"}"
        source_layer = "AX_Flurstueck"
        fields = {{ parcel_id = "flurstueckskennzeichen", official_area = "amtlicheFlaeche" }}
        """),
        encoding="utf-8",
    )
    src = load_config(config).sources[0]
    info = inspect_source(src)
    assert info["crs"] == "EPSG:25832" and info["crs_name"] == "urn:adv:crs:ETRS89_UTM32"
    sf = read_source(src)
    assert sf.file_crs.to_epsg() == 25832 and len(sf.frame) == 10
    assert sorted(p.name for p in folder.iterdir()) == before, "no .gfs file beside the delivery"


@pytest.mark.real_data
@pytest.mark.parametrize(("name", "curved"), [("monzel_rlp_nas", 41), ("massenheim_hessen_nas", 121)])
def test_real_nas_parcels_with_arcs_are_linearised_within_a_hundredth_of_a_percent(shared_real, tmp_path, name, curved):
    config = tmp_path / "district.toml"
    config.write_text(
        textwrap.dedent(f"""\
        [district]
        name = "Arcs"
        [boundaries]
        path = "b.gpkg"
        ags_field = "ags"
        [[municipalities]]
        ags = "07999001"
        name = "A"
        [[municipalities.sources]]
        id = "p"
        layer = "parcels"
        path = "{shared_real / "alkis_full" / f"{name}.gpkg"}"
        source_layer = "AX_Flurstueck"
        """),
        encoding="utf-8",
    )
    sf = read_source(load_config(config).sources[0])
    lin = sf.linearised
    assert lin is not None and len(lin.curved) == curved
    assert 0 < lin.area_change.max() <= 1e-4
    assert not lin.unparsable and len(lin.unclosed) == 0
    # the logged change is a true upper bound: against a micrometre-close reference
    meta, table = pyogrio.raw.read_arrow(shared_real / "alkis_full" / f"{name}.gpkg", layer="AX_Flurstueck", columns=[])
    wkb = table.column(meta["geometry_name"]).to_pylist()
    reference = shapely.area(linearise_wkb(wkb, max_deviation=1e-6, max_area_change=None).geometries)
    done = linearise_wkb(wkb)
    true = np.abs(shapely.area(done.geometries) - reference) / reference
    assert (true <= done.area_change * (1 + 1e-6) + 1e-12).all()
    geoms = sf.frame.geometry.to_numpy()
    assert shapely.is_valid(geoms).all()
    ratio = shapely.area(geoms) / sf.frame["amtlicheFlaeche"].to_numpy(dtype=float)
    assert abs(np.median(ratio) - 1) < 0.001


def test_unclosed_rings_of_a_linear_layer_are_closed_under_fix_and_rejected_under_drop(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box as square

    gpd.GeoDataFrame(
        {"ags": ["07999101"]}, geometry=[square(349_000, 5_599_000, 351_000, 5_601_000)], crs="EPSG:25832"
    ).to_file(tmp_path / "gemeinde.gpkg")
    (tmp_path / "gebaeude.csv").write_text(
        "id,wkt\n"
        'a,"POLYGON ((350000 5600000,350010 5600000,350010 5600010,350000 5600010))"\n'
        'b,"POLYGON ((350020 5600000,350030 5600000,350030 5600010,350020 5600000))"\n',
        encoding="utf-8",
    )

    def config(policy: str):
        path = tmp_path / f"{policy}.toml"
        path.write_text(
            textwrap.dedent(f"""\
            [district]
            name = "Ringe"
            [boundaries]
            path = "gemeinde.gpkg"
            ags_field = "ags"
            [[municipalities]]
            ags = "07999101"
            name = "A"
            [[municipalities.sources]]
            id = "gebaeude"
            layer = "buildings"
            path = "gebaeude.csv"
            crs = "EPSG:25832"
            open_options = {{ GEOM_POSSIBLE_NAMES = "wkt", KEEP_GEOM_COLUMNS = "NO" }}
            fields = {{ building_id = "id" }}
            geometry_policy = "{policy}"
            """),
            encoding="utf-8",
        )
        return load_config(path)

    fixed = build_district(config("fix"))
    assert fixed.layers["buildings"]["building_id"].tolist() == ["a", "b"]
    assert shapely.area(fixed.layers["buildings"].geometry.to_numpy()).tolist() == [100.0, 50.0]
    repaired = fixed.issues[fixed.issues["issue_type"] == "repaired-geometry"]
    assert repaired["feature_id"].tolist() == ["a"] and "closed by policy 'fix'" in repaired["message"].iloc[0]
    dropped = build_district(config("drop"))
    assert dropped.layers["buildings"]["building_id"].tolist() == ["b"]
    assert dropped.accounting["balanced"].all()
    unclosed = r"feature 1 \(id .*\): a ring is not closed \(it does not end where it starts\)"
    with pytest.raises(GeometryError, match=unclosed):
        build_district(config("raise"))


def test_a_curve_layer_without_arcs_adds_no_line_to_the_terminal(shared_real, tmp_path, caplog):
    # GDAL types every NAS layer MultiSurface; a class layer without a single arc printed
    # "0 features with circular arcs linearised" on every run, 19 lines of noise for a Gemarkung.
    config = tmp_path / "district.toml"
    config.write_text(
        textwrap.dedent(f"""\
        [district]
        name = "Arcs"
        [boundaries]
        path = "b.gpkg"
        ags_field = "ags"
        [[municipalities]]
        ags = "07999001"
        name = "A"
        [[municipalities.sources]]
        id = "n"
        layer = "land_use"
        path = "{shared_real / "alkis_full" / "monzel_rlp_nas.gpkg"}"
        source_layers = ["AX_Landwirtschaft", "AX_Wald"]
        """),
        encoding="utf-8",
    )
    sources = load_config(config).sources
    expanded = [e for s in sources for e in expand_source(s)[0]]
    with caplog.at_level(logging.INFO, logger="flaechen"):
        curved = {e.id: len(read_source(e).linearised.curved) for e in expanded}
    assert curved == {"n/AX_Landwirtschaft": 0, "n/AX_Wald": 1}
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO and "linearised" in r.getMessage()]
    assert lines == ["n/AX_Wald: 1 features with circular arcs linearised within 0.001 (largest area change 0.0005 %)"]
