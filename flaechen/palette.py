"""The one palette of flaechen (``layers/palette.yaml``): QGIS styles, the map site and the notebooks.

Every colour that tells one kind of thing from another — candidate categories, zoning classes, land use,
brownfields, boundaries, buildings, the register's states, the plan themes, the notebooks' charts — is
defined once in ``layers/palette.yaml``. The QGIS styles are recoloured from it when they are read
(:func:`apply_to_qml`), the site takes its layer styles, background and legend swatches from it
(:func:`css_variables` for the style sheets), and the notebooks' charts use it.

Examples
--------
>>> category_colours()["Brachfläche"]
'#8c510a'
>>> qgis_colour("#8c510a", alpha=170)
'140,81,10,170'
>>> fill_of("buildings"), outline_of("buildings")
('#c8c8c8', '#787878')
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from flaechen.layers import layers_dir

STYLE_SECTIONS = {"candidates": "candidate_category", "sites": "register_state"}
"""The palette section of a QGIS style whose layer name differs from it."""

OUTLINE_FACTOR = 0.7
"""How much darker a filled symbol's outline is than its fill."""


@cache
def _palette() -> dict[str, Any]:
    with (layers_dir() / "palette.yaml").open(encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    return data


def section(name: str) -> Any:
    """A section of the palette as it is written (a colour, a mapping or a list).

    Raises
    ------
    KeyError
        Where the palette has no such section; the message lists those it has.
    """
    data = _palette()
    if name not in data:
        raise KeyError(f"layers/palette.yaml has no colours for {name!r}; it has {', '.join(data)}")
    return data[name]


def colours(name: str) -> MappingProxyType[str, str]:
    """A section of the palette whose entries are single colours, e.g. ``zoning`` or ``background``."""
    return MappingProxyType({str(k): str(v) for k, v in section(name).items()})


def category_colours() -> MappingProxyType[str, str]:
    """Colour of each candidate category (code list ``candidate_category``) as ``#rrggbb``."""
    return colours("candidate_category")


def other_colour() -> str:
    """Colour of a category without its own colour."""
    return str(section("other"))


def fill_of(name: str) -> str:
    """The fill colour of a layer's single symbol (``buildings``, ``brownfields``, …)."""
    entry = section(name)
    return str(entry["fill"] if isinstance(entry, Mapping) else entry)


def outline_of(name: str) -> str:
    """The outline colour of a layer's single symbol (the colour itself where only one is given)."""
    entry = section(name)
    return str(entry["outline"] if isinstance(entry, Mapping) else entry)


def plan_themes() -> tuple[str, ...]:
    """The colours of the plan themes and scenarios, in order."""
    return tuple(str(c) for c in section("plan_themes"))


def rgb(colour: str) -> tuple[int, int, int]:
    """``#rrggbb`` as a tuple of integers."""
    text = colour.lstrip("#")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def qgis_colour(colour: str, *, alpha: int = 255) -> str:
    """``#rrggbb`` in QGIS's ``r,g,b,a`` notation."""
    return ",".join(str(v) for v in (*rgb(colour), alpha))


def darker(colour: str, factor: float = OUTLINE_FACTOR) -> str:
    """A darker shade of `colour` (for outlines)."""
    r, g, b = (round(v * factor) for v in rgb(colour))
    return f"#{r:02x}{g:02x}{b:02x}"


def _entry(entries: Mapping[str, Any], key: str) -> Any:
    if key in entries:
        return entries[key]
    folded = {str(k).casefold(): v for k, v in entries.items()}
    return folded.get(key.casefold())


_COLOUR = re.compile(r'<Option name="(?P<which>color|outline_color)" value="\d+,\d+,\d+,(?P<alpha>\d+)"')


def _recolour(block: str, entry: Any) -> str:
    """Give one ``<symbol>`` block the palette's colours, keeping every alpha."""
    if isinstance(entry, Mapping):
        fill, outline = str(entry["fill"]), str(entry["outline"])
    else:
        filled = any(m["which"] == "color" and int(m["alpha"]) > 0 for m in _COLOUR.finditer(block))
        fill, outline = str(entry), darker(str(entry)) if filled else str(entry)

    def swap(match: re.Match[str]) -> str:
        alpha = int(match["alpha"])
        if alpha == 0:  # a transparent fill stays transparent, whatever its colour
            return match.group(0)
        colour = fill if match["which"] == "color" else outline
        return f'<Option name="{match["which"]}" value="{qgis_colour(colour, alpha=alpha)}"'

    return _COLOUR.sub(swap, block)


def _symbols_of(text: str) -> dict[str, str | None]:
    """Which palette key each symbol of the renderer stands for: a category's value, a rule's class, or
    None for the single symbol of a single-symbol renderer."""
    renderer = re.search(r'<renderer-v2 type="(\w+)"', text)
    kind = renderer.group(1) if renderer else ""
    if kind == "categorizedSymbol":
        return {
            m["symbol"]: m["value"]
            for m in re.finditer(r'<category [^>]*?value="(?P<value>[^"]*)" symbol="(?P<symbol>\d+)"', text)
        }
    if kind == "RuleRenderer":
        # the class is the label's first word: "WA – Allgemeines Wohngebiet" → WA, "Sonstige" → Sonstige
        return {
            m["symbol"]: m["label"].split(" ")[0]
            for m in re.finditer(r'<rule [^>]*?symbol="(?P<symbol>\d+)" label="(?P<label>[^"]*)"', text)
        }
    if kind == "singleSymbol":
        return {"0": None}
    return {}


def apply_to_qml(text: str, layer: str) -> str:
    """Colour a QGIS style of `layer` by the palette; everything else of the style is kept.

    A categorised style takes the colour of each category's value, a rule-based one of each rule's class
    (its label's first word), a single-symbol one the layer's colour (section ``STYLE_SECTIONS`` or the
    layer's name). Fill and line alphas stay the style's. A style whose layer has no palette section, or
    a class the section lacks, keeps its colours.
    """
    name = STYLE_SECTIONS.get(layer, layer)
    if name not in _palette():
        return text
    entries = section(name)
    for symbol, key in _symbols_of(text).items():
        # a single symbol takes the layer's one colour (or its fill and outline), a class its own
        entry = entries if key is None else _entry(entries, key) if isinstance(entries, Mapping) else None
        if entry is None:
            continue
        start = text.find(f'<symbol name="{symbol}"')
        end = text.find("</symbol>", start)
        if start < 0 or end < 0:
            continue
        text = text[:start] + _recolour(text[start:end], entry) + text[end:]
    return text


def css_variables() -> str:
    """The palette's colours the style sheets use, as CSS custom properties (``--fl-…``) of ``:root``.

    >>> "--fl-brownfields-outline: #783c14;" in css_variables()
    True
    """
    names: dict[str, str] = {}
    for layer in ("brownfields", "municipalities", "parcels", "buildings", "grid", "built_on"):
        names[f"{layer}-fill"] = fill_of(layer)
        names[f"{layer}-outline"] = outline_of(layer)
    for key, colour in colours("background").items():
        names[f"background-{key.replace('_', '-')}"] = colour
    names["other"] = other_colour()
    body = "".join(f"  --fl-{key}: {value};\n" for key, value in names.items())
    return f"/* the one palette of flaechen (layers/palette.yaml) */\n:root {{\n{body}}}\n"


def stylesheet(path: str | os.PathLike[str]) -> str:
    """A style sheet of flaechen's own with the palette's :func:`css_variables` in front (``var(--fl-…)``)."""
    return css_variables() + Path(path).read_text(encoding="utf-8")


def recolour_styles(directory: str | os.PathLike[str] | None = None) -> list[Path]:
    """Rewrite the QML files in `directory` (``layers/styles/``) in the palette's colours; return those changed.

    Run after changing ``layers/palette.yaml`` (``python -m flaechen.palette``), so that the files QGIS users
    load by hand agree with what flaechen embeds.
    """
    root = Path(directory) if directory is not None else layers_dir() / "styles"
    changed = []
    for path in sorted(root.glob("*.qml")):
        text = path.read_text(encoding="utf-8")
        new = apply_to_qml(text, path.stem)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed


if __name__ == "__main__":  # pragma: no cover
    import sys

    for changed_path in recolour_styles():
        sys.stdout.write(f"recoloured {changed_path}\n")
