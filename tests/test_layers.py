from flaechen.layers import CANONICAL_LAYERS, load_schema


def test_every_canonical_layer_is_defined_with_its_key_among_its_fields():
    schema = load_schema()
    for name in (*CANONICAL_LAYERS, "candidates"):
        layer = schema.layer(name)
        assert layer.key in layer.field_names
        assert layer.field(layer.key).required


def test_codelists_referenced_by_fields_exist():
    schema = load_schema()
    for layer in schema.layers.values():
        for f in layer.fields:
            if f.codelist:
                assert f.codelist in schema.codelists, (layer.name, f.name)


def test_bes_art_codes_name_their_allg_art():
    bes = load_schema().codelist("xplan_bes_art")
    allg = load_schema().codelist("xplan_allg_art")
    assert bes.label(1200) == "WA"
    assert all(v["allg_art"] in allg.values for v in bes.values.values())


def test_owner_data_is_never_public():
    schema = load_schema()
    for layer in schema.layers.values():
        if "owner" in layer.field_names:
            assert not layer.field("owner").public


def test_the_municipality_code_has_one_width_in_every_layer():
    """A 9-character code ([district] municipality_codes, e.g. GSS) must fit every table that carries it:
    the PostGIS export declares varchar(length)."""
    schema = load_schema()
    width = schema.layer("municipalities").field("ags").length
    assert width == 9
    carrying = [layer for layer in schema.layers.values() if "ags" in layer.field_names]
    assert len(carrying) > 10
    assert {layer.name: layer.field("ags").length for layer in carrying} == {layer.name: width for layer in carrying}
