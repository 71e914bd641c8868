"""Scenario arithmetic: selection, activation, demand, greenfield saved and the national target path."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from flaechen.errors import ConfigError
from flaechen.plan.scenarios import (
    allowance_ha,
    scenario_results,
    scenario_totals,
    select_potentials,
    target_ha_per_day,
)
from flaechen.plan.settings import PlanningSettings, ScenarioSpec, parse_plan_sections

PLANNING = PlanningSettings(
    base_year=2025, greenfield_density=20.0, demand_per_1000_per_year=3.0, national_population=80_000_000
)

MUNIS = pd.DataFrame(
    [
        {"ags": "07999001", "name": "Nord", "population": 8000},
        {"ags": "07999002", "name": "Süd", "population": 4000},
        {"ags": "07999003", "name": "Ohne Zahl", "population": None},
    ]
)
CANDIDATES = pd.DataFrame(
    [
        # parcel_id, ags, category, area m², dwellings, lowered, constraints
        ("p1", "07999001", "Baulücke", 800.0, 2.0, False, None),
        ("p2", "07999001", "Brachfläche", 20_000.0, 40.0, False, "Hochwasser: betroffen"),
        ("p3", "07999001", "Außenreserve", 30_000.0, 60.0, False, None),
        ("p4", "07999002", "Baulücke", 1_200.0, 3.0, True, "Lärm: betroffen"),
        ("p5", "07999002", "Untergenutzte Fläche", 5_000.0, 10.0, False, "Hochwasser: keine Daten"),
        ("p6", "07999003", "Baulücke", 600.0, 1.0, False, None),
    ],
    columns=["parcel_id", "ags", "category", "area_m2", "capacity_dwellings", "lowered", "constraints"],
)
SITES = pd.DataFrame(
    [
        {"site_id": "07999001-1", "parcel_ids": "p1", "status": "bereit", "availability": "sofort", "state": "aktiv"},
        {
            "site_id": "07999001-2",
            "parcel_ids": "p2;p2b",
            "status": "nicht_bereit",
            "availability": "später",
            "state": "aktiv",
        },
        {
            "site_id": "07999002-1",
            "parcel_ids": "p5",
            "status": "bereit",
            "availability": "bis_5_jahre",
            "state": "aktiv",
        },
        {
            "site_id": "07999002-9",
            "parcel_ids": "p4",
            "status": "bereit",
            "availability": "sofort",
            "state": "entfallen",
        },
    ]
)


def spec(**kw) -> ScenarioSpec:
    return ScenarioSpec(**{"id": "s", "title": "S", "horizon": 2035, **kw})


def test_target_path_30_ha_until_2030_then_linear_to_zero_in_2050():
    assert target_ha_per_day(2026, PLANNING) == 30
    assert target_ha_per_day(2030, PLANNING) == 30
    assert target_ha_per_day(2040, PLANNING) == pytest.approx(15)
    assert target_ha_per_day(2050, PLANNING) == 0 and target_ha_per_day(2060, PLANNING) == 0
    # 8,000 of 80 million inhabitants = 1/10,000; 2026–2030: 5 × 30 × 365; 2031–2035: 28.5+27+25.5+24+22.5 ha/day
    expected = (5 * 30 + 28.5 + 27 + 25.5 + 24 + 22.5) * 365 / 10_000
    assert allowance_ha(population=8000, base_year=2025, horizon=2035, planning=PLANNING) == pytest.approx(expected)


def test_scenario_arithmetic_per_municipality():
    results = scenario_results(CANDIDATES, MUNIS, [spec(activation_share=0.5)], planning=PLANNING)
    r = results.set_index("ags")
    north = r.loc["07999001"]
    # default categories: every inner category (p1, p2), not the Außenreserve
    assert north["selected_n"] == 2
    assert north["activated_ha"] == pytest.approx((800 + 20_000) / 10_000 * 0.5)
    assert north["activated_dwellings"] == pytest.approx(42 * 0.5)
    assert north["demand_dwellings"] == pytest.approx(8000 / 1000 * 3 * 10)
    assert north["demand_covered"] == pytest.approx(21 / 240)
    assert north["greenfield_saved_ha"] == pytest.approx(21 / 20)
    allowance = allowance_ha(population=8000, base_year=2025, horizon=2035, planning=PLANNING)
    assert north["allowance_ha"] == pytest.approx(allowance)
    assert north["saved_share_of_allowance"] == pytest.approx(21 / 20 / allowance)
    assert north["greenfield_taken_ha"] == 0
    nopop = r.loc["07999003"]
    assert pd.isna(nopop["demand_dwellings"]) and pd.isna(nopop["allowance_ha"]) and pd.isna(nopop["demand_covered"])
    assert nopop["greenfield_saved_ha"] == pytest.approx(0.5 / 20)
    totals = scenario_totals(results).iloc[0]
    assert totals["greenfield_saved_ha"] == pytest.approx((42 + 13 + 1) * 0.5 / 20)
    # the district share leaves out the municipality without population on both sides
    known_saved = (42 + 13) * 0.5 / 20
    assert totals["saved_share_of_allowance"] == pytest.approx(
        known_saved / r.loc[["07999001", "07999002"], "allowance_ha"].sum()
    )


def test_activated_ausenreserven_are_greenfield_taken_not_saved():
    results = scenario_results(CANDIDATES, MUNIS, [spec(categories=["Außenreserve", "Baulücke"])], planning=PLANNING)
    north = results.set_index("ags").loc["07999001"]
    assert north["activated_dwellings"] == pytest.approx(62)
    assert north["inner_dwellings"] == pytest.approx(2)
    assert north["greenfield_saved_ha"] == pytest.approx(2 / 20)
    assert north["greenfield_taken_ha"] == pytest.approx(3.0)


def test_selection_by_status_availability_municipality_size_and_constraints():
    ids = lambda s, sites=SITES: sorted(select_potentials(CANDIDATES, s, sites=sites)["parcel_id"])  # noqa: E731
    assert ids(spec(status=["bereit"])) == ["p1", "p5"]  # p4's site is entfallen: its status does not count
    assert ids(spec(status=["unbekannt"])) == ["p4", "p6"]  # not (or no longer) in the register
    assert ids(spec(availability=["sofort"])) == ["p1"]
    assert ids(spec(municipalities=["07999002"])) == ["p4", "p5"]
    assert ids(spec(min_area_m2=1000, max_area_m2=10_000)) == ["p4", "p5"]
    assert ids(spec(exclude_lowered=True)) == ["p1", "p2", "p5", "p6"]
    assert ids(spec(exclude_constraints=["Hochwasser"])) == ["p1", "p4", "p5", "p6"]  # 'keine Daten' is not 'betroffen'
    assert ids(spec(status=["bereit"]), None) == []  # without a register every site is 'unbekannt'


def test_scenario_settings_report_every_problem(tmp_path):
    (tmp_path / "szenarien.toml").write_text(
        '[[scenarios]]\nid = "datei"\ntitle = "Aus der Datei"\nhorizon = 2040\n\n'
        '[[scenarios]]\nid = "innen"\ntitle = "doppelt"\nhorizon = 2040\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err:
        parse_plan_sections(
            assessment={"sheets": 3},
            planning={"base_year": 2025, "scenarios": "szenarien.toml", "greenfield_density": -1},
            scenarios=[
                {"id": "innen", "title": "Innen", "horizon": 2020, "categories": ["Gärten"], "activation_share": 1.5},
                {"id": "b", "title": "B", "horizon": 2030, "status": ["vielleicht"], "farbe": "rot"},
            ],
            base_dir=tmp_path,
        )
    text = "\n".join(err.value.problems)
    for expected in (
        "assessment.sheets",
        "planning.greenfield_density",
        "scenarios[innen].horizon",
        "unknown categories ['Gärten']",
        "scenarios[innen].activation_share",
        "scenarios[b].farbe: unknown key",
        "szenarien.toml: scenarios[innen].id: scenario id 'innen' is used twice",
    ):
        assert expected in text, expected
    a, p, specs = parse_plan_sections(
        assessment=None, planning={"base_year": 2025, "scenarios": "szenarien.toml"}, scenarios=None, base_dir=tmp_path
    )
    assert [s.id for s in specs] == ["datei", "innen"] and p.base_year == 2025 and a.enabled


def test_unknown_register_status_is_refused_where_the_register_code_list_exists():
    from flaechen.layers import layers_dir

    if not (Path(layers_dir()) / "codelists" / "site_status.yaml").is_file():
        pytest.skip("the register's status code list (issue 12) is not in layers/ yet")
    with pytest.raises(ValueError, match="unknown register status"):
        ScenarioSpec(id="x", title="x", horizon=2030, status=["vielleicht"])
