"""Inspect a district GeoPackage and its QGIS project with QGIS's own Python API; print a JSON report.

Run with the system Python that has `python3-qgis` (not the project's venv), headless:

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/export/qgis_check.py GPKG QGZ STYLES_DIR [CONNINFO SCHEMA]
    QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/export/qgis_check.py --form GPKG LAYER
    QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/export/qgis_check.py --form-postgres CONNINFO SCHEMA LAYER

With ``--form`` the report describes the attribute form QGIS builds for LAYER from its default style in
the GeoPackage: per field the editor widget, its configuration, the alias and whether it is editable; the
form's layout and tabs; and whether an edit made through QGIS (a note) can be saved.

The report holds, for every layer opened from the GeoPackage (with its default style) and from the
project: validity, feature count, a style signature, and per field the alias, the editor widget and how
QGIS shows a value, plus the signature of each QML file in
STYLES_DIR applied to the same layer, so the test can compare them. GDAL warnings go to stderr, where the
test looks for "may only be partially supported". With CONNINFO and SCHEMA, the spatial layers are also
opened from that PostGIS schema (with the default styles QGIS finds in `layer_styles`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from qgis.core import QgsApplication, QgsFeatureRequest, QgsProject, QgsVectorLayer
from qgis.PyQt.QtXml import QDomDocument


def signature(layer: QgsVectorLayer) -> dict:
    """What a style does, in comparable form: renderer, classes, symbol layers, labelling."""
    renderer = layer.renderer()
    if renderer is None:
        return {"renderer": None}
    result: dict = {"renderer": renderer.type()}
    if renderer.type() == "categorizedSymbol":
        result["attribute"] = renderer.classAttribute()
        result["classes"] = [[str(c.value()), c.label()] for c in renderer.categories()]
    elif renderer.type() == "RuleRenderer":
        result["classes"] = [[r.filterExpression(), r.label()] for r in renderer.rootRule().children()]
    result["symbols"] = [
        [[sl.layerType(), sorted((str(k), str(v)) for k, v in sl.properties().items())] for sl in s.symbolLayers()]
        for s in renderer.symbols(_context())
    ]
    result["labels"] = layer.labelsEnabled()
    if layer.labelsEnabled() and layer.labeling() is not None:
        result["label_field"] = layer.labeling().settings().fieldName
    return result


def _context():
    from qgis.core import QgsRenderContext

    return QgsRenderContext()


def fields(layer: QgsVectorLayer) -> dict:
    """Per field: its alias, its editor widget and how QGIS shows the first value that is not empty (as the
    attribute table and the identify results show it, through the widget's field formatter)."""
    from qgis.core import QgsApplication

    registry = QgsApplication.fieldFormatterRegistry()
    request = QgsFeatureRequest().setLimit(200)
    features = list(layer.getFeatures(request))
    out = {}
    for index, field in enumerate(layer.fields()):
        setup = layer.editorWidgetSetup(index)
        values = [f.attribute(index) for f in features]
        value = next((v for v in values if v is not None and not (hasattr(v, "isNull") and v.isNull())), None)
        shown = None
        if value is not None:
            formatter = registry.fieldFormatter(setup.type())
            shown = formatter.representValue(layer, index, setup.config(), None, value)
        out[field.name()] = {
            "alias": layer.attributeAlias(index),
            "widget": setup.type(),
            "value": None if value is None else str(value),
            "shown": shown,
        }
    return out


def describe(layer: QgsVectorLayer) -> dict:
    return {
        "valid": layer.isValid(),
        "features": layer.featureCount(),
        "spatial": layer.isSpatial(),
        "source": layer.source(),
        "crs": layer.crs().authid(),
        "signature": signature(layer) if layer.isSpatial() else None,
        "fields": fields(layer) if layer.isValid() else {},
    }


def main(gpkg: str, qgz: str, styles_dir: str, conninfo: str | None = None, schema: str | None = None) -> dict:
    report: dict = {"gpkg": {}, "qml": {}, "project": {}, "postgis": {}}
    import sqlite3

    with sqlite3.connect(gpkg) as db:
        names = [r[0] for r in db.execute("SELECT table_name FROM gpkg_contents ORDER BY table_name")]
    for name in names:
        layer = QgsVectorLayer(f"{gpkg}|layername={name}", name, "ogr")
        report["gpkg"][name] = describe(layer)
        qml = Path(styles_dir) / f"{name}.qml"
        if qml.is_file():
            # the QML file itself, not the GeoPackage's default style: no default style, explicit import
            fresh = QgsVectorLayer(f"{gpkg}|layername={name}", name, "ogr", QgsVectorLayer.LayerOptions(False))
            document = QDomDocument()
            document.setContent(qml.read_bytes())
            ok, message = fresh.importNamedStyle(document)
            report["qml"][name] = {"ok": ok, "message": message, "signature": signature(fresh)}

    if conninfo:
        for name, layer in report["gpkg"].items():
            if layer["spatial"]:
                uri = f'{conninfo} table="{schema}"."{name}" (geom)'
                report["postgis"][name] = describe(QgsVectorLayer(uri, name, "postgres"))

    project = QgsProject.instance()
    ok = project.read(qgz)
    root = project.layerTreeRoot()
    report["project"] = {
        "read": ok,
        "crs": project.crs().authid(),
        "absolute_paths": project.readBoolEntry("Paths", "/Absolute", True)[0],
        "groups": {g.name(): [child.name() for child in g.children()] for g in root.findGroups()},
        "layers": {},
    }
    extent = project.viewSettings().defaultViewExtent()
    report["project"]["default_extent"] = [extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()]
    report["project"]["default_extent_crs"] = extent.crs().authid()
    for layer in project.mapLayers().values():
        table = layer.source().split("layername=")[-1]
        report["project"]["layers"][table] = describe(layer) | {"name": layer.name()}
    return report


def form(gpkg: str, name: str, *, uri: str | None = None, provider: str = "ogr") -> dict:
    """The attribute form of one layer as QGIS builds it from the layer's default style."""
    from qgis.core import QgsEditFormConfig

    layer = QgsVectorLayer(uri or f"{gpkg}|layername={name}", name, provider)
    config = layer.editFormConfig()
    fields = {}
    for index, field in enumerate(layer.fields()):
        setup = layer.editorWidgetSetup(index)
        fields[field.name()] = {
            "widget": setup.type(),
            "config": {k: (v if isinstance(v, (str, int, float, bool)) else str(v)) for k, v in setup.config().items()},
            "alias": layer.attributeAlias(index),
            "editable": not config.readOnly(index),
            "default": layer.defaultValueDefinition(index).expression(),
        }
    tabs = [{"name": tab.name(), "children": [child.name() for child in tab.children()]} for tab in config.tabs()]
    report = {
        "valid": layer.isValid(),
        "features": layer.featureCount(),
        "layout": {
            QgsEditFormConfig.TabLayout: "tabs",
            QgsEditFormConfig.GeneratedLayout: "generated",
            QgsEditFormConfig.UiFileLayout: "ui",
        }.get(config.layout(), str(config.layout())),
        "tabs": tabs,
        "fields": fields,
        "renderer": layer.renderer().type() if layer.renderer() else None,
    }
    # an edit through QGIS's own editing session: the note of the first feature
    feature = next(layer.getFeatures())
    layer.startEditing()
    layer.changeAttributeValue(feature.id(), layer.fields().indexOf("note"), "Notiz aus QGIS")
    report["saved"] = layer.commitChanges()
    report["commit_errors"] = layer.commitErrors()
    return report


if __name__ == "__main__":
    app = QgsApplication([], False)
    app.initQgis()
    try:
        if sys.argv[1] == "--form":
            print(json.dumps(form(sys.argv[2], sys.argv[3])))
        elif sys.argv[1] == "--form-postgres":  # CONNINFO SCHEMA LAYER
            conninfo, schema, name = sys.argv[2:5]
            uri = f'{conninfo} key="site_id" table="{schema}"."{name}" (geom)'
            print(json.dumps(form("", name, uri=uri, provider="postgres")))
        else:
            print(json.dumps(main(*sys.argv[1:6])))
    finally:
        QgsProject.instance().clear()
        app.exitQgis()
