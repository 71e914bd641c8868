"""`flaechen evaluate`: reference points and polygons in any CRS against the candidates of a run."""

from __future__ import annotations

import json

import geopandas as gpd
import pyogrio
import pytest
import shapely

from flaechen.cli import main
from flaechen.errors import ConfigError
from flaechen.evaluate import evaluate, parse_mapping
from flaechen.flag import flag_gpkg

from .conftest import CRS, box, district, village, with_street


@pytest.fixture
def run_dir(tmp_path):
    """A run's output folder: a village without a plan (two gaps: a garden, a forest) and a brownfield."""
    parcels, buildings = village(0, 0, skip=[(3, 3), (5, 5)])
    for p in parcels:
        p["actual_use"] = "Wohnbaufläche;900"
    parcels, buildings = with_street(parcels, buildings)
    parcels += [
        {"parcel_id": "GARTEN", "actual_use": "Landwirtschaft / Gartenland;900", "geometry": box(90, 90, 120, 120)},
        {"parcel_id": "WALD", "actual_use": "Wald;900", "geometry": box(150, 150, 180, 180)},
        {"parcel_id": "ZIEGELEI", "actual_use": "Industrie- und Gewerbefläche;900", "geometry": box(0, -40, 40, -15)},
    ]
    layers = district(
        parcels=parcels,
        buildings=buildings,
        brownfields=[{"site_id": "B1", "geometry": box(0, -40, 40, -15)}],
    )
    gpkg = tmp_path / "district.gpkg"
    for name, frame in layers.items():
        pyogrio.write_dataframe(frame, gpkg, layer=name, driver="GPKG", promote_to_multi=True)
    flag_gpkg(gpkg, workers=1)
    return tmp_path


def _reference(tmp_path, rows, crs=CRS, name="survey.gpkg"):
    gdf = gpd.GeoDataFrame({"art": [r[0] for r in rows]}, geometry=[r[1] for r in rows], crs=CRS).to_crs(crs)
    path = tmp_path / name
    gdf.to_file(path, driver="GPKG")
    return path


def test_points_in_another_crs_and_polygons_with_a_mapping(run_dir, tmp_path):
    ref = _reference(
        tmp_path,
        [
            ("Baulücke", shapely.centroid(box(90, 90, 120, 120))),  # the garden: found
            ("Baulücke", shapely.centroid(box(150, 150, 180, 180))),  # the forest: missed, with reasons
            ("Lücke", box(91, 91, 119, 119)),  # a polygon on the garden, mapped
            ("Brache", box(0, -40, 40, -20)),  # 80 % on the brownfield parcel
            ("Grünfläche", shapely.Point(0, 0)),  # no category: listed and ignored
        ],
        crs="EPSG:4326",
    )
    ev = evaluate(run_dir, ref, field="art", mapping={"Lücke": "Baulücke", "Brache": "Brachfläche"})
    t = ev.table
    assert t.loc["Baulücke", "reference"] == 3
    assert t.loc["Baulücke", "found"] == 2
    assert t.loc["Baulücke", "recall"] == pytest.approx(2 / 3)
    assert t.loc["Baulücke", "candidates"] == 1
    assert t.loc["Baulücke", "precision"] == 1.0
    assert t.loc["Brachfläche", "found_same_category"] == 1
    assert ev.unmatched == {"Grünfläche": 1}
    miss = ev.features[~ev.features["found_same_category"]].iloc[0]
    assert miss["parcel_id"] == "WALD"
    assert miss["failed_conditions"] == (
        "bauluecke: kein Bauland: tatsächliche Nutzung Wald schließt Bauland im Innenbereich aus "
        "(bauland.excluded_uses_inside)"
    )
    data = json.loads((run_dir / "evaluation.json").read_text(encoding="utf-8"))
    assert set(data["categories"]["Baulücke"]) == {
        "reference",
        "found",
        "found_same_category",
        "recall",
        "candidates",
        "precision",
    }
    assert data["categories"]["Baulücke"]["found"] == 2
    assert (run_dir / "evaluation.csv").read_text(encoding="utf-8").startswith("category,reference,found,")


def test_csv_files_hold_no_formula(run_dir, tmp_path):
    """evaluation*.csv are opened in spreadsheets: a reference value that looks like a formula stays text."""
    import csv

    formula = '=HYPERLINK("http://example.invalid";"klick")'
    ref = _reference(tmp_path, [(formula, shapely.centroid(box(90, 90, 120, 120)))])
    evaluate(run_dir, ref, field="art", mapping={formula: "Baulücke"})
    with open(run_dir / "evaluation_features.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["reference_value"] == "'" + formula
    cells = [v for path in ("evaluation.csv", "evaluation_features.csv") for v in _cells(run_dir / path)]
    assert cells and not [v for v in cells if v[:1] in ("=", "+", "-", "@", "\t", "\r")]


def _cells(path):
    import csv

    with open(path, newline="", encoding="utf-8") as handle:
        return [v for row in csv.reader(handle) for v in row if v]


def test_the_command_prints_the_table_and_the_misses(run_dir, tmp_path, capsys):
    ref = _reference(tmp_path, [("baulücke", shapely.centroid(box(150, 150, 180, 180)))])
    assert main(["evaluate", str(run_dir), str(ref), "--field", "art"]) == 0
    out = capsys.readouterr().out
    assert "Baulücke" in out and "Misses (1):" in out
    assert "Flurstück WALD" in out


def test_user_errors_are_clean(run_dir, tmp_path, capsys):
    ref = _reference(tmp_path, [("Baulücke", shapely.Point(0, 0))])
    assert main(["evaluate", str(run_dir), str(ref), "--field", "kategorie"]) == 2
    assert "no field 'kategorie'; fields: art" in capsys.readouterr().err
    assert main(["evaluate", str(run_dir), str(ref), "--field", "art", "--map", "x=Wiese"]) == 2
    with pytest.raises(ConfigError):
        parse_mapping("Lücke")
    table = tmp_path / "liste.csv"
    table.write_text("art,name\nBaulücke,a\n", encoding="utf-8")
    assert main(["evaluate", str(run_dir), str(table), "--field", "art"]) == 2
    assert "has no geometry" in capsys.readouterr().err


def test_a_reference_whose_values_name_no_category_is_a_clean_error(run_dir, tmp_path, capsys):
    # A survey with its own words ("Lücke", "Brache") and no --map: every value unmatched, and evaluate ended
    # with "internal error KeyError: 'found_same_category'" (exit 1).
    ref = _reference(
        tmp_path,
        [
            ("Lücke", shapely.centroid(box(90, 90, 120, 120))),
            ("Lücke", shapely.centroid(box(150, 150, 180, 180))),
            ("Brache", shapely.centroid(box(0, -40, 40, -15))),
        ],
    )
    assert main(["evaluate", str(run_dir), str(ref), "--field", "art"]) == 2
    err = capsys.readouterr().err
    assert "no value of field 'art' names a candidate category" in err
    assert "'Lücke' (2), 'Brache' (1)" in err and "--map" in err
    assert (
        main(["evaluate", str(run_dir), str(ref), "--field", "art", "--map", "Lücke=Baulücke,Brache=Brachfläche"]) == 0
    )


def test_a_reference_that_lies_nowhere_in_the_district_is_a_clean_error(run_dir, tmp_path, capsys):
    # A survey of another area (or with a wrong CRS): every feature "kein Flurstück", recall 0 and exit 0 looked
    # like a result.
    far = [("Baulücke", shapely.Point(500_000, 500_000)), ("Baulücke", shapely.Point(500_010, 500_000))]
    ref = _reference(tmp_path, far)
    assert main(["evaluate", str(run_dir), str(ref), "--field", "art"]) == 2
    err = capsys.readouterr().err
    assert "none of its 2 reference features lies on a parcel of the district" in err
    assert not (run_dir / "evaluation.json").exists()
