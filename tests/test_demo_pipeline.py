"""The demo district builds into a district dataset with every planted defect in the issue log."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from flaechen.cli import main


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out), "--scale", "3000", "--quiet"]) == 0
    return out


def test_every_planted_defect_is_in_the_issue_log(demo_run):
    import pandas as pd

    issues = pd.read_csv(demo_run / "issues.csv", dtype=str)
    planted = json.loads((demo_run / "input" / "planted_defects.json").read_text(encoding="utf-8"))
    assert len(planted) >= 10
    kinds = {p["issue_type"] for p in planted}
    for required in (
        "invalid-geometry",
        "empty-geometry",
        "border-duplicate",
        "missing-value",
        "duplicate-id",
        "unknown-code",
        "source-outside-municipality",
    ):
        assert required in kinds or (required == "invalid-geometry" and "repaired-geometry" in kinds), required
    missing = []
    for p in planted:
        rows = issues[(issues["issue_type"] == p["issue_type"]) & (issues["source_id"] == p["source_id"])]
        if p.get("feature_id") is not None:
            rows = rows[rows["feature_id"] == str(p["feature_id"])]
        if rows.empty:
            missing.append(p)
    assert not missing, missing


def test_accounting_holds_for_every_source(demo_run):
    import geopandas as gpd

    accounting = gpd.read_file(demo_run / "district.gpkg", layer="accounting")
    assert len(accounting) >= 10
    assert accounting["balanced"].astype(bool).all()
    assert (accounting["read"] == accounting["kept"] + accounting["rejected"]).all()


def test_district_has_at_least_five_municipalities_and_every_layer(demo_run):
    import geopandas as gpd

    municipalities = gpd.read_file(demo_run / "district.gpkg", layer="municipalities")
    assert len(municipalities) >= 5
    assert municipalities["ags"].str.fullmatch(r"\d{8}").all()
    for layer in ("parcels", "zoning", "brownfields", "buildings"):
        assert len(gpd.read_file(demo_run / "district.gpkg", layer=layer, max_features=5)) > 0, layer


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL's ogrinfo is not installed")
def test_ogrinfo_reads_every_layer_of_the_demo(demo_run):
    out = subprocess.run(
        ["ogrinfo", "-ro", "-so", "-al", str(demo_run / "district.gpkg")], capture_output=True, text=True, check=True
    ).stdout
    for name in ("municipalities", "parcels", "zoning", "brownfields", "buildings", "issues"):
        assert f"Layer name: {name}" in out
