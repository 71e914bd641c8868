"""``python -m flaechen.demo --out DIR --scale N --seed S``: write the demo district."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from flaechen.demo.generate import generate_demo


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and generate the demo district; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m flaechen.demo", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="target folder")
    parser.add_argument("--scale", type=int, default=20_000, help="number of parcels (default 20,000)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--quiet", action="store_true", help="log warnings only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(levelname)s %(message)s")
    logging.getLogger("pyogrio").setLevel(logging.WARNING)  # no "Created N records" per file
    try:
        config = generate_demo(args.out, scale=args.scale, seed=args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    sys.stdout.write(f"{config}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
