"""Inspect a district GeoPackage and its QGIS project with QGIS's own Python API; print a JSON report.

Run with the system Python that has `python3-qgis` (not the project's venv), headless:

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/export/qgis_check.py GPKG QGZ STYLES_DIR [CONNINFO SCHEMA]

The report holds, for every layer opened from the GeoPackage (with its default style) and from the
project: validity, feature count and a style signature, plus the signature of each QML file in
STYLES_DIR applied to the same layer, so the test can compare them. GDAL warnings go to stderr, where the
test looks for "may only be partially supported". With CONNINFO and SCHEMA, the spatial layers are also
opened from that PostGIS schema (with the default styles QGIS finds in `layer_styles`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from qgis.core import QgsApplication, QgsProject, QgsVectorLayer
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


def describe(layer: QgsVectorLayer) -> dict:
    return {
        "valid": layer.isValid(),
        "features": layer.featureCount(),
        "spatial": layer.isSpatial(),
        "source": layer.source(),
        "crs": layer.crs().authid(),
        "signature": signature(layer) if layer.isSpatial() else None,
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


if __name__ == "__main__":
    app = QgsApplication([], False)
    app.initQgis()
    try:
        print(json.dumps(main(*sys.argv[1:6])))
    finally:
        QgsProject.instance().clear()
        app.exitQgis()
