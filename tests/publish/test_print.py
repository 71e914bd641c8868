"""Printed maps: one A3 landscape page per municipality with legend, totals and attribution."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import shapely

from flaechen.publish import prepare, publish
from flaechen.publish.attribution import resolve_sources
from flaechen.publish.background import background_features, render_background
from flaechen.publish.printing import print_district
from flaechen.publish.profile import load_profile
from tests.publish.conftest import MUNICIPALITIES

pytestmark = [pytest.mark.browser, pytest.mark.slow]

A3_LANDSCAPE_PT = (420 / 25.4 * 72, 297 / 25.4 * 72)


def test_one_a3_page_per_municipality(chromium, district_gpkg, tmp_path: Path):
    # printing starts its own browser in a thread of its own, beside the test session's (`chromium`)
    from pypdf import PdfReader

    gpkg, secrets = district_gpkg
    profile = load_profile({"private_candidates": "grid", "grid_min_count": 2})
    site = publish(gpkg, tmp_path, profile={"private_candidates": "grid", "grid_min_count": 2}).parent
    features, _ = background_features(gpkg)
    municipalities = prepare.select_district(gpkg, profile=profile).layers["municipalities"]
    tiles = render_background(
        features, out_dir=site / "tiles", extent=shapely.union_all(municipalities.geometry.values), max_zoom=15
    )
    sources = resolve_sources({"alkis": {"year": 2025, "date": "2025-06-30"}}, land="07", run_date=date(2026, 11, 28))
    pdf = print_district(
        gpkg,
        site_dir=site,
        profile=profile,
        sources=sources,
        tiles=tiles,
        run_date=date(2026, 11, 28),
        generated=date(2026, 11, 29),
    )
    assert pdf == site / "karten-a3.pdf"
    assert not list(site.glob(".druck-*")), "the print pages are removed"
    reader = PdfReader(pdf)
    assert len(reader.pages) == len(MUNICIPALITIES)
    for page, (ags, name, _) in zip(reader.pages, MUNICIPALITIES, strict=True):
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(width - A3_LANDSCAPE_PT[0]) < 2 and abs(height - A3_LANDSCAPE_PT[1]) < 2, ags
        text = " ".join(page.extract_text().split())
        assert name in text  # the hostile name "Berg & <Tal>" printed as text
        for expected in (
            "Legende",
            "Baulücke",
            "Private Flächen (zusammengefasst)",
            "© GeoBasis-DE / LVermGeoRP (2025)",
            "© GeoBasis-DE / BKG (2026)",
            "dl-de/by-2.0",
            "Stand 2025-06-30",
            "Stand der Auswertung: 28.11.2026",
            "Gedruckt am 29.11.2026",
        ):
            assert expected in text, (ags, expected)
        for values in secrets.values():
            assert not any(v in text for v in values)


def test_cli_prints_on_request(chromium, district_gpkg, tmp_path: Path):
    import shutil

    from pypdf import PdfReader

    from flaechen.cli import main

    gpkg, _ = district_gpkg
    shutil.copyfile(gpkg, tmp_path / "district.gpkg")
    assert main(["publish", str(tmp_path), "--print", "--quiet"]) == 0
    reader = PdfReader(tmp_path / "site" / "karten-a3.pdf")
    assert len(reader.pages) == len(MUNICIPALITIES)
    assert "© GeoBasis-DE / LVermGeoRP" in reader.pages[0].extract_text()


def test_sheets_show_the_sites_built_on_as_the_site_does(chromium, district_gpkg, tmp_path: Path):
    """The public site built on is printed with its legend entry; where only private ones were, none."""
    from pypdf import PdfReader

    from tests.publish.test_built import ROWS, _changes, _with_changes

    source, _ = district_gpkg
    gpkg = _with_changes(source, tmp_path / "built", _changes(ROWS))
    profile = load_profile(None)
    site = publish(gpkg, tmp_path).parent
    sources = resolve_sources({}, land="07", run_date=date(2026, 11, 28))
    pdf = print_district(
        gpkg, site_dir=site, profile=profile, sources=sources, run_date=date(2026, 11, 28), generated=date(2026, 11, 29)
    )
    texts = [" ".join(page.extract_text().split()) for page in PdfReader(pdf).pages]
    assert "Seit der letzten Erhebung bebaut" in texts[0]  # Altdorf: one on public land
    assert "Seit der letzten Erhebung bebaut" not in texts[1]  # Berg & <Tal>: only one of unknown ownership
