"""The QGIS style and attribute form of the register layer ``sites``, generated from ``layers/sites.yaml``.

The form follows the schema: German aliases, value maps for the code lists (status, availability,
decision), check boxes for the obstacles (a check list in the group "Hemmnisse"), a multi-line note, and
every field a run derives read-only. ``edited_by`` and ``edited_at`` are filled in by QGIS on every save.
The result is committed as ``layers/styles/sites.qml`` (a test checks it is up to date) and embedded in
``register.gpkg`` as the layer's default style like every other layer's style.

Regenerate after changing the schema::

    python -m flaechen.register.form > layers/styles/sites.qml

Examples
--------
>>> "attributeEditorForm" in sites_qml()
True
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from flaechen import palette
from flaechen.export.forms import aliases, value_map
from flaechen.layers import FieldDef, load_schema
from flaechen.palette import qgis_colour

QGIS_VERSION = "3.22.0-Białowieża"

STATE_ALPHA = {"aktiv": 120, "ungeklärt": 150, "entfallen": 60}
"""How opaque each state's fill is (the colours are the palette's ``register_state``): dropped sites fade."""


def _state_colours(state: str) -> tuple[str, str]:
    entry = palette.section("register_state")[state]
    return qgis_colour(entry["fill"], alpha=STATE_ALPHA[state]), qgis_colour(entry["outline"])


TABS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Bearbeitung",
        ("status", "availability", "@Hemmnisse", "note", "decision", "edited_by", "edited_at"),
    ),
    (
        "Fläche",
        (
            "site_id",
            "municipality",
            "ags",
            "parcel_ids",
            "category",
            "categories",
            "area_m2",
            "zoning_class",
            "built_area_m2",
            "reasons",
        ),
    ),
    ("Verlauf", ("state", "state_reason", "state_since", "first_survey", "last_survey")),
)
"""The form's tabs; ``@Hemmnisse`` is the group of obstacle check boxes."""


def _q(text: str) -> str:
    return quoteattr(text)


def _widget(field: FieldDef) -> str:
    if field.codelist and not field.derived:
        return value_map(field.codelist, allow_null=field.default is None)
    if field.type == "bool":
        return (
            '<editWidget type="CheckBox"><config><Option type="Map">'
            '<Option name="CheckedState" value="" type="QString"/>'
            '<Option name="UncheckedState" value="" type="QString"/>'
            '<Option name="TextDisplayMethod" value="0" type="int"/>'
            "</Option></config></editWidget>"
        )
    multiline = field.name in ("note", "reasons", "state_reason")
    return (
        '<editWidget type="TextEdit"><config><Option type="Map">'
        f'<Option name="IsMultiline" value="{"true" if multiline else "false"}" type="bool"/>'
        '<Option name="UseHtml" value="false" type="bool"/>'
        "</Option></config></editWidget>"
    )


def _symbol(name: str, fill: str, outline: str) -> str:
    return (
        f'<symbol name="{name}" type="fill" alpha="1" clip_to_extent="1" force_rhr="0">'
        '<layer class="SimpleFill" enabled="1" locked="0" pass="0"><Option type="Map">'
        f'<Option name="color" value="{fill}" type="QString"/>'
        '<Option name="joinstyle" value="bevel" type="QString"/>'
        f'<Option name="outline_color" value="{outline}" type="QString"/>'
        '<Option name="outline_style" value="solid" type="QString"/>'
        '<Option name="outline_width" value="0.5" type="QString"/>'
        '<Option name="outline_width_unit" value="MM" type="QString"/>'
        '<Option name="style" value="solid" type="QString"/>'
        "</Option></layer></symbol>"
    )


def sites_qml() -> str:
    """The QML document: symbology by state, labels, and the attribute form."""
    layer = load_schema().layer("sites")
    fields = layer.fields
    index = {f.name: i + 1 for i, f in enumerate(fields)}  # the GeoPackage's fid is field 0
    states = load_schema().codelist("site_state").values
    cats = "".join(
        f'<category render="true" value={_q(code)} symbol="{n}" label={_q(entry["label"])}/>'
        for n, (code, entry) in enumerate(states.items())
    )
    symbols = "".join(_symbol(str(n), *_state_colours(code)) for n, code in enumerate(states))
    config = "".join(f'<field name={_q(f.name)} configurationFlags="None">{_widget(f)}</field>' for f in fields)
    defaults = []
    for f in fields:
        if f.name == "edited_by":
            defaults.append('<default field="edited_by" expression="@user_account_name" applyOnUpdate="1"/>')
        elif f.name == "edited_at":
            stamp = "format_date(now(), 'yyyy-MM-ddTHH:mm:ss')"
            defaults.append(f'<default field="edited_at" expression={_q(stamp)} applyOnUpdate="1"/>')
        elif f.default is not None and not f.derived:
            value = ("true" if f.default else "false") if isinstance(f.default, bool) else f"'{f.default}'"
            defaults.append(f'<default field={_q(f.name)} expression={_q(value)} applyOnUpdate="0"/>')
        else:
            defaults.append(f'<default field={_q(f.name)} expression="" applyOnUpdate="0"/>')
    obstacles = [f.name for f in fields if f.name.startswith("obstacle_")]

    def element(name: str) -> str:
        if name == "@Hemmnisse":
            inner = "".join(f'<attributeEditorField name={_q(o)} index="{index[o]}" showLabel="1"/>' for o in obstacles)
            return (
                '<attributeEditorContainer name="Hemmnisse" groupBox="1" columnCount="1" showLabel="1" '
                f'visibilityExpressionEnabled="0" visibilityExpression="">{inner}</attributeEditorContainer>'
            )
        return f'<attributeEditorField name={_q(name)} index="{index[name]}" showLabel="1"/>'

    tabs = "".join(
        f'<attributeEditorContainer name={_q(title)} groupBox="0" columnCount="1" showLabel="1" '
        f'visibilityExpressionEnabled="0" visibilityExpression="">{"".join(element(n) for n in names)}'
        "</attributeEditorContainer>"
        for title, names in TABS
    )
    editable = "".join(f'<field name={_q(f.name)} editable="{0 if f.derived else 1}"/>' for f in fields)
    label_on_top = "".join(f'<field name={_q(f.name)} labelOnTop="0"/>' for f in fields)
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        "<!-- flaechen: Flächenregister (sites): by state; attribute form generated from layers/sites.yaml "
        "(python -m flaechen.register.form) -->\n"
        f'<qgis version="{QGIS_VERSION}" styleCategories="AllStyleCategories" labelsEnabled="1" '
        'hasScaleBasedVisibilityFlag="0" minScale="100000000" maxScale="0" readOnly="0">\n'
        f' <renderer-v2 type="categorizedSymbol" attr="state" symbollevels="0" enableorderby="0" forceraster="0" '
        f'referencescale="-1"><categories>{cats}</categories><symbols>{symbols}</symbols>'
        "<rotation/><sizescale/></renderer-v2>\n"
        ' <labeling type="simple"><settings calloutType="simple">'
        '<text-style fieldName="site_id" isExpression="0" fontSize="8" fontSizeUnit="Point" textColor="40,40,40,255" '
        'fontFamily="Sans Serif" fontWeight="50" fontItalic="0" namedStyle="Regular" textOpacity="1" '
        'multilineHeight="1" blendMode="0" previewBkgrdColor="255,255,255,255">'
        '<text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" bufferColor="255,255,255,255" '
        'bufferOpacity="1" bufferJoinStyle="128" bufferNoFill="1" bufferBlendMode="0"/></text-style>'
        '<placement placement="1" dist="0" priority="5" centroidInside="1"/>'
        '<rendering scaleVisibility="1" scaleMin="1" scaleMax="10000" obstacle="1" displayAll="0" '
        'limitNumLabels="0" maxNumLabels="2000" upsidedownLabels="0"/></settings></labeling>\n'
        f" <fieldConfiguration>{config}</fieldConfiguration>\n"
        f" {aliases('sites')}\n"
        f" <defaults>{''.join(defaults)}</defaults>\n"
        ' <editform tolerant="1"></editform>\n <editforminit/>\n'
        " <editforminitcodesource>0</editforminitcodesource>\n <featformsuppress>0</featformsuppress>\n"
        " <editorlayout>tablayout</editorlayout>\n"
        f" <attributeEditorForm>{tabs}</attributeEditorForm>\n"
        f" <editable>{editable}</editable>\n"
        f" <labelOnTop>{label_on_top}</labelOnTop>\n"
        " <previewExpression>\"site_id\" || ' – ' || coalesce(\"municipality\", '')</previewExpression>\n"
        " <layerGeometryType>2</layerGeometryType>\n"
        "</qgis>\n"
    )


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.stdout.write(sites_qml())
