"""Formatting reasons for planners: German numbers and sentences, and their JSON twin.

Examples
--------
>>> de_number(1234.5, 1)
'1.234,5'
>>> de_percent(0.873)
'87 %'
"""

from __future__ import annotations

import json
import math
from typing import Any

from flaechen.formatting import de_number, de_percent

__all__ = ["de_number", "de_percent", "plain", "to_json"]


def plain(value: Any) -> Any:
    """A JSON-able plain Python value (numpy scalars, pandas NA → None, floats rounded to 4 decimals)."""
    if value is None:
        return None
    try:
        import pandas as pd

        if value is pd.NA:
            return None
    except ImportError:  # pragma: no cover
        pass
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def to_json(entries: list[dict[str, Any]]) -> str:
    """Serialise machine-readable reasons as compact JSON (UTF-8 text, not ASCII escapes)."""
    return json.dumps(entries, ensure_ascii=False, separators=(",", ":"))
