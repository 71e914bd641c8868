"""Analyses for district planners and analysts: potentials per municipality and against housing demand.

The functions behind the notebooks in `notebooks/`; they take and return frames (read with the one
reader, :func:`flaechen.district.read_district`), so they work in a notebook, a script or a report
alike. Plotting needs matplotlib (``pip install 'flaechen[dev]'``); it is imported only when a plot is
drawn. Colours come from the one palette (``layers/palette.yaml``), so charts, the map site and the QGIS
project agree.

Examples
--------
>>> from flaechen.district import read_district
>>> from flaechen.analysis import demo_output, potentials_by_municipality
>>> data = read_district(demo_output("out/demo"), layers=["municipalities", "candidates"])
>>> table = potentials_by_municipality(data["candidates"], data["municipalities"])
>>> table.index.name, table.columns[-1]
('Gemeinde', 'm² je Einwohner')
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from flaechen import palette
from flaechen.district import DISTRICT_FILE, resolve_district
from flaechen.errors import CRSError, DistrictError
from flaechen.layers import load_schema

if TYPE_CHECKING:
    from matplotlib.axes import Axes

log = logging.getLogger(__name__)

OUTER_CATEGORIES = ("Außenreserve",)
"""Primary categories outside the built-up area; the capacity of every other category counts as inner."""

BENCHMARK_CATEGORIES = ("Brachfläche", "Baulücke")
"""Categories compared with the national benchmark per inhabitant, as in the flagging rules
(`summary.inner_categories` in layers/rules.yaml): the BBSR Baulandumfrage 2020 counted Baulücken and
Brachflächen."""

BENCHMARK_M2_PER_INHABITANT = 10.0
"""National benchmark of inner development potential per inhabitant (BBSR Baulandumfrage 2020: about
10 m²/inhabitant); the `summary` table of a run carries the value its rules used."""

DEMAND_PER_1000_PER_YEAR = 3.0
"""Default new-dwelling demand per 1,000 inhabitants and year: an assumption in the order of magnitude of
national forecasts (the BBSR Wohnungsbedarfsprognose puts the need at roughly a quarter of a million new
dwellings a year for about 83 million inhabitants until 2030). Replace it with the district's own
housing-demand forecast: demand differs a lot between growing and shrinking regions."""

DEMAND_YEARS = 10
"""Default planning horizon in years (an FNP is typically drawn up for 10 to 15 years)."""


DEMO_OUTPUT = "out/demo"
"""Where ``make demo`` (``flaechen demo --out out/demo``) writes the demo district, from the repository root."""

DISTRICT_ENV = "FLAECHEN_DISTRICT"
"""Environment variable naming another output folder for the notebooks (a district's own run)."""


def demo_output(path: str | os.PathLike[str] | None = None) -> Path:
    """The district dataset the notebooks analyse: `path`, else ``$FLAECHEN_DISTRICT``, else ``out/demo``.

    ``out/demo`` is looked for in the current folder and its parents (a notebook runs in ``notebooks/``).

    Raises
    ------
    DistrictError
        Where no district dataset is there; the message says to run ``make demo`` first.

    Examples
    --------
    >>> demo_output("out/demo")
    PosixPath('out/demo/district.gpkg')
    """
    chosen = path if path is not None else os.environ.get(DISTRICT_ENV)
    if chosen is None:
        here = Path.cwd().resolve()
        found = [folder / DEMO_OUTPUT for folder in (here, *here.parents)]
        chosen = next((c for c in found if (c / DISTRICT_FILE).is_file()), Path(DEMO_OUTPUT))
    try:
        return resolve_district(chosen)
    except DistrictError:
        raise DistrictError(
            f"{chosen}: no district dataset here; build the demo district with `make demo` (or "
            f"`flaechen demo --out {DEMO_OUTPUT}`) in the repository, or set {DISTRICT_ENV} to the output folder "
            "of a `flaechen run`"
        ) from None


def categories() -> list[str]:
    """The candidate categories in the order of the code list (German names, as in the data)."""
    return list(load_schema().codelist("candidate_category").values)


def category_colours() -> dict[str, str]:
    """Colour of each candidate category as a hex string: the one palette (``layers/palette.yaml``) that
    the QGIS style and the map site use too."""
    return dict(palette.category_colours())


def chart_colours() -> dict[str, str]:
    """The charts' colours (demand, coverage, reference lines, …) from the one palette (section ``charts``)."""
    return dict(palette.colours("charts"))


def _check_same_crs(candidates: gpd.GeoDataFrame, municipalities: gpd.GeoDataFrame) -> None:
    if candidates.crs != municipalities.crs:
        raise CRSError(
            f"candidates ({candidates.crs}) and municipalities ({municipalities.crs}) are in different CRSs; "
            "reproject one with .to_crs(other.crs) first"
        )


def potentials_by_municipality(
    candidates: pd.DataFrame,
    municipalities: pd.DataFrame,
    *,
    benchmark_categories: tuple[str, ...] = BENCHMARK_CATEGORIES,
) -> pd.DataFrame:
    """Potentials per municipality: hectares per category, count, total and m² per inhabitant.

    Parameters
    ----------
    candidates
        The `candidates` layer (columns ``ags``, ``category``, ``area_m2``).
    municipalities
        The `municipalities` layer (columns ``ags``, ``name``, ``population``).
    benchmark_categories
        Categories counted in ``m² je Einwohner``.

    Returns
    -------
    DataFrame
        One row per municipality (index: name, in AGS order) with German column labels: hectares per
        category, ``Summe ha``, ``Anzahl``, ``Einwohner`` and ``m² je Einwohner`` (the categories in
        `benchmark_categories` per inhabitant, comparable with the national benchmark of about 10 m²).
        Municipalities without candidates show zeros.

    Examples
    --------
    >>> from flaechen.district import read_district
    >>> layers = read_district("out/demo", layers=["candidates", "municipalities"])
    >>> table = potentials_by_municipality(layers["candidates"], layers["municipalities"])
    >>> list(table.index)
    ['Hohenmaar', 'Mühlental', 'Kelberath', 'Wiesenau', 'Steinbüchel', 'Lindenhöh']
    >>> bool((table["Summe ha"] > 0).all()), list(table.columns[-3:])
    (True, ['Anzahl', 'Einwohner', 'm² je Einwohner'])
    """
    names = municipalities.set_index("ags").sort_index()
    hectares = (
        pd.DataFrame(candidates)
        .assign(ha=lambda f: f["area_m2"].astype(float) / 10_000)
        .pivot_table(index="ags", columns="category", values="ha", aggfunc="sum", fill_value=0.0)
        .reindex(index=names.index, columns=categories(), fill_value=0.0)
        .astype(float)
    )
    table = hectares.copy()
    table["Summe ha"] = hectares.sum(axis=1)
    table["Anzahl"] = candidates.groupby("ags").size().reindex(names.index, fill_value=0).astype(int)
    population = pd.to_numeric(names["population"], errors="coerce")
    table["Einwohner"] = population.astype("Int64")
    inner = hectares[[c for c in hectares.columns if c in benchmark_categories]].sum(axis=1)
    table["m² je Einwohner"] = (inner * 10_000 / population).where(population > 0)
    table.index = pd.Index(names["name"].astype(str), name="Gemeinde")
    table.columns.name = None
    return table


def largest_candidates(candidates: pd.DataFrame, municipalities: pd.DataFrame, *, n: int = 10) -> pd.DataFrame:
    """The `n` largest candidates with municipality, category, area in m² and the reasons in German."""
    names = municipalities.set_index("ags")["name"].astype(str)
    top = pd.DataFrame(candidates).nlargest(n, "area_m2")
    return pd.DataFrame(
        {
            "Gemeinde": top["ags"].map(names).to_numpy(),
            "Flurstück": top["parcel_id"].to_numpy(),
            "Kategorie": top["category"].to_numpy(),
            "Fläche m²": top["area_m2"].astype(float).round(0).to_numpy(),
            "Begründung": top["reasons"].to_numpy(),
        }
    )


def housing_demand(
    municipalities: pd.DataFrame,
    *,
    per_1000_per_year: float = DEMAND_PER_1000_PER_YEAR,
    years: int = DEMAND_YEARS,
) -> pd.Series:
    """Estimated new-dwelling demand per municipality (index: AGS) over a planning horizon.

    ``population / 1000 × per_1000_per_year × years``; a municipality without a population gets NA.
    The defaults are assumptions (see :data:`DEMAND_PER_1000_PER_YEAR`): pass the district's own figures.
    """
    if per_1000_per_year < 0 or years <= 0:
        raise ValueError("per_1000_per_year must be >= 0 and years > 0")
    population = pd.to_numeric(municipalities.set_index("ags")["population"], errors="coerce")
    return (population / 1000 * per_1000_per_year * years).rename("Wohnungsbedarf")


def potentials_vs_demand(
    candidates: pd.DataFrame,
    municipalities: pd.DataFrame,
    *,
    per_1000_per_year: float = DEMAND_PER_1000_PER_YEAR,
    years: int = DEMAND_YEARS,
) -> pd.DataFrame:
    """Dwelling capacity of the potentials against the housing demand, per municipality.

    Returns
    -------
    DataFrame
        Index: municipality name; columns ``Einwohner``, ``Wohnungsbedarf`` (see
        :func:`housing_demand`), ``Kapazität innen`` and ``Kapazität Außenreserve`` (estimated dwellings
        of the candidates, from their ``capacity_dwellings``), all in whole dwellings (summed, then
        rounded), and ``Deckung innen``: the share of the demand the inner potentials could house (1 = all
        of it).
    """
    names = municipalities.set_index("ags").sort_index()
    frame = pd.DataFrame(candidates)
    outer = frame["category"].isin(OUTER_CATEGORIES)
    capacity = pd.to_numeric(frame["capacity_dwellings"], errors="coerce").fillna(0.0)
    inner_capacity = capacity[~outer].groupby(frame.loc[~outer, "ags"]).sum()
    outer_capacity = capacity[outer].groupby(frame.loc[outer, "ags"]).sum()
    demand = housing_demand(municipalities, per_1000_per_year=per_1000_per_year, years=years)
    table = pd.DataFrame(
        {
            "Einwohner": pd.to_numeric(names["population"], errors="coerce").astype("Int64"),
            "Wohnungsbedarf": _whole(demand.reindex(names.index)),
            "Kapazität innen": _whole(inner_capacity.reindex(names.index, fill_value=0.0)),
            "Kapazität Außenreserve": _whole(outer_capacity.reindex(names.index, fill_value=0.0)),
        }
    )
    needed = table["Wohnungsbedarf"].astype("float64")
    table["Deckung innen"] = (table["Kapazität innen"].astype("float64") / needed).where(needed > 0)
    table.index = pd.Index(names["name"].astype(str), name="Gemeinde")
    return table


def _whole(values: pd.Series) -> pd.Series:
    """Dwellings as whole numbers (a share of a dwelling is not one)."""
    return pd.to_numeric(values, errors="coerce").round().astype("Int64")


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - dev extra
        raise ImportError("plots need matplotlib: pip install 'flaechen[dev]'") from exc
    return plt


def plot_potentials_map(
    candidates: gpd.GeoDataFrame,
    municipalities: gpd.GeoDataFrame,
    *,
    ax: Axes | None = None,
    title: str | None = "Innenentwicklungspotenziale",
) -> Axes:
    """Map the candidates coloured by category (QGIS style colours) over the municipality boundaries."""
    _check_same_crs(candidates, municipalities)
    plt = _pyplot()
    from matplotlib.patches import Patch

    if ax is None:
        _, ax = plt.subplots(figsize=(10, 8))
    chart = chart_colours()
    municipalities.boundary.plot(ax=ax, color=palette.outline_of("municipalities"), linewidth=1.0, linestyle="--")
    colours = category_colours()
    present = [c for c in categories() if (candidates["category"] == c).any()]
    for category in present:
        candidates[candidates["category"] == category].plot(
            ax=ax, color=colours[category], edgecolor=chart["reference"], linewidth=0.2
        )
    for row in municipalities.itertuples():
        point = row.geometry.representative_point()
        ax.annotate(row.name, (point.x, point.y), ha="center", fontsize=9, weight="bold", color=chart["reference"])
    ax.legend(
        handles=[Patch(facecolor=colours[c], edgecolor=chart["reference"], label=c) for c in present],
        title="Kategorie",
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        fontsize=8,
    )
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def plot_category_hectares(table: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Stacked bars: hectares per category for each municipality (from :func:`potentials_by_municipality`)."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4.5))
    colours = category_colours()
    present = [c for c in categories() if c in table.columns]
    table[present].plot.bar(stacked=True, ax=ax, color=[colours[c] for c in present], width=0.7)
    ax.set_ylabel("Fläche (ha)")
    ax.set_xlabel("")
    ax.set_title("Potenziale je Gemeinde und Kategorie")
    ax.legend(title="Kategorie", fontsize=8)
    ax.tick_params(axis="x", rotation=0)
    return ax


def plot_potentials_vs_demand(table: pd.DataFrame, *, ax: Axes | None = None, outer: bool = False) -> Axes:
    """Grouped bars: housing demand against the dwelling capacity of the inner potentials.

    Parameters
    ----------
    table
        From :func:`potentials_vs_demand`.
    outer
        Also draw the capacity of the Außenreserven (often far larger, and then dominating the chart).
    """
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4.5))
    colours = category_colours()
    columns = {"Wohnungsbedarf": chart_colours()["demand"], "Kapazität innen": colours["Baulücke"]}
    if outer:
        columns["Kapazität Außenreserve"] = colours["Außenreserve"]
    table[list(columns)].plot.bar(ax=ax, width=0.75, color=list(columns.values()))
    ax.set_ylabel("Wohnungen")
    ax.set_xlabel("")
    ax.set_title("Wohnungsbedarf und Kapazität der Potenziale")
    ax.tick_params(axis="x", rotation=0)
    return ax


def plot_demand_coverage(table: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Horizontal bars: the share of the housing demand the inner potentials could house, with a 100 % line."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    share = (table["Deckung innen"].astype(float) * 100).fillna(0.0)
    chart = chart_colours()
    colours = [chart["covered"] if v >= 100 else chart["not_covered"] for v in share]
    ax.barh(share.index[::-1], share.values[::-1], color=colours[::-1])
    ax.axvline(100, color=chart["reference"], linestyle="--", linewidth=1)
    ax.set_xlabel("Deckung des Wohnungsbedarfs durch Innenentwicklung (%)")
    ax.set_title("Kann die Innenentwicklung den Bedarf decken?")
    return ax


def plot_per_inhabitant(
    table: pd.DataFrame,
    *,
    benchmark: float = BENCHMARK_M2_PER_INHABITANT,
    ax: Axes | None = None,
) -> Axes:
    """Bars: potential in m² per inhabitant (:func:`potentials_by_municipality`) against the benchmark."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4))
    values = table["m² je Einwohner"].astype(float)
    chart = chart_colours()
    values.plot.bar(ax=ax, color=chart["per_inhabitant"], width=0.7)
    ax.axhline(
        benchmark, color=chart["reference"], linestyle="--", linewidth=1, label=f"Bundesschnitt ≈ {benchmark:g} m²"
    )
    ax.set_ylabel("m² je Einwohner")
    ax.set_xlabel("")
    ax.set_title("Baulücken und Brachflächen je Einwohner")
    ax.legend(fontsize=8)
    ax.tick_params(axis="x", rotation=0)
    return ax
