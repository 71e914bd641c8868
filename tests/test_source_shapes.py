"""Delivery shapes beyond one layer with every field: several layers as one source, no id field, fields a
layer lacks, a municipality's own boundary file (small files made in tmp_path)."""

from __future__ import annotations

import textwrap

import geopandas as gpd
import pytest
from shapely.geometry import box

from flaechen.config import load_config
from flaechen.errors import SourceError
from flaechen.pipeline import build_district, check


def _write(tmp_path, sources: str):
    src = tmp_path / "sources"
    src.mkdir(exist_ok=True)
    path = src / "alkis.gpkg"
    gpd.GeoDataFrame({"schluessel": ["07999101"]}, geometry=[box(0, 0, 100, 100)], crs="EPSG:25832").to_file(
        path, layer="AX_Gemeinde"
    )
    gpd.GeoDataFrame(
        {"gml_id": ["w1", "w2"], "funktion": [1000, 2000]},
        geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)],
        crs="EPSG:25832",
    ).to_file(path, layer="AX_Wohnbauflaeche")
    gpd.GeoDataFrame({"gml_id": ["l1"]}, geometry=[box(20, 0, 30, 10)], crs="EPSG:25832").to_file(
        path, layer="AX_Landwirtschaft"
    )
    gpd.GeoDataFrame({"funktion": [2000, 2000]}, geometry=[box(1, 1, 5, 5), box(6, 1, 9, 5)], crs="EPSG:25832").to_file(
        path, layer="AX_Gebaeude"
    )
    config = tmp_path / "district.toml"
    config.write_text(
        textwrap.dedent("""\
        [district]
        name = "Formen"

        [defaults.land_use]
        fields = { land_use_id = "gml_id", function = "funktion" }

        [[municipalities]]
        ags = "07999101"
        name = "Ahausen"
        boundary = { path = "sources/alkis.gpkg", source_layer = "AX_Gemeinde" }
        """)
        + textwrap.dedent(sources),
        encoding="utf-8",
    )
    return config


def test_class_layers_as_one_source_with_generated_ids_and_fields_a_layer_lacks(tmp_path):
    config = _write(
        tmp_path,
        """
        [[municipalities.sources]]
        id = "nutzung"
        layer = "land_use"
        path = "sources/alkis.gpkg"
        source_layers = ["AX_*"]

        [[municipalities.sources]]
        id = "gebaeude"
        layer = "buildings"
        path = "sources/alkis.gpkg"
        source_layer = "AX_Gebaeude"
        fields = { function = "funktion" }
        """,
    )
    dataset = build_district(load_config(config))
    land_use = dataset.layers["land_use"]
    assert land_use[["land_use_id", "use", "function"]].astype(object).fillna("-").values.tolist() == [
        ["w1", "AX_Wohnbauflaeche", "1000"],
        ["w2", "AX_Wohnbauflaeche", "2000"],
        ["l1", "AX_Landwirtschaft", "-"],
    ]
    issues = dataset.issues.set_index("issue_type")
    assert issues.loc["missing-field", "source_id"] == "nutzung/AX_Landwirtschaft"
    assert issues.loc["skipped-layer", "value"] == "AX_Gemeinde, AX_Gebaeude"
    buildings = dataset.layers["buildings"]
    assert buildings["building_id"].tolist() == ["gebaeude/1", "gebaeude/2"]
    assert issues.loc["generated-id", "source_id"] == "gebaeude"
    assert dataset.layers["municipalities"]["ags"].tolist() == ["07999101"]
    assert dataset.accounting["balanced"].all()


def test_a_missing_field_names_where_the_mapping_comes_from(tmp_path):
    # The source's own `fields`, shared by its class layers, is not "the configuration's defaults": a user
    # looking for a [defaults] table that does not exist was sent the wrong way.
    config = _write(
        tmp_path,
        """
        [[municipalities.sources]]
        id = "nutzung"
        layer = "land_use"
        path = "sources/alkis.gpkg"
        source_layers = ["AX_*"]
        fields = { land_use_id = "gml_id", function = "funktion" }
        """,
    )
    issues = build_district(load_config(config)).issues
    message = issues.set_index("issue_type").loc["missing-field", "message"]
    assert "(mapped to function by source 'nutzung' for all layers of its source_layers)" in message
    text = config.read_text(encoding="utf-8")
    own = text.rindex("fields = { land_use_id")
    config.write_text(text[:own] + "# " + text[own:], encoding="utf-8")  # only [defaults.land_use] maps it
    issues = build_district(load_config(config)).issues
    message = issues.set_index("issue_type").loc["missing-field", "message"]
    assert "(mapped to function by the configuration's defaults)" in message


def test_a_source_mapping_a_field_its_layer_lacks_is_an_error_naming_the_fields(tmp_path):
    config = _write(
        tmp_path,
        """
        [[municipalities.sources]]
        id = "gebaeude"
        layer = "buildings"
        path = "sources/alkis.gpkg"
        source_layer = "AX_Gebaeude"
        fields = { building_id = "gml_id" }
        """,
    )
    with pytest.raises(SourceError, match=r"mapped field\(s\) 'gml_id'.*Its fields: funktion"):
        build_district(load_config(config))


def test_check_reports_patterns_and_layers_the_file_does_not_hold_with_the_layers_it_does(tmp_path):
    config = _write(
        tmp_path,
        """
        [[municipalities.sources]]
        id = "nutzung"
        layer = "land_use"
        path = "sources/alkis.gpkg"
        source_layers = ["AX_Wald*"]

        [[municipalities.sources]]
        id = "gebaeude"
        layer = "buildings"
        path = "sources/alkis.gpkg"
        source_layer = "AX_Gebaude"
        """,
    )
    problems = check(load_config(config))
    assert len(problems) == 2
    assert "'AX_Wald*' matches no layer" in problems[0] and "AX_Wohnbauflaeche" in problems[0]
    assert "no layer 'AX_Gebaude'" in problems[1] and "did you mean 'AX_Gebaeude'" in problems[1]
    assert "AX_Gemeinde" in problems[1]


@pytest.mark.real_data
def test_citygml_buildings_read_as_their_outline_become_footprints(shared_real, tmp_path):
    # The Duisburg-Baerl LoD2 CityGML: GDAL's GML driver takes each Building's lod2TerrainIntersection (3D
    # lines, the outline at ground level), so all 4 buildings were rejected as wrong-geometry-type and the
    # municipality had "keine Gebäudedaten".
    folder = shared_real / "baerl"
    config = tmp_path / "district.toml"
    config.write_text(
        textwrap.dedent(f"""\
        [district]
        name = "Duisburg"
        [[municipalities]]
        ags = "05112000"
        name = "Duisburg"
        boundary = {{ path = "{folder / "alkis_flurstueck_nrw.gml"}", source_layer = "AX_Flurstueck" }}
        [[municipalities.sources]]
        id = "lod2"
        layer = "buildings"
        path = "{folder / "lod2_existing_building.gml"}"
        source_layer = "Building"
        outside_share = 1.0
        """),
        encoding="utf-8",
    )
    dataset = build_district(load_config(config))
    buildings = dataset.layers["buildings"]
    assert len(buildings) == 4 and (buildings.geom_type == "MultiPolygon").all()
    assert sorted(round(a, 1) for a in buildings.area) == [12.5, 28.4, 63.5, 75.0]
    rows = dataset.issues[dataset.issues["issue_type"] == "outline-polygonised"]
    assert len(rows) == 4 and set(rows["value"]) == {"MultiLineString"}
    assert not (dataset.issues["issue_type"] == "wrong-geometry-type").any()
    assert dataset.accounting["balanced"].all()
    assert not list(folder.glob("*.gfs"))


def test_lines_that_enclose_nothing_are_still_rejected_with_the_fix(tmp_path):
    from shapely.geometry import LineString

    src = tmp_path / "sources"
    src.mkdir()
    gpd.GeoDataFrame({"ags": ["07999101"]}, geometry=[box(0, 0, 100, 100)], crs="EPSG:25832").to_file(
        src / "gemeinde.gpkg"
    )
    gpd.GeoDataFrame(
        {"id": ["open", "closed"]},
        geometry=[LineString([(1, 1), (9, 1), (9, 9)]), LineString([(20, 20), (30, 20), (30, 30), (20, 30), (20, 20)])],
        crs="EPSG:25832",
    ).to_file(src / "umrisse.gpkg")
    config = tmp_path / "district.toml"
    config.write_text(
        textwrap.dedent("""\
        [district]
        name = "Umrisse"
        [[municipalities]]
        ags = "07999101"
        name = "Ahausen"
        boundary = { path = "sources/gemeinde.gpkg" }
        [[municipalities.sources]]
        id = "umrisse"
        layer = "buildings"
        path = "sources/umrisse.gpkg"
        fields = { building_id = "id" }
        """),
        encoding="utf-8",
    )
    dataset = build_district(load_config(config))
    assert dataset.layers["buildings"]["building_id"].tolist() == ["closed"]
    assert dataset.layers["buildings"].area.tolist() == [100.0]
    wrong = dataset.issues.set_index("issue_type").loc["wrong-geometry-type"]
    assert wrong["feature_id"] == "open" and "polygon layer" in wrong["message"]
