"""End-to-end tests of the district pipeline on the hand-made mini district (tests/mini_district.py)."""

from __future__ import annotations

import shutil
import subprocess

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from mini_district import write_mini_district

from flaechen.config import load_config
from flaechen.pipeline import build_district, run


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    root = tmp_path_factory.mktemp("mini")
    config = load_config(write_mini_district(root))
    result = run(config, root / "out")
    return config, result


def _issues(result, issue_type):
    issues = result.dataset.issues
    return issues[issues["issue_type"] == issue_type]


def test_every_source_balances_read_against_kept_plus_rejected(mini):
    _, result = mini
    acc = result.dataset.accounting
    assert acc["balanced"].all()
    assert set(acc["source_id"]) == {"boundaries", "a-parcels", "a-buildings", "b-parcels", "b-zoning", "b-buildings"}
    parcels = acc.set_index("source_id").loc["a-parcels"]
    assert (parcels["read"], parcels["kept"], parcels["rejected"]) == (
        15,
        11,
        4,
    )  # 10 cells + the repaired bow-tie; empty, no id, duplicate id, border copy


@pytest.mark.parametrize(
    ("issue_type", "source_id", "feature_id", "rejected"),
    [
        ("empty-geometry", "a-parcels", "079101001000510000__", True),
        ("repaired-geometry", "a-parcels", "079101001000500000__", False),
        ("missing-value", "a-parcels", None, True),
        ("duplicate-id", "a-parcels", "079101001000010000__", True),
        ("border-duplicate", "a-parcels", "079102001000000000__", True),
        ("border-duplicate", "b-parcels", "079102001000600000__", True),
        ("unknown-code", "b-zoning", "z3", False),
        ("area-deviation", "b-parcels", "079102001000030000__", False),
        ("outside-district", "boundaries", None, True),  # a municipality of the file not in the district
    ],
)
def test_planted_defect_is_in_the_issue_log(mini, issue_type, source_id, feature_id, rejected):
    _, result = mini
    rows = _issues(result, issue_type)
    rows = rows[rows["source_id"] == source_id]
    rows = rows[rows["feature_id"].isna()] if feature_id is None else rows[rows["feature_id"] == feature_id]
    assert len(rows) == 1, result.dataset.issues
    assert bool(rows["rejected"].iloc[0]) is rejected


def test_a_source_in_the_wrong_crs_is_rejected_whole_with_a_diagnosis(mini):
    _, result = mini
    rows = _issues(result, "source-outside-municipality")
    assert sorted(rows["feature_id"]) == ["w1", "w2", "w3"]
    assert "Gauß-Krüger" in rows["message"].iloc[0]
    assert (result.dataset.layers["buildings"]["source_id"] != "b-buildings").all()


def test_gauss_krueger_shapefile_is_reprojected_with_the_beta2007_grid(mini):
    _, result = mini
    sources = result.dataset.sources.set_index("source_id")
    transformation = sources.loc["b-parcels", "transformation"]
    if shutil.which("dpkg") and not any(
        p.exists() for p in map(__import__("pathlib").Path, ["/usr/share/proj/BETA2007.gsb"])
    ):
        pytest.skip("Debian's proj-data (BETA2007 grid) is not installed")
    assert "DHDN to ETRS89 (8)" in transformation  # EPSG:15948, the BETA2007 NTv2 grid
    assert not _issues(result, "missing-grid")["source_id"].eq("b-parcels").any()


def test_cp1252_umlauts_and_codes_are_harmonised(mini):
    _, result = mini
    parcels = result.dataset.layers["parcels"]
    b = parcels[parcels["source_id"] == "b-parcels"]
    assert set(b["owner"].dropna()) == {"Jürgen Müßig"}
    zoning = result.dataset.layers["zoning"].set_index("zoning_id")
    assert zoning.loc["z1", "bes_art"] == 1200
    assert zoning.loc["z1", "allg_art"] == 1000  # derived from the Baugebiet
    assert zoning.loc["z1", "grz"] == pytest.approx(0.4)  # German decimal comma
    assert pd.isna(zoning.loc["z3", "bes_art"])


def test_harmonised_parcels_are_in_place_in_the_district_crs(mini):
    _, result = mini
    parcels = result.dataset.layers["parcels"]
    assert parcels.crs.to_epsg() == 25832
    b0 = parcels[parcels["parcel_id"] == "079102001000000000__"].geometry.iloc[0]
    # The cell x 351000–351100, y 5600000–5600100 comes back from Gauß-Krüger within a decimetre.
    assert shapely.hausdorff_distance(b0, shapely.box(351_000, 5_600_000, 351_100, 5_600_100)) < 0.1
    assert parcels["parcel_id"].is_unique
    assert set(parcels.geom_type) == {"MultiPolygon"}


def test_gpkg_has_every_layer_and_table_and_matches_the_dataset(mini):
    _, result = mini
    layers = dict(pyogrio.list_layers(result.gpkg))
    for name in ("municipalities", "parcels", "zoning", "brownfields", "buildings", "issues", "accounting", "quality"):
        assert name in layers
    back = gpd.read_file(result.gpkg, layer="parcels")
    assert len(back) == len(result.dataset.layers["parcels"])
    municipalities = gpd.read_file(result.gpkg, layer="municipalities")
    assert municipalities["ags"].tolist() == ["07999101", "07999102"]  # strings with their leading zero
    issues = pd.read_csv(result.issues_csv, dtype={"ags": str})
    assert len(issues) == len(result.dataset.issues)


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL's ogrinfo is not installed")
def test_ogrinfo_reads_every_layer(mini):
    _, result = mini
    out = subprocess.run(["ogrinfo", "-ro", "-al", "-so", str(result.gpkg)], capture_output=True, text=True, check=True)
    for name in ("municipalities", "parcels", "zoning", "brownfields", "buildings", "issues"):
        assert f"Layer name: {name}" in out.stdout


def test_raise_policy_stops_at_the_first_invalid_geometry_naming_it(tmp_path):
    config = load_config(write_mini_district(tmp_path))
    from dataclasses import replace

    from flaechen.errors import GeometryError

    src = replace(config.municipalities[0].sources[0], geometry_policy="raise")
    muni = replace(config.municipalities[0], sources=(src,))
    config = replace(config, municipalities=(muni, config.municipalities[1]))
    with pytest.raises(
        GeometryError, match=r"a\.gpkg\), layer flurstuecke, feature 11 .*Self-intersection.*geometry_policy"
    ):
        build_district(config)


def test_drop_policy_rejects_and_logs_the_invalid_geometry(tmp_path):
    config = load_config(write_mini_district(tmp_path, extra_toml=""))
    from dataclasses import replace

    src = replace(config.municipalities[0].sources[0], geometry_policy="drop")
    muni = replace(config.municipalities[0], sources=(src,))
    config = replace(config, municipalities=(muni, config.municipalities[1]))
    dataset = build_district(config)
    rows = dataset.issues[dataset.issues["issue_type"] == "invalid-geometry"]
    assert rows["feature_id"].tolist() == ["079101001000500000__"]
    assert dataset.accounting["balanced"].all()


def test_a_lost_feature_fails_the_run_loudly(tmp_path, monkeypatch):
    from dataclasses import replace

    import flaechen.pipeline as pipeline
    from flaechen.errors import AccountingError

    real = pipeline.harmonise_source

    def lossy(sf, src, **kwargs):
        result = real(sf, src, **kwargs)
        if src.id == "a-buildings":
            return replace(result, frame=result.frame.iloc[1:])  # silently lose one feature
        return result

    monkeypatch.setattr(pipeline, "harmonise_source", lossy)
    with pytest.raises(AccountingError, match=r"a-buildings: the source holds 2, in dataset 1, rejected 0, unreadable"):
        build_district(load_config(write_mini_district(tmp_path)))


def test_where_filter_keeps_matching_features_and_logs_the_others(tmp_path):
    config_path = write_mini_district(tmp_path)
    text = config_path.read_text(encoding="utf-8")
    text = text.replace('path = "sources/b.shp"', 'path = "sources/b.shp"\nwhere = "NUTZUNG IS NOT NULL"')
    config_path.write_text(text, encoding="utf-8")
    dataset = build_district(load_config(config_path))
    filtered = dataset.issues[
        (dataset.issues["issue_type"] == "filtered") & (dataset.issues["source_id"] == "b-parcels")
    ]
    assert filtered["feature_id"].tolist() == ["079102001000600000__"]  # the one parcel without NUTZUNG
    b = dataset.accounting.set_index("source_id").loc["b-parcels"]
    assert (b["read"], b["kept"], b["rejected"]) == (11, 10, 1)


def test_run_honours_the_export_table_and_load_config_validates_it(tmp_path):
    from flaechen.errors import ConfigError

    config = load_config(write_mini_district(tmp_path, extra_toml='\n[export]\nparquet = "parquet"\n'))
    result = run(config, tmp_path / "out", publish=False)
    assert (tmp_path / "out" / "parquet" / "parcels.parquet").is_file()
    assert result.extras["qgis_project"].name == "district.qgz"
    bad = write_mini_district(tmp_path / "bad", extra_toml='\n[export]\nparquett = "x"\n')
    with pytest.raises(ConfigError, match=r"export\.parquett: unknown key; fix: did you mean 'parquet'\?"):
        load_config(bad)


def test_boundary_ags_read_as_numbers_get_their_leading_zero_back(tmp_path):
    config_path = write_mini_district(tmp_path)
    boundaries = gpd.read_file(tmp_path / "sources" / "gemeinden.geojson")
    boundaries["ags"] = boundaries["ags"].astype(int)  # the trap: AGS stored as integers
    boundaries.to_file(tmp_path / "sources" / "gemeinden.geojson", driver="GeoJSON")
    dataset = build_district(load_config(config_path))
    assert dataset.layers["municipalities"]["ags"].tolist() == ["07999101", "07999102"]
    repaired = dataset.issues[
        (dataset.issues["issue_type"] == "repaired-value") & (dataset.issues["layer"] == "municipalities")
    ]
    assert sorted(repaired["value"]) == ["7999101", "7999102", "7999199"]
    assert sorted(repaired["ags"]) == ["07999101", "07999102", "07999199"]
