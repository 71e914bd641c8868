"""ALKIS parcels read straight from NAS files, their CRS (an AdV name) taken from the files.

Skips where ../shared/data/real is absent.
"""

from __future__ import annotations

import pytest

from conftest import REPO
from flaechen.config import load_config
from flaechen.pipeline import build_district, check

pytestmark = pytest.mark.real_data


def test_nas_parcels_build_with_the_crs_the_files_state(shared_real):
    folder = shared_real / "alkis" / "nas"
    before = sorted(p.name for p in folder.iterdir())
    config = load_config(REPO / "tests" / "real" / "nas.toml")
    assert check(config) == []
    dataset = build_district(config)
    assert sorted(p.name for p in folder.iterdir()) == before, "no .gfs file beside the deliveries"
    parcels = dataset.layers["parcels"]
    assert parcels["ags"].value_counts().to_dict() == {"05366020": 10, "06431020": 10}
    assert parcels["parcel_id"].str.fullmatch(r"0[56]\d{4}\d{3}\d{5}[\d_]{4}_*").all()
    assert dataset.accounting["balanced"].all()
    quality = dataset.quality.set_index("ags")
    assert (abs(quality["median_area_ratio"] - 1) < 0.005).all()
    issues = dataset.issues[dataset.issues["layer"] != "municipalities"]  # the boundary files aside
    assert not issues["rejected"].fillna(False).any()
    assert not (issues["issue_type"] == "crs-declared").any()  # nothing declared: the files say it
    # the urn:adv:crs name resolved to UTM 32: the parcels lie in Hellenthal (one of the ten just beyond
    # the generalised VG250 boundary)
    assert not (issues["issue_type"] == "source-outside-municipality").any()
    outside = issues[(issues["issue_type"] == "outside-municipality") & (issues["ags"] == "05366020")]
    assert len(outside) <= 1
