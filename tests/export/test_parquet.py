import json
import subprocess
import sys

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
import pytest
from geopandas.testing import assert_geodataframe_equal

from flaechen.district import read_layer
from flaechen.errors import DistrictError
from flaechen.export import to_parquet

# a reader without flaechen: the import is blocked before geopandas reads the files
READER = """
import json, sys
sys.modules["flaechen"] = None
import geopandas
out = {}
for path in sys.argv[1:]:
    frame = geopandas.read_parquet(path)
    out[path] = [len(frame), frame.crs.to_epsg(), frame["ags"].tolist()]
small = geopandas.read_parquet(sys.argv[1], bbox=(500000, 5600000, 500999, 5601000))
out["bbox"] = sorted(small["ags"].unique().tolist())
print(json.dumps(out))
"""


def test_every_layer_becomes_geoparquet_with_bbox_columns(district, tmp_path):
    paths = to_parquet(district, tmp_path / "parquet")
    names = [p.stem for p in paths]
    assert names == [
        "candidates",
        "municipalities",
        "parcels",
        "zoning",
        "brownfields",
        "buildings",
        "summary",
        "issues",
        "rules",
    ]
    for path in paths[:6]:
        geo = json.loads(pq.read_schema(path).metadata[b"geo"])
        column = geo["columns"]["geometry"]
        assert geo["version"] == "1.1.0"
        assert column["covering"]["bbox"]["xmin"] == ["bbox", "xmin"]
        assert column["crs"]["id"] == {"authority": "EPSG", "code": 25832}
        assert "bbox" in pq.read_schema(path).names
    assert list(tmp_path.joinpath("parquet").iterdir()).__len__() == len(paths)


def test_round_trip_keeps_geometries_and_schema_types(district, tmp_path):
    paths = {p.stem: p for p in to_parquet(district.parent, tmp_path / "parquet")}
    buildings = gpd.read_parquet(paths["buildings"])
    assert str(buildings["state"].dtype) == "Int32"
    assert buildings["state"].isna().sum() == 9
    assert_geodataframe_equal(buildings, read_layer(district, "buildings"))
    issues = pd.read_parquet(paths["issues"])
    assert issues.loc[0, "issue_type"] == "invalid-ags"


def test_files_are_read_by_geopandas_alone_and_filtered_by_bbox(district, tmp_path):
    paths = to_parquet(district, tmp_path / "parquet")
    municipalities = next(p for p in paths if p.stem == "municipalities")
    done = subprocess.run(
        [sys.executable, "-c", READER, str(municipalities), str(paths[0])],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    report = json.loads(done.stdout)
    assert report[str(municipalities)] == [2, 25832, ["10044111", "10044112"]]
    assert report["bbox"] == ["10044111"]


def test_missing_geopackage_is_a_clean_error(tmp_path):
    with pytest.raises(DistrictError, match="no district dataset"):
        to_parquet(tmp_path, tmp_path / "parquet")
