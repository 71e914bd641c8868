"""England's statutory Brownfield Land Registers (Greater Manchester) build into a district keyed by GSS codes.

Tables of points (latitude/longitude) with the site area in hectares; real defects: 130 Wigan sites without
coordinates, Trafford ids that differ only by a leading zero. Skips where ../shared/data/real is absent.
"""

from __future__ import annotations

import csv

import numpy as np
import pyogrio
import pytest
import shapely

from conftest import REPO
from flaechen.config import load_config
from flaechen.pipeline import build_district

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def england():
    from conftest import SHARED_REAL, require

    require(SHARED_REAL.is_dir(), f"real data folder {SHARED_REAL}", ci_required=False)
    config = load_config(REPO / "tests" / "real" / "england.toml")
    return config, build_district(config)


def _rows(path):
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_register_row_is_accounted_for_against_the_files(england):
    config, dataset = england
    acc = dataset.accounting.set_index("source_id")
    assert acc["balanced"].all()
    for src in config.sources:
        assert acc.loc[src.id, "read"] == len(_rows(src.path)), src.id
    assert len(dataset.layers["brownfields"]) == 1546


def test_municipalities_are_keyed_by_gss_codes_without_made_up_boundaries(england):
    _, dataset = england
    municipalities = dataset.layers["municipalities"]
    assert municipalities["ags"].tolist() == [f"E080000{n:02d}" for n in range(1, 11)]
    assert municipalities.geometry.isna().all()
    assert set(dataset.layers["brownfields"]["ags"]) == set(municipalities["ags"])
    assert (dataset.issues["issue_type"] == "no-boundary").sum() == 10


def test_points_become_circles_of_the_registered_area_in_british_national_grid(england):
    _, dataset = england
    sites = dataset.layers["brownfields"]
    assert dataset.crs.to_epsg() == 27700
    assert (sites["geometry_source"] == "circle").all()
    area_ha = shapely.area(sites.geometry.to_numpy()) / 10_000
    assert np.allclose(area_ha, sites["site_area_ha"].astype(float), rtol=0.01)
    # Greater Manchester lies around 350,000–400,000 E / 385,000–420,000 N
    centres = shapely.centroid(sites.geometry.to_numpy())
    assert np.median(shapely.get_x(centres)) == pytest.approx(383_000, abs=20_000)
    assert np.median(shapely.get_y(centres)) == pytest.approx(398_000, abs=20_000)
    assert set(sites["ownership"].dropna()) == {"public", "private", "unknown"}


def test_real_defects_are_logged_with_their_reason(england):
    _, dataset = england
    issues = dataset.issues
    no_coordinates = issues[
        (issues["issue_type"] == "empty-geometry") & (issues["source_id"] == "wgn-brownfield-register")
    ]
    assert len(no_coordinates) == 130 and no_coordinates["rejected"].all()
    assert no_coordinates["message"].str.contains("longitude / latitude").all()
    duplicates = issues[issues["issue_type"] == "duplicate-id"]
    assert sorted(duplicates["value"]) == ["1601-01", "1601-03"]
    assert duplicates["message"].str.contains("leading zeros").all()
    unplaced = issues[issues["issue_type"] == "point-site-unplaced"]  # Salford: two sites without hectares
    assert unplaced["source_id"].tolist() == ["slf-brownfield-register"] * 2


def test_flaechen_run_builds_the_register_district_without_a_map_site(england, tmp_path):
    from flaechen.pipeline import run

    config, _ = england
    result = run(config, tmp_path / "out")
    assert result.gpkg.is_file() and (tmp_path / "out" / "district.qgz").is_file()
    assert "site" not in result.extras  # no municipality boundaries: no site to build per municipality
    assert len(pyogrio.read_dataframe(result.gpkg, layer="brownfields", read_geometry=False)) == 1546


def test_an_unmapped_register_value_names_the_codes_it_may_be_mapped_to(shared_real, tmp_path):
    # Salford's `ownership` column has the canonical field's name, so it is read without a mapping; its values
    # ("not owned by a public authority") are no codes. The message must say which codes there are.
    config = tmp_path / "district.toml"
    config.write_text(
        f"""[district]
name = "Greater Manchester"
crs = "EPSG:27700"
municipality_codes = "gss"
[[municipalities]]
ags = "E08000006"
name = "Salford"
boundary = false
[[municipalities.sources]]
id = "slf"
layer = "brownfields"
path = "{shared_real / "brownfield_england" / "local-authority-eng-slf.csv"}"
crs = "EPSG:4326"
x_field = "longitude"
y_field = "latitude"
fields = {{ site_id = "site", site_area_ha = "hectares" }}
""",
        encoding="utf-8",
    )
    issues = build_district(load_config(config)).issues
    unknown = issues[issues["issue_type"] == "unknown-code"]
    assert set(unknown["value"]) >= {"not owned by a public authority"}
    assert unknown["message"].str.contains("code list ownership (codes: public, private, unknown)", regex=False).all()
    assert (
        unknown["message"].str.contains('codes = { ownership = { "<delivered value>" = <code> } }', regex=False).all()
    )
