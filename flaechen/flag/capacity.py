"""Capacity of a candidate: floor area and dwellings it could hold, to set against housing demand.

* Where a GFZ is known (from the plan, else BauNVO §17 for the Baugebiet):
  floor area = area × GFZ − existing floor area (footprint × storeys), at least 0;
  dwellings = floor area × ``capacity.residential_share`` of the Baufläche / ``capacity.floor_area_per_dwelling_m2``.
* Where no GFZ is known (no zoning): dwellings = area in ha × ``capacity.density_dwellings_per_ha``;
  floor area = dwellings × ``capacity.floor_area_per_dwelling_m2``.

Examples
--------
>>> import pandas as pd
>>> from flaechen.flag.rules import load_rules
>>> m = pd.DataFrame({"area_m2": [1000.0, 5000.0], "gfz": [1.2, pd.NA], "gfz_source": ["BauNVO §17", pd.NA],
...     "bauflaeche": ["W", pd.NA], "existing_floor_area": [0.0, 0.0]})
>>> capacity(m, rules=load_rules())[["capacity_floor_area", "capacity_dwellings"]].to_numpy().tolist()
[[1200.0, 12.0], [1500.0, 15.0]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flaechen.flag.reasons import de_number
from flaechen.flag.rules import Rules


def capacity(measures: pd.DataFrame, *, rules: Rules) -> pd.DataFrame:
    """Floor area, dwellings and the basis of the estimate for each row of `measures`.

    Returns
    -------
    pandas.DataFrame
        Columns ``capacity_floor_area``, ``capacity_dwellings`` (Float64) and ``capacity_basis`` (text),
        with the index of `measures`.
    """
    area = pd.to_numeric(measures["area_m2"]).astype("Float64").fillna(0).to_numpy(dtype=float)
    gfz = pd.to_numeric(measures["gfz"]).astype("Float64")
    has_gfz = gfz.notna().to_numpy()
    gfz_v = gfz.fillna(0).to_numpy(dtype=float)
    existing = pd.to_numeric(measures["existing_floor_area"]).astype("Float64").fillna(0).to_numpy(dtype=float)
    per_dwelling = float(rules["capacity.floor_area_per_dwelling_m2"])
    shares = rules["capacity.residential_share"]
    share = (
        measures["bauflaeche"]
        .astype("string")
        .map(lambda b: shares.get(b, 0.0), na_action="ignore")
        .astype("Float64")
        .fillna(0.0)
        .to_numpy(dtype=float)
    )
    density = float(rules["capacity.density_dwellings_per_ha"])

    floor_gfz = np.maximum(area * gfz_v - existing, 0.0)
    dwellings_density = area / 10_000.0 * density
    floor = np.where(has_gfz, floor_gfz, dwellings_density * per_dwelling)
    dwellings = np.where(has_gfz, floor_gfz * share / per_dwelling, dwellings_density)

    source = measures["gfz_source"].astype("string").fillna("").to_numpy()
    basis = [
        f"GFZ {de_number(g, 2)} ({s})" if h else f"{de_number(density)} Wohnungen je ha"
        for h, g, s in zip(has_gfz, gfz_v, source, strict=True)
    ]
    return pd.DataFrame(
        {
            "capacity_floor_area": pd.Series(floor, index=measures.index, dtype="Float64"),
            "capacity_dwellings": pd.Series(dwellings, index=measures.index, dtype="Float64"),
            "capacity_basis": pd.Series(basis, index=measures.index, dtype="string"),
        }
    )
