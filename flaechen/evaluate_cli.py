"""The ``flaechen evaluate`` subcommand (a thin layer over :mod:`flaechen.evaluate`, imported on use).

Examples
--------
.. code-block:: console

    $ flaechen evaluate out/ survey.gpkg --field art --map "Lücke=Baulücke"
"""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``evaluate`` subcommand to the ``flaechen`` command."""
    p = subparsers.add_parser(
        "evaluate",
        help="compare the candidates with a reference register (survey, Baulückenkataster)",
        description=(
            "Compare the candidates of OUT_DIR with a reference register: points or polygons in any CRS with "
            "a field naming each feature's category. A point is found where it lies in a candidate, a polygon "
            "where candidates cover at least half of it. Prints recall and precision (a lower bound) per "
            "category and every miss with the conditions its parcel failed; writes OUT_DIR/evaluation.json, "
            "evaluation.csv and evaluation_features.csv."
        ),
    )
    p.add_argument("out_dir", metavar="OUT_DIR", help="output folder of `flaechen run` (or its district.gpkg)")
    p.add_argument("reference", metavar="REFERENCE", help="the reference register (GeoPackage, Shapefile, GeoJSON …)")
    p.add_argument("--layer", metavar="L", default=None, help="layer of the reference file (where it has several)")
    p.add_argument("--field", metavar="F", required=True, help="field holding each reference feature's category")
    p.add_argument(
        "--map",
        metavar='"Ref=Kategorie,…"',
        default=None,
        help='reference values to candidate categories, e.g. "Lücke=Baulücke,Brache=Brachfläche"',
    )
    p.add_argument("--quiet", action="store_true", help="print nothing; only write the files")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from flaechen.evaluate import evaluate, parse_mapping, print_evaluation

    ev = evaluate(args.out_dir, args.reference, field=args.field, layer=args.layer, mapping=parse_mapping(args.map))
    if args.quiet:
        return 0
    print_evaluation(ev, file=sys.stdout)
    return 0
