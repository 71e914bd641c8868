"""Demo district generator: a fictional Landkreis delivered the way real municipalities deliver.

:func:`generate_demo` writes ``district.toml``, the sources of six municipalities (GeoPackage, Shapefile
in Gauß-Krüger, GeoJSON, CSV with WKT, XPlanGML) and ``planted_defects.json``.
"""

from flaechen.demo.generate import generate_demo

__all__ = ["generate_demo"]
