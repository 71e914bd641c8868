"""How QGIS shows the fields of a layer: German aliases and value maps, generated from the schemas in `layers/`.

Planners should read "Besondere Art der baulichen Nutzung: WA – Allgemeines Wohngebiet", not
"bes_art: 1200". Every field of a layer with a schema gets its German alias (``alias`` in
``layers/<layer>.yaml``; the provenance columns have theirs here), and every field with a code list a
*value map* editor widget, which the attribute table, the identify results and the form show as labels
(``layers/codelists/``); a yes/no field shows ``ja`` or ``nein``. The QML of a district layer's style
(:func:`with_fields`) and the attribute tables (:func:`fields_qml`) carry them; the register's attribute
form (:mod:`flaechen.register.form`) is built from the same pieces.

Examples
--------
>>> xml = value_map("ownership", allow_null=False)
>>> 'name="öffentlich" value="public"' in xml
True
>>> 'name="Eigentumsart"' in aliases("parcels")
True
"""

from __future__ import annotations

import re
from xml.sax.saxutils import quoteattr

from flaechen.layers import CANONICAL_LAYERS, PROVENANCE_FIELDS, CodeList, FieldDef, LayerDef, load_schema

NULL_VALUE = "{2839923C-8B7D-419E-B84B-CA2FE9B80EC7}"
"""How QGIS's value map writes "no value" (QgsValueMapFieldFormatter::NULL_VALUE)."""

PROVENANCE_ALIASES = {
    "source_id": "Quelle",
    "source_layer": "Ebene der Quelle",
    "source_fid": "Objekt-Nr. in der Quelle",
    "source_hash": "Prüfsumme der Quelle",
}
"""German aliases of the provenance columns every harmonised feature carries."""

FIELD_CATEGORIES = "Fields|Forms"
"""The style categories the generated parts belong to (added to a style's ``styleCategories``)."""


def _q(text: str) -> str:
    return quoteattr(text)


def value_text(codelist: CodeList, code: object) -> str:
    """What a value map shows for `code`: the code list's ``form_text`` filled in, unique within the list.

    Where two codes share a label (``außer Betrieb``: 2000 and 2100), the code is added in brackets.

    >>> value_text(load_schema().codelist("xplan_bes_art"), 1200)
    'WA – Allgemeines Wohngebiet'
    >>> value_text(load_schema().codelist("alkis_gebaeude_zustand"), 2100)
    'außer Betrieb (2100)'
    """
    entries = codelist.values

    def text_of(key: object) -> str:
        entry = entries[key]
        return codelist.form_text.format(label=entry.get("label", key), title=entry.get("title", ""), code=key)

    text = text_of(code)
    if sum(text_of(other) == text for other in entries) > 1:
        text = f"{text} ({code})"
    return text


YES_NO = (("ja", "true"), ("nein", "false"))
"""What a yes/no field shows (QGIS gives a GeoPackage boolean as ``true`` or ``false``)."""


def value_map(codelist: str | None, *, allow_null: bool) -> str:
    """The ``<editWidget type="ValueMap">`` of a code list, or of yes/no where `codelist` is None (an empty
    entry first where `allow_null`)."""
    if codelist is None:
        pairs: list[tuple[str, str]] = list(YES_NO)
    else:
        entries = load_schema().codelist(codelist)
        pairs = [(value_text(entries, code), str(code)) for code in entries.values]
    items = []
    if allow_null:
        items.append(f'<Option type="Map"><Option name="(leer)" value="{NULL_VALUE}" type="QString"/></Option>')
    for text, value in pairs:
        items.append(f'<Option type="Map"><Option name={_q(text)} value={_q(value)} type="QString"/></Option>')
    return (
        '<editWidget type="ValueMap"><config><Option type="Map"><Option name="map" type="List">'
        + "".join(items)
        + "</Option></Option></config></editWidget>"
    )


def layer_fields(layer: str) -> tuple[tuple[FieldDef, ...], dict[str, str]]:
    """The fields of `layer`'s schema and the alias of every column (provenance columns included)."""
    definition: LayerDef = load_schema().layer(layer)
    names = {f.name: f.alias or "" for f in definition.fields}
    if layer in CANONICAL_LAYERS:
        names |= {name: PROVENANCE_ALIASES[name] for name in PROVENANCE_FIELDS}
    return definition.fields, names


def aliases(layer: str) -> str:
    """The ``<aliases>`` element of `layer` (field index counted after the GeoPackage's ``fid``)."""
    _, names = layer_fields(layer)
    entries = [
        f'<alias field={_q(name)} index="{i}" name={_q(alias)}/>' for i, (name, alias) in enumerate(names.items(), 1)
    ]
    return "<aliases>" + "".join(entries) + "</aliases>"


def field_configuration(layer: str) -> str:
    """The ``<fieldConfiguration>`` of `layer`: a value map for every field with a code list, and ja/nein for
    every yes/no field."""
    fields, _ = layer_fields(layer)
    parts = [
        f'<field name={_q(f.name)} configurationFlags="None">{value_map(f.codelist, allow_null=not f.required)}</field>'
        for f in fields
        if f.codelist or f.type == "bool"
    ]
    return "<fieldConfiguration>" + "".join(parts) + "</fieldConfiguration>"


def fields_qml(layer: str) -> str:
    """A QML document holding only the aliases and value maps of `layer` (for attribute tables)."""
    return f'<qgis styleCategories="{FIELD_CATEGORIES}">\n {field_configuration(layer)}\n {aliases(layer)}\n</qgis>\n'


_CATEGORIES = re.compile(r'styleCategories="([^"]*)"')


def with_fields(qml: str, layer: str) -> str:
    """Add `layer`'s aliases and value maps to a QML style that has none of its own.

    A style that already configures its fields (the register's form) and a layer without a schema are
    returned unchanged.
    """
    if layer not in load_schema().layers or "<fieldConfiguration" in qml or "<aliases" in qml:
        return qml
    end = qml.rfind("</qgis>")
    if end < 0:
        return qml
    head = qml[:end]
    match = _CATEGORIES.search(head)
    if match and match.group(1) != "AllStyleCategories":
        categories = "|".join(dict.fromkeys([*match.group(1).split("|"), *FIELD_CATEGORIES.split("|")]))
        head = head[: match.start(1)] + categories + head[match.end(1) :]
    return head + f" {field_configuration(layer)}\n {aliases(layer)}\n" + qml[end:]
