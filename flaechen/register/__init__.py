"""The register: potential sites that planners work on, kept across deliveries, and what changed.

``OUT_DIR/register.gpkg`` (or a PostGIS schema) holds layer ``sites`` - one row per potential site with a
stable ``site_id``, the fields each run derives from its candidates and the fields planners edit in QGIS
(status, availability, obstacles, note) - and the tables ``history`` (a snapshot per run) and ``changes``
(every run's changes). Each run carries the sites over to its candidates (:mod:`flaechen.register.match`),
writes this run's ``changes`` and the ``monitoring`` time series into ``district.gpkg`` and a German report
per municipality into ``OUT_DIR/berichte/``.

Examples
--------
>>> import shutil
>>> from flaechen.district import read_district
>>> from flaechen.register import GpkgRegister, RegisterSettings, prepare
>>> _ = shutil.copy("out/demo/register.gpkg", "register.gpkg")
>>> layers = read_district("out/demo", layers=["municipalities", "parcels", "buildings", "candidates",
...                                            "parcel_measures"])
>>> update = prepare(GpkgRegister("register.gpkg"), layers, candidates=layers["candidates"],
...                  measures=layers["parcel_measures"], settings=RegisterSettings(survey="2027-04-01"))
>>> update.commit()
"""

from typing import TYPE_CHECKING

from flaechen._lazy import lazy_exports

if TYPE_CHECKING:
    from flaechen.errors import RegisterError
    from flaechen.register.core import RegisterUpdate, prepare
    from flaechen.register.gpkg_store import REGISTER_FILE, GpkgRegister
    from flaechen.register.match import CarryOver, Conflict, SurveyContext, carry_over
    from flaechen.register.monitor import monitoring
    from flaechen.register.settings import RegisterSettings, parse_register_section
    from flaechen.register.state import RegisterState

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "CarryOver": "flaechen.register.match",
        "Conflict": "flaechen.register.match",
        "GpkgRegister": "flaechen.register.gpkg_store",
        "REGISTER_FILE": "flaechen.register.gpkg_store",
        "RegisterError": "flaechen.errors",
        "RegisterSettings": "flaechen.register.settings",
        "RegisterState": "flaechen.register.state",
        "RegisterUpdate": "flaechen.register.core",
        "SurveyContext": "flaechen.register.match",
        "carry_over": "flaechen.register.match",
        "monitoring": "flaechen.register.monitor",
        "parse_register_section": "flaechen.register.settings",
        "prepare": "flaechen.register.core",
    },
)

__all__ = [
    "REGISTER_FILE",
    "CarryOver",
    "Conflict",
    "GpkgRegister",
    "RegisterError",
    "RegisterSettings",
    "RegisterState",
    "RegisterUpdate",
    "SurveyContext",
    "carry_over",
    "monitoring",
    "parse_register_section",
    "prepare",
]
