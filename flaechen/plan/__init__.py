"""Joint planning of the district's municipalities: commercial areas assessed against the criteria
catalogue for sustainable commercial areas, and scenarios of which potentials to activate.

* :mod:`flaechen.plan.catalogue` — the catalogue (``layers/catalogue.yaml``) and a district's changes;
* :mod:`flaechen.plan.areas` — commercial areas from the zoning or a declared layer;
* :mod:`flaechen.plan.indicators` — indicators derived from the district data, proposed as levels;
* :mod:`flaechen.plan.sheets` — the assessment spreadsheets (XLSX and CSV), written and read back;
* :mod:`flaechen.plan.scores` — levels, scores per sub-theme, theme and overall, SDGs served;
* :mod:`flaechen.plan.scenarios` — scenarios against housing demand and the national 30-hectare path;
* :mod:`flaechen.plan.report` — score cards, the district comparison and the scenario page (HTML);
* :mod:`flaechen.plan.run` — all of it in a district run.

See ``flaechen/plan/README.md``.
"""

from typing import TYPE_CHECKING

from flaechen._lazy import lazy_exports

if TYPE_CHECKING:
    from flaechen.errors import SheetError
    from flaechen.plan.catalogue import Catalogue, load_catalogue
    from flaechen.plan.run import PlanResult, assess_areas, compare_scenarios, plan_district
    from flaechen.plan.settings import AssessmentSettings, PlanningSettings, ScenarioSpec, parse_plan_sections
    from flaechen.plan.sheets import read_sheets, write_sheets

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "AssessmentSettings": "flaechen.plan.settings",
        "Catalogue": "flaechen.plan.catalogue",
        "PlanResult": "flaechen.plan.run",
        "PlanningSettings": "flaechen.plan.settings",
        "ScenarioSpec": "flaechen.plan.settings",
        "SheetError": "flaechen.errors",
        "assess_areas": "flaechen.plan.run",
        "compare_scenarios": "flaechen.plan.run",
        "load_catalogue": "flaechen.plan.catalogue",
        "parse_plan_sections": "flaechen.plan.settings",
        "plan_district": "flaechen.plan.run",
        "read_sheets": "flaechen.plan.sheets",
        "write_sheets": "flaechen.plan.sheets",
    },
)

__all__ = [
    "AssessmentSettings",
    "Catalogue",
    "PlanResult",
    "PlanningSettings",
    "ScenarioSpec",
    "SheetError",
    "assess_areas",
    "compare_scenarios",
    "load_catalogue",
    "parse_plan_sections",
    "plan_district",
    "read_sheets",
    "write_sheets",
]
