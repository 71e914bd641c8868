"""``flaechen publish OUT_DIR``: the map site from an existing district dataset.

A thin layer over :func:`flaechen.publish.publish`; user errors are
:class:`~flaechen.errors.FlaechenError` subclasses, which the main CLI prints cleanly.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flaechen.errors import FlaechenError

if TYPE_CHECKING:
    from flaechen.publish.profile import PublishProfile

log = logging.getLogger(__name__)


def add_parser(subparsers: Any) -> None:
    """Add the ``publish`` command to the main CLI's subparsers."""
    parser = subparsers.add_parser(
        "publish",
        help="build the offline map site OUT_DIR/site/ from OUT_DIR/district.gpkg",
        description=(
            "Build the offline map site for public workshops: OUT_DIR/site/index.html and one page per "
            "municipality, from OUT_DIR/district.gpkg. Only fields the publishing profile ([publish] in the "
            "district configuration) allows reach the site; the folder works without network."
        ),
    )
    parser.add_argument("out_dir", metavar="OUT_DIR", type=Path, help="folder holding district.gpkg")
    parser.add_argument(
        "--config",
        metavar="DISTRICT_CONFIG",
        type=Path,
        default=None,
        help="district configuration whose [publish] table is the publishing profile (defaults otherwise)",
    )
    parser.add_argument(
        "--print",
        dest="print_maps",
        action="store_true",
        default=None,
        help="also print one A3 landscape map per municipality into OUT_DIR/site/karten-a3.pdf (needs Chromium); "
        "[publish] print_maps = true does it always",
    )
    parser.add_argument(
        "--no-background",
        dest="background",
        action="store_false",
        default=None,
        help="leave out the offline background drawn from land use and buildings (faster, smaller)",
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from flaechen.publish import publish

    profile: PublishProfile | None = None
    base_dir = None
    district_name = None
    if args.config is not None:
        from flaechen.config import load_config

        if not args.config.is_file():
            raise FlaechenError(f"{args.config}: no such configuration file")
        config = load_config(args.config)
        profile = config.publish
        base_dir = config.base_dir
        district_name = config.name
    gpkg = Path(args.out_dir) / "district.gpkg"
    index = publish(
        gpkg,
        args.out_dir,
        profile=profile,
        base_dir=base_dir,
        district_name=district_name,
        background=args.background,
        print_maps=args.print_maps,
    )
    if not args.quiet:
        print(index)
    return 0
