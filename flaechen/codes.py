"""Official municipality code schemes: the German AGS and the codes of other countries, each validated strictly.

The district dataset keys every feature to its municipality by an official code kept as text in the column
``ags`` (whatever the scheme: the name stays so every layer, rule and export keeps working). The German
Amtlicher Gemeindeschlüssel is the default; a district declares another scheme with
``[district] municipality_codes``:

========  =====================================================  ==============  ====================
scheme    what                                                   example         form
========  =====================================================  ==============  ====================
ags       Amtlicher Gemeindeschlüssel (Germany)                  ``07231103``    8 digits, Land 01–16
gss       GSS code of the Office for National Statistics (UK)    ``E08000003``   E/W/S/N + 8 digits
bfs       BFS-Gemeindenummer (Switzerland)                       ``261``         1–4 digits
gkz       Gemeindekennziffer (Austria)                           ``10101``       5 digits, Land 1–9
========  =====================================================  ==============  ====================

Examples
--------
>>> import pandas as pd
>>> codes, repaired, bad = normalise_codes(pd.Series([7999001, "07999002", "99999999"]), scheme="ags")
>>> codes.tolist(), repaired.tolist(), bad.tolist()
(['07999001', '07999002', '99999999'], [True, False, False], [False, False, True])
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pandas is imported where codes are read from data: the configuration stays light
    import pandas as pd

DEFAULT_SCHEME = "ags"


@dataclass(frozen=True)
class CodeScheme:
    """One official municipality code scheme."""

    name: str
    title: str
    pattern: str
    """Regular expression a valid code matches in full."""
    example: str
    form: str
    """The form in words, for messages."""
    pad_to: int | None = None
    """Where a code read as a number lost leading zeros: the width to restore (AGS: 8)."""
    upper: bool = False
    strip_zeros: bool = False
    """Leading zeros carry no meaning and are removed (BFS numbers)."""

    def is_valid(self, code: str) -> bool:
        return re.fullmatch(self.pattern, code) is not None


SCHEMES: dict[str, CodeScheme] = {
    "ags": CodeScheme(
        name="ags",
        title="Amtlicher Gemeindeschlüssel (AGS)",
        pattern=r"(0[1-9]|1[0-6])\d{6}",
        example="07231103",
        form="8 digits as text, the first two the Land (01–16)",
        pad_to=8,
    ),
    "gss": CodeScheme(
        name="gss",
        title="GSS code (Office for National Statistics, United Kingdom)",
        pattern=r"[ENSW]\d{8}",
        example="E08000003",
        form="a letter E, W, S or N and 8 digits",
        upper=True,
    ),
    "bfs": CodeScheme(
        name="bfs",
        title="BFS-Gemeindenummer (Switzerland)",
        pattern=r"[1-9]\d{0,3}",
        example="261",
        form="a number from 1 to 9999",
        strip_zeros=True,
    ),
    "gkz": CodeScheme(
        name="gkz",
        title="Gemeindekennziffer (Austria)",
        pattern=r"[1-9]\d{4}",
        example="10101",
        form="5 digits, the first the Bundesland (1–9)",
    ),
}
"""The supported schemes by name."""


def get_scheme(name: str) -> CodeScheme:
    """The scheme of that name; KeyError naming the known ones otherwise."""
    try:
        return SCHEMES[name]
    except KeyError:
        raise KeyError(f"unknown municipality code scheme {name!r}; known: {', '.join(SCHEMES)}") from None


def _text(values: pd.Series) -> pd.Series:
    """Codes as text: whole numbers without '.0', stripped, empty → NA."""
    import pandas as pd

    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("floating", "integer", "mixed-integer-float", "decimal"):
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        out = pd.Series(pd.NA, index=values.index, dtype="string")
        whole = np.isfinite(numbers) & (numbers == np.round(numbers))
        out[whole] = numbers[whole].astype(np.int64).astype(str)
        return out
    if kind not in ("string", "empty"):  # mixed numbers and text (a spreadsheet column)

        def one(v: object) -> object:
            if v is None or v is pd.NA or (isinstance(v, float) and not np.isfinite(v)):
                return pd.NA
            if isinstance(v, float) and v.is_integer():
                return str(int(v))
            return str(v)

        values = pd.Series([one(v) for v in values], index=values.index, dtype="string")
    out = values.astype("string").str.strip()
    return out.mask(out == "")


def normalise_codes(values: pd.Series, *, scheme: str = DEFAULT_SCHEME) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Municipality codes as text in their canonical form, with what was repaired and what is invalid.

    Parameters
    ----------
    values
        Codes as delivered (text or numbers).
    scheme
        The name of the scheme (:data:`SCHEMES`).

    Returns
    -------
    tuple
        The codes (string Series, NA where empty), the mask of codes repaired (an AGS read as a number got
        its leading zero back), the mask of codes that are present but invalid in the scheme.
    """
    spec = get_scheme(scheme)
    text = _text(values)
    repaired = np.zeros(len(text), dtype=bool)
    if spec.pad_to:
        short = text.str.fullmatch(rf"\d{{{spec.pad_to - 1}}}").fillna(False).to_numpy(dtype=bool)
        text = text.where(~short, "0" + text)
        repaired |= short
    if spec.upper:
        text = text.str.upper()
    if spec.strip_zeros:
        text = text.str.replace(r"^0+(?=\d)", "", regex=True)
    valid = text.str.fullmatch(spec.pattern).fillna(False).to_numpy(dtype=bool)
    bad = text.notna().to_numpy() & ~valid
    return text, repaired, bad


def check_code(code: object, *, scheme: str = DEFAULT_SCHEME) -> str | None:
    """Why `code` (from a configuration) is no valid code of the scheme; None where it is valid.

    Examples
    --------
    >>> check_code("07231103"), check_code("E08000003", scheme="gss") is None
    (None, True)
    >>> check_code(7231103)
    'must be a quoted string (e.g. "07231103"), not a number'
    """
    spec = get_scheme(scheme)
    if isinstance(code, bool) or not isinstance(code, str | int):
        return f'must be {spec.form}, e.g. "{spec.example}", not {code!r}'
    if isinstance(code, int):
        shown = f"{code:0{spec.pad_to}d}" if spec.pad_to else str(code)
        return f'must be a quoted string (e.g. "{shown}"), not a number'
    if not spec.is_valid(code):
        return f'must be {spec.form} ({spec.title}), e.g. "{spec.example}", not {code!r}'
    return None
