"""Benchmark: the map site of the demo district: size, load time in headless Chromium, features drawn.

Generates the demo district at the given scale (or takes an existing ``--district DIR`` holding a
``district.gpkg``), runs the pipeline and the flag step, publishes the site with its offline
background, then opens the overview and every municipality page from file:// in Debian's headless
Chromium with the network off (Playwright, never `playwright install`) and reports, per page, the best
of several loads:

- ``ready_s``: time from navigation start until the map's layers are built (``performance.now()``);
- ``first_frame_s``: time until the map is built and the background tiles in view have loaded (where
  the page shows the background), i.e. the first complete picture;
- ``page_bytes``: the bytes the page loads (HTML, scripts, style sheets, images; tiles not counted),
  ``data_bytes``: of which the page's data scripts;
- ``drawn``: features drawn per layer (``grid`` = aggregate cells of private candidates, ``built`` = sites
  built on since the last survey, ``built_grid`` = cells of those only counted).

Besides: the site folder's size, the background's tiles (count, bytes, zoom levels), the time to
publish (pages and data; background tiles) and the printed maps (with ``--print``).

Usage::

    .venv/bin/python benchmarks/bench_site.py                       # demo scale 3000 (the tests' scale)
    .venv/bin/python benchmarks/bench_site.py --scale 250000 --out /tmp/d250k   # keeps the district
    .venv/bin/python benchmarks/bench_site.py --district /tmp/d250k --private grid
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from flaechen.config import load_config  # noqa: E402
from flaechen.demo.generate import generate_demo  # noqa: E402
from flaechen.pipeline import run  # noqa: E402
from flaechen.publish import load_profile, publish  # noqa: E402
from tests.publish.browser import browser, drawn, open_site_page, page_weight  # noqa: E402

LAYERS = ("municipalities", "zoning", "brownfields", "candidates", "grid", "built", "built_grid", "buildings")


def _data_bytes(page: Path) -> int:
    import re

    text = page.read_text(encoding="utf-8")
    return sum(
        (page.parent / src).stat().st_size
        for src in set(re.findall(r"""<script\b[^>]*?\bsrc=["'](data/[^"']+)["']""", text))
        if (page.parent / src).is_file()
    )


def _first_frame(page) -> float | None:
    """Seconds from navigation start until the background tiles in view have loaded (None: no background)."""
    return page.evaluate(
        """() => new Promise((resolve) => {
            const site = window.FlaechenSite && FlaechenSite.site;
            const layer = site && site.background;
            if (!layer) { resolve(null); return; }
            const done = () => resolve(performance.now() / 1000);
            if (!layer.isLoading()) { done(); } else { layer.once('load', done); }
            setTimeout(() => resolve(-1), 30000);
        })"""
    )


def measure_page(b, page_path: Path, loads: int) -> dict:
    ready, frames = [], []
    result: dict = {"page_bytes": page_weight(page_path), "data_bytes": _data_bytes(page_path)}
    for _ in range(loads):
        page, log, seconds = open_site_page(b, page_path)
        ready.append(seconds)
        first = _first_frame(page)
        if first is not None:
            frames.append(first)
        result["drawn"] = {layer: drawn(page, layer) for layer in LAYERS}
        result["errors"] = log.errors + [f"request {u}" for u in log.requests]
        page.context.close()
    result["ready_s"] = round(min(ready), 3)
    if frames:
        result["first_frame_s"] = round(min(frames), 3)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=3000, help="demo scale (parcels), default 3000")
    parser.add_argument("--district", type=Path, default=None, help="use DIR/district.gpkg (no generation)")
    parser.add_argument("--private", default=None, choices=("parcels", "municipality", "grid"))
    parser.add_argument("--loads", type=int, default=3, help="page loads, the best is reported")
    parser.add_argument("--out", type=Path, default=None, help="keep the district and site here")
    parser.add_argument("--print", dest="print_maps", action="store_true", help="also time the printed maps")
    parser.add_argument("--pages", type=int, default=None, help="measure only this many municipality pages")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
        profile = load_profile()
        base_dir = None
        name = None
        if args.district is not None:
            out = args.district
            gpkg = out / "district.gpkg"
            config_path = out / "input" / "district.toml"
            if config_path.is_file():
                config = load_config(config_path)
                profile, base_dir, name = config.publish, config.base_dir, config.name
        else:
            out = args.out or Path(tmp)
            config = load_config(generate_demo(out / "input", scale=args.scale))
            gpkg = Path(run(config, out, publish=False).gpkg)  # flags candidates; the site is timed below
            profile, base_dir, name = config.publish, config.base_dir, config.name
        if args.private:
            profile = profile.model_copy(update={"private_candidates": args.private})
        start = time.perf_counter()
        publish(gpkg, out, profile=profile, base_dir=base_dir, district_name=name, background=False)
        pages_s = time.perf_counter() - start
        start = time.perf_counter()
        index = publish(gpkg, out, profile=profile, base_dir=base_dir, district_name=name, print_maps=args.print_maps)
        total_s = time.perf_counter() - start
        site = index.parent
        tiles = sorted((site / "tiles").rglob("*.png")) if (site / "tiles").is_dir() else []
        result: dict = {
            "district": str(gpkg),
            "private_candidates": profile.private_candidates,
            "publish_pages_s": round(pages_s, 1),
            "publish_with_background_s": round(total_s, 1),
            "site_bytes": sum(p.stat().st_size for p in site.rglob("*") if p.is_file()),
            "tiles": {
                "files": len(tiles),
                "bytes": sum(p.stat().st_size for p in tiles),
                "zooms": sorted({int(p.relative_to(site / "tiles").parts[0]) for p in tiles}),
            },
            "pages": {},
        }
        if (site / "karten-a3.pdf").is_file():
            result["pdf_bytes"] = (site / "karten-a3.pdf").stat().st_size
        municipality_pages = sorted(site.glob("gemeinde-*.html"))
        if args.pages is not None:
            municipality_pages = municipality_pages[: args.pages]
        with browser() as b:
            for page_path in [index, *municipality_pages]:
                result["pages"][page_path.name] = measure_page(b, page_path, args.loads)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    errors = [e for p in result["pages"].values() for e in p["errors"]]
    return 0 if not errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
