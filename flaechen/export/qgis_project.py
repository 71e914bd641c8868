"""The QGIS project `district.qgz`: every layer of the district GeoPackage, styled, grouped, ready to open.

The project is written without QGIS: a `.qgz` is a zip holding one `.qgs` XML document, which this
module generates. Layers point to the GeoPackage by a path relative to the project, so the output folder
can be copied to another computer (or a USB stick for a workshop) and still opens. Each layer carries the
same QML style that :func:`flaechen.export.style_gpkg` embeds in the GeoPackage, so the project and the
GeoPackage look alike.

Examples
--------
>>> from flaechen.export import write_qgis_project
>>> write_qgis_project("out/demo/district.gpkg", crs="EPSG:25832")
PosixPath('out/demo/district.qgz')
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pyogrio
from pyproj import CRS
from pyproj.enums import WktVersion

from flaechen.atomic import atomic_write
from flaechen.district import district_contents, resolve_district
from flaechen.errors import CRSError, ExportError
from flaechen.export.forms import fields_qml
from flaechen.export.styles import available_styles, read_qml
from flaechen.layers import load_schema

log = logging.getLogger(__name__)

QGIS_VERSION = "3.22.0-Białowieża"
"""The QGIS version the project declares: the oldest LTR release it is written for."""


@dataclass(frozen=True)
class Group:
    """A group of the layer tree: its German title and the layers or tables it holds, top first."""

    title: str
    members: tuple[str, ...]


GROUPS: tuple[Group, ...] = (
    Group("Verwaltungsgrenzen", ("municipalities",)),
    Group("Potenziale", ("candidates", "brownfields")),
    Group("Liegenschaftskataster", ("buildings", "parcels", "land_use")),
    Group("Planung", ("commercial_areas", "built_up_area", "zoning")),
    Group("Gemeinsame Planung", ("assessments", "assessment_scores", "scenarios", "scenario_results")),
    Group(
        "Prüfung und Auswertung",
        ("summary", "changes", "monitoring", "issues", "rules", "parcel_measures", "quality", "accounting", "sources"),
    ),
)
"""The layer tree of the project, top (drawn last) to bottom. Unknown layers go to "Weitere Ebenen"."""

OTHER_GROUP = "Weitere Ebenen"

TABLE_TITLES = {
    "issues": "Prüfprotokoll",
    "summary": "Zusammenfassung",
    "changes": "Änderungen seit der letzten Erhebung",
    "monitoring": "Monitoring je Gemeinde und Erhebung",
    "rules": "Regeln",
    "parcel_measures": "Messwerte je Flurstück",
    "quality": "Flächenabgleich",
    "accounting": "Bilanz je Quelle",
    "sources": "Quellen",
    "assessments": "Bewertung je Gebiet und Maßnahme",
    "assessment_scores": "Ergebnisse der Gewerbegebiete",
    "scenarios": "Szenarien",
    "scenario_results": "Szenarien je Gemeinde",
}
"""Layer-tree names of the attribute tables."""

DEFAULT_TITLE = "Flächenkreislaufwirtschaft – Kreisdatensatz"
"""Project title where the caller gives none (e.g. the district's name)."""

EXTENT_MARGIN = 0.05
"""Share of the district's width and height added around it for the start extent."""


def _title(name: str) -> str:
    schema = load_schema()
    if name in schema.layers:
        return schema.layer(name).title
    return TABLE_TITLES.get(name, name)


def _layer_id(name: str) -> str:
    return f"flaechen_{name}"


_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 cannot hold at all (control characters, lone surrogates): not even escaped."""


def xml_text(value: str) -> str:
    """`value` as XML 1.0 can hold it: characters it cannot hold become U+FFFD.

    ElementTree escapes ``&``, ``<``, ``>`` and quotes, but writes a control character (which a name
    from a delivery or the configuration may hold) as it is, and QGIS then refuses the whole project.

    >>> xml_text("Kreis \x01 <A&B> ]]>")
    'Kreis \ufffd <A&B> ]]>'
    """
    return _NOT_XML.sub("\ufffd", value)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrib.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def _spatialrefsys(parent: ET.Element, crs: CRS) -> None:
    srs = _sub(parent, "spatialrefsys")
    authority = crs.to_authority()
    _sub(srs, "wkt", crs.to_wkt(WktVersion.WKT2_2019))
    _sub(srs, "srid", authority[1] if authority else "0")
    _sub(srs, "authid", ":".join(authority) if authority else "")
    _sub(srs, "description", crs.name)
    _sub(srs, "projectionacronym", "longlat" if crs.is_geographic else "utm" if "UTM" in crs.name else "")
    _sub(srs, "geographicflag", "true" if crs.is_geographic else "false")


def _style_root(name: str, styles: dict[str, Path]) -> ET.Element | None:
    """The layer's style (:func:`read_qml`); for a table or layer without one, its aliases and value maps."""
    path = styles.get(name)
    if path is not None:
        return ET.fromstring(read_qml(path))
    if name in load_schema().layers:
        return ET.fromstring(fields_qml(name))
    return None


def _maplayer(
    parent: ET.Element,
    *,
    name: str,
    source: str,
    geometry: str | None,
    crs: CRS,
    style: ET.Element | None,
) -> None:
    attrib = {"type": "vector", "styleCategories": "AllStyleCategories", "readOnly": "0"}
    if geometry:
        attrib |= {"geometry": "Polygon" if "Polygon" in geometry else geometry, "wkbType": geometry}
    else:
        attrib |= {"geometry": "No geometry", "wkbType": "NoGeometry"}
    if style is not None:
        attrib |= {k: v for k, v in style.attrib.items() if k not in {"version", "styleCategories"}}
    layer = _sub(parent, "maplayer", **attrib)
    _sub(layer, "id", _layer_id(name))
    _sub(layer, "datasource", source)
    _sub(layer, "layername", _title(name))
    if geometry:
        _spatialrefsys(_sub(layer, "srs"), crs)
    _sub(layer, "provider", "ogr", encoding="UTF-8")
    if style is not None:
        for child in style:
            if child.tag != "layerGeometryType":
                layer.append(child)


def _bounds(gpkg: Path, layers: tuple[str, ...]) -> tuple[float, float, float, float]:
    def boxes_of(names: list[str]) -> list[tuple[float, float, float, float]]:
        found = [pyogrio.read_info(gpkg, layer=n, force_total_bounds=True)["total_bounds"] for n in names]
        return [
            (float(b[0]), float(b[1]), float(b[2]), float(b[3]))
            for b in found
            if b is not None and all(map(math.isfinite, b))
        ]

    # the municipalities' extent; where they have no boundaries (boundary = false), every layer's
    boxes = boxes_of([n for n in ("municipalities",) if n in layers]) or boxes_of(list(layers))
    if not boxes:
        raise ExportError(f"{gpkg}: no layer has a geometry to take the project's extent from")
    xmin, ymin = min(b[0] for b in boxes), min(b[1] for b in boxes)
    xmax, ymax = max(b[2] for b in boxes), max(b[3] for b in boxes)
    dx, dy = (xmax - xmin) * EXTENT_MARGIN, (ymax - ymin) * EXTENT_MARGIN
    return xmin - dx, ymin - dy, xmax + dx, ymax + dy


def _check_crs(gpkg: Path, layers: tuple[str, ...], crs: CRS) -> None:
    wrong = []
    for name in layers:
        found = pyogrio.read_info(gpkg, layer=name)["crs"]
        if found is None or not CRS.from_user_input(found).equals(crs):
            wrong.append(f"{name} ({found or 'no CRS'})")
    if wrong:
        raise CRSError(
            f"{gpkg}: layers not in the district CRS {crs.to_string()}: {', '.join(wrong)}; "
            "pass the CRS of the district configuration as `crs=`, or rebuild the GeoPackage"
        )


def project_document(gpkg: Path, qgz_dir: Path, *, crs: CRS, title: str = DEFAULT_TITLE) -> ET.Element:
    """Build the `.qgs` document of the project (see :func:`write_qgis_project`)."""
    found = district_contents(gpkg)
    layers = found.layer_names
    if not layers:
        raise ExportError(f"{gpkg}: holds no spatial layer; nothing to put in a QGIS project")
    _check_crs(gpkg, layers, crs)
    geometry = dict(found.layers)
    styles = available_styles()
    relative = Path(os.path.relpath(gpkg.resolve(), qgz_dir.resolve())).as_posix()
    relative = relative if relative.startswith(("./", "../")) else f"./{relative}"

    members = {*layers, *found.tables}
    grouped = [(g.title, [m for m in g.members if m in members]) for g in GROUPS]
    known = {m for g in GROUPS for m in g.members}
    grouped.append((OTHER_GROUP, [m for m in (*layers, *found.tables) if m not in known]))
    grouped = [(title, names) for title, names in grouped if names]

    root = ET.Element("qgis", {"version": QGIS_VERSION, "projectname": xml_text(title)})
    _sub(root, "homePath", path="")
    _sub(root, "title", title)
    _spatialrefsys(_sub(root, "projectCrs"), crs)

    tree = _sub(root, "layer-tree-group")
    _sub(tree, "customproperties")
    for title, names in grouped:
        group = _sub(tree, "layer-tree-group", name=title, checked="Qt::Checked", expanded="1")
        _sub(group, "customproperties")
        for name in names:
            _sub(
                group,
                "layer-tree-layer",
                id=_layer_id(name),
                name=_title(name),
                source=f"{relative}|layername={name}",
                providerKey="ogr",
                checked="Qt::Checked",
                expanded="1" if name == "candidates" or name == "zoning" else "0",
            )

    xmin, ymin, xmax, ymax = _bounds(gpkg, layers)
    canvas = _sub(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1")
    _sub(canvas, "units", "meters" if not crs.is_geographic else "degrees")
    extent = _sub(canvas, "extent")
    for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), (xmin, ymin, xmax, ymax), strict=True):
        _sub(extent, tag, repr(float(value)))
    _sub(canvas, "rotation", "0")
    _spatialrefsys(_sub(canvas, "destinationsrs"), crs)

    project_layers = _sub(root, "projectlayers")
    for _, names in grouped:
        for name in names:
            _maplayer(
                project_layers,
                name=name,
                source=f"{relative}|layername={name}",
                geometry=geometry.get(name),
                crs=crs,
                style=_style_root(name, styles),
            )
    order = _sub(root, "layerorder")
    for _, names in grouped:
        for name in names:
            _sub(order, "layer", id=_layer_id(name))

    properties = _sub(root, "properties")
    paths = _sub(properties, "Paths")
    _sub(paths, "Absolute", "false", type="bool")
    _sub(_sub(properties, "SpatialRefSys"), "ProjectionsEnabled", "1", type="int")
    view = _sub(root, "ProjectViewSettings", UseProjectScales="0", rotation="0")
    default_extent = _sub(
        view,
        "DefaultViewExtent",
        xmin=repr(float(xmin)),
        ymin=repr(float(ymin)),
        xmax=repr(float(xmax)),
        ymax=repr(float(ymax)),
    )
    _spatialrefsys(default_extent, crs)
    return root


def write_qgis_project(
    gpkg_path: str | os.PathLike[str],
    qgz_path: str | os.PathLike[str] | None = None,
    *,
    crs: str | CRS,
    title: str | None = None,
) -> Path:
    """Write a QGIS project for a district GeoPackage.

    The project holds every layer and table of the GeoPackage in German-named groups (boundaries,
    potentials, zoning, cadastre, checks), each spatial layer styled from `layers/styles/`, the district
    CRS as project CRS and the district's extent as start view. Paths are relative to the project file.
    The file is replaced atomically. QGIS is not needed to write it.

    Parameters
    ----------
    gpkg_path
        The district GeoPackage, or the output folder holding `district.gpkg`.
    qgz_path
        The project file; `district.qgz` beside the GeoPackage by default.
    crs
        The district CRS (e.g. ``"EPSG:25832"``); every layer must be in it.
    title
        Project title shown by QGIS, e.g. the district's name.

    Returns
    -------
    Path
        The project file written.

    Raises
    ------
    CRSError
        Where a layer of the GeoPackage is not in `crs`.

    Examples
    --------
    >>> write_qgis_project("out/demo", crs="EPSG:25832")
    PosixPath('out/demo/district.qgz')
    """
    gpkg = resolve_district(gpkg_path)
    target = Path(qgz_path) if qgz_path is not None else gpkg.with_suffix(".qgz")
    district_crs = CRS.from_user_input(crs)
    root = project_document(gpkg, target.parent, crs=district_crs, title=title or DEFAULT_TITLE)
    ET.indent(root, space=" ")
    body = io.BytesIO()
    body.write(b"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n")
    ET.ElementTree(root).write(body, encoding="utf-8", xml_declaration=False)

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            # a fixed timestamp keeps the file byte-identical for identical input (reproducible runs)
            entry = zipfile.ZipInfo(f"{target.stem}.qgs", date_time=(2000, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, body.getvalue())

    atomic_write(target, write)
    project_layers = root.find("projectlayers")
    log.info("wrote QGIS project %s (%d layers)", target, 0 if project_layers is None else len(project_layers))
    return target
