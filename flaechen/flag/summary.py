"""The per-municipality summary: how much land each municipality could reuse before zoning greenfields.

One row per municipality (every municipality of the district, also those without candidates), counting
each candidate once, under its primary category, so the hectares add up to the candidates' areas.
Schema: ``layers/summary.yaml``.

Examples
--------
>>> import pandas as pd
>>> from flaechen.flag.rules import load_rules
>>> cands = pd.DataFrame({"ags": ["05112000"], "category": ["Baulücke"], "area_m2": [20_000.0],
...     "capacity_dwellings": [10.0], "lowered": [False]})
>>> munis = pd.DataFrame({"ags": ["05112000"], "name": ["Duisburg"], "population": [1000]})
>>> row = summarise(cands, munis, rules=load_rules()).iloc[0]
>>> float(row["bauluecke_ha"]), float(row["inner_m2_per_inhabitant"]), float(row["ratio_to_benchmark"])
(2.0, 20.0, 2.0)
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from flaechen.flag.availability import not_evaluated
from flaechen.flag.rules import Rules

log = logging.getLogger(__name__)

CATEGORY_SLUGS = {
    "Brachfläche": "brachflaeche",
    "Leerstand": "leerstand",
    "Baulücke": "bauluecke",
    "Untergenutzte Fläche": "untergenutzt",
    "Außenreserve": "aussenreserve",
}
"""Column prefix of each category in the summary table (ASCII field names)."""

DATA_LABELS = {
    "parcels": "Flurstücke",
    "buildings": "Gebäude",
    "zoning": "Pläne",
    "land_use": "Nutzung",
    "built_up_area": "Innenbereich",
    "brownfields": "Brachflächen",
}
"""German names of the kinds of data a municipality delivers (column data_delivered)."""


def summarise(
    candidates: pd.DataFrame,
    municipalities: pd.DataFrame,
    *,
    rules: Rules,
    availability: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Hectares and counts by category per municipality, with m² per inhabitant and the benchmark.

    Parameters
    ----------
    candidates
        The candidates (columns ags, category, area_m2, capacity_dwellings, lowered).
    municipalities
        The municipalities (ags, name, population).
    rules
        Uses ``summary.benchmark_m2_per_inhabitant`` and ``summary.inner_categories``.
    availability
        Per municipality (index AGS) which data it delivered (:func:`flaechen.flag.availability.availability`):
        gives the columns ``data_delivered``, ``not_evaluated`` and ``innenbereich_basis``.

    Returns
    -------
    pandas.DataFrame
        One row per municipality, columns as in ``layers/summary.yaml``.
    """
    munis = pd.DataFrame(
        {
            "ags": municipalities["ags"].astype("string"),
            "name": municipalities["name"].astype("string") if "name" in municipalities else pd.NA,
            "population": pd.to_numeric(
                municipalities.get("population", pd.Series(pd.NA, index=municipalities.index))
            ).astype("Int64"),
        }
    ).drop_duplicates("ags")
    cand = pd.DataFrame(
        {
            "ags": candidates["ags"].astype("string"),
            "category": candidates["category"].astype("string"),
            "area_m2": pd.to_numeric(candidates["area_m2"]).astype(float),
            "dwellings": pd.to_numeric(candidates["capacity_dwellings"]).astype("Float64").fillna(0).astype(float),
            "lowered": candidates["lowered"].astype("boolean").fillna(False).astype(bool),
        }
    )
    unknown = sorted(set(cand["ags"].dropna()) - set(munis["ags"].dropna()))
    if unknown:
        log.warning("candidates in %d municipalities missing from layer municipalities: %s", len(unknown), unknown)
        munis = pd.concat(
            [munis, pd.DataFrame({"ags": pd.array(unknown, dtype="string"), "name": pd.NA, "population": pd.NA})],
            ignore_index=True,
        ).astype({"population": "Int64"})

    out = munis.set_index("ags")
    grouped = cand.groupby("ags")
    out["candidates_n"] = grouped.size().reindex(out.index).fillna(0).astype("Int32")
    out["candidates_ha"] = (grouped["area_m2"].sum() / 10_000).reindex(out.index).fillna(0.0)
    for category, slug in CATEGORY_SLUGS.items():
        sub = cand[cand["category"] == category].groupby("ags")
        out[f"{slug}_n"] = sub.size().reindex(out.index).fillna(0).astype("Int32")
        out[f"{slug}_ha"] = (sub["area_m2"].sum() / 10_000).reindex(out.index).fillna(0.0)
    out["lowered_n"] = cand[cand["lowered"]].groupby("ags").size().reindex(out.index).fillna(0).astype("Int32")
    out["capacity_dwellings"] = grouped["dwellings"].sum().reindex(out.index).fillna(0.0)

    inner = list(rules["summary.inner_categories"])
    inner_m2 = cand[cand["category"].isin(inner)].groupby("ags")["area_m2"].sum().reindex(out.index).fillna(0.0)
    population = out["population"].astype("Float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        per_inh = (inner_m2.astype("Float64") / population).where(population > 0)
    benchmark = float(rules["summary.benchmark_m2_per_inhabitant"])
    out["inner_m2_per_inhabitant"] = per_inh
    out["benchmark_m2_per_inhabitant"] = benchmark
    out["ratio_to_benchmark"] = (per_inh / benchmark) if benchmark > 0 else pd.NA
    delivered: list[str | None] = []
    missing: list[str | None] = []
    inside: list[str | None] = []
    for code in out.index:
        if availability is None or code not in availability.index:
            delivered.append(None)
            missing.append(None)
            inside.append(None)
            continue
        row = availability.loc[code]
        delivered.append(", ".join(DATA_LABELS[k] for k in DATA_LABELS if bool(row[k])) or "nichts")
        missing.append(not_evaluated(row))
        inside.append(
            "geliefert" if row["built_up_area"] else "geschätzt aus Gebäuden" if row["buildings"] else "unbekannt"
        )
    out["data_delivered"] = pd.array(delivered, dtype="string")
    out["not_evaluated"] = pd.array(missing, dtype="string")
    out["innenbereich_basis"] = pd.array(inside, dtype="string")
    out = out.reset_index()
    floats = [c for c in out.columns if c.endswith("_ha")] + [
        "capacity_dwellings",
        "inner_m2_per_inhabitant",
        "benchmark_m2_per_inhabitant",
        "ratio_to_benchmark",
    ]
    return out.astype({c: "Float64" for c in floats} | {"ags": "string", "name": "string"})
