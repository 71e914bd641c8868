import sqlite3

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Polygon

from flaechen.gpkg import update_gpkg, write_gpkg


@pytest.fixture
def squares():
    return gpd.GeoDataFrame(
        {"parcel_id": ["a", "b"]},
        geometry=[Polygon([(0, 0), (1, 0), (1, 1)]), Polygon([(2, 2), (3, 2), (3, 3)])],
        crs="EPSG:25832",
    )


def test_write_gpkg_writes_layers_tables_and_version_1_2(tmp_path, squares):
    path = write_gpkg(tmp_path / "d.gpkg", layers={"parcels": squares}, tables={"issues": pd.DataFrame({"x": [1]})})
    names = dict(pyogrio.list_layers(path))
    assert names["parcels"] == "MultiPolygon"
    assert "issues" in names
    with sqlite3.connect(path) as db:
        (user_version,) = db.execute("PRAGMA user_version").fetchone()
        assert user_version == 10200
        assert (
            db.execute("SELECT count(*) FROM gpkg_extensions WHERE extension_name='gpkg_rtree_index'").fetchone()[0]
            == 1
        )
    assert list(tmp_path.iterdir()) == [path]


def test_failed_write_leaves_previous_file_untouched(tmp_path, squares, monkeypatch):
    path = write_gpkg(tmp_path / "d.gpkg", layers={"parcels": squares})
    before = path.read_bytes()
    real_write = pyogrio.write_dataframe

    def crash_on_second_layer(df, target, **kwargs):
        if kwargs["layer"] == "broken":
            raise OSError("disk full")
        return real_write(df, target, **kwargs)

    monkeypatch.setattr(pyogrio, "write_dataframe", crash_on_second_layer)
    with pytest.raises(OSError, match="disk full"):
        write_gpkg(path, layers={"parcels": squares.iloc[:1], "broken": squares})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["d.gpkg"]


def test_update_gpkg_replaces_one_layer_and_keeps_the_others(tmp_path, squares):
    path = write_gpkg(tmp_path / "d.gpkg", layers={"parcels": squares, "zoning": squares})
    update_gpkg(path, layers={"parcels": squares.iloc[:1]})
    assert len(gpd.read_file(path, layer="parcels")) == 1
    assert len(gpd.read_file(path, layer="zoning")) == 2
