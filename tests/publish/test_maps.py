"""The Folium maps: built with Folium's public API, no value in a template, the notebook map of the district."""

from __future__ import annotations

import json
import re
from pathlib import Path

import folium
import pytest

from flaechen.publish import district_map
from flaechen.publish.maps import SiteMap
from tests.publish.test_injection import _plant, payloads

NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"


@pytest.fixture(scope="module")
def hostile_gpkg(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], Path]:
    from tests.publish.conftest import build_district

    root = tmp_path_factory.mktemp("maps")
    marker = root / "command-ran"
    p = payloads(marker)
    gpkg = root / "district.gpkg"
    build_district(gpkg)
    _plant(gpkg, p)
    return gpkg, p, marker


def _blocks(html: str) -> dict[str, object]:
    found = re.findall(r'<script type="application/json" id="([^"]+)">(.*?)</script>', html, re.S)
    return {name: json.loads(text) for name, text in found}


def test_district_map_is_a_folium_map_with_the_data_as_data(hostile_gpkg):
    gpkg, p, marker = hostile_gpkg
    m = district_map(gpkg.parent)
    assert isinstance(m, folium.Map) and not isinstance(m, SiteMap)
    html = m.get_root().render()
    assert not marker.exists()
    assert "Plan 49 Nord" not in html
    blocks = _blocks(html)
    assert set(blocks) == {"flaechen-config", "flaechen-data"}
    data = blocks["flaechen-data"]
    names = {f["properties"]["name"] for f in data["district"]["municipalities"]["features"]}
    assert names == {p["jinja_expr"], p["img_onerror"]}
    zoning = [f for part in data["parts"] for f in part["layers"].get("zoning", {}).get("features", [])]
    plans = {f["properties"]["plan_name"] for f in zoning}
    assert p["jinja_block"] in plans and p["script_end"] in plans
    assert p["img_onerror"] not in html and p["script_end"] not in html  # only escaped forms
    # the layers are Folium elements: a FeatureGroup with a GeoJson per layer and category, a layer control
    groups = [c for c in m._children.values() if isinstance(c, folium.FeatureGroup)]
    assert len(groups) >= 4
    assert any(isinstance(c, folium.LayerControl) for c in m._children.values())


def test_site_map_declares_local_resources_and_leaves_folium_alone(fixture_site):
    assert folium.Map.default_js[0][1].startswith("https://")
    assert all(url.startswith("assets/") for _, url in SiteMap.default_js + SiteMap.default_css)
    text = (fixture_site / "index.html").read_text(encoding="utf-8")
    assert "L.featureGroup(" in text and "L.geoJson(" in text and "L.control.layers(" in text
    assert "FlaechenSite.load(" in text


def test_notebook_map_privacy_matches_the_site(district_gpkg):
    gpkg, secrets = district_gpkg
    html = district_map(gpkg).get_root().render()
    for values in secrets.values():
        for value in values:
            assert value not in html
    data = _blocks(html)["flaechen-data"]
    candidates = [f for part in data["parts"] for f in part["layers"].get("candidates", {}).get("features", [])]
    assert candidates and all(f["properties"]["ownership"] == "öffentlich" for f in candidates)


@pytest.mark.browser
def test_notebook_map_in_chromium(chromium, hostile_gpkg, tmp_path):
    """The saved notebook map works: Leaflet from the CDN (served from node_modules here), values as text."""
    gpkg, p, marker = hostile_gpkg
    page_path = tmp_path / "karte.html"
    district_map(gpkg, focus="07999001").save(str(page_path))
    local = {
        "leaflet.js": NODE_MODULES / "leaflet" / "dist" / "leaflet.js",
        "leaflet.css": NODE_MODULES / "leaflet" / "dist" / "leaflet.css",
        "Control.FullScreen.min.js": NODE_MODULES / "leaflet.fullscreen" / "Control.FullScreen.js",
        "Control.FullScreen.min.css": NODE_MODULES / "leaflet.fullscreen" / "Control.FullScreen.css",
    }
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, offline=True)
    page = context.new_page()
    errors: list[str] = []
    dialogs: list[str] = []

    def route(r):
        url = r.request.url
        name = url.rsplit("/", 1)[-1]
        if url.startswith("file://"):
            r.continue_()
        elif name in local:
            r.fulfill(path=str(local[name]))
        else:
            r.abort()  # jQuery, Bootstrap, Font Awesome of Folium's defaults: not needed by this map

    page.route("**/*", route)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(page_path.as_uri(), wait_until="load")
    page.wait_for_selector("html[data-fl-ready='1']", timeout=30_000)
    assert errors == [] and dialogs == []
    assert page.evaluate("FlaechenSite.site.drawn('municipalities')") == 2
    assert page.evaluate("FlaechenSite.site.drawn('zoning')") >= 3
    texts = page.evaluate(
        """() => {
            const out = [];
            Object.values(FlaechenSite.site.groups).forEach((group) => group.eachLayer((lyr) => {
                lyr.openPopup();
                const node = document.querySelector('.leaflet-popup-content');
                if (node) { out.push(node.innerText); }
                lyr.closePopup();
            }));
            return out.join('\\n');
        }"""
    )
    assert p["jinja_block"] in texts and p["script_end"] in texts and p["jinja_command"] in texts
    assert page.locator(".leaflet-popup-content img").count() == 0
    assert page.evaluate("window.__pwned === undefined")
    assert not marker.exists()
    context.close()
