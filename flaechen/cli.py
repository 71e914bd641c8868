"""The `flaechen` command: a thin layer over the library.

User errors (bad configuration, unreadable sources, wrong CRS …) are printed as clean messages with exit
code 2, never as tracebacks; a run that finished but lost data exits with 3 (see ``EXIT_CODES``); which
exception gives which status is the one table ``EXIT_STATUS``.
Warnings of GDAL and the libraries become one log line each, never raw output. Progress goes to stderr
(:class:`Progress`: bars on a terminal, plain log lines elsewhere); ``--quiet`` silences it.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from flaechen import __version__
from flaechen.errors import AccountingError, ConfigError, FlaechenError

if TYPE_CHECKING:
    from flaechen.config import DistrictConfig
    from flaechen.pipeline import RunResult

log = logging.getLogger("flaechen")

EXIT_OK = 0
EXIT_BUG = 1
EXIT_USER_ERROR = 2
EXIT_DATA_LOST = 3
EXIT_INTERRUPTED = 130

EXIT_CODES = f"""\
exit status:
  {EXIT_OK}    done; every feature of every source is in the dataset or in the issue log
  {EXIT_BUG}    an internal error (a bug in flaechen): the message says what to report
  {EXIT_USER_ERROR}    a problem with the configuration, a source, the output folder or the command line:
       the message names the file, layer, feature or key and the fix; nothing was written
  {EXIT_DATA_LOST}    the run finished and wrote its outputs, but data was lost: a source holds features
       that could not be read, or a municipality's parcels were all rejected (see the summary
       and the issue log); `check` exits with 3 where a run would
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)"""
"""The exit codes of every command, as printed by ``flaechen --help`` and documented in README.md."""


def _user_error(exc: BaseException) -> str:
    return f"error: {exc}"


def _file_system_error(exc: BaseException) -> str:
    # A file system problem the checks before the work did not foresee (disk full, permissions).
    assert isinstance(exc, OSError)
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    return f"error: {exc.strerror or exc}{where}. Check the folder and the free space."


def _internal_error(exc: BaseException) -> str:
    return (
        f"error: internal error {type(exc).__name__}: {' '.join(str(exc).split())[:500]}\n"
        "This is a bug in flaechen. Please report it with the command and this message; "
        "FLAECHEN_DEBUG=1 shows the traceback."
    )


EXIT_STATUS: tuple[tuple[type[BaseException], int, Callable[[BaseException], str]], ...] = (
    (KeyboardInterrupt, EXIT_INTERRUPTED, lambda exc: "interrupted"),
    (AccountingError, EXIT_BUG, _user_error),  # features lost: a bug, reported with the issue log
    (FlaechenError, EXIT_USER_ERROR, _user_error),  # every error of flaechen.errors: a user error
    (OSError, EXIT_USER_ERROR, _file_system_error),
    (Exception, EXIT_BUG, _internal_error),  # anything else is a bug (FLAECHEN_DEBUG=1: the traceback)
)
"""The one table from an exception to the exit status and the message on stderr; the first class that
matches wins. Every command ends through it (:func:`main`)."""


def exit_status(exc: BaseException) -> int | None:
    """The exit status for `exc` (:data:`EXIT_STATUS`), its message printed to stderr; None: re-raise it."""
    for kind, status, message in EXIT_STATUS:
        if isinstance(exc, kind):
            if kind is Exception and os.environ.get("FLAECHEN_DEBUG"):
                return None
            print(message(exc), file=sys.stderr)
            return status
    return None  # SystemExit, GeneratorExit: not an error of a command


_STAGE_CLIS = (
    "flaechen.flag.cli",
    "flaechen.plan.cli",
    "flaechen.publish.cli",
    "flaechen.export.cli",
    "flaechen.evaluate_cli",
)
"""Modules that add their own subcommands with ``add_parser(subparsers)``."""


class Progress:
    """Progress of a command's long steps on stderr; ``--quiet`` silences it.

    On a terminal each step is a progress bar (rich), drawn below the log, which goes on scrolling above
    it: a log line never lands inside a bar. Elsewhere (a file, a pipe, CI) each step is one plain log
    line when it starts. Use it around the command: ``with Progress(quiet=False) as progress: run(…,
    progress=progress)``.

    Parameters
    ----------
    quiet
        Show nothing.
    terminal
        Draw bars; by default where stderr is a terminal.
    """

    def __init__(self, *, quiet: bool, terminal: bool | None = None) -> None:
        self.quiet = quiet
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self._bars: Any = None
        self._tasks: dict[str, tuple[Any, bool]] = {}
        """Step → its bar and whether it is finished."""
        self._last: str | None = None

    def __enter__(self) -> Progress:
        if not self.quiet and self.terminal:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as Bars

            self._bars = Bars(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                redirect_stderr=True,  # log lines and warnings are printed above the bars
                redirect_stdout=True,
            )
            self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None

    def __call__(self, step: str, done: int, total: int) -> None:
        if self.quiet:
            return
        if self._bars is None:
            if done == 0 and step != self._last:
                log.info("%s …", step)
            self._last = step
            return
        task, finished = self._tasks.get(step, (None, False))
        if task is None or (done == 0 and finished):  # a new step, or a step run again (the demo's 2nd survey)
            task = self._bars.add_task(step, total=total)
        self._tasks[step] = (task, done >= total)
        self._bars.update(task, completed=done, total=total)


class _StderrHandler(logging.StreamHandler[Any]):
    """Writes to whatever ``sys.stderr`` is when a record is emitted (tests and tools replace it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(logging.Formatter("%(message)s"))

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass  # always the current sys.stderr


def _setup_logging(quiet: bool, verbose: bool = False) -> None:
    """Send the package's log to stderr at the level the command asks for; the handler is added once."""
    root = logging.getLogger("flaechen")
    if not any(isinstance(h, _StderrHandler) for h in root.handlers):
        root.addHandler(_StderrHandler())
    root.setLevel(logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO))
    root.propagate = False


def _print_issue_types(issues: Any, heading: str, *, file: TextIO) -> None:
    """The issue log by type, commonest first: severity, count, rejected, who fixes it."""
    from flaechen.issues import summarise

    summary = summarise(issues)
    if summary.empty:
        return
    print(heading, file=file)
    by_type = summary.groupby(["issue_type", "severity", "responsible"])[["count", "rejected"]].sum()
    for (issue_type, severity, responsible), row in by_type.sort_values("count", ascending=False).iterrows():
        print(
            f"  {severity:7s} {issue_type:28s} {int(row['count']):>8,d}  rejected {int(row['rejected']):>7,d}"
            f"  fix: {responsible}",
            file=file,
        )


def _print_summary(result: RunResult, *, quiet: bool) -> None:
    ds = result.dataset
    if quiet:
        return
    out = sys.stdout
    print(f"District dataset: {result.gpkg}", file=out)
    for name, layer in ds.layers.items():
        print(f"  {name:15s} {len(layer):>9,d} features", file=out)
    acc = ds.accounting
    unreadable = int(acc["unreadable"].sum())
    print(
        f"Sources: {len(acc)}; features held {acc['held'].sum():,d} (by each source's own count), "
        f"in the dataset {acc['kept'].sum():,d}, rejected {acc['rejected'].sum():,d}, "
        f"unreadable {unreadable:,d}"
        + (" (every source balanced, nothing lost)" if not result.losses else " (every source balanced)"),
        file=out,
    )
    _print_issue_types(ds.issues, f"Issues: {len(ds.issues):,d} (log: {result.issues_csv})", file=out)
    flagged = result.extras.get("flag")
    if flagged is not None:
        counts = flagged.candidates["category"].value_counts()
        hectares = flagged.candidates.groupby("category")["area_m2"].sum() / 10_000
        print(f"Reuse candidates: {len(flagged.candidates):,d}", file=out)
        for category, count in counts.items():
            print(f"  {category:22s} {count:>7,d}  {hectares[category]:>9,.1f} ha", file=out)
        from flaechen.flag.cli import print_not_evaluated

        print_not_evaluated(flagged.summary, file=out)
    register = result.extras.get("register")
    if register is not None:
        from flaechen.register.summary import change_summary

        for line in change_summary(register):
            print(line, file=out)
    q = ds.quality
    if not q.empty:
        print("Area check (computed / official area per municipality):", file=out)
        for r in q.itertuples():
            med = (
                "—"
                if r.median_area_ratio is None or r.median_area_ratio != r.median_area_ratio
                else f"{r.median_area_ratio:.4f}"
            )
            share = (
                "—"
                if r.share_deviating is None or r.share_deviating != r.share_deviating
                else f"{r.share_deviating:.1%}"
            )
            print(f"  {r.ags} {r.name:24s} median ratio {med}, beyond ±{r.tolerance:.1%}: {share}", file=out)
    if "qgis_project" in result.extras:
        print(f"QGIS project: {result.extras['qgis_project']}", file=out)
    if "plan" in result.extras:
        from flaechen.plan.run import summary_lines

        for line in summary_lines(result.extras["plan"], out_dir=result.out_dir):
            print(line, file=out)
    if "site" in result.extras:
        print(f"Map site: {Path(result.extras['site']).resolve()}", file=out)


def _report_losses(losses: list[str]) -> int:
    """Print what a run lost (even with --quiet) and return the exit status."""
    if not losses:
        return EXIT_OK
    print(f"DATA LOST: the run finished, but {len(losses)} problem(s) lost data:", file=sys.stderr)
    for line in losses:
        print(f"  - {line}", file=sys.stderr)
    return EXIT_DATA_LOST


def _load_for_run(config_path: str, out_dir: str) -> DistrictConfig:
    """Load the configuration and check the output folder: every problem of both at once, before any work."""
    from flaechen.config import load_config
    from flaechen.output import output_problems

    out = output_problems(out_dir)
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise ConfigError([*exc.details, *out], path=exc.path) from None
    if out:
        raise ConfigError(out)
    return config


def _cmd_run(args: argparse.Namespace) -> int:
    from flaechen.pipeline import run

    config = _load_for_run(args.config, args.out)
    with Progress(quiet=args.quiet) as progress:
        result = run(config, args.out, progress=progress, wait=args.wait)
    _print_summary(result, quiet=args.quiet)
    return _report_losses(result.losses)


def _cmd_check(args: argparse.Namespace) -> int:
    from flaechen.config import load_config
    from flaechen.pipeline import check_district

    config = load_config(args.config)
    with Progress(quiet=args.quiet) as progress:
        report = check_district(config, progress=progress)
    if report.problems:
        print(f"{args.config}: {len(report.problems)} problem(s):", file=sys.stderr)
        for p in report.problems:
            print(f"  - {p}", file=sys.stderr)
        return EXIT_USER_ERROR
    ds = report.dataset
    if not args.quiet and ds is not None:
        acc = ds.accounting
        print(
            f"{args.config}: configuration, {int((acc['layer'] == 'municipalities').sum())} boundary file(s) and "
            f"all {len(config.sources)} sources are readable; "
            f"{acc['held'].sum():,d} features held, {acc['kept'].sum():,d} would be in the dataset, "
            f"{acc['rejected'].sum():,d} rejected, {acc['unreadable'].sum():,d} unreadable."
        )
        _print_issue_types(ds.issues, f"Issues a run would log: {len(ds.issues):,d}", file=sys.stdout)
    return _report_losses(report.losses)


def _cmd_demo(args: argparse.Namespace) -> int:
    from flaechen.demo.next_year import run_two_surveys

    out = Path(args.out)

    def evaluate_first(first: RunResult) -> None:
        # The planted truth describes the first delivery; the second one built on some of its lots.
        _print_demo_evaluation(out, out / "input", quiet=args.quiet)

    with Progress(quiet=args.quiet) as progress:
        result = run_two_surveys(out, scale=args.scale, seed=args.seed, progress=progress, on_first=evaluate_first)
    _print_summary(result, quiet=args.quiet)
    return _report_losses(result.losses)


def _print_demo_evaluation(out: Path, inputs: Path, *, quiet: bool) -> None:
    """Evaluate the demo's candidates against the generator's planted truth and print the table."""
    from flaechen.demo.generate import TRUTH_NAME
    from flaechen.evaluate import evaluate, print_evaluation

    truth = inputs / TRUTH_NAME
    if not truth.is_file():
        return
    ev = evaluate(out, truth, layer="truth", field="category")
    if not quiet:
        print(f"Evaluation of the first survey against the planted truth ({truth}; also in {out / 'evaluation.json'}):")
        print_evaluation(ev, file=sys.stdout)


def _demo_scale(text: str) -> int:
    """``--scale``: a whole number of parcels, at least the demo district's minimum."""
    from flaechen.demo.district import MIN_SCALE

    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of parcels") from None
    if value < MIN_SCALE:
        raise argparse.ArgumentTypeError(
            f"{value:,} parcels are too few: the demo district's municipalities need at least "
            f"{MIN_SCALE:,} (e.g. --scale {MIN_SCALE})"
        )
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `flaechen` command (every command has help text)."""
    parser = argparse.ArgumentParser(
        prog="flaechen",
        description="Circular land use for a district: merge municipal geodata, flag and publish reuse candidates.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"flaechen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "run",
        help="build the district dataset from a district configuration",
        description="Read, harmonise and merge every declared source into DIR/district.gpkg.",
    )
    p.add_argument("config", metavar="DISTRICT_CONFIG", help="the district configuration (TOML or YAML)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait up to SECONDS for another run that is writing into DIR (default: stop at once with a message)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress and no summary")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser(
        "check",
        help="validate the configuration and every source without writing",
        description="Read the configuration and open every source; print every problem at once.",
    )
    p.add_argument("config", metavar="DISTRICT_CONFIG", help="the district configuration (TOML or YAML)")
    p.add_argument("--quiet", action="store_true", help="print only problems")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser(
        "demo",
        help="generate the demo district (if not there yet) and run two deliveries a year apart",
        description="Generate the fictional demo Landkreis into DIR/input, build it into DIR, record a few "
        "planners' edits in DIR/register.gpkg, derive the next year's delivery (DIR/input-2026: lots built "
        "on, a parcel split, a new brownfield, a plan changed, a renumbering) and build that. The demo's "
        "register is started afresh each time.",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument(
        "--scale",
        type=_demo_scale,
        default=20_000,
        help="number of parcels in the district (at least 3000; default 20000)",
    )
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--quiet", action="store_true", help="no progress and no summary")
    p.set_defaults(func=_cmd_demo)

    for module in _STAGE_CLIS:
        try:
            stage = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise
            continue
        stage.add_parser(sub)
    return parser


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Warnings not caught for a source's issue log become one log line, never raw library output."""
    text = " ".join(str(message).split())
    logging.getLogger("flaechen.warnings").warning("warning (%s): %s", category.__name__, text)


@contextmanager
def _folder_lock(args: argparse.Namespace) -> Iterator[None]:
    """Hold the output folder's lock while `flag`, `publish` or `export` change an existing folder.

    ``run`` and ``demo`` take the lock themselves (after checking the folder, before any work).
    """
    from flaechen.outdir import OutputFolder

    target = {"flag": "target", "publish": "out_dir", "export": "source"}.get(args.command)
    path = Path(getattr(args, target)) if target and getattr(args, target, None) else None
    if path is not None and path.is_file():
        path = path.parent
    if path is None or not path.is_dir():
        yield  # the command itself reports a missing folder
        return
    with OutputFolder(path, wait=getattr(args, "wait", 0.0) or 0.0):
        yield


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `flaechen` command; returns the exit status (see ``EXIT_CODES``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(getattr(args, "quiet", False))
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = _show_warning
        try:
            with _folder_lock(args):
                return int(args.func(args) or 0)
        except BaseException as exc:  # every exception ends through the one table EXIT_STATUS
            status = exit_status(exc)
            if status is None:
                raise
            return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
