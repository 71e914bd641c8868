"""The building-density estimate: a gap among buildings stays inside; both window-sum paths agree."""

from __future__ import annotations

import numpy as np
import pytest

from flaechen.flag.innenbereich import building_density
from flaechen.flag.rules import load_rules


def test_dense_and_sparse_window_sums_agree():
    rng = np.random.default_rng(3)
    parcels = rng.uniform([350_000, 5_700_000], [353_000, 5_703_000], size=(2_000, 2))
    buildings = rng.uniform([350_000, 5_700_000], [353_000, 5_703_000], size=(1_500, 2))
    area = rng.uniform(20, 400, 1_500)
    rules = load_rules()
    dense = building_density(parcels, buildings, area, rules=rules)
    sparse = building_density(parcels, buildings, area, rules=rules, max_cells=0)
    assert dense == pytest.approx(sparse, abs=1e-12)
    assert (dense > 0).any()


def test_small_buildings_do_not_count_and_far_parcels_are_outside():
    rules = load_rules()
    cell = 70.0
    parcels = np.array([[cell * 0.5, cell * 0.5], [cell * 50, cell * 50]])
    buildings = np.array([[cell * 1.5, cell * 1.5], [cell * 1.5, cell * 0.5]])
    area = np.array([9_000.0, 50.0])  # the second is a shed under 56.8 m²
    density = building_density(parcels, buildings, area, rules=rules)
    assert density[0] == pytest.approx(9_000.0 / (9 * 4_900.0))
    assert density[1] == 0.0
