"""The ``flaechen flag`` subcommand: re-run the flagging step on an existing district dataset.

Examples
--------
.. code-block:: console

    $ flaechen flag out/ --config district.toml
    $ flaechen flag out/district.gpkg --quiet
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    import pandas as pd

from flaechen.errors import SourceError

if TYPE_CHECKING:
    import pandas as pd


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``flag`` subcommand to the ``flaechen`` command."""
    p = subparsers.add_parser(
        "flag",
        help="flag, explain and size reuse candidates in an existing district dataset",
        description=(
            "Re-run the flagging step on DIR/district.gpkg (or the given GeoPackage): write layer "
            "'candidates' and tables 'summary', 'rules' and 'parcel_measures' into it. Rules and "
            "constraints come from the [flag] table of the district configuration."
        ),
    )
    p.add_argument("target", metavar="OUT_DIR_OR_GPKG", help="output folder of `flaechen run`, or its district.gpkg")
    p.add_argument("--config", metavar="DISTRICT_CONFIG", help="the district configuration (its [flag] table)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: every core)")
    p.add_argument("--quiet", action="store_true", help="no progress and no summary")
    p.set_defaults(func=_run)


def _resolve(target: str) -> Path:
    path = Path(target)
    if path.is_dir():
        path = path / "district.gpkg"
    if not path.is_file():
        raise SourceError(f"{path}: no district dataset here; run `flaechen run` first")
    return path


def print_not_evaluated(summary: pd.DataFrame, *, file: TextIO) -> None:
    """Print, per municipality, the rules its missing data left unevaluated (nothing where all were)."""
    rows = [r for r in summary.itertuples() if isinstance(getattr(r, "not_evaluated", None), str)]
    if not rows:
        return
    print("Not evaluated for lack of data (missing data is not evidence):", file=file)
    for r in rows:
        print(f"  {r.ags} {r.name!s}: {r.not_evaluated}", file=file)


def _run(args: argparse.Namespace) -> int:
    import pandas as pd

    from flaechen.flag.gpkg import flag_gpkg

    gpkg = _resolve(args.target)
    section = None
    base_dir = None
    if args.config:
        from flaechen.config import load_config

        config = load_config(args.config)
        section = config.flag
        base_dir = config.base_dir
    result = flag_gpkg(gpkg, flag_section=section, base_dir=base_dir, workers=args.workers)
    if not args.quiet:
        out = sys.stdout
        cands = result.candidates
        print(f"Candidates: {len(cands):,d} ({cands['area_m2'].sum() / 10_000:,.1f} ha) in {gpkg}", file=out)
        for category, group in cands.groupby("category"):
            print(f"  {category:22s} {len(group):>8,d}  {group['area_m2'].sum() / 10_000:>10,.1f} ha", file=out)
        for r in result.summary.itertuples():
            per = r.inner_m2_per_inhabitant
            per_txt = "—" if pd.isna(per) else f"{float(per):.1f} m²/inhabitant"  # no population: NA
            print(f"  {r.ags} {r.name!s:24s} {r.candidates_ha:>9,.1f} ha  inner potential {per_txt}", file=out)
        print_not_evaluated(result.summary, file=out)
    return 0
