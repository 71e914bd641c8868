"""Charting the planning results of a run (for the notebooks; matplotlib on demand).

Examples
--------
>>> from flaechen.district import read_district
>>> scores = read_district("out/demo", layers=["assessment_scores"])["assessment_scores"]
>>> overview = score_overview(scores)  # percent of the attainable points, by area name
>>> list(overview.columns[:2]), overview.index[0]
(['Gesamt', 'Umwelt, Klimaschutz und Klimaanpassung'], 'Nr. 7 Gewerbegebiet Am Bahnhof')
>>> ax = plot_area_scores(scores)
>>> ax.get_title(), len(ax.get_yticklabels())
('Gewerbegebiete im Vergleich', 5)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from flaechen.palette import colours as colours_of
from flaechen.plan.report import THEME_COLOURS

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def score_overview(scores: pd.DataFrame) -> pd.DataFrame:
    """Areas × (Gesamt and every theme) as percentages, German labels (the comparison table)."""
    wide = scores[scores["scope"].isin(["Gesamt", "Thema"])].pivot_table(
        index="area_name", columns="title", values="share", aggfunc="first", sort=False
    )
    order = ["Gesamt"] + [t for t in dict.fromkeys(scores.loc[scores["scope"] == "Thema", "title"])]
    wide = (wide[order].astype(float) * 100).round(0)
    wide.index.name = "Gebiet"
    wide.columns.name = None
    return wide


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - dev extra
        raise ImportError("plots need matplotlib: pip install 'flaechen[dev]'") from exc
    return plt


def plot_area_scores(scores: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Grouped horizontal bars: each area's overall and theme scores (the district comparison chart)."""
    plt = _pyplot()
    table = score_overview(scores)
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 0.9 * len(table) + 1.5))
    colours = [colours_of("charts")["total"], *THEME_COLOURS[: len(table.columns) - 1]]
    table[::-1].plot.barh(ax=ax, color=colours, width=0.8)
    ax.set_xlim(0, 100)
    ax.set_xlabel("Anteil der erreichbaren Punkte (%)")
    ax.set_ylabel("")
    ax.set_title("Gewerbegebiete im Vergleich")
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], labels[::-1], fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax


def plot_scenarios(results: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Bars per municipality and scenario: greenfield saved (ha), with the municipality's target share as a mark."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4.5))
    saved = results.pivot_table(
        index="name", columns="scenario", values="greenfield_saved_ha", aggfunc="sum", sort=False
    )
    saved = saved[list(dict.fromkeys(results["scenario"]))]
    saved.plot.bar(ax=ax, color=THEME_COLOURS[: len(saved.columns)], width=0.75)
    allowance = results.groupby("name", sort=False)["allowance_ha"].max().reindex(saved.index)
    ax.scatter(
        range(len(allowance)),
        allowance.astype(float),
        marker="_",
        s=900,
        color=colours_of("charts")["target"],
        zorder=3,
        label="Anteil am Flächenziel (spätestes Zieljahr)",
    )
    ax.set_ylabel("Hektar")
    ax.set_xlabel("")
    ax.set_title("Gesparter Außenbereich je Szenario und Gemeinde")
    ax.tick_params(axis="x", rotation=0)
    ax.legend(fontsize=8)
    return ax
