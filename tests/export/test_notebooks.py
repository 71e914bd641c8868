"""The notebooks in notebooks/: committed with their outputs, and run top to bottom on a demo district.

The committed outputs come from `out/demo` (what `make demo` writes); the test executes each notebook again
on the session's small demo district (`demo_dir`, built by the same function as `flaechen demo`).
"""

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))

GERMAN_NUMBER = re.compile(r">\s*\d{1,3}(\.\d{3})+(,\d+)?\s*<|>\s*\d+,\d+\s*<")
"""A number in a table cell as the German formatter writes it: ``1.234`` or ``58,52``."""

ENGLISH_DECIMAL = re.compile(r">\s*-?[\d,]*\d\.(\d{1,2}|\d{4,})\s*<")
"""A decimal number in a table cell as pandas writes it by default (``58.52``, ``58.520000``, ``1,234.5``);
not ``12.400``, which is twelve thousand four hundred in German."""


def _outputs(notebook) -> list:
    return [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]


def _tables(outputs) -> list[str]:
    return [
        o["data"]["text/html"]
        for o in outputs
        if "text/html" in o.get("data", {}) and "<table" in o["data"]["text/html"]
    ]


def test_there_are_four_notebooks_numbered_once():
    numbers = [p.name.split("_", 1)[0] for p in NOTEBOOKS]
    assert numbers == ["01", "02", "03", "04"], [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_with_its_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code), "execute the notebook on out/demo before committing it"
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), "run top to bottom once"
    outputs = _outputs(notebook)
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"], "no raw warning"
    text = nbformat.writes(notebook)
    assert "/work/" not in text and "/tmp/" not in text, "no path of the machine it ran on"
    assert "demo_district" not in text and "read_results" not in text  # the one reader, on out/demo
    assert "read_district" in text and "flaechen.formatting" in text
    tables = _tables(outputs)
    assert tables and any(GERMAN_NUMBER.search(t) for t in tables)
    assert not [t for t in tables if ENGLISH_DECIMAL.search(t)], "decimals the German way (1.234,5)"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_the_demo_district(path, demo_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("FLAECHEN_DISTRICT", str(demo_dir))
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = _outputs(notebook)
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2, "the notebook should draw its maps and charts"
    tables = _tables(outputs)
    assert tables, "the notebook should show its tables"
    assert not [t for t in tables if ENGLISH_DECIMAL.search(t)], "decimals the German way (1.234,5)"
    if "district_map" in nbformat.writes(notebook):
        assert any("leaflet" in o.get("data", {}).get("text/html", "").lower() for o in outputs), "the folium map"
