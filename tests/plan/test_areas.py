"""Commercial areas from zoning (merged, stable ids and names) and from a declared layer; real XPlanGML."""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import pytest
from pyproj import CRS
from shapely.geometry import box

from flaechen.errors import SourceError
from flaechen.flag import load_rules
from flaechen.plan.areas import commercial_areas_from_zoning, read_declared_areas
from tests.plan.conftest import AGS, b, gdf


def _zoning(rows):
    return gdf([r[0] for r in rows], [r[1] for r in rows])


def _munis():
    return gdf(
        [{"ags": AGS, "name": "Westdorf", "population": 1}, {"ags": "07999002", "name": "Ostdorf", "population": 1}],
        [b(-1000, -1000, 500, 1000), b(500, -1000, 2000, 1000)],
    )


def _row(zid, ags, plan_type, allg, bes=None, grz=None, name="Plan"):
    return {
        "zoning_id": zid,
        "ags": ags,
        "plan_type": plan_type,
        "plan_name": name,
        "allg_art": allg,
        "bes_art": bes,
        "grz": grz,
    }


def test_overlapping_and_touching_features_merge_across_borders():
    zoning = _zoning(
        [
            (_row("BP-A", AGS, "BPlan", 3000, 1700, 0.6, "Nr. 2 Gewerbepark West"), b(0, 0, 200, 100)),
            (_row("BP-B", AGS, "BPlan", 3000, 1800, None, "Nr. 3 Industrie"), b(200, 0, 300, 100)),  # touches A
            (_row("FNP-C", AGS, "FNP", 3000), b(0, 0, 300, 100)),
            (
                _row("BP-D", "07999002", "BPlan", 3000, 1700, 0.8, "Interkommunal"),
                b(450, 200, 650, 300),
            ),  # across the border
            (_row("BP-E", AGS, "BPlan", 1000, 1200, 0.4), b(0, 500, 100, 600)),  # housing: not commercial
            (_row("FNP-F", AGS, "FNP", 3000), b(-500, -500, -400, -400)),  # FNP only, no name
        ]
    )
    areas = commercial_areas_from_zoning(zoning, _munis(), rules=load_rules())
    assert len(areas) == 3
    a = areas.set_index("area_id")
    assert set(a.index) == {"GG-07999001-01", "GG-07999001-02", "GG-07999002-01"}
    first = a.loc["GG-07999001-01"]  # smallest zoning id BP-A
    assert first["name"] == "Nr. 2 Gewerbepark West" and first["zoning_ids"] == "BP-A;BP-B;FNP-C"
    # GRZ weighted over the B-Plan parts: 0.6 on 20,000 m², BauNVO 0.8 (GI) on 10,000 m²
    assert first["grz"] == pytest.approx((0.6 * 2 + 0.8) / 3) and first["grz_source"] == "Plan und BauNVO §17"
    joint = a.loc["GG-07999002-01"]
    assert joint["municipalities"] == "07999001;07999002" and joint["ags"] == "07999002"
    assert a.loc["GG-07999001-02", "name"] == "Gewerbliche Baufläche Westdorf"
    assert a.loc["GG-07999001-02", "grz_source"] == "BauNVO §17"


def test_ids_do_not_depend_on_feature_order():
    rows = [
        (_row("BP-1", AGS, "BPlan", 3000, 1700, 0.8, "Eins"), b(0, 0, 100, 100)),
        (_row("BP-2", AGS, "BPlan", 3000, 1700, 0.8, "Zwei"), b(300, 0, 400, 100)),
        (_row("BP-3", AGS, "BPlan", 3000, 1700, 0.8, "Drei"), b(0, 300, 100, 400)),
    ]
    forward = commercial_areas_from_zoning(_zoning(rows), _munis(), rules=load_rules())
    backward = commercial_areas_from_zoning(_zoning(rows[::-1]), _munis(), rules=load_rules())
    assert dict(zip(forward["area_id"], forward["name"], strict=True)) == dict(
        zip(backward["area_id"], backward["name"], strict=True)
    )
    assert dict(zip(forward["area_id"], forward["name"], strict=True))["GG-07999001-02"] == "Zwei"


def test_merge_distance_joins_close_features():
    rows = [
        (_row("BP-1", AGS, "BPlan", 3000, 1700, 0.8), b(0, 0, 100, 100)),
        (_row("BP-2", AGS, "BPlan", 3000, 1700, 0.8), b(110, 0, 200, 100)),
    ]
    assert len(commercial_areas_from_zoning(_zoning(rows), _munis(), rules=load_rules())) == 2
    assert len(commercial_areas_from_zoning(_zoning(rows), _munis(), rules=load_rules(), merge_distance_m=15)) == 1


def test_declared_layer_keeps_its_ids_and_names(tmp_path, small_district):
    path = tmp_path / "gebiete.gpkg"
    declared = gpd.GeoDataFrame(
        {"kennung": ["GE-Süd"], "bezeichnung": ["Gewerbepark Süd"]}, geometry=[b(0, 0, 100, 100)], crs="EPSG:25832"
    ).to_crs("EPSG:4326")
    declared.to_file(path, layer="gebiete")
    areas = read_declared_areas(
        path,
        layer="gebiete",
        id_field="kennung",
        name_field="bezeichnung",
        crs=CRS("EPSG:25832"),
        declared_crs=None,
        municipalities=small_district["municipalities"],
        zoning=small_district["zoning"],
        rules=load_rules(),
    )
    a = areas.iloc[0]
    assert (a["area_id"], a["name"], a["ags"]) == ("GE-Süd", "Gewerbepark Süd", AGS)
    assert a["area_m2"] == pytest.approx(10_000, rel=1e-4)
    assert a["grz"] == pytest.approx(0.8)
    with pytest.raises(SourceError, match=r"'id' \(assessment.areas.id_field\) is not in the layer"):
        read_declared_areas(
            path,
            layer="gebiete",
            id_field="id",
            name_field="bezeichnung",
            crs=CRS("EPSG:25832"),
            declared_crs=None,
            municipalities=small_district["municipalities"],
            zoning=small_district["zoning"],
            rules=load_rules(),
        )
    dup = gpd.GeoDataFrame(
        {"kennung": ["X", "X"], "bezeichnung": ["a", "b"]}, geometry=[b(0, 0, 1, 1), b(2, 2, 3, 3)], crs="EPSG:25832"
    )
    dup.to_file(tmp_path / "dup.gpkg")
    with pytest.raises(SourceError, match="'X' is used twice"):
        read_declared_areas(
            tmp_path / "dup.gpkg",
            layer=None,
            id_field="kennung",
            name_field="bezeichnung",
            crs=CRS("EPSG:25832"),
            declared_crs=None,
            municipalities=small_district["municipalities"],
            zoning=small_district["zoning"],
            rules=load_rules(),
        )


@pytest.mark.real_data
def test_real_bremen_bplan_gives_commercial_areas(shared_real):
    """XPlanGML B-Plan Bremen 2070 (Gauß-Krüger zone 3): 37 GE/GI parts, GRZ 0.8 on 35 of them."""
    path = shared_real / "xplan" / "BP_Bremen_2070.gml"
    raw = pyogrio.read_dataframe(path, layer="BP_BaugebietsTeilFlaeche").to_crs("EPSG:25832")
    zoning = gpd.GeoDataFrame(
        {
            "zoning_id": raw["gml_id"].astype(str),
            "ags": "04011000",
            "plan_type": "BPlan",
            "plan_name": "Bremen 2070",
            "allg_art": None,
            "bes_art": raw["besondereArtDerBaulNutzung"].astype(int),
            "grz": raw["GRZ"].astype(float),
        },
        geometry=raw.geometry,
        crs="EPSG:25832",
    )
    minx, miny, maxx, maxy = zoning.total_bounds
    municipalities = gpd.GeoDataFrame(
        {"ags": ["04011000"], "name": ["Bremen"], "population": [570_000]},
        geometry=[box(minx - 100, miny - 100, maxx + 100, maxy + 100)],
        crs="EPSG:25832",
    )
    areas = commercial_areas_from_zoning(zoning, municipalities, rules=load_rules())
    union = zoning.union_all()
    parts = len(getattr(union, "geoms", [union]))
    assert len(areas) == parts < len(zoning)  # touching parts merge: one area per connected piece of land
    assert areas["area_m2"].sum() == pytest.approx(union.area, rel=1e-6)
    assert areas["grz"].astype(float).to_numpy() == pytest.approx([0.8] * len(areas))
    # two parts give no GRZ: their areas name the BauNVO §17 fallback (GE/GI 0.8), the others the plan
    missing = set(zoning.loc[zoning["grz"].isna(), "zoning_id"])
    for row in areas.itertuples():
        has_missing = bool(missing & set(row.zoning_ids.split(";")))
        assert ("BauNVO" in row.grz_source) == has_missing, row.zoning_ids
    assert (areas["grz_source"] == "Plan").sum() >= len(areas) - 2
    assert areas["area_id"].str.match(r"^GG-04011000-\d\d$").all()
    assert (areas["name"] == "Bremen 2070").all()
