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
