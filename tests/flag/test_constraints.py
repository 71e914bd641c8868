"""Hand-made cases for each constraint kind: vector (exclude, lower, no data) and raster (slope, nodata, outside)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import Affine

from flaechen.errors import ConfigError, CRSError
from flaechen.flag import flag, load_constraints, load_rules
from flaechen.flag.constraints import raster_status

from .conftest import CRS, X0, Y0, box, district, frame


@pytest.fixture
def reserves():
    """Five unbuilt 30 m × 30 m parcels on FNP Wohnbaufläche, far from buildings: Außenreserven.

    The municipality delivered buildings (one, far away): without any, no parcel would count as unbuilt.
    """
    parcels = [{"parcel_id": f"P{k}", "geometry": box(40 * k, 0, 40 * k + 30, 30)} for k in range(5)]
    zoning = [{"zoning_id": "W", "allg_art": 1000, "plan_type": "FNP", "geometry": box(-10, -10, 200, 40)}]
    buildings = [{"building_id": "FERN", "geometry": box(2000, 2000, 2015, 2015)}]
    return district(parcels=parcels, zoning=zoning, buildings=buildings)


def _write_vector(path, geoms, crs=CRS):
    frame("brownfields", [{"site_id": str(i), "geometry": g} for i, g in enumerate(geoms)], crs=crs).to_file(
        path, driver="GPKG"
    )


@pytest.fixture
def dgm(tmp_path):
    """A 1 m terrain model over x -5 … 115, y -5 … 35: slope 20 % west of x = 35, flat to x = 75, nodata east."""
    width, height = 120, 40
    x = X0 - 5 + np.arange(width) + 0.5
    z = np.where(x - X0 < 35, 0.2 * (x - X0), 7.0)
    z = np.where(x - X0 >= 75, -9999.0, z)
    data = np.tile(z, (height, 1)).astype("float32")
    path = tmp_path / "dgm.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=width,
        height=height,
        count=1,
        dtype="float32",
        crs=CRS,
        transform=Affine(1.0, 0.0, X0 - 5, 0.0, -1.0, Y0 + 35),
        nodata=-9999.0,
    ) as dst:
        dst.write(data, 1)
    return path


def test_vector_exclude_and_lower_with_reasons(reserves, tmp_path):
    _write_vector(tmp_path / "hq.gpkg", [box(-5, -5, 35, 35)])  # covers P0
    _write_vector(tmp_path / "lsg.gpkg", [box(40, 15, 75, 35)])  # half of P1; its bounds end at x = 75
    section = {
        "constraints": [
            {
                "name": "hq100",
                "label": "Überschwemmungsgebiet",
                "kind": "vector",
                "path": "hq.gpkg",
                "effect": "exclude",
                "extent": "district",
            },
            {
                "name": "lsg",
                "label": "Landschaftsschutzgebiet",
                "kind": "vector",
                "path": "lsg.gpkg",
                "effect": "lower",
                "min_share": 0.25,
            },
        ]
    }
    constraints = load_constraints(section, base_dir=tmp_path, crs=CRS)
    result = flag(reserves, rules=load_rules(), constraints=constraints, workers=1)
    cands = result.candidates.set_index("parcel_id")
    measures = result.measures.set_index("parcel_id")

    assert "P0" not in cands.index
    assert measures.loc["P0", "status"] == "ausgeschlossen"
    assert (
        "Ausschluss durch „Überschwemmungsgebiet“: 100 % der Fläche betroffen (Schwelle über 0 %)."
        in (measures.loc["P0", "reasons"])
    )

    p1 = cands.loc["P1"]
    assert p1["lowered"]
    assert (
        "Nachrangig wegen „Landschaftsschutzgebiet“: 50 % der Fläche betroffen (Schwelle über 25 %)." in p1["reasons"]
    )
    entry = next(e for e in json.loads(p1["reasons_json"]) if e["rule"] == "constraint.lsg")
    assert entry["values"]["status"] == "betroffen"
    assert entry["values"]["share"] == pytest.approx(0.5)

    # P2 … P4 lie outside the protected area's extent (its bounding box): no data, not "free"
    p3 = cands.loc["P3"]
    assert not p3["lowered"]
    assert "„Landschaftsschutzgebiet“: keine Daten für dieses Flurstück" in p3["reasons"]
    assert p3["constraints"] == "Landschaftsschutzgebiet: keine Daten"
    assert result.summary.iloc[0]["lowered_n"] == 1


def test_raster_slope_lowers_steep_parcels_and_says_no_data(reserves, dgm, tmp_path):
    section = {
        "constraints": [
            {
                "name": "hang",
                "label": "Hangneigung",
                "kind": "raster",
                "path": str(dgm),
                "derive": "slope_percent",
                "statistic": "mean",
                "above": 15.0,
                "effect": "lower",
            }
        ]
    }
    constraints = load_constraints(section, base_dir=tmp_path, crs=CRS)
    result = flag(reserves, rules=load_rules(), constraints=constraints, workers=1)
    cands = result.candidates.set_index("parcel_id")
    # P0 (x 0 … 30) on the 20 % slope
    assert cands.loc["P0", "lowered"]
    assert "Nachrangig wegen „Hangneigung“: im Mittel 20,0 % (Schwelle über 15,0 %)." in cands.loc["P0", "reasons"]
    # P1 (x 40 … 70) flat: free, no sentence
    assert not cands.loc["P1", "lowered"]
    assert "Hangneigung" not in cands.loc["P1", "reasons"]
    # P2 (x 80 … 110) on nodata, P3 and P4 outside the raster: no data, never "free"
    for pid in ("P2", "P3", "P4"):
        assert not cands.loc[pid, "lowered"]
        assert "„Hangneigung“: keine Daten für dieses Flurstück" in cands.loc[pid, "reasons"], pid
        assert cands.loc[pid, "constraints"] == "Hangneigung: keine Daten"


def test_raster_statistics_and_tiny_parcels(dgm, tmp_path):
    section = {
        "constraints": [
            {"name": "h", "kind": "raster", "path": str(dgm), "statistic": "max", "below": 1.0, "effect": "exclude"}
        ]
    }
    (c,) = load_constraints(section, base_dir=tmp_path, crs=CRS)
    parcels = np.array(
        [box(0, 0, 30, 30), box(10.2, 10.2, 10.6, 10.6), box(100, 0, 130, 30), box(70, 0, 100, 15), box(60, 15, 90, 30)]
    )
    st = raster_status(c, parcels=parcels, parcel_area=shapely.area(parcels))
    assert st.loc[0, "value"] == pytest.approx(0.2 * 29.5)  # highest pixel centre at x = 29.5
    assert st.loc[0, "status"] == "frei"
    assert st.loc[1, "value"] == pytest.approx(0.2 * 10.5)  # smaller than a pixel: the pixel under it
    assert st.loc[2, "status"] == "keine Daten"
    assert st.loc[3, "status"] == "keine Daten"  # a sixth valid, below min_valid_share 0.5
    assert st.loc[3, "valid_share"] == pytest.approx(1 / 6, abs=0.01)
    assert st.loc[4, "status"] == "frei"  # half valid: enough
    assert st.loc[4, "value"] == pytest.approx(7.0)


def test_raster_in_another_crs_is_refused(dgm, tmp_path):
    section = {"constraints": [{"name": "h", "kind": "raster", "path": str(dgm), "above": 1.0, "effect": "lower"}]}
    with pytest.raises(CRSError, match="gdalwarp -t_srs EPSG:25833"):
        load_constraints(section, base_dir=tmp_path, crs="EPSG:25833")


def test_vector_in_another_crs_is_reprojected(reserves, tmp_path):
    gdf = frame("brownfields", [{"site_id": "1", "geometry": box(-5, -5, 35, 35)}]).to_crs("EPSG:4326")
    gdf.to_file(tmp_path / "hq.gpkg", driver="GPKG")
    section = {"constraints": [{"name": "hq", "kind": "vector", "path": "hq.gpkg", "effect": "exclude"}]}
    (c,) = load_constraints(section, base_dir=tmp_path, crs=CRS)
    assert shapely.area(c.geometries[0]) == pytest.approx(1600, rel=1e-3)


def test_the_flag_section_reports_every_problem_at_once(tmp_path):
    section = {
        "rulez": "x.yaml",
        "rules": "missing.yaml",
        "constraints": [
            {"name": "a", "kind": "raster", "path": "nope.tif", "effect": "drop", "above": 1, "below": 2},
            {"name": "a", "kind": "polygon", "path": "x.gpkg", "effect": "lower", "min_share": 2},
        ],
    }
    with pytest.raises(ConfigError) as err:
        load_constraints(section, base_dir=tmp_path, crs=CRS)
    problems = "\n".join(err.value.problems)
    for text in (
        "flag.rulez: unknown key; fix: did you mean 'rules'?",
        "flag.rules: rules file",
        "missing.yaml does not exist",
        "flag.constraints[a].path: file",
        "nope.tif does not exist",
        "flag.constraints[a].effect: 'drop' is not allowed; fix: use 'exclude' or 'lower'",
        "flag.constraints[a].below: give exactly one of 'above' or 'below'",
        'flag.constraints[a]: \'kind\' must be "vector" or "raster"',
    ):
        assert text in problems, text
    assert len(err.value.problems) >= 6
