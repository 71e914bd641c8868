"""Benchmark: the map site of the demo district: size, load time in headless Chromium, features drawn.

Generates the demo district at the given scale, runs the pipeline and the flag step, publishes the site,
then opens the overview page from file:// in Debian's headless Chromium with the network off (Playwright,
never `playwright install`) and reports the best of several loads: the time from navigation start until
the map's layers are built (``performance.now()`` in the page), the bytes the page loads (HTML, scripts,
style sheets, images), and the number of features drawn per layer (SVG paths in the map).

Usage::

    .venv/bin/python benchmarks/bench_site.py                       # demo scale 3000 (the tests' scale)
    .venv/bin/python benchmarks/bench_site.py --scale 20000         # `make demo`'s scale
    .venv/bin/python benchmarks/bench_site.py --private parcels     # every candidate drawn per parcel
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
from flaechen.publish import publish  # noqa: E402
from tests.publish.browser import browser, drawn, open_site_page, page_weight  # noqa: E402

LAYERS = ("municipalities", "zoning", "brownfields", "candidates", "grid", "buildings")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=3000, help="demo scale (parcels), default 3000")
    parser.add_argument("--private", default=None, choices=("parcels", "municipality", "grid"))
    parser.add_argument("--loads", type=int, default=3, help="page loads, the best is reported")
    parser.add_argument("--out", type=Path, default=None, help="keep the district and site here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
        out = args.out or Path(tmp)
        config = load_config(generate_demo(out / "sources", scale=args.scale))
        gpkg = Path(run(config, out, publish=False).gpkg)  # flags candidates; the site is timed below
        profile = config.publish
        if args.private:
            profile = profile.model_copy(update={"private_candidates": args.private})
        start = time.perf_counter()
        index = publish(gpkg, out, profile=profile, base_dir=config.base_dir, district_name=config.name)
        publish_s = time.perf_counter() - start
        site = index.parent
        result: dict = {
            "scale": args.scale,
            "private_candidates": profile.private_candidates,
            "publish_s": round(publish_s, 2),
            "site_bytes": sum(p.stat().st_size for p in site.rglob("*") if p.is_file()),
            "pages": len(list(site.glob("*.html"))),
            "overview_bytes": page_weight(index),
        }
        times = []
        with browser() as b:
            for _ in range(args.loads):
                page, log, seconds = open_site_page(b, index)
                times.append(seconds)
                result["drawn"] = {layer: drawn(page, layer) for layer in LAYERS}
                result["errors"] = log.errors + [f"request {u}" for u in log.requests]
                page.context.close()
        result["load_s_best"] = round(min(times), 3)
        result["load_s_all"] = [round(t, 3) for t in times]
    print(json.dumps(result, indent=2))
    return 0 if not result["errors"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
