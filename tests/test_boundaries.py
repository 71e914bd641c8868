"""Municipality boundaries go through the same read and harmonise path as every source.

A ``where`` on ``[boundaries]`` is honoured and its exclusions logged (``filtered``), invalid boundaries are
repaired under the geometry policy and logged (``repaired-geometry``), the transformation used is recorded
(issue ``crs-transformation``, table ``sources``) and each boundary file balances in table ``accounting``.
Tested on the real VG250 boundaries and on small files made in tmp_path.
"""

from __future__ import annotations

import textwrap

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from mini_district import X0, Y0, write_mini_district
from shapely.geometry import Polygon, box

from flaechen.config import load_config
from flaechen.errors import SourceError
from flaechen.pipeline import build_district, check_district

A, B, ELSEWHERE = "07999101", "07999102", "07999199"


def _issues(dataset, issue_type, source_id="boundaries"):
    issues = dataset.issues
    return issues[(issues["issue_type"] == issue_type) & (issues["source_id"] == source_id)]


def _boundary_row(dataset, source_id="boundaries"):
    return dataset.accounting.set_index("source_id").loc[source_id]


@pytest.fixture
def mini_with_boundary_defects(tmp_path):
    """The mini district, its boundary file with an outdated second outline of A (excluded by `where`) and B
    drawn with a spike (an invalid ring that make_valid repairs)."""
    config = write_mini_district(tmp_path)
    b_with_spike = Polygon(
        [
            (X0 + 1000, Y0),
            (X0 + 2000, Y0),
            (X0 + 2000, Y0 + 1000),
            (X0 + 1500, Y0 + 1000),
            (X0 + 1500, Y0 + 1300),  # the spike: out and back along the same line
            (X0 + 1500, Y0 + 1000),
            (X0 + 1000, Y0 + 1000),
        ]
    )
    assert not b_with_spike.is_valid
    gpd.GeoDataFrame(
        {
            "ags": [A, A, B, ELSEWHERE],
            "name": ["Ahausen", "Ahausen (alt)", "Bedorf", "Elsewhere"],
            "stand": ["2024", "1990", "2024", "2024"],
        },
        geometry=[
            box(X0, Y0, X0 + 1000, Y0 + 1000),
            box(X0 - 3000, Y0, X0 - 2000, Y0 + 1000),  # far off: were it united with A, A's parcels would not fit
            b_with_spike,
            box(X0 + 5000, Y0, X0 + 6000, Y0 + 1000),
        ],
        crs="EPSG:25832",
    ).to_crs("EPSG:4326").to_file(tmp_path / "sources" / "gemeinden.geojson", driver="GeoJSON")
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('name_field = "name"\n', 'name_field = "name"\nwhere = "stand = \'2024\'"\n'))
    return config


def test_a_where_on_the_boundaries_is_honoured_and_logged(mini_with_boundary_defects):
    dataset = build_district(load_config(mini_with_boundary_defects))
    municipalities = dataset.layers["municipalities"].set_index("ags")
    assert list(municipalities.index) == [A, B]
    assert municipalities.loc[A].geometry.area == pytest.approx(1_000_000, rel=1e-3)  # not united with 1990's
    filtered = _issues(dataset, "filtered")
    assert filtered["source_fid"].tolist() == [1]
    assert filtered["rejected"].all()
    assert "stand = '2024'" in filtered["message"].iloc[0]
    assert _issues(dataset, "duplicate-boundary").empty


def test_an_invalid_boundary_is_repaired_and_logged(mini_with_boundary_defects):
    dataset = build_district(load_config(mini_with_boundary_defects))
    repaired = _issues(dataset, "repaired-geometry")
    assert repaired["source_fid"].tolist() == [2]
    assert (repaired["layer"] == "municipalities").all() and repaired["ags"].tolist() == [B]
    bedorf = dataset.layers["municipalities"].set_index("ags").loc[B].geometry
    assert bedorf.is_valid and bedorf.geom_type == "MultiPolygon"
    assert shapely.symmetric_difference(bedorf, box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)).area < 1.0  # no spike


def test_the_boundary_file_balances_and_its_transformation_is_recorded(mini_with_boundary_defects):
    dataset = build_district(load_config(mini_with_boundary_defects))
    row = _boundary_row(dataset)
    assert row["layer"] == "municipalities"
    # 4 features: A and B kept, A's outdated outline filtered, Elsewhere outside the district
    assert (row["held"], row["read"], row["kept"], row["rejected"], row["unreadable"]) == (4, 4, 2, 2, 0)
    assert row["balanced"]
    assert len(_issues(dataset, "outside-district")) == 1
    transformation = _issues(dataset, "crs-transformation")
    # a file of several municipalities is harmonised per municipality: one entry each, as for every such file
    assert sorted(transformation["ags"]) == [A, B] and "WGS 84" in transformation["message"].iloc[0]
    sources = dataset.sources.set_index("source_id")
    assert sources.loc["boundaries", "layer"] == "municipalities"
    assert sources.loc["boundaries", "transformation"]


def test_parts_of_one_municipality_are_united_and_counted_as_kept(tmp_path):
    config = write_mini_district(tmp_path)
    path = tmp_path / "sources" / "gemeinden.geojson"
    frame = gpd.read_file(path)
    west, east = box(X0, Y0, X0 + 500, Y0 + 1000), box(X0 + 500, Y0, X0 + 1000, Y0 + 1000)
    parts = gpd.GeoDataFrame(
        {"ags": [A, A], "name": ["Ahausen", "Ahausen"]},
        geometry=[west, east],
        crs="EPSG:25832",
    ).to_crs(frame.crs)
    gpd.GeoDataFrame(pd.concat([frame[frame["ags"] != A], parts], ignore_index=True), crs=frame.crs).to_file(
        path, driver="GeoJSON"
    )
    dataset = build_district(load_config(config))
    ahausen = dataset.layers["municipalities"].set_index("ags").loc[A].geometry
    assert ahausen.area == pytest.approx(1_000_000, rel=1e-3)
    assert len(_issues(dataset, "duplicate-boundary")) == 2
    row = _boundary_row(dataset)
    assert (row["held"], row["kept"], row["rejected"]) == (4, 3, 1) and row["balanced"]


def test_a_municipality_whose_boundary_the_filter_removes_fails_by_name(mini_with_boundary_defects):
    text = mini_with_boundary_defects.read_text(encoding="utf-8")
    mini_with_boundary_defects.write_text(text.replace("stand = '2024'", "stand = '2024' AND ags <> '07999102'"))
    config = load_config(mini_with_boundary_defects)
    with pytest.raises(SourceError, match=r"boundaries .*no feature with ags = '07999102' for municipality Bedorf"):
        build_district(config)
    report = check_district(config)
    assert any("Bedorf" in p for p in report.problems)


def _real_config(tmp_path, shared_real, *, where: str, extra: str = "") -> object:
    config = tmp_path / "district.toml"
    config.write_text(
        textwrap.dedent(f"""\
        [district]
        name = "Kreis Euskirchen (Auszug)"
        crs = "EPSG:25832"

        [boundaries]
        path = "{shared_real / "boundaries" / "vg250_gemeinden_nrw.geojson"}"
        ags_field = "ags"
        name_field = "name"
        where = "{where}"

        [[municipalities]]
        ags = "05366008"
        name = "Blankenheim"

        [[municipalities]]
        ags = "05366012"
        name = "Dahlem"

        [[municipalities]]
        ags = "05366020"
        name = "Hellenthal"
        """)
        + extra,
        encoding="utf-8",
    )
    return config


def test_real_vg250_boundaries_are_filtered_reprojected_and_accounted(tmp_path, shared_real):
    config = load_config(_real_config(tmp_path, shared_real, where="county = 'Euskirchen'"))
    dataset = build_district(config)
    vg250 = gpd.read_file(shared_real / "boundaries" / "vg250_gemeinden_nrw.geojson")
    in_county = int((vg250["county"] == "Euskirchen").sum())
    row = _boundary_row(dataset)
    assert (row["held"], row["read"], row["kept"], row["rejected"]) == (len(vg250), len(vg250), 3, len(vg250) - 3)
    assert row["balanced"]
    assert len(_issues(dataset, "filtered")) == len(vg250) - in_county
    outside = _issues(dataset, "outside-district")
    assert pd_sum(outside["value"]) == in_county - 3  # the county's other municipalities, counted per code
    assert len(_issues(dataset, "crs-transformation")) == 3
    assert dataset.sources.set_index("source_id").loc["boundaries", "transformation"]
    municipalities = dataset.layers["municipalities"].set_index("ags")
    assert municipalities.crs.to_epsg() == 25832
    official = vg250.set_index("ags")["area_km2"]
    for ags, geom in municipalities.geometry.items():
        assert geom.area / 1e6 == pytest.approx(official[ags], rel=0.01)  # in place, in metres


def test_real_vg250_where_excluding_a_declared_municipality_names_it(tmp_path, shared_real):
    extra = '\n[[municipalities]]\nags = "05154012"\nname = "Geldern"\n'  # Kreis Kleve: the filter removes it
    config = load_config(_real_config(tmp_path, shared_real, where="county = 'Euskirchen'", extra=extra))
    report = check_district(config)
    assert len(report.problems) == 1 and "Geldern" in report.problems[0] and "where" in report.problems[0]


def pd_sum(values) -> int:
    return int(pd.to_numeric(values).sum())
