"""Numbers as people read them: the one formatter for reasons, reports, the map site and the notebooks.

German (the default): ``.`` between thousands, ``,`` before decimals (DIN 5008), ``%`` after a space;
English: ``,`` and ``.``. A missing value (None, NA, NaN, ±inf) is shown as the `missing` text.

Examples
--------
>>> format_number(1234.5, decimals=1)
'1.234,5'
>>> format_number(1234.5, decimals=1, language="en")
'1,234.5'
>>> format_number(-0.2), format_number(None)
('0', '–')
>>> de_number(1234.5, 1), de_percent(0.873)
('1.234,5', '87 %')
"""

from __future__ import annotations

import math
from typing import Any

_SWAP = str.maketrans({",": ".", ".": ","})


def _value(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None  # pandas.NA and other missing markers
    return number if math.isfinite(number) else None


def format_number(value: Any, *, decimals: int = 0, language: str = "de", missing: str = "–") -> str:
    """Format a number with thousands separators and `decimals` decimals in the reader's `language`."""
    number = _value(value)
    if number is None:
        return missing
    if round(number, decimals) == 0:
        number = 0.0  # no "-0"
    text = f"{number:,.{decimals}f}"
    return text.translate(_SWAP) if language == "de" else text


def format_percent(share: Any, *, decimals: int = 0, language: str = "de", missing: str = "–") -> str:
    """Format a share (0 … 1) as a percentage, e.g. ``'87 %'``."""
    number = _value(share)
    if number is None:
        return missing
    return format_number(number * 100, decimals=decimals, language=language) + " %"


def de_number(value: Any, digits: int = 0) -> str:
    """A number in German for reasons and reports; ``'unbekannt'`` where it is missing."""
    return format_number(value, decimals=digits, missing="unbekannt")


def de_percent(share: Any, digits: int = 0) -> str:
    """A share (0 … 1) as a German percentage for reasons and reports; ``'unbekannt'`` where it is missing."""
    return format_percent(share, decimals=digits, missing="unbekannt")
