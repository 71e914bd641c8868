"""The demo's two deliveries a year apart: register.gpkg, carried-over edits and a changes table."""

from __future__ import annotations

import json
from pathlib import Path

import pyogrio
import pytest

from flaechen.cli import main
from flaechen.demo.next_year import MANIFEST, PLANNER, RENUMBERED_AGS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo-two-years")
    assert main(["demo", "--out", str(out), "--scale", "3000", "--quiet"]) == 0
    return out


def test_the_demo_produces_a_register_and_a_changes_table_with_neu_and_bebaut(demo):
    sites = pyogrio.read_dataframe(demo / "register.gpkg", layer="sites")
    assert {"site_id", "status", "note", "state", "obstacle_owner"} <= set(sites.columns)
    changes = pyogrio.read_dataframe(demo / "district.gpkg", layer="changes", read_geometry=False)
    kinds = set(changes["change"])
    assert {"neu", "bebaut", "geändert", "entfallen"} <= kinds
    assert set(changes["survey"]) == {"2026-04-01"} and set(changes["previous_survey"]) == {"2025-04-01"}
    history = pyogrio.read_dataframe(demo / "register.gpkg", layer="history", read_geometry=False)
    assert sorted(set(history["survey"])) == ["2025-04-01", "2026-04-01"]


def test_every_change_on_the_ground_is_reported(demo):
    manifest = json.loads((demo / "input-2026" / MANIFEST).read_text(encoding="utf-8"))
    changes = pyogrio.read_dataframe(demo / "district.gpkg", layer="changes", read_geometry=False)
    by_parcel = {p: row for row in changes.itertuples() for p in str(row.previous_parcel_ids or "").split(";")}
    new_parcels = {p: row for row in changes.itertuples() for p in str(row.parcel_ids or "").split(";")}
    kinds = [m["change"] for m in manifest]
    assert kinds.count("bebaut") >= 3 and {"Teilung", "neue Brachfläche", "Planänderung", "Umnummerierung"} <= set(
        kinds
    )
    for m in manifest:
        if m["change"] == "bebaut":
            assert by_parcel[m["parcel_id"]].change == "bebaut"
        elif m["change"] == "Teilung":
            row = new_parcels[m["into"][0]]
            assert row.change == "geändert" and m["parcel_id"] in row.previous_parcel_ids
        elif m["change"] == "neue Brachfläche":
            assert new_parcels[m["parcel_id"]].change == "neu"
        elif m["change"] == "Planänderung":
            for p in m["parcels"]:
                assert by_parcel[p].change == "entfallen" and "Planänderung" in by_parcel[p].reason
        elif m["change"] == "Umnummerierung":
            renumbered = changes[changes["ags"] == m["ags"]]
            assert len(renumbered) > 10 and set(renumbered["change"]) == {"geändert"}
            assert renumbered["reason"].str.startswith("Flurstücke").all()


def test_the_planners_edits_survived_the_second_delivery(demo):
    sites = pyogrio.read_dataframe(demo / "register.gpkg", layer="sites")
    edited = sites[sites["edited_by"] == PLANNER]
    assert len(edited) >= 6 and edited["note"].notna().all()
    assert (edited["status"] != "unbekannt").any()
    renumbered = edited[edited["ags"] == RENUMBERED_AGS]
    assert len(renumbered) == 1 and renumbered["parcel_ids"].iloc[0][6:9] == "101"
    assert "bebaut" in set(edited["state_reason"].dropna().str.split(" ").str[0])
    issues = pyogrio.read_dataframe(demo / "district.gpkg", layer="issues", read_geometry=False)
    assert not (issues["issue_type"] == "register-conflict").any(), "the demo's changes are all resolvable"


def test_monitoring_has_both_surveys_per_municipality(demo):
    table = pyogrio.read_dataframe(demo / "district.gpkg", layer="monitoring", read_geometry=False)
    assert len(table) == 12 and set(table["survey"]) == {"2025-04-01", "2026-04-01"}
    second = table[table["survey"] == "2026-04-01"]
    assert second["activated_ha"].sum() > 0 and second["new_ha"].sum() > 0
    assert (second["activated_since_first_ha"] >= second["activated_ha"]).all()
    assert second["status_mix"].str.contains("unbekannt").all()


def test_reports_tell_each_municipality_what_changed(demo):
    reports = sorted((demo / "berichte").glob("*.html"))
    assert [p.stem for p in reports] == [f"0799900{n}" for n in range(1, 7)]
    changes = pyogrio.read_dataframe(demo / "district.gpkg", layer="changes", read_geometry=False)
    built = changes[changes["change"] == "bebaut"].iloc[0]
    page = (demo / "berichte" / f"{built['ags']}.html").read_text(encoding="utf-8")
    assert "Was sich seit der letzten Erhebung geändert hat" in page and built["site_id"] in page
    assert "vorherige Erhebung 01.04.2025" in page
