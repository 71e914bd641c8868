"""Brownfield registers as tables of points (XLSX/CSV, any CRS), point sites placed on parcels, register ids
that differ only by leading zeros, and municipality code schemes beyond the AGS (files made in tmp_path)."""

from __future__ import annotations

import textwrap

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import box

from flaechen.codes import check_code, normalise_codes
from flaechen.config import load_config, parse_config
from flaechen.crs import choose_transformation, reproject
from flaechen.errors import ConfigError, SourceError
from flaechen.pipeline import build_district

X0, Y0 = 350_000.0, 5_600_000.0


def _gk(x: float, y: float) -> tuple[float, float]:
    """A point of EPSG:25832 in DHDN / Gauß-Krüger zone 2, as an old register would give it."""
    choice = choose_transformation("EPSG:25832", "EPSG:31466", bounds=(6.8, 50.5, 6.9, 50.6))
    p = reproject(pd.Series([shapely.Point(x, y)]).to_numpy(), choice)[0]
    return p.x, p.y


def _district(tmp_path, register_rows: list[dict], *, fmt: str = "xlsx") -> object:
    src = tmp_path / "sources"
    src.mkdir()
    gpd.GeoDataFrame({"ags": ["07999101"]}, geometry=[box(X0, Y0, X0 + 1000, Y0 + 1000)], crs="EPSG:25832").to_file(
        src / "gemeinde.gpkg"
    )
    gpd.GeoDataFrame(
        {"kennz": ["p1", "p2"]},
        geometry=[box(X0, Y0, X0 + 100, Y0 + 100), box(X0 + 100, Y0, X0 + 200, Y0 + 100)],
        crs="EPSG:25832",
    ).to_file(src / "flurstuecke.gpkg")
    table = pd.DataFrame(register_rows)
    if fmt == "xlsx":
        pyogrio.write_dataframe(table, src / "kataster.xlsx", driver="XLSX")
    else:
        table.to_csv(src / "kataster.csv", index=False, sep=";")
    config = tmp_path / "district.toml"
    config.write_text(
        textwrap.dedent(f"""\
        [district]
        name = "Register"

        [boundaries]
        path = "sources/gemeinde.gpkg"
        ags_field = "ags"

        [[municipalities]]
        ags = "07999101"
        name = "Ahausen"

        [[municipalities.sources]]
        id = "flurstuecke"
        layer = "parcels"
        path = "sources/flurstuecke.gpkg"
        fields = {{ parcel_id = "kennz" }}

        [[municipalities.sources]]
        id = "brachen"
        layer = "brownfields"
        path = "sources/kataster.{fmt}"
        crs = "EPSG:31466"
        x_field = "Rechtswert"
        y_field = "Hochwert"
        fields = {{ site_id = "Nr", site_area_ha = "Flaeche_ha" }}
        """),
        encoding="utf-8",
    )
    return load_config(config)


def _rows():
    inside = _gk(X0 + 50, Y0 + 50)  # in parcel p1
    outside = _gk(X0 + 500, Y0 + 500)  # in no parcel
    return [
        {"Nr": "0137", "Rechtswert": f"{inside[0]:.3f}".replace(".", ","), "Hochwert": inside[1], "Flaeche_ha": "0,9"},
        {"Nr": "137", "Rechtswert": f"{outside[0]:.3f}", "Hochwert": outside[1], "Flaeche_ha": "0,5"},
        {"Nr": "B 7", "Rechtswert": f"{outside[0]:.3f}", "Hochwert": outside[1], "Flaeche_ha": "0,25"},
        {"Nr": "b7", "Rechtswert": f"{outside[0]:.3f}", "Hochwert": outside[1], "Flaeche_ha": ""},
        {"Nr": "ohne", "Rechtswert": "", "Hochwert": None, "Flaeche_ha": "1"},
        {"Nr": "leer", "Rechtswert": f"{outside[0]:.3f}", "Hochwert": outside[1], "Flaeche_ha": ""},
    ]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_register_table_of_points_in_gauss_krueger_is_placed_on_parcels_or_as_circles(tmp_path, fmt):
    dataset = build_district(_district(tmp_path, _rows(), fmt=fmt))
    sites = dataset.layers["brownfields"].set_index("site_id")
    assert sites.index.tolist() == ["0137", "B 7"]
    assert sites.loc["0137", "geometry_source"] == "parcel" and sites.loc["0137", "parcel_id"] == "p1"
    assert sites.loc["0137", "geometry"].equals(dataset.layers["parcels"].set_index("parcel_id").loc["p1", "geometry"])
    assert sites.loc["B 7", "geometry_source"] == "circle"
    assert shapely.area(sites.loc["B 7", "geometry"]) == pytest.approx(2_500, rel=0.01)
    assert shapely.centroid(sites.loc["B 7", "geometry"]).distance(shapely.Point(X0 + 500, Y0 + 500)) < 1.0
    issues = dataset.issues.set_index("feature_id")
    assert issues.loc["137", "issue_type"] == "duplicate-id" and "as '0137'" in issues.loc["137", "message"]
    assert issues.loc["b7", "issue_type"] == "duplicate-id"
    assert issues.loc["ohne", "issue_type"] == "empty-geometry"
    assert issues.loc["leer", "issue_type"] == "point-site-unplaced"
    assert dataset.accounting["balanced"].all()


def test_a_coordinate_field_the_table_lacks_is_named_with_the_fields_it_has(tmp_path):
    rows = [{"Nr": "1", "RW": 1.0, "Hochwert": 2.0, "Flaeche_ha": "1"}]
    with pytest.raises(SourceError, match=r"coordinate field\(s\) 'Rechtswert' not in the table.*Nr, RW"):
        build_district(_district(tmp_path, rows))


@pytest.mark.parametrize(
    ("scheme", "good", "bad"),
    [
        ("ags", ["07231103", "16077001"], ["17000001", "0723110", "7231103x"]),
        ("gss", ["E08000003", "W06000015", "S12000033"], ["E0800003", "X08000003"]),
        ("bfs", ["261", "1", "6621"], ["0", "12345", "ZH"]),
        ("gkz", ["10101", "90001"], ["01010", "1010", "101011"]),
    ],
)
def test_code_schemes_validate_strictly(scheme, good, bad):
    for code in good:
        assert check_code(code, scheme=scheme) is None, code
    for code in bad:
        assert check_code(code, scheme=scheme) is not None, code


def test_codes_read_from_data_are_normalised_per_scheme():
    codes, repaired, bad = normalise_codes(pd.Series(["e08000003 ", "E0800", None]), scheme="gss")
    assert codes.tolist()[:2] == ["E08000003", "E0800"] and bad.tolist() == [False, True, False]
    codes, _, bad = normalise_codes(pd.Series(["0261", 261.0]), scheme="bfs")
    assert codes.tolist() == ["261", "261"] and not bad.any()
    codes, repaired, _ = normalise_codes(pd.Series([7231103]), scheme="ags")
    assert codes.tolist() == ["07231103"] and repaired.tolist() == [True]


def test_the_configuration_validates_municipality_codes_by_the_declared_scheme(tmp_path):
    def raw(scheme, code):
        return {
            "district": {"name": "K", "municipality_codes": scheme},
            "municipalities": [{"ags": code, "name": "A", "boundary": False}],
        }

    assert parse_config(raw("gss", "E08000003"), path=tmp_path / "d.toml").code_scheme == "gss"
    assert parse_config(raw("bfs", "261"), path=tmp_path / "d.toml").municipalities[0].ags == "261"
    with pytest.raises(ConfigError, match=r"municipalities\[A\].ags: '08000003' is not a GSS code.*E, W, S or N"):
        parse_config(raw("gss", "08000003"), path=tmp_path / "d.toml")
    with pytest.raises(ConfigError, match=r"municipalities\[A\].ags: 'E08000003' is not an Amtlicher"):
        parse_config(raw("ags", "E08000003"), path=tmp_path / "d.toml")
    with pytest.raises(ConfigError, match=r"district.municipality_codes: 'nuts' is not a municipality code scheme"):
        parse_config(raw("nuts", "DE1"), path=tmp_path / "d.toml")
    with pytest.raises(ConfigError, match=r"Land \(01–16\)"):
        parse_config(raw("ags", "17000001"), path=tmp_path / "d.toml")
    with pytest.raises(ConfigError, match=r"sources\[bplaene\].plans: selects plans of an XPlanGML file"):
        parse_config(
            {
                **raw("ags", "07999001"),
                "sources": [{"id": "bplaene", "layer": "parcels", "path": "x.gml", "plans": ["A"], "ags_field": "x"}],
            },
            path=tmp_path / "d.toml",
        )


def test_a_table_without_coordinates_configured_is_named_as_such(tmp_path):
    config = _district(tmp_path, _rows())
    text = (
        config.path.read_text(encoding="utf-8")
        .replace('x_field = "Rechtswert"\n', "")
        .replace('y_field = "Hochwert"\n', "")
    )
    config.path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError, match=r"holds no geometry \(a table of Nr, Rechtswert, Hochwert"):
        build_district(load_config(config.path))
