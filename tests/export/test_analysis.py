from types import SimpleNamespace

import matplotlib
import pandas as pd
import pytest

from flaechen.analysis import (
    categories,
    category_colours,
    housing_demand,
    largest_candidates,
    plot_category_hectares,
    plot_demand_coverage,
    plot_per_inhabitant,
    plot_potentials_map,
    plot_potentials_vs_demand,
    potentials_by_municipality,
    potentials_vs_demand,
)
from flaechen.district import read_district
from flaechen.errors import CRSError, DistrictError

matplotlib.use("Agg")


@pytest.fixture
def results(district):
    data = read_district(district, layers=["municipalities", "candidates"], optional=["summary"])
    return SimpleNamespace(**data)


def test_potentials_per_municipality_in_hectares(results):
    table = potentials_by_municipality(results.candidates, results.municipalities)
    assert list(table.index) == ["Neustadt", "Altdorf"]
    assert list(table.columns[:5]) == categories()
    # every synthetic candidate is one hectare; Neustadt has Baulücke and Brachfläche
    assert table.loc["Neustadt", "Baulücke"] == 1.0 and table.loc["Neustadt", "Brachfläche"] == 1.0
    assert table["Summe ha"].sum() == 5.0 and table["Anzahl"].tolist() == [3, 2]
    assert table.loc["Neustadt", "m² je Einwohner"] == pytest.approx(20_000 / 12_000)
    assert table.loc["Altdorf", "m² je Einwohner"] == 0.0


def test_potentials_against_demand(results):
    demand = housing_demand(results.municipalities, per_1000_per_year=2.0, years=10)
    assert demand.to_dict() == {"10044111": 240.0, "10044112": 70.0}
    table = potentials_vs_demand(results.candidates, results.municipalities, per_1000_per_year=2.0, years=10)
    # Neustadt: 12 + 13 + 14 dwellings; Altdorf: 15 (Außenreserve) and 16 (Leerstand)
    assert table["Kapazität innen"].tolist() == [39.0, 16.0]
    assert table["Kapazität Außenreserve"].tolist() == [0.0, 15.0]
    assert table.loc["Altdorf", "Deckung innen"] == pytest.approx(16 / 70)
    with pytest.raises(ValueError, match="years"):
        housing_demand(results.municipalities, years=0)


def test_largest_candidates_carry_their_reasons(results):
    top = largest_candidates(results.candidates, results.municipalities, n=2)
    assert len(top) == 2 and set(top["Gemeinde"]) <= {"Neustadt", "Altdorf"}
    assert top["Begründung"].str.startswith("Das Flurstück").all()


def test_colours_come_from_the_palette(results):
    assert category_colours()["Baulücke"] == "#d7301f"
    assert set(category_colours()) == set(categories())


def test_plots_draw(results):
    table = potentials_by_municipality(results.candidates, results.municipalities)
    demand = potentials_vs_demand(results.candidates, results.municipalities)
    ax = plot_potentials_map(results.candidates, results.municipalities)
    assert len(ax.collections) >= 5
    assert len(plot_category_hectares(table).patches) == 10
    assert len(plot_potentials_vs_demand(demand, outer=True).patches) == 6
    assert len(plot_demand_coverage(demand).patches) == 2
    assert len(plot_per_inhabitant(table).patches) == 2
    matplotlib.pyplot.close("all")


def test_crs_mismatch_and_missing_candidates_are_clean_errors(results, tmp_path):
    with pytest.raises(CRSError, match="to_crs"):
        plot_potentials_map(results.candidates.to_crs(4326), results.municipalities)
    with pytest.raises(DistrictError, match="flaechen run"):
        read_district(tmp_path / "missing.gpkg", layers=["candidates"])
    assert isinstance(results.summary, pd.DataFrame)
