"""One file for the whole district (top-level [[sources]] with ags_field) on the real NRW parcels.

Skips where ../shared/data/real is absent.
"""

from __future__ import annotations

import textwrap

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import box

from conftest import REPO
from flaechen.accounting import data_losses
from flaechen.config import load_config
from flaechen.errors import ConfigError, SourceError
from flaechen.pipeline import build_district


@pytest.mark.real_data
def test_each_parcel_goes_to_its_municipality_and_foreign_ones_are_logged_once_per_ags(shared_real):
    config = load_config(REPO / "tests" / "real" / "district_wide.toml")
    dataset = build_district(config)
    parcels = dataset.layers["parcels"]
    held = pyogrio.read_dataframe(
        shared_real / "alkis" / "nrw_euskirchen_kleve.gpkg", read_geometry=False, columns=["gmdschl"]
    )["gmdschl"].value_counts()
    for m in config.municipalities:
        assert (parcels["ags"] == m.ags).sum() == held[m.ags], m.name
    outside = dataset.issues[
        (dataset.issues["issue_type"] == "outside-district") & (dataset.issues["source_id"] == "alkis-kreis")
    ]
    assert outside[["ags", "value"]].values.tolist() == [
        ["05154012", str(held["05154012"])],
        ["05154052", str(held["05154052"])],
    ]
    assert len(dataset.issues) < 2000  # no entry per filtered feature (25,406 with a `where` per municipality)
    acc = dataset.accounting.set_index("source_id").loc["alkis-kreis"]
    assert acc["read"] == 5000 and acc["kept"] + acc["rejected"] == 5000 and acc["balanced"]
    quality = dataset.quality.set_index("ags")
    assert (abs(quality["median_area_ratio"] - 1) < 0.005).all()


def _config(tmp_path, source: str):
    gpd.GeoDataFrame(
        {"ags": ["07999101", "07999102"]},
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)],
        crs="EPSG:25832",
    ).to_file(tmp_path / "gemeinden.gpkg")
    gpd.GeoDataFrame(
        {"kennz": ["a", "b", "c", "d"], "gkz": [7999101, "07999102", None, "07999199"]},
        geometry=[box(10, 10, 20, 20), box(110, 10, 120, 20), box(30, 30, 40, 40), box(50, 50, 60, 60)],
        crs="EPSG:25832",
    ).to_file(tmp_path / "kreis.gpkg")
    path = tmp_path / "district.toml"
    path.write_text(
        textwrap.dedent("""\
        [district]
        name = "Kreis"
        [boundaries]
        path = "gemeinden.gpkg"
        ags_field = "ags"
        [[municipalities]]
        ags = "07999101"
        name = "A"
        [[municipalities]]
        ags = "07999102"
        name = "B"
        """)
        + textwrap.dedent(source),
        encoding="utf-8",
    )
    return path


def test_codes_read_as_numbers_missing_and_foreign_codes(tmp_path):
    path = _config(
        tmp_path,
        """
        [[sources]]
        layer = "parcels"
        path = "kreis.gpkg"
        ags_field = "gkz"
        fields = { parcel_id = "kennz" }
        """,
    )
    dataset = build_district(load_config(path))
    parcels = dataset.layers["parcels"]
    assert parcels[["parcel_id", "ags"]].values.tolist() == [["a", "07999101"], ["b", "07999102"]]
    issues = dataset.issues.set_index("issue_type")
    assert issues.loc["missing-value", "source_fid"] == 3
    assert issues.loc["outside-district", ["ags", "value"]].tolist() == ["07999199", "1"]
    assert dataset.accounting["balanced"].all()


def test_a_district_wide_source_needs_an_existing_ags_field(tmp_path):
    with pytest.raises(ConfigError, match=r"sources\[district-parcels\].ags_field: is required"):
        load_config(_config(tmp_path, '\n[[sources]]\nlayer = "parcels"\npath = "kreis.gpkg"\n'))
    config = load_config(
        _config(tmp_path, '\n[[sources]]\nlayer = "parcels"\npath = "kreis.gpkg"\nags_field = "gkz_"\n')
    )
    with pytest.raises(SourceError, match="ags_field 'gkz_' is not in the layer \\(did you mean 'gkz'\\?\\)"):
        build_district(config)


@pytest.mark.real_data
def test_a_district_wide_file_that_was_read_completely_lost_nothing(shared_real):
    # The district-wide source has no AGS of its own: its kept parcels were once taken for a municipality ""
    # whose parcels were all rejected, and a complete run ended with "DATA LOST" and status 3.
    dataset = build_district(load_config(REPO / "tests" / "real" / "district_wide.toml"))
    assert dataset.accounting["kept"].sum() > 0
    losses = data_losses(
        dataset.accounting, sources=dataset.sources, parcels=dataset.layers["parcels"], issues=dataset.issues
    )
    assert losses == []


def test_a_district_wide_file_whose_parcels_are_all_rejected_is_a_loss(tmp_path):
    path = _config(
        tmp_path,
        """
        [[sources]]
        id = "kreis-alkis"
        layer = "parcels"
        path = "kreis.gpkg"
        ags_field = "gkz"
        fields = { parcel_id = "kennz" }
        where = "kennz = 'a'"
        geometry_policy = "drop"
        """,
    )
    dataset = build_district(load_config(path))
    kept = dataset.layers["parcels"]
    losses = data_losses(dataset.accounting, sources=dataset.sources, parcels=kept.iloc[0:0], issues=dataset.issues)
    assert losses == []  # the accounting, not the parcels layer, tells what the file kept
    accounting = dataset.accounting.copy()
    accounting.loc[accounting["source_id"] == "kreis-alkis", ["kept", "rejected"]] = [0, 4]
    losses = data_losses(accounting, sources=dataset.sources, parcels=kept.iloc[0:0], issues=dataset.issues)
    assert losses == ["kreis-alkis: all 4 delivered parcels were rejected (filtered 3)."]


@pytest.mark.real_data
def test_a_file_for_a_larger_area_given_to_one_municipality_is_not_called_a_wrong_crs(shared_real, tmp_path):
    # The Görlitz parcels (EPSG:4258, declared in the file, correct) cover three municipalities; one municipality
    # declares the whole file, as a village would a Kreis-wide Ortslage. 1,687 features lie in it, the rest
    # around it: the diagnosis was "its CRS is wrong or undeclared (the coordinates look like degrees …;
    # offset … (-477,919, -5,695,682) m)", which sends the user to change a CRS that is right.
    path = shared_real / "alkis" / "sachsen_goerlitz.gpkg"
    config = tmp_path / "district.toml"
    config.write_text(
        textwrap.dedent(f"""\
        [district]
        name = "Görlitz"
        crs = "EPSG:25833"
        [[municipalities]]
        ags = "14626250"
        name = "Krauschwitz i.d. O.L."
        boundary = {{ path = "{path}", source_layer = "flurstuecke", where = "gmdschl = 14626250" }}
        [[municipalities.sources]]
        id = "ortslage"
        layer = "built_up_area"
        path = "{path}"
        source_layer = "flurstuecke"
        """),
        encoding="utf-8",
    )
    issues = build_district(load_config(config)).issues
    rows = issues[issues["issue_type"] == "source-outside-municipality"]
    assert len(rows) == 5000
    message = rows["message"].iloc[0]
    assert "1,687 features lie in the municipality" in message and "covers a larger area" in message
    assert "CRS is wrong" not in message and "degrees" not in message


@pytest.mark.real_data
def test_a_boundary_file_of_many_parts_per_municipality_keeps_its_issue_log_small(shared_real, tmp_path):
    # The Görlitz parcels as the boundary file (ags_field = gmdschl): 1,687 parts of one municipality. Each
    # part's duplicate-boundary entry listed the areas of all 1,687 parts: 70 MB of issues.csv.
    path = shared_real / "alkis" / "sachsen_goerlitz.gpkg"
    config = tmp_path / "district.toml"
    config.write_text(
        textwrap.dedent(f"""\
        [district]
        name = "Görlitz"
        crs = "EPSG:25833"
        [boundaries]
        path = "{path}"
        source_layer = "flurstuecke"
        ags_field = "gmdschl"
        where = "gmdschl = 14626250"
        [[municipalities]]
        ags = "14626250"
        name = "Krauschwitz i.d. O.L."
        """),
        encoding="utf-8",
    )
    dataset = build_district(load_config(config))
    rows = dataset.issues[dataset.issues["issue_type"] == "duplicate-boundary"]
    assert len(rows) == 1687
    message = rows["message"].iloc[0]
    assert len(message) < 600, message
    assert "1,687 features carry gmdschl = 14626250" in message and "and 1,682 smaller" in message
    assert dataset.layers["municipalities"].geometry.iloc[0].area > 1e7  # still the union of all parts
