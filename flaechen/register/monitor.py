"""Monitoring from the register: per municipality and survey, what is there, what is new, what was activated.

Examples
--------
The demo district after its two surveys:

>>> import pyogrio
>>> from flaechen.district import read_district
>>> history = pyogrio.read_dataframe("out/demo/register.gpkg", layer="history")
>>> changes = read_district("out/demo", layers=["changes"])["changes"]
>>> table = monitoring(history, changes, municipalities={"07999001": "Hohenmaar"})
>>> table["survey"].tolist(), table["municipality"].unique().tolist()
(['2025-04-01', '2026-04-01'], ['Hohenmaar'])
>>> first, second = table["activated_ha"]  # lots built on between the surveys
>>> bool(first == 0 and second > 0)
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from flaechen.layers import load_schema

_TEXT_DROPPED = "entfallen"


def status_labels() -> dict[str, str]:
    """Status code → German label (code list ``site_status``)."""
    return {code: entry["label"] for code, entry in load_schema().codelist("site_status").values.items()}


def latest_snapshots(history: pd.DataFrame) -> pd.DataFrame:
    """Per survey, the snapshot of its latest run (a survey run twice counts once)."""
    if history.empty:
        return history
    last = history.groupby("survey")["run_at"].transform("max")
    return history[history["run_at"] == last]


def monitoring(
    history: pd.DataFrame,
    changes: pd.DataFrame,
    *,
    municipalities: Mapping[str, str],
) -> pd.DataFrame:
    """The time series per municipality and survey (schema ``layers/monitoring.yaml``).

    Parameters
    ----------
    history
        Every run's snapshot of the register (this run's included).
    changes
        Every run's changes (this run's included).
    municipalities
        AGS → name: every municipality gets a row per survey, also without sites.
    """
    layer = load_schema().layer("monitoring")
    snaps = latest_snapshots(history)
    surveys = sorted(set(snaps["survey"].dropna().astype(str))) if len(snaps) else []
    labels = status_labels()
    rows = []
    change_rows = changes.drop_duplicates(["survey", "site_id", "change"], keep="last") if len(changes) else changes
    for ags, name in sorted(municipalities.items()):
        cumulated = 0.0
        for survey in surveys:
            snap = snaps[(snaps["survey"] == survey) & (snaps["ags"] == ags)]
            active = snap[snap["state"] == "aktiv"]
            ch = change_rows[(change_rows["survey"] == survey) & (change_rows["ags"] == ags)] if len(changes) else None

            def hectares(kind: str, ch: pd.DataFrame | None = ch) -> float:
                if ch is None or ch.empty:
                    return 0.0
                return float(ch.loc[ch["change"] == kind, "area_m2"].astype(float).fillna(0).sum()) / 10_000

            activated = hectares("bebaut")
            cumulated += activated
            mix = active["status"].fillna("unbekannt").map(lambda c: labels.get(c, c)).value_counts()
            rows.append(
                {
                    "ags": ags,
                    "municipality": name,
                    "survey": survey,
                    "active_n": len(active),
                    "active_ha": float(active["area_m2"].astype(float).fillna(0).sum()) / 10_000,
                    "new_ha": hectares("neu"),
                    "activated_ha": activated,
                    "activated_since_first_ha": cumulated,
                    "dropped_ha": hectares(_TEXT_DROPPED),
                    "status_mix": "; ".join(f"{label} {n}" for label, n in mix.items()) or None,
                }
            )
    frame = pd.DataFrame(rows, columns=list(layer.field_names))
    return frame.astype({f.name: f.dtype for f in layer.fields})


def plot_active_hectares(table: pd.DataFrame, *, ax: Any = None) -> Any:
    """Hectares of active sites per municipality over the surveys (one line each)."""
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    for name, rows in table.sort_values("survey").groupby("municipality"):
        ax.plot(pd.to_datetime(rows["survey"]), rows["active_ha"].astype(float), marker="o", label=name)
    ax.set_ylabel("ha")
    ax.set_title("Aktive Potenzialflächen je Gemeinde")
    ax.legend(fontsize="small")
    return ax


def plot_activation(table: pd.DataFrame, *, ax: Any = None) -> Any:
    """Per municipality: hectares built on since the previous survey and new hectares in the latest survey."""
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    latest = table[table["survey"] == table["survey"].max()].sort_values("municipality")
    x = range(len(latest))
    ax.bar([i - 0.2 for i in x], latest["activated_ha"].astype(float), width=0.4, label="bebaut (aktiviert)")
    ax.bar([i + 0.2 for i in x], latest["new_ha"].astype(float), width=0.4, label="neu")
    ax.set_xticks(list(x), latest["municipality"], rotation=30, ha="right")
    ax.set_ylabel("ha")
    ax.set_title(f"Seit der letzten Erhebung (Erhebung {latest['survey'].iloc[0] if len(latest) else '–'})")
    ax.legend(fontsize="small")
    return ax
