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

Tables in a notebook (:func:`format_table`: the values keep their type, only their display changes):

>>> import pandas as pd
>>> table = pd.DataFrame({"Fläche ha": [1234.567], "Wohnungen": [12.4], "Deckung": [0.873]})
>>> html = format_table(table, decimals={"Fläche ha": 1}, percent=["Deckung"]).to_html()
>>> [text in html for text in (">1.234,6<", ">12<", ">87 %<")]
[True, True, True]
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler

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


def format_table(
    frame: pd.DataFrame,
    *,
    decimals: int | Mapping[str, int] = 0,
    percent: Iterable[str] = (),
    language: str = "de",
    missing: str = "–",
) -> Styler:
    """Show a table's numbers as :func:`format_number` writes them (for notebooks and HTML reports).

    Returns a pandas ``Styler``: the frame's values keep their type, only how they are shown changes.
    Text columns are shown as they are.

    Parameters
    ----------
    frame
        The table.
    decimals
        Decimals of every numeric column, or per column (columns not named get none: counts, dwellings,
        inhabitants are whole numbers).
    percent
        Columns holding shares (0 … 1), shown as percentages (:func:`format_percent`).
    language
        ``"de"`` (``1.234,5``) or ``"en"`` (``1,234.5``).
    missing
        What a missing value shows.
    """
    import pandas as pd

    shares = set(percent)
    formatters: dict[Any, Any] = {}
    for column in frame.columns:
        values = frame[column]
        if column in shares:
            formatters[column] = lambda v: format_percent(v, language=language, missing=missing)
            continue
        if not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
            continue
        places = decimals.get(str(column), 0) if isinstance(decimals, Mapping) else decimals

        def number(v: Any, places: int = places) -> str:
            return format_number(v, decimals=places, language=language, missing=missing)

        formatters[column] = number
    # a table id from its content, not a random one: a notebook run again on the same data stays the same
    digest = hashlib.sha1(frame.to_csv().encode("utf-8"), usedforsecurity=False).hexdigest()[:8]
    return frame.style.format(formatters, na_rep=missing).set_uuid(digest)
