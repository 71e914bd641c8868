"""The rules file: defaults with sources, overrides key by key, every problem reported at once; the CRS check."""

from __future__ import annotations

import json

import pytest

from flaechen.errors import ConfigError, CRSError, LayerError
from flaechen.flag import check_layers, flag, load_rules

from .conftest import box, district


def test_every_default_documents_its_source_and_meaning():
    rules = load_rules()
    for key in rules:
        p = rules.parameter(key)
        assert p.source and p.description, key
        assert p.origin == "default"
    assert rules["bauluecke.min_area_m2"] == 200  # Raum+
    assert rules["innenbereich.coverage_threshold"] == 0.12  # IBTool 18 %, measured on the closing hull
    assert rules["innenbereich.gap_area_m2"] == 4900
    assert rules["innenbereich.min_building_area_m2"] == 56.8
    assert rules["zoning.grz_baunvo"]["WA"] == 0.4  # BauNVO §17
    assert rules["summary.benchmark_m2_per_inhabitant"] == 10  # BBSR


def test_overrides_nested_dotted_and_with_source(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(
        "bauluecke:\n  min_area_m2: {value: 300, source: 'Ratsbeschluss'}\n"
        "zoning.grz_baunvo: {WA: 0.3}\n"
        "leerstand: {min_built_share: 0.75}\n",
        encoding="utf-8",
    )
    rules = load_rules(path)
    assert rules["bauluecke.min_area_m2"] == 300
    assert rules.parameter("bauluecke.min_area_m2").source == "Ratsbeschluss"
    assert rules["zoning.grz_baunvo"] == {**load_rules()["zoning.grz_baunvo"], "WA": 0.3}
    assert rules["leerstand.min_built_share"] == 0.75
    table = rules.table().set_index("key")
    assert json.loads(table.loc["zoning.grz_baunvo", "value"])["WA"] == 0.3
    assert table.loc["leerstand.min_built_share", "origin"] == "override"
    assert table.loc["leerstand.min_built_share", "origin_path"] == str(path)
    assert table.loc["bauluecke.max_area_m2", "origin"] == "default"


def test_every_problem_at_once():
    with pytest.raises(ConfigError) as err:
        load_rules(
            {
                "bauluecke": {"min_area_m2": "gross", "max_flaeche": 5},
                "brachflaeche.min_brownfield_share": 1.5,
                "zoning": {"building_land": "W"},
                "innenbereich.min_buildings": 2.5,
            }
        )
    text = "\n".join(err.value.problems)
    assert len(err.value.problems) == 5
    assert "bauluecke.max_flaeche: unknown key; fix: remove it; known keys here: min_area_m2, max_area_m2" in text
    assert "bauluecke.min_area_m2: must be a number, not 'gross'" in text
    assert "brachflaeche.min_brownfield_share: 1.5 is out of range; fix: use a value at most 1" in text
    assert "zoning.building_land: must be a list, not 'W'" in text
    assert "innenbereich.min_buildings: must be a whole number, not 2.5" in text


def test_a_missing_rules_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_rules(tmp_path / "nope.yaml")


def _layers():
    return district(parcels=[{"parcel_id": "P", "geometry": box(0, 0, 10, 10)}])


def test_layers_in_different_crs_are_refused_naming_them():
    layers = _layers()
    layers["zoning"] = layers["zoning"].to_crs("EPSG:31467")
    with pytest.raises(CRSError, match=r"zoning \(EPSG:31467\).*to_crs\('EPSG:25832'\)"):
        check_layers(layers)


def test_a_geographic_crs_is_refused():
    layers = {name: gdf.to_crs("EPSG:4326") for name, gdf in _layers().items()}
    with pytest.raises(CRSError, match="not projected"):
        flag(layers, rules=load_rules(), workers=1)


def test_a_missing_layer_is_named():
    layers = _layers()
    del layers["buildings"]
    with pytest.raises(LayerError, match="lacks layer"):
        check_layers(layers)
