"""One number formatter: the map site, the reasons and the reports write numbers the same way."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from flaechen.flag.reasons import de_number, de_percent
from flaechen.formatting import format_number, format_percent
from flaechen.publish import pages


@pytest.mark.parametrize(
    ("value", "decimals", "german", "english"),
    [
        (1234.5, 1, "1.234,5", "1,234.5"),
        (1234567, 0, "1.234.567", "1,234,567"),
        (0.125, 2, "0,12", "0.12"),
        (-0.2, 0, "0", "0"),
        (-1500.25, 2, "-1.500,25", "-1,500.25"),
    ],
)
def test_german_and_english_numbers(value, decimals, german, english):
    assert format_number(value, decimals=decimals) == german
    assert format_number(value, decimals=decimals, language="en") == english
    assert de_number(value, decimals) == german


@pytest.mark.parametrize("missing", [None, pd.NA, math.nan, math.inf])
def test_missing_values(missing):
    assert format_number(missing) == "–"
    assert de_number(missing) == "unbekannt"
    assert format_percent(missing) == "–"


def test_the_site_and_the_reasons_use_the_same_formatter():
    assert pages.format_number is format_number
    assert pages.format_number(1234.5, decimals=1) == de_number(1234.5, 1)
    assert de_percent(0.873) == format_percent(0.873) == "87 %"
