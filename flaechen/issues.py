"""The issue log: one row per problem found in a delivery, typed by the registry in layers/issue_types.yaml.

Every feature that does not reach the district dataset is in the log with the reason (an issue type that
rejects); every repair is logged too. The log is written into district.gpkg (table ``issues``) and as CSV.

Examples
--------
>>> log = IssueLog()
>>> log.add("empty-geometry", ags="07999001", source_id="a", layer="parcels", source_fid=3,
...         message="The feature has no geometry.")
>>> log.to_frame().loc[0, "severity"]
'error'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from flaechen.layers import IssueType, load_schema

ISSUE_COLUMNS = (
    "ags",
    "source_id",
    "layer",
    "source_fid",
    "feature_id",
    "field",
    "value",
    "issue_type",
    "severity",
    "responsible",
    "rejected",
    "message",
)
"""Columns of the issue log, in order."""


def _registry() -> dict[str, IssueType]:
    return load_schema().issue_types


@dataclass
class IssueLog:
    """An append-only collection of issues; cheap to add to in bulk."""

    _chunks: list[pd.DataFrame] = field(default_factory=list)

    def add(
        self,
        issue_type: str,
        *,
        ags: str | None,
        source_id: str | None,
        layer: str | None,
        message: str,
        source_fid: int | None = None,
        feature_id: Any = None,
        field: str | None = None,
        value: Any = None,
    ) -> None:
        """Add one issue."""
        self.add_many(
            issue_type,
            ags=ags,
            source_id=source_id,
            layer=layer,
            messages=[message],
            source_fids=[source_fid],
            feature_ids=[feature_id],
            field=field,
            values=[value],
        )

    def add_many(
        self,
        issue_type: str,
        *,
        ags: str | Sequence[str] | None,
        source_id: str | None,
        layer: str | None,
        messages: Sequence[str] | str,
        source_fids: Sequence[Any] | None = None,
        feature_ids: Sequence[Any] | None = None,
        field: str | None = None,
        values: Sequence[Any] | None = None,
    ) -> None:
        """Add one issue per element of the given sequences (all of one type, source and field)."""
        types = _registry()
        if issue_type not in types:
            raise KeyError(f"unknown issue type {issue_type!r}; add it to layers/issue_types.yaml")
        spec = types[issue_type]
        n = next(
            (
                len(s)
                for s in (source_fids, feature_ids, values, messages, ags)
                if s is not None and not isinstance(s, str)
            ),
            1,
        )
        if n == 0:
            return

        def column(v: Any) -> Any:
            if v is None:
                return pd.Series([None] * n, dtype="object")
            if isinstance(v, str):
                return [v] * n
            return list(v)

        frame = pd.DataFrame(
            {
                "ags": column(ags),
                "source_id": [source_id] * n,
                "layer": [layer] * n,
                "source_fid": column(source_fids),
                "feature_id": column(feature_ids),
                "field": [field] * n,
                "value": column(values),
                "issue_type": [issue_type] * n,
                "severity": [spec.severity] * n,
                "responsible": [spec.responsible] * n,
                "rejected": [spec.rejects] * n,
                "message": column(messages),
            }
        )
        self._chunks.append(frame)

    def extend(self, other: IssueLog) -> None:
        self._chunks.extend(other._chunks)

    def to_frame(self) -> pd.DataFrame:
        """The log as a DataFrame with typed columns (``ISSUE_COLUMNS``)."""
        if not self._chunks:
            frame = pd.DataFrame({c: [] for c in ISSUE_COLUMNS})
        else:
            frame = pd.concat(self._chunks, ignore_index=True)
        out = pd.DataFrame(
            {
                "ags": frame["ags"].astype("string"),
                "source_id": frame["source_id"].astype("string"),
                "layer": frame["layer"].astype("string"),
                "source_fid": pd.array(
                    [
                        None if v is None or (isinstance(v, float) and np.isnan(v)) else int(v)
                        for v in frame["source_fid"]
                    ],
                    dtype="Int64",
                ),
                "feature_id": _text(frame["feature_id"]),
                "field": frame["field"].astype("string"),
                "value": _text(frame["value"]),
                "issue_type": frame["issue_type"].astype("string"),
                "severity": frame["severity"].astype("string"),
                "responsible": frame["responsible"].astype("string"),
                "rejected": frame["rejected"].astype("boolean"),
                "message": frame["message"].astype("string"),
            }
        )
        self._chunks = [frame]
        return out

    def __len__(self) -> int:
        return sum(len(c) for c in self._chunks)


def _text(values: Iterable[Any]) -> pd.Series:
    return pd.Series(
        [None if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA else str(v) for v in values],
        dtype="string",
    )


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet (Excel, LibreOffice) read a CSV cell as a formula."""


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` for a CSV that people open in a spreadsheet: no text cell is a formula.

    Delivered values end up in the issue log (a plan name, a parcel id, a bad value). A cell starting
    with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be run as a formula when the CSV is
    opened in Excel or LibreOffice (``=HYPERLINK(…)``, DDE commands). Such text cells get a leading
    apostrophe (``'=1+1``), which spreadsheets show as the text itself (OWASP's advice on CSV injection).
    Numbers and booleans stay as they are; the GeoPackage keeps the values unchanged.

    Examples
    --------
    >>> spreadsheet_safe(pd.DataFrame({"value": ["=1+1", "-5", "Baulücke", None], "n": [1, -2, 3, 4]}))
          value  n
    0     '=1+1  1
    1       '-5 -2
    2  Baulücke  3
    3      <NA>  4
    """
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if not (pd.api.types.is_string_dtype(series.dtype) or series.dtype == object):
            continue
        text = series.astype("string")
        risky = text.str.startswith(FORMULA_START).fillna(False).astype(bool)
        if risky.any():
            out[column] = text.where(~risky, "'" + text)
    return out


def summarise(issues: pd.DataFrame) -> pd.DataFrame:
    """Count issues per municipality, issue type, severity and responsible party (for the terminal)."""
    if issues.empty:
        return pd.DataFrame(columns=["ags", "issue_type", "severity", "responsible", "count", "rejected"])
    grouped = issues.groupby(["ags", "issue_type", "severity", "responsible"], dropna=False)
    return (
        grouped.agg(count=("issue_type", "size"), rejected=("rejected", "sum"))
        .reset_index()
        .sort_values(["ags", "severity", "issue_type"])
        .reset_index(drop=True)
    )
