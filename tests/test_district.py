"""The one reader of the district dataset: typed by the schemas, only what is asked for, clear errors."""

from __future__ import annotations

import pandas as pd
import pyogrio
import pytest

from conftest import REPO
from flaechen.district import district_contents, read_district, read_layer, resolve_district, schema_dtypes
from flaechen.errors import DistrictError
from flaechen.gpkg import write_gpkg
from flaechen.layers import load_schema
from tests.export.conftest import build_district


@pytest.fixture(scope="module")
def gpkg(tmp_path_factory):
    return build_district(tmp_path_factory.mktemp("district"))


def test_layers_come_back_in_their_schema_types(gpkg):
    data = read_district(gpkg, layers=["municipalities", "buildings", "candidates"])
    assert list(data) == ["municipalities", "buildings", "candidates"]
    for name, frame in data.items():
        for field in load_schema().layer(name).fields:
            if field.name in frame.columns:
                assert str(frame[field.name].dtype) == str(pd.Series([], dtype=field.dtype).dtype), (name, field.name)
    assert data["municipalities"]["ags"].tolist() == ["10044111", "10044112"]
    assert data["municipalities"].crs.to_epsg() == 25832
    assert str(data["buildings"]["state"].dtype) == "Int32"
    assert str(data["candidates"]["contamination_suspected"].dtype) == "boolean"
    assert str(data["buildings"]["source_id"].dtype) == "string"


def test_only_the_columns_asked_for_are_read(gpkg):
    data = read_district(gpkg, layers=["parcels", "issues"], columns={"parcels": ["parcel_id", "ags"]})
    assert list(data["parcels"].columns) == ["parcel_id", "ags", "geometry"]
    assert "owner" not in data["parcels"].columns
    assert not hasattr(data["issues"], "geometry") or "geometry" not in data["issues"].columns
    assert data["issues"]["ags"].tolist() == ["10044111"]
    parcels = read_layer(gpkg, "parcels", columns=[])
    assert list(parcels.columns) == ["geometry"] and len(parcels) > 0


def test_a_folder_reads_its_district_gpkg_and_optional_layers_are_left_out(gpkg):
    data = read_district(gpkg.parent, layers=["municipalities"], optional=["land_use", "not_there"])
    assert set(data) <= {"municipalities", "land_use"} and "not_there" not in data
    everything = read_district(gpkg)
    contents = district_contents(gpkg)
    assert list(everything) == [*contents.layer_names, *contents.tables]
    assert "layer_styles" not in everything
    assert contents.layer_names[0] == "candidates"


def test_tables_carry_their_row_id_on_request(gpkg):
    issues = read_layer(gpkg, "issues", with_fid=True)
    assert issues.columns[0] == "fid" and issues["fid"].tolist() == [1]


def test_missing_file_layer_and_column_are_one_clear_message(gpkg, tmp_path):
    with pytest.raises(DistrictError, match=r"no district dataset here; run `flaechen run CONFIG --out DIR`"):
        read_district(tmp_path / "nothing")
    with pytest.raises(DistrictError, match=r"lacks layer\(s\) zonig; rebuild it with `flaechen run"):
        read_district(gpkg, layers=["zonig"])
    with pytest.raises(DistrictError, match=r"layer 'parcels' lacks the column\(s\) eigentuemer \(see layers/parcels"):
        read_district(gpkg, layers=["parcels"], columns={"parcels": ["eigentuemer"]})
    asked = {"parcels": ["eigentuemer", "ags"]}
    lenient = read_district(gpkg, layers=["parcels"], columns=asked, missing_columns="skip")
    assert list(lenient["parcels"].columns) == ["ags", "geometry"]
    broken = tmp_path / "broken.gpkg"
    broken.write_text("not a geopackage", encoding="utf-8")
    with pytest.raises(DistrictError, match="cannot be read as a GeoPackage"):
        read_district(broken)


def test_no_candidates_says_to_flag_first(gpkg, tmp_path):
    municipalities = pyogrio.read_dataframe(gpkg, layer="municipalities")
    unflagged = write_gpkg(tmp_path / "district.gpkg", layers={"municipalities": municipalities})
    with pytest.raises(DistrictError, match="lacks layer\\(s\\) candidates; run `flaechen flag DIR`"):
        read_district(unflagged, layers=["candidates"])


def test_a_dataset_in_two_crs_and_a_changed_column_are_refused(gpkg, tmp_path):
    municipalities = pyogrio.read_dataframe(gpkg, layer="municipalities")
    parcels = pyogrio.read_dataframe(gpkg, layer="parcels")
    mixed = write_gpkg(
        tmp_path / "mixed.gpkg", layers={"municipalities": municipalities, "parcels": parcels.to_crs(25833)}
    )
    with pytest.raises(DistrictError, match=r"'parcels' is in EPSG:25833, other layers in EPSG:25832; .* one CRS"):
        read_district(mixed)
    numbered = write_gpkg(
        tmp_path / "numbers.gpkg", layers={"municipalities": municipalities.assign(ags=[7999001, 7999002])}
    )
    with pytest.raises(DistrictError, match="column 'ags' holds numbers where the schema keeps text"):
        read_district(numbered)
    edited = municipalities.assign(population=["viele", "wenige"])
    changed = write_gpkg(tmp_path / "changed.gpkg", layers={"municipalities": edited})
    with pytest.raises(DistrictError, match="column 'population' holds values that are not Int64"):
        read_district(changed)


def test_resolve_and_schema_types():
    assert schema_dtypes("parcels")["ags"] == "string"
    assert schema_dtypes("parcels")["source_fid"] == "Int64"
    assert schema_dtypes("issues") == {}
    with pytest.raises(DistrictError, match=r"then pass DIR or DIR/district\.gpkg"):
        resolve_district(REPO / "no-such-output")


@pytest.mark.real_data
def test_the_real_district_reads_back_as_it_was_built(shared_real, tmp_path):
    """The real NRW parcels and the XPlanGML FNP, built and written, come back with their types and values."""
    from flaechen.config import load_config
    from flaechen.pipeline import build_district as build_real

    dataset = build_real(load_config(REPO / "tests" / "real" / "district.toml"))
    path = write_gpkg(tmp_path / "district.gpkg", layers=dataset.layers, tables={"issues": dataset.issues})
    data = read_district(path, layers=["parcels", "zoning"], optional=["municipalities"])
    parcels = data["parcels"]
    assert len(parcels) == len(dataset.layers["parcels"]) == 5000
    assert parcels["ags"].dtype == "string" and parcels["ags"].str.fullmatch(r"0\d{7}").all()  # leading zero kept
    assert set(parcels["parcel_id"]) == set(dataset.layers["parcels"]["parcel_id"])
    zoning = data["zoning"]
    assert str(zoning["allg_art"].dtype) == "Int32"
    assert set(zoning["allg_art"].dropna()) <= {1000, 2000, 3000, 4000, 9999}
    assert str(zoning["source_fid"].dtype) == "Int64"
    assert parcels.crs == dataset.crs
