"""Carry-over rules: parcel key, splits, merges, renumbering, entfallen with reasons, conflicts, decisions."""

from __future__ import annotations

import pandas as pd
import pytest
from shapely.geometry import box

from flaechen.errors import CRSError
from flaechen.register import RegisterSettings, carry_over
from tests.register.conftest import AGS, Survey, cell, pid


def first(survey: Survey, date: str = "2025-04-01"):
    return carry_over(_empty(survey), survey.candidates(), context=survey.context(), survey=date, previous_survey=None)


def _empty(survey):
    from flaechen.register.match import empty_sites

    return empty_sites(survey.candidates().crs)


def again(sites, survey: Survey, date: str = "2026-04-01", **settings):
    return carry_over(
        sites,
        survey.candidates(),
        context=survey.context(),
        survey=date,
        previous_survey="2025-04-01",
        settings=RegisterSettings(**settings),
    )


def site_of(result, parcel_id: str) -> pd.Series:
    rows = result.sites[result.sites["parcel_ids"].str.split(";").map(lambda ps: parcel_id in ps)]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def edit(sites, site_id: str, **values):
    sites = sites.copy()
    for key, value in values.items():
        sites.loc[sites["site_id"] == site_id, key] = value
    return sites


def change_of(result, site_id: str) -> pd.Series:
    rows = result.changes[result.changes["site_id"] == site_id]
    assert len(rows) == 1, result.changes
    return rows.iloc[0]


def test_first_survey_makes_every_candidate_a_new_site_with_stable_ids():
    s = Survey().add(pid(1), cell(0)).add(pid(2), cell(1)).add(pid(3), cell(2), category=None)
    result = first(s)
    assert sorted(result.sites["site_id"]) == [f"{AGS}-00001", f"{AGS}-00002"]
    assert set(result.changes["change"]) == {"neu"}
    assert (result.sites["status"] == "unbekannt").all() and (result.sites["state"] == "aktiv").all()
    assert not result.sites["obstacle_owner"].any()
    again_result = first(s)
    assert list(again_result.sites["site_id"]) == list(result.sites["site_id"]), "ids are deterministic"


def test_same_parcel_key_keeps_the_site_and_its_edits_and_reports_nothing():
    s = Survey().add(pid(1), cell(0)).add(pid(2), cell(1))
    sites = edit(first(s).sites, f"{AGS}-00001", note="Eigentümer will verkaufen", status="bereit")
    result = again(sites, s)
    site = result.sites[result.sites["site_id"] == f"{AGS}-00001"].iloc[0]
    assert site["note"] == "Eigentümer will verkaufen" and site["status"] == "bereit"
    assert result.changes.empty and not result.new_ids and not result.conflicts


def test_renumbered_parcels_are_matched_by_geometry():
    s1 = Survey().add(pid(1), cell(0)).add(pid(2), cell(1))
    sites = edit(first(s1).sites, f"{AGS}-00002", note="Notiz")
    s2 = Survey().add(pid(501, flur=2), cell(0)).add(pid(502, flur=2), cell(1, dx=0.5))  # new numbers, tiny shift
    result = again(sites, s2)
    assert not result.new_ids and not result.conflicts
    site = site_of(result, pid(502, flur=2))
    assert site["site_id"] == f"{AGS}-00002" and site["note"] == "Notiz"
    changed = change_of(result, f"{AGS}-00002")
    assert changed["change"] == "geändert" and pid(502, flur=2) in changed["reason"]


def test_a_split_parcel_carries_the_site_over_to_its_parts():
    s1 = Survey().add(pid(1), cell(0))
    sites = edit(first(s1).sites, f"{AGS}-00001", note="geteilt?")
    s2 = Survey().add(pid(1, 1), cell(0, w=50)).add(pid(1, 2), cell(0, w=50, dx=50))
    result = again(sites, s2)
    assert not result.new_ids and not result.conflicts
    site = result.sites.iloc[0]
    assert site["parcel_ids"] == f"{pid(1, 1)};{pid(1, 2)}" and site["note"] == "geteilt?"
    assert site["area_m2"] == pytest.approx(10_000)
    assert change_of(result, f"{AGS}-00001")["change"] == "geändert"


def test_a_split_with_one_part_built_on_keeps_the_site_on_the_other_part():
    s1 = Survey().add(pid(1), cell(0))
    sites = first(s1).sites
    s2 = Survey().add(pid(1, 1), cell(0, w=50), category=None).add(pid(1, 2), cell(0, w=50, dx=50))
    s2.buildings.append(box(500_010, 5_600_010, 500_040, 5_600_040))
    result = again(sites, s2)
    site = result.sites.iloc[0]
    assert site["parcel_ids"] == pid(1, 2) and site["state"] == "aktiv"
    assert site["area_m2"] == pytest.approx(5_000)
    assert "Fläche" in change_of(result, f"{AGS}-00001")["reason"]


def test_merged_parcels_continue_the_edited_site_and_end_the_other():
    s1 = Survey().add(pid(1), cell(0)).add(pid(2), cell(1))
    sites = edit(first(s1).sites, f"{AGS}-00002", status="angesprochen")
    s2 = Survey().add(pid(3), box(500_000, 5_600_000, 500_200, 5_600_100))
    result = again(sites, s2)
    assert not result.new_ids and not result.conflicts
    kept = result.sites.set_index("site_id")
    assert kept.at[f"{AGS}-00002", "state"] == "aktiv" and kept.at[f"{AGS}-00002", "parcel_ids"] == pid(3)
    assert kept.at[f"{AGS}-00001", "state"] == "entfallen"
    assert kept.at[f"{AGS}-00001", "state_reason"] == f"zusammengelegt mit {AGS}-00002"


def test_merging_two_edited_sites_is_a_conflict_left_to_the_planner():
    s1 = Survey().add(pid(1), cell(0)).add(pid(2), cell(1))
    sites = edit(first(s1).sites, f"{AGS}-00001", note="A")
    sites = edit(sites, f"{AGS}-00002", note="B")
    s2 = Survey().add(pid(3), box(500_000, 5_600_000, 500_200, 5_600_100))
    result = again(sites, s2)
    assert len(result.conflicts) == 1 and set(result.conflicts[0].site_ids) == {f"{AGS}-00001", f"{AGS}-00002"}
    assert result.conflicts[0].parcel_ids == (pid(3),)
    assert "Entscheidung" in result.conflicts[0].message
    assert set(result.sites["state"]) == {"ungeklärt"}
    assert not result.new_ids, "the candidate of a conflict is no new site"
    assert set(result.sites["note"]) == {"A", "B"}
    # the planner decides: continue A, end B
    decided = edit(result.sites, f"{AGS}-00001", decision="fortführen")
    decided = edit(decided, f"{AGS}-00002", decision="beenden")
    resolved = again(decided, s2, date="2026-05-01")
    by_id = resolved.sites.set_index("site_id")
    assert by_id.at[f"{AGS}-00001", "state"] == "aktiv" and by_id.at[f"{AGS}-00001", "parcel_ids"] == pid(3)
    assert by_id.at[f"{AGS}-00002", "state"] == "entfallen"
    assert by_id.at[f"{AGS}-00002", "state_reason"] == "vom Planer beendet"
    assert not resolved.conflicts


def test_a_reused_parcel_key_on_other_land_is_a_conflict_never_a_silent_rekey():
    s1 = Survey().add(pid(1), cell(0)).add(pid(2), cell(5))
    sites = first(s1).sites
    s2 = Survey().add(pid(1), cell(5)).add(pid(9), cell(0), category=None)  # key 1 now names the other lot
    result = again(sites, s2)
    conflicted = {sid for c in result.conflicts for sid in c.site_ids}
    assert f"{AGS}-00001" in conflicted
    assert result.sites.set_index("site_id").at[f"{AGS}-00001", "state"] == "ungeklärt"


def test_partial_overlap_with_several_sites_is_a_conflict():
    s1 = Survey().add(pid(1), cell(0)).add(pid(2), cell(1))
    sites = first(s1).sites
    s2 = Survey().add(pid(7), cell(0, w=100, dx=50))  # straddles both halves
    result = again(sites, s2)
    assert len(result.conflicts) == 1 and not result.new_ids
    assert "↔" in result.conflicts[0].message


@pytest.mark.parametrize(
    ("change", "make", "reason"),
    [
        (
            "bebaut",
            lambda s: (
                s.add(pid(1), cell(0), category=None),
                s.buildings.append(box(500_020, 5_600_020, 500_060, 5_600_060)),
            ),
            "bebaut",
        ),
        ("entfallen", lambda s: s.excluded.add(pid(1)), "Restriktion"),
        ("entfallen", lambda s: s.add(pid(1), cell(0), category=None, zoning="GE"), "Planänderung (WA → GE)"),
        ("entfallen", lambda s: s.add(pid(1), cell(0, w=1.5), category=None), "unter der Mindestfläche"),
        ("entfallen", lambda s: s.parcels.pop(pid(1)), "nicht mehr im Datensatz"),
        ("entfallen", lambda s: s.add(pid(1), cell(0), category=None), "Kriterien für Baulücke"),
    ],
)
def test_a_site_that_no_longer_qualifies_keeps_its_row_and_edits_with_the_reason(change, make, reason):
    s1 = Survey().add(pid(1), cell(0)).add(pid(2), cell(1))
    sites = edit(first(s1).sites, f"{AGS}-00001", note="bleibt")
    s2 = Survey().add(pid(1), cell(0)).add(pid(2), cell(1))
    make(s2)
    result = again(sites, s2)
    site = result.sites.set_index("site_id").loc[f"{AGS}-00001"]
    assert site["state"] == "entfallen" and site["note"] == "bleibt"
    assert reason in site["state_reason"]
    row = change_of(result, f"{AGS}-00001")
    assert row["change"] == change and reason in row["reason"]
    assert row["area_m2"] == pytest.approx(10_000)
    # the next survey: no second change for a site that already ended
    later = again(result.sites, s2, date="2027-04-01")
    assert later.changes.empty


def test_no_buildings_delivered_is_no_evidence_of_building():
    s1 = Survey().add(pid(1), cell(0))
    sites = first(s1).sites
    s2 = Survey().add(pid(1), cell(0), category=None)
    s2.buildings.append(box(500_020, 5_600_020, 500_060, 5_600_060))
    s2.ags = {}
    ctx = s2.context()
    ctx.buildings["ags"] = "07999002"  # the buildings are another municipality's: this one delivered none
    result = carry_over(sites, s2.candidates(), context=ctx, survey="2026-04-01")
    assert change_of(result, f"{AGS}-00001")["change"] == "entfallen"


def test_a_municipality_without_parcels_this_time_keeps_its_sites():
    s1 = Survey().add(pid(1), cell(0))
    sites = first(s1).sites
    s2 = Survey().add("082220010000010000__", cell(9))
    s2.ags = {"082220010000010000__": "07999002"}
    result = again(sites, s2)
    assert result.sites.set_index("site_id").at[f"{AGS}-00001", "state"] == "aktiv"
    assert result.kept_without_delivery == [AGS]
    assert set(result.changes["change"]) == {"neu"} and len(result.changes) == 1


def test_a_site_that_qualifies_again_comes_back_as_new_with_its_edits():
    s1 = Survey().add(pid(1), cell(0))
    sites = edit(first(s1).sites, f"{AGS}-00001", note="alt")
    gone = again(sites, Survey().add(pid(1), cell(0), category=None)).sites
    back = again(gone, s1, date="2027-04-01")
    site = back.sites.iloc[0]
    assert site["state"] == "aktiv" and site["note"] == "alt" and site["site_id"] == f"{AGS}-00001"
    assert "wieder Kandidat" in change_of(back, f"{AGS}-00001")["reason"]


def test_category_change_is_reported():
    s1 = Survey().add(pid(1), cell(0))
    sites = first(s1).sites
    result = again(sites, Survey().add(pid(1), cell(0), category="Brachfläche"))
    row = change_of(result, f"{AGS}-00001")
    assert row["change"] == "geändert" and "Baulücke → Brachfläche" in row["reason"]
    assert row["previous_category"] == "Baulücke" and row["category"] == "Brachfläche"


def test_new_ids_never_reuse_the_numbers_of_ended_sites():
    s1 = Survey().add(pid(1), cell(0)).add(pid(2), cell(1))
    sites = first(s1).sites
    s2 = Survey().add(pid(1), cell(0)).add(pid(2), cell(1), category=None).add(pid(3), cell(4))
    result = again(sites, s2)
    assert result.new_ids == {f"{AGS}-00003"}


def test_thresholds_are_settings():
    s1 = Survey().add(pid(1), cell(0))
    sites = first(s1).sites
    s2 = Survey().add(pid(9), cell(0, dx=15))  # 85 % the same land, renumbered
    assert not again(sites, s2).conflicts
    strict = again(sites, s2, same_land=0.95, contained=0.95)
    assert strict.conflicts


def test_register_in_another_crs_is_refused():
    s = Survey().add(pid(1), cell(0))
    sites = first(s).sites.to_crs("EPSG:25833")
    with pytest.raises(CRSError, match="reproject"):
        carry_over(sites, s.candidates(), context=s.context(), survey="2026-04-01")
