"""`flaechen flag` on an existing district.gpkg: reads the canonical layers, writes candidates and tables back."""

from __future__ import annotations

import pyogrio
import pytest

from flaechen.errors import FlaechenError
from flaechen.flag import flag_gpkg
from flaechen.flag.cli import _resolve
from flaechen.gpkg import write_gpkg

from .conftest import box, district, village


@pytest.fixture
def gpkg(tmp_path):
    parcels, buildings = village(0, 0, skip=[(3, 3)])
    parcels.append({"parcel_id": "V0303", "geometry": box(90, 90, 120, 120)})
    parcels.append({"parcel_id": "FAR", "geometry": box(2000, 0, 2040, 30)})
    zoning = [
        {"zoning_id": "Z1", "bes_art": 1200, "plan_name": "7", "geometry": box(-10, -10, 250, 250)},
        {"zoning_id": "Z2", "allg_art": 1000, "plan_type": "FNP", "geometry": box(1990, -10, 2100, 100)},
    ]
    layers = district(parcels=parcels, zoning=zoning, buildings=buildings)
    path = tmp_path / "out" / "district.gpkg"
    write_gpkg(path, layers=layers)
    return path


def test_flag_gpkg_writes_candidates_and_tables(gpkg, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("bauluecke:\n  min_area_m2: {value: 100, source: 'Ratsbeschluss 2024/17'}\n", encoding="utf-8")
    result = flag_gpkg(gpkg, flag_section={"rules": "rules.yaml"}, base_dir=tmp_path, workers=1)
    names = {name for name, _ in pyogrio.list_layers(gpkg)}
    assert {"candidates", "summary", "rules", "parcel_measures", "parcels"} <= names
    cands = pyogrio.read_dataframe(gpkg, layer="candidates")
    assert sorted(cands["parcel_id"]) == ["FAR", "V0303"]
    assert set(cands.geom_type) == {"MultiPolygon"}
    assert cands.crs == "EPSG:25832"
    table = pyogrio.read_dataframe(gpkg, layer="rules", read_geometry=False).set_index("key")
    assert table.loc["bauluecke.min_area_m2", "value"] == "100"
    assert table.loc["bauluecke.min_area_m2", "source"] == "Ratsbeschluss 2024/17"
    summary = pyogrio.read_dataframe(gpkg, layer="summary", read_geometry=False)
    assert summary.loc[0, "candidates_ha"] == pytest.approx(cands["area_m2"].sum() / 10_000)
    measures = pyogrio.read_dataframe(gpkg, layer="parcel_measures", read_geometry=False)
    assert len(measures) == 50
    assert len(result.candidates) == 2


def test_cli_flag(gpkg, capsys):
    from flaechen.cli import main

    assert main(["flag", str(gpkg.parent), "--quiet", "--workers", "1"]) == 0
    assert main(["flag", str(gpkg), "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "Candidates: 2" in out
    assert "Außenreserve" in out


def test_cli_flag_without_a_dataset_is_a_clean_error(tmp_path, capsys):
    from flaechen.cli import main

    with pytest.raises(FlaechenError, match="run `flaechen run` first"):
        _resolve(str(tmp_path))
    assert main(["flag", str(tmp_path)]) == 2
    assert "error:" in capsys.readouterr().err


def test_cli_flag_prints_a_municipality_without_population(tmp_path, capsys):
    """The population is optional: its m² per inhabitant is a dash, not an internal error (exit 1)."""
    from flaechen.cli import main

    parcels, buildings = village(0, 0, skip=[(3, 3)])
    path = tmp_path / "district.gpkg"
    write_gpkg(path, layers=district(parcels=parcels, buildings=buildings, population=None))
    assert main(["flag", str(path), "--workers", "1"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "Musterstadt" in x)
    assert line.rstrip().endswith("inner potential —")
