"""The full ALKIS model of two Gemarkungen (Monzel, RLP; Massenheim, Hessen) builds as delivered.

Parcels and buildings with circular arcs, the land use as one layer per ALKIS object class read as one
source (``source_layers = ["AX_*"]``), an AdV CRS name in the configuration, a boundary without an AGS field.
Skips where ../shared/data/real is absent.
"""

from __future__ import annotations

import json

import numpy as np
import pyogrio
import pytest
import shapely

from conftest import REPO
from flaechen.config import load_config
from flaechen.landuse import parcel_land_use
from flaechen.pipeline import build_district

EXPECTED = {
    # configuration: (AGS, parcels, parcels with arcs, buildings, land-use polygons, class layers)
    "monzel": ("07231103", 2369, 41, 827, 1345, 25),
    "massenheim": ("06436006", 2453, 121, 1593, 750, 16),
}

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module", params=sorted(EXPECTED))
def gemarkung(request):
    from conftest import SHARED_REAL, require

    require(SHARED_REAL.is_dir(), f"real data folder {SHARED_REAL}", ci_required=False)
    config = load_config(REPO / "tests" / "real" / f"{request.param}.toml")
    return request.param, config, build_district(config)


def test_every_feature_is_accounted_for_against_the_files_own_counts(gemarkung):
    name, config, dataset = gemarkung
    ags, parcels, _, buildings, land_use, layers = EXPECTED[name]
    acc = dataset.accounting
    assert acc["balanced"].all()
    path = config.sources[0].path
    for row in acc[acc["layer"] != "municipalities"].itertuples():
        layer = row.source_id.split("/", 1)[1] if "/" in row.source_id else None
        layer = layer or {"parcels": "AX_Flurstueck", "buildings": "AX_Gebaeude"}[row.layer]
        assert row.read == pyogrio.read_info(path, layer=layer)["features"], row.source_id
    assert len(dataset.layers["parcels"]) == parcels
    assert len(dataset.layers["buildings"]) == buildings
    assert len(dataset.layers["land_use"]) == land_use
    assert (acc["layer"] == "land_use").sum() == layers
    for frame in dataset.layers.values():
        assert set(frame["ags"]) <= {ags}


def test_median_area_ratio_is_within_half_a_percent(gemarkung):
    name, _, dataset = gemarkung
    quality = dataset.quality.set_index("ags").loc[EXPECTED[name][0]]
    assert quality["with_official_area"] == EXPECTED[name][1]
    assert abs(quality["median_area_ratio"] - 1) < 0.005


def test_arcs_are_linearised_and_logged_once_per_source(gemarkung):
    name, _, dataset = gemarkung
    issues = dataset.issues
    entries = issues[issues["issue_type"] == "linearised-geometry"]
    assert entries["source_id"].is_unique
    parcels = entries[entries["source_id"] == f"{name}-flurstuecke"]
    assert parcels["value"].tolist() == [str(EXPECTED[name][2])]
    changes = entries["message"].str.extract(r"largest area change ([\d.]+)%")[0].astype(float)
    assert (changes <= 0.01).all()
    assert shapely.is_valid(dataset.layers["parcels"].geometry.to_numpy()).all()


def test_land_use_comes_from_the_class_layers_and_gives_every_parcel_its_dominant_use(gemarkung):
    _, _, dataset = gemarkung
    land_use = dataset.layers["land_use"]
    assert (land_use["use"] == land_use["source_layer"]).all()
    skipped = dataset.issues[dataset.issues["issue_type"] == "skipped-layer"]
    assert skipped["value"].tolist() == ["AX_Flurstueck, AX_Gebaeude, AX_Bauteil"]
    missing = dataset.issues[dataset.issues["issue_type"] == "missing-field"]
    assert len(missing) > 0 and set(missing["value"]) == {"funktion"}
    assert not dataset.issues["rejected"].fillna(False).any()
    parcels = dataset.layers["parcels"]
    result = parcel_land_use(parcels, land_use)
    assert result["dominant_use"].notna().all()
    covered = result["use_shares"].map(lambda s: sum(json.loads(s).values()))
    assert np.median(covered) == pytest.approx(1.0, abs=1e-3)


def test_land_use_ids_are_delivered_or_generated_from_source_and_fid(gemarkung):
    name, _, dataset = gemarkung
    land_use = dataset.layers["land_use"]
    assert land_use["land_use_id"].is_unique
    generated = dataset.issues[dataset.issues["issue_type"] == "generated-id"]
    if name == "monzel":  # maps land_use_id = "gml_id"
        assert land_use["land_use_id"].str.startswith("DERP").all()
        assert generated.empty
    else:  # maps none: one info entry per class layer
        assert len(generated) == EXPECTED[name][5]
        wald = land_use[land_use["use"] == "AX_Wald"]
        assert wald["land_use_id"].tolist() == [f"massenheim-nutzung/AX_Wald/{int(wald['source_fid'].iloc[0])}"]


@pytest.mark.parametrize("name", ["monzel", "massenheim", "england", "district_wide"])
def test_check_finds_nothing_wrong_in_the_real_configurations(name):
    from conftest import SHARED_REAL, require
    from flaechen.pipeline import check

    require(SHARED_REAL.is_dir(), f"real data folder {SHARED_REAL}", ci_required=False)
    assert check(load_config(REPO / "tests" / "real" / f"{name}.toml")) == []


def test_check_reports_every_problem_a_read_would_meet_naming_the_layers_a_file_holds(tmp_path):
    from conftest import SHARED_REAL, require
    from flaechen.pipeline import check

    require(SHARED_REAL.is_dir(), f"real data folder {SHARED_REAL}", ci_required=False)
    text = (REPO / "tests" / "real" / "monzel.toml").read_text(encoding="utf-8")
    text = text.replace("../../../shared", str(SHARED_REAL.parent.parent))
    text = text.replace('source_layer = "AX_Gebaeude"', 'source_layer = "AX_Gebäude"')
    text = text.replace('source_layers = ["AX_*"]', 'source_layers = ["AX_*", "AX_Nutzung*"]')
    text = text.replace('id = "monzel-flurstuecke"', 'id = "monzel-flurstuecke"\nwhere = "flaeche > 0"')
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    problems = check(load_config(path))
    assert len(problems) == 3, problems
    text = "\n".join(problems)
    assert "filter where = 'flaeche > 0' is invalid" in text
    (layer,) = [p for p in problems if "no layer 'AX_Gebäude'" in p]
    assert "did you mean 'AX_Gebaeude'" in layer and "AX_Flurstueck" in layer and "AX_Wohnbauflaeche" in layer
    assert "'AX_Nutzung*' matches no layer" in text
