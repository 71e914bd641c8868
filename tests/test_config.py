import textwrap

import pytest

from flaechen.config import load_config


def _write(tmp_path, body):
    path = tmp_path / "district.yaml" if body.lstrip().startswith("district:") else tmp_path / "district.toml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


BASE = """
[district]
name = "Landkreis Test"

[boundaries]
path = "b.geojson"
ags_field = "ags"

[defaults]
geometry_policy = "drop"
crs = "EPSG:25832"

[defaults.parcels]
fields = { parcel_id = "flstkennz", official_area = "flaeche" }
values = { ownership = "private" }

[defaults.zoning]
codes = { bes_art = { WA = 1200, MI = 1500 } }

[[municipalities]]
ags = "07999001"
name = "Ahausen"

[municipalities.defaults]
crs = "EPSG:31466"

[municipalities.defaults.parcels]
fields = { official_area = "FLAECHE" }

[[municipalities.sources]]
layer = "parcels"
path = "a.shp"
fields = { actual_use = "NUTZUNG" }
geometry_policy = "fix"

[[municipalities.sources]]
layer = "zoning"
path = "z.gml"
codes = { bes_art = { MI = 1550 } }

[[municipalities]]
ags = "07999002"
name = "Bedorf"

[[municipalities.sources]]
id = "bedorf-flurstuecke"
layer = "parcels"
path = "sub/b.gpkg"
"""


def test_narrower_settings_override_broader_ones_key_by_key(tmp_path):
    config = load_config(_write(tmp_path, BASE))
    a_parcels, a_zoning, b_parcels = config.sources
    assert a_parcels.id == "07999001-parcels"
    assert a_parcels.crs == "EPSG:31466"  # municipality over district
    assert a_parcels.geometry_policy == "fix"  # source over district
    assert dict(a_parcels.fields) == {"parcel_id": "flstkennz", "official_area": "FLAECHE", "actual_use": "NUTZUNG"}
    assert dict(a_parcels.values) == {"ownership": "private"}
    assert dict(a_zoning.codes["bes_art"]) == {"WA": 1200, "MI": 1550}
    assert b_parcels.crs == "EPSG:25832" and b_parcels.geometry_policy == "drop"
    assert dict(b_parcels.fields) == {"parcel_id": "flstkennz", "official_area": "flaeche"}
    assert b_parcels.path == (tmp_path / "sub" / "b.gpkg").resolve()
    assert config.boundaries.path == (tmp_path / "b.geojson").resolve()


def test_yaml_configuration_is_equivalent(tmp_path):
    path = _write(
        tmp_path,
        """
        district:
          name: Landkreis Test
          crs: EPSG:25833
        boundaries: {path: b.geojson, ags_field: ags}
        municipalities:
          - ags: "14626110"
            name: Krauschwitz
            population: 3500
            sources:
              - {layer: parcels, path: p.gpkg, fields: {parcel_id: flstkennz}}
        """,
    )
    config = load_config(path)
    assert config.crs == "EPSG:25833"
    assert config.municipality("14626110").population == 3500
    assert config.sources[0].fields["parcel_id"] == "flstkennz"


def test_duplicate_ags_and_source_ids_are_reported(tmp_path):
    body = BASE.replace('ags = "07999002"', 'ags = "07999001"').replace(
        'id = "bedorf-flurstuecke"', 'id = "07999001-parcels"'
    )
    with pytest.raises(Exception) as info:
        load_config(_write(tmp_path, body))
    assert "AGS 07999001 is declared twice" in str(info.value)
    assert "source id '07999001-parcels' is already used by municipalities[Ahausen].sources[07999001-parcels]" in str(
        info.value
    )


def test_unparsable_file_names_the_file(tmp_path):
    path = tmp_path / "district.toml"
    path.write_text("[district\nname=", encoding="utf-8")
    with pytest.raises(Exception, match=r"(?s)district\.toml: 1 problem.*cannot be parsed"):
        load_config(path)
