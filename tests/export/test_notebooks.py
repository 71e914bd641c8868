"""The notebooks in notebooks/ run top to bottom on the demo district (executed with nbclient)."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.export.conftest import DEMO_SCALE

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))


def test_there_are_at_least_two_notebooks():
    assert len(NOTEBOOKS) >= 2


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, demo_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("FLAECHEN_DEMO_DIR", str(demo_dir))
    monkeypatch.setenv("FLAECHEN_DEMO_SCALE", str(DEMO_SCALE))
    monkeypatch.delenv("FLAECHEN_DISTRICT", raising=False)
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2, "the notebook should draw its maps and charts"
    tables = [o for o in outputs if "text/html" in o.get("data", {})]
    assert tables, "the notebook should show its tables"
