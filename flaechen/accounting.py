"""Accounting: every feature a source holds reaches the district dataset or the issue log.

Each source is balanced against its own count (the layer's feature count, never just what the reader
returned): held = in the dataset + rejected in the issue log + unreadable. Table ``accounting`` of
``district.gpkg`` has one row per source; :func:`check_balanced` fails the run loudly where a source does not
add up (a bug in flaechen), :func:`data_losses` names what a finished run lost (exit status 3).

Examples
--------
>>> import pandas as pd
>>> table = balance(
...     [SourceCount("a-parcels", "parcels", "a.gpkg", held=3, read=3, unreadable=0)],
...     layers={"parcels": pd.DataFrame({"source_id": ["a-parcels", "a-parcels"]})},
...     issues=pd.DataFrame({"source_id": ["a-parcels"], "source_fid": [7], "issue_type": ["duplicate-id"],
...                          "rejected": [True], "value": [None]}),
... )
>>> table[["held", "kept", "rejected", "balanced"]].values.tolist()
[[3, 2, 1, True]]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from flaechen.errors import AccountingError

COUNTED_ISSUES = ("outside-district",)
"""Rejecting issue types logged once for many features, their number in ``value``."""

ACCOUNTING_COLUMNS = ["source_id", "layer", "path", "held", "read", "kept", "rejected", "unreadable"]
"""Columns of table ``accounting`` (then ``balanced``)."""


@dataclass(frozen=True)
class SourceCount:
    """What reading and harmonising one source counted."""

    source_id: str
    layer: str
    path: str
    held: int
    """Features the source holds by its own count."""
    read: int
    """Features read (``held`` less the unreadable ones)."""
    unreadable: int
    """Features the source holds that could not be read (each an ``unreadable-feature`` issue)."""
    united: int = 0
    """Features united with another into one row (a municipality's boundary parts): in the dataset."""


def balance(counts: Iterable[SourceCount], *, layers: Mapping[str, pd.DataFrame], issues: pd.DataFrame) -> pd.DataFrame:
    """Table ``accounting``: per source held, read, kept, rejected, unreadable and whether they add up.

    ``kept`` counts the source's rows in its layer (plus the features united into them), ``rejected``
    the features read that the issue log rejects (distinct FIDs; an issue type of ``COUNTED_ISSUES``
    stands for ``value`` features). ``balanced``: held = kept + rejected + unreadable and
    read = held - unreadable.
    """
    rejected = issues[issues["rejected"].fillna(False) & (issues["issue_type"] != "unreadable-feature")]
    counted = rejected["issue_type"].isin(COUNTED_ISSUES)
    rows = []
    for c in counts:
        kept = int((layers[c.layer]["source_id"] == c.source_id).sum()) + c.united
        mine = rejected["source_id"] == c.source_id
        rej = int(rejected.loc[mine & ~counted, "source_fid"].dropna().nunique())
        rej += int(pd.to_numeric(rejected.loc[mine & counted, "value"]).sum())
        rows.append([c.source_id, c.layer, c.path, c.held, c.read, kept, rej, c.unreadable])
    frame = pd.DataFrame(rows, columns=ACCOUNTING_COLUMNS)  # typed even where nothing was read
    for column in ACCOUNTING_COLUMNS[3:]:
        frame[column] = frame[column].astype("int64")
    frame["balanced"] = (frame["held"] == frame["kept"] + frame["rejected"] + frame["unreadable"]) & (
        frame["read"] == frame["held"] - frame["unreadable"]
    )
    return frame


def check_balanced(accounting: pd.DataFrame) -> None:
    """Raise :class:`~flaechen.errors.AccountingError` naming every source that does not add up."""
    unbalanced = accounting[~accounting["balanced"]]
    if unbalanced.empty:
        return
    lines = [
        f"{r.source_id}: the source holds {r.held}, in dataset {r.kept}, rejected {r.rejected}, "
        f"unreadable {r.unreadable}"
        for r in unbalanced.itertuples()
    ]
    raise AccountingError(
        "features were lost (held != in dataset + rejected + unreadable). This is a bug in flaechen; "
        "please report it with the issue log:\n  " + "\n  ".join(lines)
    )


def data_losses(
    accounting: pd.DataFrame, *, sources: pd.DataFrame, parcels: pd.DataFrame, issues: pd.DataFrame
) -> list[str]:
    """What a run lost: sources with features that could not be read, municipalities whose parcels were all
    rejected. Each entry is one sentence for the terminal; an empty list means nothing was lost.

    Parameters
    ----------
    accounting
        Table ``accounting`` (:func:`balance`).
    sources
        Table ``sources`` (one row per source read, with its ``ags`` and ``layer``).
    parcels
        Layer ``parcels`` of the district dataset.
    issues
        The issue log.
    """
    losses: list[str] = []
    for r in accounting[accounting["unreadable"] > 0].itertuples():
        losses.append(
            f"{r.source_id} ({Path(r.path).name}): {r.unreadable:,d} of {r.held:,d} features could not be read "
            "(issue type unreadable-feature); ask the municipality for an undamaged delivery."
        )
    delivered_parcels = accounting[accounting["layer"] == "parcels"]
    kept_by_ags = parcels["ags"].value_counts()
    parcel_sources = sources[sources["layer"] == "parcels"] if len(sources) else sources
    # A file for the whole district (top-level [[sources]] with ags_field) has no AGS of its own: it lost
    # its parcels where none of them was kept.
    ags_of = parcel_sources["ags"] if len(parcel_sources) else pd.Series([], dtype=object)
    district_wide = ags_of.isna() | (ags_of == "")
    for source_id in parcel_sources.loc[district_wide, "source_id"] if len(parcel_sources) else []:
        delivered = delivered_parcels[delivered_parcels["source_id"] == source_id]
        if delivered["held"].sum() > 0 and delivered["kept"].sum() == 0:
            types = issues[(issues["source_id"] == source_id) & issues["rejected"].fillna(False)][
                "issue_type"
            ].value_counts()
            why = ", ".join(f"{t} {n:,d}" for t, n in types.items()) or "see the issue log"
            losses.append(
                f"{source_id}: all {int(delivered['held'].sum()):,d} delivered parcels were rejected ({why})."
            )
    for ags in ags_of[~district_wide].unique():
        ids = set(parcel_sources.loc[parcel_sources["ags"] == ags, "source_id"])
        delivered = delivered_parcels[delivered_parcels["source_id"].isin(ids)]
        if delivered["held"].sum() > 0 and kept_by_ags.get(ags, 0) == 0:
            types = issues[issues["source_id"].isin(ids) & issues["rejected"].fillna(False)][
                "issue_type"
            ].value_counts()
            why = ", ".join(f"{t} {n:,d}" for t, n in types.items()) or "see the issue log"
            losses.append(
                f"municipality {ags}: all {int(delivered['held'].sum()):,d} delivered parcels were rejected ({why})."
            )
    return losses
