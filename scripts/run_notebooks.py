"""Execute the notebooks in place on the demo district, so that they are committed with their outputs.

Run from the repository root after ``make demo`` (which writes ``out/demo``), with the project's venv:

    .venv/bin/python scripts/run_notebooks.py                # every notebook in notebooks/
    .venv/bin/python scripts/run_notebooks.py notebooks/02_potenziale_und_wohnungsbedarf.ipynb

``make notebooks`` does both. Each notebook runs top to bottom in a fresh kernel in ``notebooks/`` (where
``flaechen.analysis.demo_output`` finds ``../out/demo``); a cell that fails stops the script with the
notebook's name and the error, and leaves the notebook file as it was.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent

_RANDOM_ID = re.compile(r"(?<=_)[0-9a-f]{32}(?![0-9a-f])")
"""The random ids Folium gives its elements (``map_5f3…``)."""

_ADDRESS = re.compile(r" at 0x[0-9a-f]+>")
"""A memory address in an object's plain-text form (``<…Styler at 0x7f…>``)."""


def stable(notebook: nbformat.NotebookNode) -> None:
    """Replace what differs from run to run on the same data (random element ids, memory addresses) in the
    outputs, so that running the notebooks again changes their files only where their results changed."""
    ids: dict[str, str] = {}

    def number(match: re.Match[str]) -> str:
        return ids.setdefault(match.group(0), f"{len(ids) + 1:032x}")

    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            for kind, value in output.get("data", {}).items():
                if kind in ("text/html", "text/plain") and isinstance(value, str):
                    output["data"][kind] = _ADDRESS.sub(">", _RANDOM_ID.sub(number, value))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: notebooks/*.ipynb)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds a cell may take (default 900)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    if os.environ.get("FLAECHEN_DISTRICT"):
        print("FLAECHEN_DISTRICT is set: the committed outputs are those of out/demo; unset it", file=sys.stderr)
        return 2
    if not (ROOT / "out" / "demo" / "district.gpkg").is_file():
        print("out/demo/district.gpkg is missing: run `make demo` first", file=sys.stderr)
        return 2
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        client = NotebookClient(
            notebook,
            timeout=args.timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
            record_timing=False,  # no timestamps: a notebook run again on the same data stays the same file
        )
        try:
            client.execute()
        except CellExecutionError as exc:
            print(f"{path}: a cell failed; the file is unchanged\n{exc}", file=sys.stderr)
            return 1
        stable(notebook)
        nbformat.write(notebook, path)
        print(f"executed {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
