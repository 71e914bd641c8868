"""The demo tells the truth: the flags against the generator's planted candidates and traps."""

from __future__ import annotations

import json

import pyogrio
import pytest

from flaechen.evaluate import ALL, evaluate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    from flaechen.config import load_config
    from flaechen.demo.generate import MIN_SCALE, TRUTH_NAME, generate_demo
    from flaechen.pipeline import run

    root = tmp_path_factory.mktemp("demo_truth")
    config = generate_demo(root / "input", scale=MIN_SCALE, seed=5)
    run(load_config(config), root, publish=False)
    return root, config.parent / TRUTH_NAME


def test_precision_and_recall_on_the_planted_truth(demo_out):
    out, truth = demo_out
    ev = evaluate(out, truth, layer="truth", field="category")
    t = ev.table
    assert set(t.index) == {"Brachfläche", "Leerstand", "Baulücke", "Untergenutzte Fläche", "Außenreserve", ALL}
    overall = t.loc[ALL]
    assert overall["reference"] >= 150
    assert overall["recall"] >= 0.95
    assert overall["recall_same_category"] >= 0.95
    assert overall["precision"] >= 0.95
    for category in ("Brachfläche", "Leerstand", "Baulücke", "Untergenutzte Fläche"):
        assert t.loc[category, "recall"] >= 0.9, category
        assert t.loc[category, "precision"] >= 0.9, category
    data = json.loads((out / "evaluation.json").read_text(encoding="utf-8"))
    assert data["overall"]["recall"] == pytest.approx(overall["recall"], abs=1e-4)
    # every miss says which condition of which rule failed
    misses = ev.features[~ev.features["found_same_category"]]
    assert misses["failed_conditions"].notna().all()


def test_no_planted_non_candidate_is_flagged(demo_out):
    out, truth = demo_out
    traps = pyogrio.read_dataframe(truth, layer="non_candidates")
    assert {"Garten hinter dem Haus", "Straße", "Weg", "bebaut, Gebäude nicht geliefert", "Hofstelle im Dorf"} <= set(
        traps["kind"]
    )
    cands = pyogrio.read_dataframe(out / "district.gpkg", layer="candidates", read_geometry=False)
    flagged = traps[traps["parcel_id"].isin(set(cands["parcel_id"]))]
    assert flagged.empty, flagged[["parcel_id", "kind"]].to_string()


def test_the_municipality_without_a_plan_and_with_land_use_polygons_gets_34_baulücken(demo_out):
    out, _ = demo_out
    cands = pyogrio.read_dataframe(out / "district.gpkg", layer="candidates", read_geometry=False)
    lindenhoeh = cands[cands["ags"] == "07999006"]
    gaps = lindenhoeh[lindenhoeh["category"] == "Baulücke"]
    assert len(gaps) >= 3
    assert gaps["legal_basis"].str.startswith("§34 BauGB: Innenbereich geschätzt (Gebäudedichte ").all()
    assert not lindenhoeh["category"].isin(["Außenreserve", "Untergenutzte Fläche"]).any()
    measures = pyogrio.read_dataframe(out / "district.gpkg", layer="parcel_measures", read_geometry=False)
    sources = measures.groupby("ags")["use_source"].agg(lambda s: set(s.dropna()))
    assert sources["07999006"] == {"land_use"}  # Lindenhöh's land use comes as polygons
    assert sources["07999001"] == {"actual_use"}
    summary = pyogrio.read_dataframe(out / "district.gpkg", layer="summary", read_geometry=False).set_index("ags")
    assert "keine Planungsdaten" in summary.loc["07999006", "not_evaluated"]
    assert summary["capacity_dwellings"].map(float.is_integer).all()
