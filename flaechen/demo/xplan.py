"""Write a B-Plan as XPlanGML 5.4 (XPlanAuszug with BP_Plan, BP_Bereich, BP_BaugebietsTeilFlaeche).

Only what the demo needs: one plan per file, polygons in EPSG:25832, the attributes
allgArtDerBaulNutzung, besondereArtDerBaulNutzung, GRZ, GFZ and Z on the Baugebiet parts and the legal
status (rechtsstand) on the plan. No ``xsi:schemaLocation``: GDAL's GML driver would try to fetch it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd
import shapely

XPLAN_NS = "http://www.xplanung.de/xplangml/5/4"
GML_NS = "http://www.opengis.net/gml/3.2"
XLINK_NS = "http://www.w3.org/1999/xlink"
SRS = "EPSG:25832"


def _pos_list(coords: np.ndarray) -> str:
    return " ".join(f"{x:.3f} {y:.3f}" for x, y in coords)


def _polygon(poly: shapely.Polygon, gid: str) -> str:
    rings = [
        f'<gml:exterior><gml:LinearRing><gml:posList srsDimension="2">'
        f"{_pos_list(np.asarray(poly.exterior.coords))}</gml:posList></gml:LinearRing></gml:exterior>"
    ]
    for hole in poly.interiors:
        rings.append(
            f'<gml:interior><gml:LinearRing><gml:posList srsDimension="2">'
            f"{_pos_list(np.asarray(hole.coords))}</gml:posList></gml:LinearRing></gml:interior>"
        )
    return f'<gml:Polygon gml:id="{gid}" srsName="{SRS}">{"".join(rings)}</gml:Polygon>'


def _surface(geom: shapely.Geometry, gid: str) -> str:
    if geom.geom_type == "Polygon":
        return _polygon(geom, gid)
    members = "".join(
        f"<gml:surfaceMember>{_polygon(p, f'{gid}_{k}')}</gml:surfaceMember>" for k, p in enumerate(geom.geoms)
    )
    return f'<gml:MultiSurface gml:id="{gid}" srsName="{SRS}">{members}</gml:MultiSurface>'


def _num(value: object) -> str | None:
    if value is None or value is pd.NA:
        return None
    f = float(value)  # type: ignore[arg-type]
    if math.isnan(f):
        return None
    return f"{f:g}"


def write_bplan(
    path: Path,
    *,
    plan_id: str,
    name: str,
    number: str,
    ags: str,
    municipality: str,
    rechtsstand: int,
    features: pd.DataFrame,
    gml_ids: Sequence[str],
) -> None:
    """Write one B-Plan with its Baugebiet parts.

    Parameters
    ----------
    path
        Target file (``.gml``).
    plan_id
        ``gml:id`` of the BP_Plan.
    name, number
        Plan name and number (``xplan:name``, ``xplan:nummer``).
    ags, municipality
        The municipality the plan belongs to.
    rechtsstand
        XPlanung BP_Rechtsstand code (e.g. 4000 in Kraft getreten).
    features
        Baugebiet parts: geometry (EPSG:25832) and the columns ``allg_art``, ``bes_art`` (values written
        as they are, so unknown codes stay unknown), ``grz``, ``gfz``, ``storeys`` (missing values omitted).
    gml_ids
        ``gml:id`` of every part (the key a reader sees as ``gml_id``).
    """
    geoms = features.geometry.to_numpy() if hasattr(features, "geometry") else features["geometry"].to_numpy()
    outline = shapely.union_all(geoms).buffer(0)
    xmin, ymin, xmax, ymax = outline.bounds
    bereich_id = f"{plan_id}_B0"
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<xplan:XPlanAuszug xmlns:xplan="{XPLAN_NS}" xmlns:gml="{GML_NS}" xmlns:xlink="{XLINK_NS}"'
        f' gml:id="{plan_id}_A">',
        f'<gml:boundedBy><gml:Envelope srsName="{SRS}"><gml:lowerCorner>{xmin:.3f} {ymin:.3f}</gml:lowerCorner>'
        f"<gml:upperCorner>{xmax:.3f} {ymax:.3f}</gml:upperCorner></gml:Envelope></gml:boundedBy>",
        "<gml:featureMember>",
        f'<xplan:BP_Plan gml:id="{plan_id}">',
        f"<xplan:name>{escape(name)}</xplan:name>",
        f"<xplan:nummer>{escape(number)}</xplan:nummer>",
        f"<xplan:raeumlicherGeltungsbereich>{_surface(outline, plan_id + '_GB')}</xplan:raeumlicherGeltungsbereich>",
        f"<xplan:gemeinde><xplan:XP_Gemeinde><xplan:ags>{ags}</xplan:ags>"
        f"<xplan:gemeindeName>{escape(municipality)}</xplan:gemeindeName></xplan:XP_Gemeinde></xplan:gemeinde>",
        "<xplan:planArt>1000</xplan:planArt>",
        f"<xplan:rechtsstand>{rechtsstand}</xplan:rechtsstand>",
        f'<xplan:bereich xlink:href="#{bereich_id}"/>',
        "</xplan:BP_Plan>",
        "</gml:featureMember>",
        "<gml:featureMember>",
        f'<xplan:BP_Bereich gml:id="{bereich_id}"><xplan:nummer>0</xplan:nummer>'
        f'<xplan:gehoertZuPlan xlink:href="#{plan_id}"/></xplan:BP_Bereich>',
        "</gml:featureMember>",
    ]
    for k, (gid, geom, row) in enumerate(zip(gml_ids, geoms, features.itertuples(index=False), strict=True)):
        attrs = []
        for tag, value in (("GFZ", _num(row.gfz)), ("GRZ", _num(row.grz)), ("Z", _num(row.storeys))):
            if value is not None:
                attrs.append(f"<xplan:{tag}>{value}</xplan:{tag}>")
        allg, bes = _num(row.allg_art), _num(row.bes_art)
        if allg is not None:
            attrs.append(f"<xplan:allgArtDerBaulNutzung>{allg}</xplan:allgArtDerBaulNutzung>")
        if bes is not None:
            attrs.append(f"<xplan:besondereArtDerBaulNutzung>{bes}</xplan:besondereArtDerBaulNutzung>")
        out.append(
            "<gml:featureMember>"
            f'<xplan:BP_BaugebietsTeilFlaeche gml:id="{gid}">'
            f'<xplan:gehoertZuBereich xlink:href="#{bereich_id}"/>'
            "<xplan:rechtscharakter>1000</xplan:rechtscharakter>"
            f"<xplan:position>{_surface(geom, f'{gid}_G{k}')}</xplan:position>"
            "<xplan:flaechenschluss>true</xplan:flaechenschluss>"
            f"{''.join(attrs)}"
            "</xplan:BP_BaugebietsTeilFlaeche>"
            "</gml:featureMember>"
        )
    out.append("</xplan:XPlanAuszug>")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
