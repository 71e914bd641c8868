"""Helpers shared by the publishing tests: reading a generated site back."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

PART = re.compile(r"^window\.FLAECHEN_DATA\.parts\.push\((.*)\);\s*$", re.S)
DISTRICT = re.compile(r"^window\.FLAECHEN_DATA\.district=(.*);\s*$", re.S)


def read_parts(site: Path) -> dict[str, dict]:
    """The per-municipality data scripts of a site, parsed, by AGS."""
    parts = {}
    for path in sorted((site / "data").glob("gemeinde-*.js")):
        payload = json.loads(PART.match(path.read_text(encoding="utf-8")).group(1))
        parts[payload["ags"]] = payload["layers"]
    return parts


def read_district_data(site: Path) -> dict:
    return json.loads(DISTRICT.match((site / "data" / "gemeinden.js").read_text(encoding="utf-8")).group(1))


def count_features(site: Path, layer: str, ags: str | None = None) -> int:
    parts = read_parts(site)
    return sum(len(layers.get(layer, {}).get("features", [])) for a, layers in parts.items() if ags is None or a == ags)


def encodings(value: str) -> set[str]:
    """The forms a value can take in a site file: raw, HTML-escaped, JSON-escaped (ours and ASCII)."""
    js = json.dumps(value, ensure_ascii=False)[1:-1]
    ours = js.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    ascii_js = json.dumps(value)[1:-1]
    return {value, html.escape(value), html.escape(value, quote=False), js, ours, ascii_js}


def find_leaks(site: Path, values: list[str]) -> list[str]:
    """Every (file, value) where a value appears in any file of the site, in any encoding."""
    hits = []
    needles = {v: encodings(v) for v in values if v}
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        text = path.read_bytes().decode("utf-8", errors="replace")
        for value, forms in needles.items():
            if any(form in text for form in forms):
                hits.append(f"{path.relative_to(site)}: {value!r}")
    return hits
