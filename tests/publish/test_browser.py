"""End to end in a real headless Chromium with the network disabled (fails under CI if it is missing)."""

from __future__ import annotations

from pathlib import Path

import pyogrio
import pytest

from tests.publish.browser import drawn, open_site_page, painted
from tests.publish.conftest import XSS, screenshot_dir

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _expected(gpkg: Path, ags: str | None = None) -> int:
    frame = pyogrio.read_dataframe(gpkg, layer="candidates", columns=["ags", "ownership"], read_geometry=False)
    if ags:
        frame = frame[frame["ags"] == ags]
    return int((frame["ownership"] == "public").sum())


def test_every_page_offline(chromium, district_gpkg, fixture_site, tmp_path):
    gpkg, _ = district_gpkg
    shots = screenshot_dir(tmp_path)
    for page_path in sorted(fixture_site.glob("*.html")):
        page, log, _ = open_site_page(chromium, page_path)
        ags = None if page_path.name == "index.html" else page_path.stem.removeprefix("gemeinde-")
        assert log.errors == [], page_path.name
        assert log.requests == [], f"{page_path.name} tried the network"
        assert drawn(page, "candidates") == _expected(gpkg, ags), page_path.name
        assert drawn(page, "municipalities") == 2
        page.screenshot(path=str(shots / f"{page_path.stem}.png"))
        page.context.close()


def test_layer_switcher_and_popups(chromium, fixture_site, tmp_path):
    page, log, _ = open_site_page(chromium, fixture_site / "gemeinde-07999001.html")
    control = page.locator(".leaflet-control-layers")
    control.hover()
    before = drawn(page, "candidates")
    counts = page.evaluate("FlaechenSite.site.counts")
    assert counts["candidates"] == before > 0
    # switch every candidate category off through the layer switcher
    boxes = control.locator("label", has=page.locator(".fl-swatch"))
    pixels = painted(page)
    for i in range(boxes.count()):
        boxes.nth(i).locator("input").uncheck()
    assert drawn(page, "candidates") == 0
    assert painted(page) != pixels  # the canvas really changed
    # the brownfield with the hostile name: click it, the popup shows the name as text
    point = page.evaluate(
        """() => {
            const site = FlaechenSite.site;
            const layer = site.groups.brownfields.getLayers()[0];
            site.map.setView(layer.getCenter(), 17, {animate: false});
            const p = site.map.latLngToContainerPoint(layer.getCenter());
            const box = site.map.getContainer().getBoundingClientRect();
            return [box.left + p.x, box.top + p.y];
        }"""
    )
    page.mouse.click(point[0], point[1])
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5_000)
    assert XSS in popup.inner_text()
    assert popup.locator("img").count() == 0
    assert "1998" in popup.inner_text()
    page.wait_for_timeout(400)  # let the popup fade in before the screenshot
    page.screenshot(path=str(screenshot_dir(tmp_path) / "popup.png"))
    # switch a category back on: its features are drawn again
    boxes.nth(0).locator("input").check()
    assert drawn(page, "candidates") > 0
    assert log.errors == [] and log.dialogs == [] and log.requests == []
    page.context.close()


def test_phone_viewport(chromium, fixture_site, tmp_path):
    page, log, _ = open_site_page(chromium, fixture_site / "index.html", viewport=(390, 844))
    # the layer switcher is collapsed on a phone (German title), and opens when touched
    assert page.locator(".leaflet-control-layers-expanded").count() == 0
    assert page.locator(".leaflet-control-layers-toggle").get_attribute("title") == "Ebenen"
    assert page.locator(".leaflet-control-zoom-in").get_attribute("title") == "Vergrößern"
    box = page.locator(".leaflet-control-layers-toggle").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert page.locator(".leaflet-control-layers-expanded").count() == 1
    page.screenshot(path=str(screenshot_dir(tmp_path) / "phone.png"))
    assert log.errors == [] and log.requests == []
    page.context.close()


def test_large_district_overview(chromium, district_gpkg, tmp_path):
    from flaechen.publish import publish

    gpkg, _ = district_gpkg
    site = publish(gpkg, tmp_path, profile={"max_overview_features": 10}).parent
    page, log, _ = open_site_page(chromium, site / "index.html")
    assert drawn(page, "candidates") == 0 and drawn(page, "municipalities") == 2
    body = page.inner_text("body")
    assert "nur die Summen je Gemeinde" in body and "Potenzialfläche je Gemeinde" in body
    # only the municipalities in the layer switcher
    assert page.locator(".leaflet-control-layers-overlays label").count() == 1
    assert log.errors == [] and log.requests == []
    page.context.close()
    page, log, _ = open_site_page(chromium, site / "gemeinde-07999002.html")
    assert drawn(page, "candidates") == _expected(gpkg, "07999002") > 0
    assert log.errors == [] and log.requests == []
    page.context.close()


def test_grid_cells_for_private_land(chromium, district_gpkg, tmp_path):
    from flaechen.publish import publish
    from tests.publish.helpers import count_features

    gpkg, _ = district_gpkg
    site = publish(
        gpkg, tmp_path, profile={"private_candidates": "grid", "grid_size_m": 500, "grid_min_count": 2}
    ).parent
    cells = count_features(site, "grid", "07999001")
    assert cells > 0
    page, log, _ = open_site_page(chromium, site / "gemeinde-07999001.html")
    assert drawn(page, "grid") == cells
    assert drawn(page, "candidates") == _expected(gpkg, "07999001")
    assert "Private Flächen (zusammengefasst)" in page.inner_text(".leaflet-control-layers")
    assert log.errors == [] and log.requests == []
    page.context.close()


def test_policy_blocks_injected_script(chromium, district_gpkg, fixture_site, tmp_path):
    """Defence in depth: were a value ever to slip through unescaped, the page's policy blocks it."""
    import shutil

    site = tmp_path / "site"
    shutil.copytree(fixture_site, site)
    page_path = site / "index.html"
    text = page_path.read_text(encoding="utf-8")
    text = text.replace('<main class="fl-main">', '<main class="fl-main"><img src=x onerror="window.__xss = 1">', 1)
    page_path.write_text(text, encoding="utf-8")
    page, log, _ = open_site_page(chromium, page_path)
    assert page.evaluate("window.__xss") is None
    assert any("Content Security Policy" in e for e in log.errors)
    assert drawn(page, "candidates") == _expected(district_gpkg[0])  # the map itself still works
    page.context.close()
