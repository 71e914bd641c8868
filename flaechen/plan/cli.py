"""The ``flaechen plan`` subcommand: assess the commercial areas and compare the scenarios again.

For when the filled sheets come back or the scenarios change: re-reads the sheets, re-scores, rewrites
layer ``commercial_areas``, tables ``assessments``, ``assessment_scores``, ``scenarios`` and
``scenario_results`` of an existing ``district.gpkg`` (atomically) and the pages, without rebuilding the
district.

Examples
--------
.. code-block:: console

    $ flaechen plan out/ --config district.toml
"""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``plan`` subcommand to the ``flaechen`` command."""
    p = subparsers.add_parser(
        "plan",
        help="assess the commercial areas and compare the scenarios of an existing district dataset",
        description=(
            "Re-read the assessment sheets and re-run the assessment of the commercial areas and the scenarios "
            "on DIR/district.gpkg ([assessment], [planning] and [[scenarios]] of the district configuration); "
            "rewrite the planning layers and tables, the sheets, score cards and the scenario page."
        ),
    )
    p.add_argument("target", metavar="OUT_DIR", help="output folder of `flaechen run`")
    p.add_argument("--config", required=True, metavar="DISTRICT_CONFIG", help="the district configuration")
    p.add_argument("--quiet", action="store_true", help="no summary")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from flaechen.config import load_config
    from flaechen.district import read_district, resolve_district
    from flaechen.flag import load_rules
    from flaechen.flag.core import INPUT_LAYERS, OPTIONAL_LAYERS
    from flaechen.gpkg import update_gpkg
    from flaechen.plan.run import plan_from_config, summary_lines

    gpkg = resolve_district(args.target)
    out = gpkg.parent
    config = load_config(args.config)
    layers = read_district(gpkg, layers=INPUT_LAYERS, optional=(*OPTIONAL_LAYERS, "candidates", "sources"))
    candidates = layers.pop("candidates", None)
    sources = layers.pop("sources", None)
    rules = load_rules(config.flag.rules)
    result = plan_from_config(config, layers, candidates=candidates, sources=sources, rules=rules, out_dir=out)
    update_gpkg(gpkg, layers=result.layers(), tables=result.tables())
    if not args.quiet:
        for line in summary_lines(result, out_dir=out):
            print(line, file=sys.stdout)
    return 0
