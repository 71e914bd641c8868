"""The workshop map end to end in headless Chromium, network off, on the demo district.

Checks the background draws from the site's own tiles, the aggregate cells are on the map, the sources
are named, the municipality page opens on its village, and nothing errs; saves screenshots of the
overview and of a municipality page at settlement zoom (to $FLAECHEN_SCREENSHOTS where set).
"""

from __future__ import annotations

from pathlib import Path

import pyogrio
import pytest

from flaechen.publish import publish
from tests.publish.browser import drawn, open_site_page
from tests.publish.conftest import screenshot_dir

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCALE = 3000


def _tiles_loaded(page) -> int:  # type: ignore[no-untyped-def]
    """Background tiles drawn once loading has settled (0: no background, -1: never settled)."""
    return int(
        page.evaluate(
            """() => new Promise((resolve) => {
                const layer = FlaechenSite.site.background;
                const count = () => document.querySelectorAll('.fl-background img.leaflet-tile-loaded').length;
                if (!layer) { resolve(0); return; }
                if (!layer.isLoading()) { resolve(count()); return; }
                layer.once('load', () => resolve(count()));
                setTimeout(() => resolve(-1), 20000);
            })"""
        )
    )


@pytest.fixture(scope="module")
def workshop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from flaechen.config import load_config
    from flaechen.demo.generate import generate_demo
    from flaechen.pipeline import run

    out = tmp_path_factory.mktemp("workshop")
    config = load_config(generate_demo(out / "input", scale=SCALE))
    gpkg = Path(run(config, out, publish=False).gpkg)
    sources = {"alkis": {"year": 2025, "date": "2025-06-30"}}
    profile = config.publish.model_copy(update={"private_candidates": "grid", "grid_size_m": 250.0})
    profile = profile.model_copy(update={"sources": profile.sources | _sources(sources)})
    site = publish(gpkg, out, profile=profile, base_dir=config.base_dir, district_name=config.name).parent
    return gpkg, site


def _sources(raw):  # type: ignore[no-untyped-def]
    from flaechen.publish.attribution import SourceSettings

    return {key: SourceSettings.model_validate(value) for key, value in raw.items()}


def test_overview_and_settlement_zoom(chromium, workshop, tmp_path: Path):
    gpkg, site = workshop
    shots = screenshot_dir(tmp_path)
    page, log, _ = open_site_page(chromium, site / "index.html")
    assert _tiles_loaded(page) > 0, "the background did not draw"
    assert drawn(page, "grid") > 0, "no aggregate cells on the map"
    attribution = page.locator(".leaflet-control-attribution").inner_text()
    assert "© GeoBasis-DE / LVermGeoRP (2025)" in attribution and "© GeoBasis-DE / BKG" in attribution
    sources = page.locator(".fl-sources").inner_text()
    assert "dl-de/by-2.0" in sources and "Stand 2025-06-30" in sources and "Stand der Auswertung" in sources
    # one control for layers and legend
    assert page.locator(".leaflet-control-layers").count() == 1 and page.locator(".fl-legend").count() == 0
    page.screenshot(path=str(shots / "workshop-overview.png"))
    assert log.errors == [] and log.requests == []
    page.context.close()

    municipalities = pyogrio.read_dataframe(gpkg, layer="municipalities", read_geometry=False)
    ags = str(sorted(municipalities["ags"])[0])
    page, log, _ = open_site_page(chromium, site / f"gemeinde-{ags}.html")
    assert page.evaluate("FlaechenSite.site.map.getZoom()") >= 15, "the page does not open on the village"
    assert _tiles_loaded(page) > 0
    assert drawn(page, "grid") > 0
    assert page.locator(".fl-cell-label").first.is_visible()  # the counts are written on the cells
    assert page.locator(".fl-localities option").count() >= 2  # "Ortslage wählen …" and the village
    assert "© GeoBasis-DE" in page.locator(".leaflet-control-attribution").inner_text()
    page.screenshot(path=str(shots / "workshop-municipality.png"))
    assert log.errors == [] and log.requests == []
    page.context.close()


def test_tables_fit_a_phone(chromium, workshop):
    _, site = workshop
    page, log, _ = open_site_page(chromium, site / "index.html", viewport=(390, 844))
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the page is {overflow} px wider than a phone"
    assert log.errors == []
    page.context.close()
