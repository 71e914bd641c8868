"""Score arithmetic: shares of attainable points, 'nicht zutreffend' excluded, open counted 0, person over data."""

from __future__ import annotations

import pandas as pd
import pytest

from flaechen.plan.catalogue import load_catalogue
from flaechen.plan.scores import assessment_table, score_table, sdgs_served

AREAS = pd.DataFrame([{"area_id": "A", "name": "Gebiet A", "ags": "07999001"}])


@pytest.fixture
def catalogue():
    return load_catalogue(
        changes={
            "drop": [
                m
                for m in load_catalogue().measure_ids
                if m
                not in (
                    "energieeffizienz",
                    "kreislaufwirtschaft",
                    "flaecheneffizienz",
                    "regenwasser",
                    "versiegelung",
                    "gesundheitsmanagement",
                    "weiterbildungsangebote",
                    "versorgung_betreuung",
                    "kooperationsprojekte",
                    "investitionsbereite_infrastruktur",
                    "gebietsmanagement",
                )
            ]
        }
    )


def _levels(rows):
    frame = pd.DataFrame(rows, columns=["area_id", "measure_id", "level_person", "not_applicable"])
    frame["level_person"] = frame["level_person"].astype("Int64")
    return frame


def test_not_applicable_leaves_the_attainable_points_open_counts_zero(catalogue):
    proposals = pd.DataFrame(
        [
            {
                "area_id": "A",
                "measure_id": "flaecheneffizienz",
                "indicator_value": 0.6,
                "level_proposed": 2,
                "evidence": "x",
            },
            {
                "area_id": "A",
                "measure_id": "versiegelung",
                "indicator_value": 0.7,
                "level_proposed": 1,
                "evidence": "y",
            },
        ]
    )
    levels = _levels(
        [
            ("A", "kreislaufwirtschaft", 3, False),
            ("A", "regenwasser", None, True),  # nicht zutreffend
            ("A", "versiegelung", 3, False),  # a person overrides the proposal 1
            ("A", "investitionsbereite_infrastruktur", 0, False),
        ]
    )
    table = assessment_table(AREAS, catalogue=catalogue, proposals=proposals, levels=levels)
    t = table.set_index("measure_id")
    assert t.loc["versiegelung", "level"] == 3 and t.loc["versiegelung", "level_source"] == "Erfassung"
    assert t.loc["versiegelung", "level_proposed"] == 1  # both kept
    assert t.loc["flaecheneffizienz", "level"] == 2 and t.loc["flaecheneffizienz", "level_source"] == "Daten"
    assert t.loc["regenwasser", "attainable"] == 0 and t.loc["regenwasser", "level_source"] == "nicht zutreffend"
    assert t.loc["gebietsmanagement", "level_source"] == "offen" and t.loc["gebietsmanagement", "points"] == 0
    scores = score_table(table)
    overall = scores[scores["scope"] == "Gesamt"].iloc[0]
    # 11 measures, 1 not applicable: 10 × 3 = 30 attainable; points 3 + 3 + 2 + 0 = 8
    assert overall["attainable"] == 30 and overall["points"] == 8
    assert overall["share"] == pytest.approx(8 / 30)
    assert (overall["by_person"], overall["by_data"], overall["open"], overall["not_applicable"]) == (3, 1, 6, 1)
    umwelt = scores[(scores["scope"] == "Thema") & (scores["scope_id"] == "umwelt")].iloc[0]
    # Umwelt: energieeffizienz open 0, kreislaufwirtschaft 3, flaecheneffizienz 2, regenwasser n.z., versiegelung 3
    assert umwelt["share"] == pytest.approx(8 / 12)
    wasser = scores[(scores["scope"] == "Unterthema") & (scores["scope_id"] == "wasser_boden")].iloc[0]
    assert (wasser["points"], wasser["attainable"]) == (3, 3)
    sozial = scores[(scores["scope"] == "Thema") & (scores["scope_id"] == "sozial")].iloc[0]
    assert sozial["share"] == 0


def test_a_theme_with_every_measure_not_applicable_has_no_share(catalogue):
    levels = _levels(
        [
            ("A", "gesundheitsmanagement", None, True),
            ("A", "weiterbildungsangebote", None, True),
            ("A", "versorgung_betreuung", None, True),
        ]
    )
    scores = score_table(assessment_table(AREAS, catalogue=catalogue, levels=levels))
    sozial = scores[(scores["scope"] == "Thema") & (scores["scope_id"] == "sozial")].iloc[0]
    assert sozial["attainable"] == 0 and pd.isna(sozial["share"])


def test_sdgs_served_are_those_of_measures_reached(catalogue):
    levels = _levels(
        [
            ("A", "kreislaufwirtschaft", 1, False),
            ("A", "investitionsbereite_infrastruktur", 0, False),
            ("A", "gebietsmanagement", 2, False),
        ]
    )
    served = sdgs_served(assessment_table(AREAS, catalogue=catalogue, levels=levels))
    assert served == {"A": [12, 17]}  # level 0 serves nothing (8, 9 not served)


def test_the_written_tables_follow_their_schemas(small_district, sources_frame):
    from flaechen.flag import load_rules
    from flaechen.layers import load_schema
    from flaechen.plan.run import assess_areas

    result = assess_areas(
        small_district,
        catalogue=load_catalogue(),
        rules=load_rules(),
        candidates=small_district["candidates"],
        sources=sources_frame,
    )
    schema = load_schema()
    assert list(result.assessments.columns) == list(schema.layer("assessments").field_names)
    area_fields = schema.layer("commercial_areas").field_names
    assert set(area_fields) <= set(result.areas.columns)
    assert {"score_umwelt", "score_sozial", "score_wirtschaft", "score_uebergeordnet"} <= set(result.areas.columns)
