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


HOSTILE = "<img src=x onerror=window.__pwned=1>{{ 7*7 }}"


@pytest.fixture(scope="module")
def workshop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo after its two surveys (so that lots were built on), published with the default privacy
    (private candidates as grid cells), the built-on sites all drawn (the demo's are on private land:
    ``built_on = "parcels"`` as a municipality may decide) and one of them with a hostile category."""
    from flaechen.config import load_config
    from flaechen.demo.next_year import run_two_surveys

    out = tmp_path_factory.mktemp("workshop")
    gpkg = Path(run_two_surveys(out, scale=SCALE, seed=42, publish=False).gpkg)
    changes = pyogrio.read_dataframe(gpkg, layer="changes", read_geometry=False)
    first = changes.index[changes["change"] == "bebaut"][0]
    changes.loc[first, "category"] = HOSTILE
    pyogrio.write_dataframe(changes, gpkg, layer="changes", driver="GPKG")
    config = load_config(out / "input-2026" / "district.toml")
    sources = {"alkis": {"year": 2025, "date": "2025-06-30"}}
    profile = config.publish.model_copy(update={"grid_size_m": 250.0, "built_on": "parcels"})
    assert profile.private_candidates == "grid"  # the default: private land on the map as aggregates
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


def test_built_on_since_the_last_survey(chromium, workshop, tmp_path: Path):
    gpkg, site = workshop
    changes = pyogrio.read_dataframe(gpkg, layer="changes", read_geometry=False)
    built = changes[changes["change"] == "bebaut"]
    hostile = str(built.loc[built["category"] == HOSTILE, "ags"].iloc[0])
    page, log, _ = open_site_page(chromium, site / f"gemeinde-{hostile}.html")
    assert drawn(page, "built") == int((built["ags"] == hostile).sum())
    assert "Seit der letzten Erhebung bebaut" in page.locator(".leaflet-control-layers-list").inner_text()
    # the popup of the site with the hostile category: the value as text, nothing run or evaluated
    text = page.evaluate(
        """() => {
            const s = FlaechenSite.site;
            const group = s.groups['built'];
            let found = null;
            group.eachLayer((lyr) => { if (lyr.feature.properties.category.startsWith('<img')) { found = lyr; } });
            s.map.fitBounds(found.getBounds(), {maxZoom: 17, animate: false});
            found.openPopup();
            return document.querySelector('.leaflet-popup-content').innerText;
        }"""
    )
    assert "Seit der letzten Erhebung bebaut" in text and HOSTILE in text and "Letzte Erhebung\t01.04.2025" in text
    assert page.locator(".leaflet-popup-content img").count() == 0
    assert page.evaluate("window.__pwned === undefined")
    page.wait_for_timeout(300)  # the background tiles of the new view
    page.screenshot(path=str(screenshot_dir(tmp_path) / "workshop-built.png"))
    assert "Seit der letzten Erhebung bebaut" in page.locator(".fl-table tfoot").inner_text()
    assert log.errors == [] and log.requests == []
    page.context.close()


def test_tables_fit_a_phone(chromium, workshop):
    _, site = workshop
    page, log, _ = open_site_page(chromium, site / "index.html", viewport=(390, 844))
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the page is {overflow} px wider than a phone"
    assert log.errors == []
    page.context.close()
