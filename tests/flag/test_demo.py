"""On the demo district (flaechen.demo, smallest scale): every planted brownfield is found, and the summary adds up."""

from __future__ import annotations

import pytest

from flaechen.flag import flag, load_rules

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    generate = pytest.importorskip("flaechen.demo.generate")
    from flaechen.config import load_config
    from flaechen.pipeline import build_district

    scale = getattr(generate, "MIN_SCALE", 3_000)  # the smallest demo district
    config = generate.generate_demo(tmp_path_factory.mktemp("demo"), scale=scale, seed=3)
    return build_district(load_config(config))


def test_every_planted_brownfield_is_found(demo):
    result = flag(demo.layers, rules=load_rules(), workers=2)
    cands = result.candidates
    brache = cands[cands["categories"].str.contains("Brachfläche")]
    assert set(demo.layers["brownfields"]["site_id"]) <= set(brache["brownfield_site_id"].dropna())
    assert (brache["reasons"].str.contains("als Brachfläche registriert") | (brache["building_count"] > 0)).all()

    summary = result.summary
    assert set(summary["ags"]) == set(demo.layers["municipalities"]["ags"])
    assert summary["candidates_ha"].sum() == pytest.approx(cands["area_m2"].sum() / 10_000)
    assert summary["candidates_n"].sum() == len(cands)
    by_category = sum(summary[c].sum() for c in summary.columns if c.endswith("_ha") and c != "candidates_ha")
    assert by_category == pytest.approx(summary["candidates_ha"].sum())
    assert summary["inner_m2_per_inhabitant"].notna().all()  # the demo gives every population
