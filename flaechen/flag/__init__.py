"""Flagging reuse candidates (Innenentwicklungspotenziale): flag, explain and size them.

For every parcel of the district dataset the step measures, with exact geometry through one STRtree per
layer, its zoning (dominant class, share, permitted GRZ/GFZ), the share of registered brownfields, its
buildings (count, footprint, coverage, derelict and unused ones) and the building density around it
(an Innenbereich estimate). Rules from ``layers/rules.yaml`` (overridable per district) turn the measures
into categories — Brachfläche, Leerstand, Baulücke, Untergenutzte Fläche, Außenreserve — each with its
reasons in German and in JSON; constraints (vector layers, rasters) lower or exclude candidates; a
capacity estimate and a per-municipality summary follow. See ``flaechen/flag/README.md``.

Examples
--------
>>> from flaechen.district import read_district
>>> from flaechen.flag import flag, load_rules
>>> from flaechen.layers import CANONICAL_LAYERS
>>> rules = load_rules()  # layers/rules.yaml; load_rules("my_rules.yaml") merges a district's overrides
>>> result = flag(read_district("out/demo", layers=list(CANONICAL_LAYERS)), rules=rules, workers=2)
>>> bool((result.candidates["category"] == "Brachfläche").any())
True
"""

from typing import TYPE_CHECKING

from flaechen._lazy import lazy_exports

if TYPE_CHECKING:
    from flaechen.flag.constraints import Constraint, RasterConstraint, VectorConstraint, load_constraints
    from flaechen.flag.core import FlagResult, check_layers, flag, measure
    from flaechen.flag.gpkg import flag_gpkg
    from flaechen.flag.rules import Rules, load_rules
    from flaechen.flag.settings import parse_flag_section

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Constraint": "flaechen.flag.constraints",
        "FlagResult": "flaechen.flag.core",
        "RasterConstraint": "flaechen.flag.constraints",
        "Rules": "flaechen.flag.rules",
        "VectorConstraint": "flaechen.flag.constraints",
        "check_layers": "flaechen.flag.core",
        "flag": "flaechen.flag.core",
        "flag_gpkg": "flaechen.flag.gpkg",
        "load_constraints": "flaechen.flag.constraints",
        "load_rules": "flaechen.flag.rules",
        "measure": "flaechen.flag.core",
        "parse_flag_section": "flaechen.flag.settings",
    },
)

__all__ = [
    "Constraint",
    "FlagResult",
    "RasterConstraint",
    "Rules",
    "VectorConstraint",
    "check_layers",
    "flag",
    "flag_gpkg",
    "load_constraints",
    "load_rules",
    "measure",
    "parse_flag_section",
]
