"""The one palette of flaechen (``layers/palette.yaml``): QGIS styles, the map site and the notebooks.

Examples
--------
>>> category_colours()["Brachfläche"]
'#8c510a'
>>> qgis_colour("#8c510a", alpha=170)
'140,81,10,170'
"""

from __future__ import annotations

from functools import cache
from types import MappingProxyType
from typing import Any

import yaml

from flaechen.layers import layers_dir


@cache
def _palette() -> dict[str, Any]:
    with (layers_dir() / "palette.yaml").open(encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    return data


def category_colours() -> MappingProxyType[str, str]:
    """Colour of each candidate category (code list ``candidate_category``) as ``#rrggbb``."""
    return MappingProxyType(dict(_palette()["candidate_category"]))


def other_colour() -> str:
    """Colour of a category without its own colour."""
    return str(_palette()["other"])


def rgb(colour: str) -> tuple[int, int, int]:
    """``#rrggbb`` as a tuple of integers."""
    text = colour.lstrip("#")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def qgis_colour(colour: str, *, alpha: int = 255) -> str:
    """``#rrggbb`` in QGIS's ``r,g,b,a`` notation."""
    return ",".join(str(v) for v in (*rgb(colour), alpha))


def darker(colour: str, factor: float = 0.65) -> str:
    """A darker shade of `colour` (for outlines)."""
    r, g, b = (round(v * factor) for v in rgb(colour))
    return f"#{r:02x}{g:02x}{b:02x}"


def apply_to_qml(text: str) -> str:
    """Colour a categorised QGIS style by the palette: each category whose value has a palette colour.

    The fill takes the colour (with the style's own alpha), the outline a darker shade; everything else of
    the style is kept. A style without such categories is returned unchanged.
    """
    import re

    colours = category_colours()
    symbol_of = {
        m.group("value"): m.group("symbol")
        for m in re.finditer(r'<category [^>]*value="(?P<value>[^"]*)" symbol="(?P<symbol>\d+)"', text)
    }
    for value, symbol in symbol_of.items():
        colour = colours.get(value)
        if colour is None:
            continue
        start = text.find(f'<symbol name="{symbol}"')
        end = text.find("</symbol>", start)
        if start < 0 or end < 0:
            continue
        block = text[start:end]

        def fill(match: re.Match[str], colour: str = colour) -> str:
            return f'<Option name="color" value="{qgis_colour(colour, alpha=int(match.group(1)))}"'

        def outline(match: re.Match[str], colour: str = colour) -> str:
            return f'<Option name="outline_color" value="{qgis_colour(darker(colour), alpha=int(match.group(1)))}"'

        block = re.sub(r'<Option name="color" value="\d+,\d+,\d+,(\d+)"', fill, block)
        block = re.sub(r'<Option name="outline_color" value="\d+,\d+,\d+,(\d+)"', outline, block)
        text = text[:start] + block + text[end:]
    return text
