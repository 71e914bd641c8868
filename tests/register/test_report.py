"""Reports to the municipalities: German, one per AGS, every delivered value escaped, never run as a template."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import geopandas as gpd
import pandas as pd
from markupsafe import escape

from flaechen.issues import IssueLog
from flaechen.register.report import write_reports

HOSTILE = "<script>alert('x')</script>{{ 7*7 }}{% raw %}"
AGS = ("07999001", "07999002")


def _dataset():
    issues = IssueLog()
    issues.add(
        "duplicate-id",
        ags=AGS[0],
        source_id="a-flurstuecke",
        layer="parcels",
        source_fid=4,
        feature_id=HOSTILE,
        field="parcel_id",
        value=HOSTILE,
        message=f"{HOSTILE} occurs more than once",
    )
    issues.add("crs-declared", ags=AGS[0], source_id="a-flurstuecke", layer="parcels", message="declared")
    issues.add("invalid-ags", ags=AGS[1], source_id="b-flurstuecke", layer="parcels", source_fid=1, message="bad")
    sources = pd.DataFrame(
        {
            "source_id": ["a-flurstuecke", "b-flurstuecke"],
            "ags": list(AGS),
            "layer": ["parcels", "parcels"],
            "path": [f"/data/{HOSTILE}.gpkg", "/data/b.shp"],
        }
    )
    accounting = pd.DataFrame(
        {"source_id": ["a-flurstuecke", "b-flurstuecke"], "read": [10, 5], "kept": [9, 4], "rejected": [1, 1]}
    )
    municipalities = gpd.GeoDataFrame({"ags": list(AGS), "name": [f"Neu{HOSTILE}", "Altdorf"]}, geometry=[None, None])
    return SimpleNamespace(
        issues=issues.to_frame(), sources=sources, accounting=accounting, layers={"municipalities": municipalities}
    )


def test_one_german_report_per_municipality_with_every_value_escaped(tmp_path):
    folder = write_reports(
        tmp_path, dataset=_dataset(), summary=None, register=None, district="Kreis", generated=dt.date(2026, 4, 1)
    )
    assert sorted(p.name for p in folder.iterdir()) == [f"{a}.html" for a in AGS]
    page = (folder / f"{AGS[0]}.html").read_text(encoding="utf-8")
    assert "<script>" not in page
    assert str(escape(HOSTILE)) in page, "shown as text, escaped"
    assert "49" not in page, "template syntax in a value is never run"
    assert 'lang="de"' in page and "Was für die nächste Lieferung zu beheben ist" in page
    assert "Kennung doppelt geliefert" in page, "German title of the issue type"
    assert "nicht geführt" in page, "no register: said so, not 'first survey'"
    fix, rest = page.split("3. Was abgelehnt", 1)
    assert "Koordinatensystem fehlte" not in fix, "a district's matter is no task for the municipality"
    assert "Koordinatensystem fehlte" in rest
    other = (folder / f"{AGS[1]}.html").read_text(encoding="utf-8")
    assert "Gemeindeschlüssel (AGS) ungültig" in other and HOSTILE not in other


def test_reports_are_replaced_as_a_whole(tmp_path):
    (tmp_path / "berichte").mkdir()
    (tmp_path / "berichte" / "99999999.html").write_text("alt", encoding="utf-8")
    write_reports(tmp_path, dataset=_dataset(), summary=None, register=None, district="Kreis")
    assert not (tmp_path / "berichte" / "99999999.html").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
