"""Capacity of a candidate: the dwellings (whole numbers) and floor area it could hold.

* The municipality's *settlement type* follows from its population (``capacity.settlement_types``:
  Dorf, Kleinstadt, Mittelstadt, Großstadt); its density (``capacity.density_dwellings_per_ha``; BBSR's
  national 25 per hectare where the population is unknown) times the parcel's area in hectares times the
  residential share gives the dwellings. The residential share comes from the plan's Baufläche
  (``capacity.residential_share``: W 1, M 0.5, G and S 0) or, without a plan, from the actual use
  (``capacity.residential_share_by_use``).
* Where the plan itself fixes a GFZ, the floor area it permits (area × GFZ − existing floor area) caps the
  dwellings (``capacity.floor_area_per_dwelling_m2`` each). BauNVO's §17 values are upper limits, not a
  density: they never raise the estimate.
* An under-used parcel holds the dwellings of its area minus those its existing floor area already
  holds; a Leerstand the dwellings of its existing floor area.
* Dwellings are whole numbers (rounded half up); a Baulücke or Außenreserve with housing holds at least one.

Examples
--------
>>> import pandas as pd
>>> from flaechen.flag.rules import load_rules
>>> m = pd.DataFrame({"area_m2": [1000.0, 5000.0], "gfz": [1.2, pd.NA], "gfz_source": ["BauNVO §17", pd.NA],
...     "bauflaeche": ["W", pd.NA], "use": [pd.NA, "Landwirtschaft"], "existing_floor_area": [0.0, 0.0],
...     "category": ["Baulücke", "Baulücke"]})
>>> c = capacity(m, rules=load_rules(), population=pd.Series([2000, 30000]))
>>> c["capacity_dwellings"].tolist(), c["capacity_basis"].tolist()[1]
([2.0, 18.0], '35 Wohnungen je ha (Mittelstadt), Wohnanteil 100 % (Landwirtschaft)')
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flaechen.flag.reasons import de_number, de_percent
from flaechen.flag.rules import Rules

SOURCE_PLAN = "Plan"


def settlement_type(population: pd.Series, *, rules: Rules) -> pd.Series:
    """The settlement type of each population (NA where unknown), by ``capacity.settlement_types``."""
    bounds = sorted(rules["capacity.settlement_types"].items(), key=lambda kv: kv[1])
    pop = pd.to_numeric(population, errors="coerce").astype("Float64")
    out = pd.Series(pd.NA, index=population.index, dtype="string")
    for name, lower in bounds:
        out = out.mask((pop >= lower).fillna(False), name)
    return out


def capacity(measures: pd.DataFrame, *, rules: Rules, population: pd.Series | None = None) -> pd.DataFrame:
    """Dwellings, floor area and the basis of the estimate for each row of `measures`.

    Parameters
    ----------
    measures
        Candidate measures (area_m2, gfz, gfz_source, bauflaeche, use, existing_floor_area, category).
    rules
        The effective rules (section ``capacity``).
    population
        Inhabitants of each row's municipality, aligned with `measures` (unknown: BBSR's national figure).

    Returns
    -------
    pandas.DataFrame
        Columns ``capacity_floor_area``, ``capacity_dwellings`` (Float64, whole dwellings) and
        ``capacity_basis`` (text), with the index of `measures`.
    """
    idx = measures.index
    n = len(measures)

    def num(name: str) -> np.ndarray:
        if name not in measures.columns:
            return np.full(n, np.nan)
        values = pd.to_numeric(measures[name], errors="coerce").astype("Float64")
        return np.asarray(values.to_numpy(dtype=float, na_value=np.nan), dtype=float)

    def txt(name: str) -> pd.Series:
        if name not in measures.columns:
            return pd.Series(pd.NA, index=idx, dtype="string")
        return measures[name].astype("string")

    area = np.nan_to_num(num("area_m2"))
    existing = np.nan_to_num(num("existing_floor_area"))
    gfz = num("gfz")
    plan_gfz = (txt("gfz_source") == SOURCE_PLAN).fillna(False).to_numpy(dtype=bool) & np.isfinite(gfz)
    per_dwelling = float(rules["capacity.floor_area_per_dwelling_m2"])

    pop = population.set_axis(idx) if population is not None else pd.Series(pd.NA, index=idx, dtype="Float64")
    kind = settlement_type(pop, rules=rules)
    densities = rules["capacity.density_dwellings_per_ha"]
    density = kind.map(lambda k: densities.get(k), na_action="ignore").astype("Float64")
    density = density.fillna(float(rules["capacity.default_density_dwellings_per_ha"])).to_numpy(dtype=float)

    bauflaeche = txt("bauflaeche")
    use = txt("use")
    by_plan = rules["capacity.residential_share"]
    by_use = rules["capacity.residential_share_by_use"]
    share_plan = bauflaeche.map(lambda b: by_plan.get(b), na_action="ignore").astype("Float64")
    share_use = use.map(lambda u: by_use.get(u), na_action="ignore").astype("Float64")
    has_plan = bauflaeche.notna().to_numpy()
    share = share_plan.where(bauflaeche.notna(), share_use).fillna(0.0).to_numpy(dtype=float)

    category = txt("category").fillna("").to_numpy(dtype=object)
    gross = area / 10_000.0 * density * share
    existing_dw = existing * share / per_dwelling
    dwellings = np.where(category == "Untergenutzte Fläche", np.maximum(gross - existing_dw, 0.0), gross)
    dwellings = np.where(category == "Leerstand", existing_dw, dwellings)
    permitted = np.maximum(area * np.nan_to_num(gfz) - existing, 0.0)
    cap = np.where(plan_gfz, permitted * share / per_dwelling, np.inf)
    capped = plan_gfz & (cap < dwellings)
    dwellings = np.minimum(dwellings, cap)
    whole = np.floor(dwellings + 0.5)
    at_least_one = np.isin(category, ["Baulücke", "Außenreserve"]) & (share > 0) & (whole < 1) & ~(cap < 1)
    whole = np.where(at_least_one, 1.0, whole)
    floor = np.where(share > 0, whole * per_dwelling, np.where(plan_gfz, permitted, 0.0))

    kinds = kind.to_numpy(dtype=object, na_value=None)
    labels = np.where(
        has_plan, bauflaeche.fillna("").to_numpy(dtype=object), use.fillna("unbekannt").to_numpy(dtype=object)
    )
    basis = []
    for d, k, s, lab, c, g in zip(density, kinds, share, labels, capped, gfz, strict=True):
        text = f"{de_number(d)} Wohnungen je ha ({k or 'Einwohnerzahl unbekannt'}), Wohnanteil {de_percent(s)} ({lab})"
        if c:
            text += f", begrenzt durch GFZ {de_number(g, 2)} (Plan)"
        basis.append(text)
    return pd.DataFrame(
        {
            "capacity_floor_area": pd.Series(floor, index=idx, dtype="Float64"),
            "capacity_dwellings": pd.Series(whole, index=idx, dtype="Float64"),
            "capacity_basis": pd.Series(basis, index=idx, dtype="string"),
        }
    )
