"""The generated site: offline, escaped, no non-public value anywhere, private land aggregated."""

from __future__ import annotations

import re
from pathlib import Path

import folium
import pytest

from flaechen.publish import publish
from tests.publish.conftest import XSS
from tests.publish.helpers import count_features, find_leaks, read_district_data, read_parts

LINKED = re.compile(r"""<(?:script|link|img)\b[^>]*?\b(?:src|href)=["']([^"']+)["']""", re.I)


def _pages(site: Path) -> list[Path]:
    return sorted(site.glob("*.html"))


def test_layout(fixture_site):
    names = sorted(p.name for p in _pages(fixture_site))
    assert names == ["gemeinde-07999001.html", "gemeinde-07999002.html", "index.html"]
    assert (fixture_site / "assets" / "leaflet" / "leaflet.js").is_file()
    assert (fixture_site / "assets" / "LICENSES.txt").read_text(encoding="utf-8").startswith("Third-party")
    assert sorted(read_parts(fixture_site)) == ["07999001", "07999002"]


def test_everything_loaded_is_inside_the_site(fixture_site):
    for page in _pages(fixture_site):
        text = page.read_text(encoding="utf-8")
        links = LINKED.findall(text)
        assert links, page
        for url in links:
            assert "://" not in url and not url.startswith("//"), f"{page.name} loads {url}"
            assert (fixture_site / url).is_file(), f"{page.name}: {url} missing"
        assert "cdn" not in text.lower()
        assert "jquery" not in text.lower() and "bootstrap" not in text.lower()
    for css in fixture_site.rglob("*.css"):
        for url in re.findall(r"url\(['\"]?([^'\")]+)", css.read_text(encoding="utf-8")):
            if url.startswith(("#", "data:")):
                continue
            assert "://" not in url, f"{css}: {url}"
            assert (css.parent / url).is_file(), f"{css}: {url} missing"


def test_folium_defaults_untouched(fixture_site):
    assert folium.Map.default_js[0][1].startswith("https://")


def test_no_non_public_value_anywhere(district_gpkg, fixture_site):
    _, secrets = district_gpkg
    values = [v for vs in secrets.values() for v in vs]
    assert len(values) > 100
    assert find_leaks(fixture_site, values) == []
    for page in fixture_site.rglob("*"):
        if page.is_file() and page.suffix in {".html", ".js"} and "assets" not in page.parts:
            text = page.read_text(encoding="utf-8")
            for field in ('"owner"', '"notes"', '"reasons_json"', '"contamination_suspected"', "Altlastenverdacht"):
                assert field not in text, f"{page.name} mentions {field}"


def test_hostile_values_are_escaped(fixture_site):
    hits = []
    for path in fixture_site.rglob("*"):
        if path.is_file() and XSS in path.read_bytes().decode("utf-8", errors="replace"):
            hits.append(path.name)
    assert hits == []
    page = (fixture_site / "gemeinde-07999001.html").read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "Berg &amp; &lt;Tal&gt;" in page
    data = (fixture_site / "data" / "gemeinde-07999001.js").read_text(encoding="utf-8")
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in data
    assert "</script" not in data.lower()


def test_private_candidates_are_aggregated(district_gpkg, fixture_site):
    import pyogrio

    path, _ = district_gpkg
    candidates = pyogrio.read_dataframe(path, layer="candidates", columns=["ownership"])
    public = int((candidates["ownership"] == "public").sum())
    assert 0 < public < len(candidates)
    assert count_features(fixture_site, "candidates") == public
    shown = {
        f["properties"]["parcel_id"]
        for layers in read_parts(fixture_site).values()
        for f in layers.get("candidates", {}).get("features", [])
    }
    assert all(
        f["properties"].get("ownership") == "öffentlich"
        for layers in read_parts(fixture_site).values()
        for f in layers.get("candidates", {}).get("features", [])
    )
    assert len(shown) == public
    stats = read_district_data(fixture_site)["stats"]
    assert sum(s["n"] for s in stats.values()) == len(candidates)
    assert sum(s["nPrivate"] for s in stats.values()) == len(candidates) - public
    # the private brownfield is not drawn either
    assert count_features(fixture_site, "brownfields") == 1


def test_parcels_mode_shows_everything_and_grid_mode_aggregates(district_gpkg, tmp_path):
    path, secrets = district_gpkg
    site = publish(path, tmp_path / "all", profile={"private_candidates": "parcels"}).parent
    assert count_features(site, "candidates") == 85
    assert find_leaks(site, [v for vs in secrets.values() for v in vs]) == []
    site = publish(
        path, tmp_path / "grid", profile={"private_candidates": "grid", "grid_size_m": 500, "grid_min_count": 2}
    ).parent
    cells = [f for layers in read_parts(site).values() for f in layers.get("grid", {}).get("features", [])]
    assert cells and all(c["properties"]["n"] >= 2 for c in cells)
    assert set(cells[0]["properties"]) == {"n", "ha", "cats"}


def test_contamination_only_when_allowed(district_gpkg, tmp_path):
    path, _ = district_gpkg
    site = publish(path, tmp_path, profile={"show_contamination": True}).parent
    brownfield = read_parts(site)["07999001"]["brownfields"]["features"][0]["properties"]
    assert brownfield["contamination_suspected"] == "ja"


@pytest.mark.parametrize("profile", [{"max_overview_features": 10}, {"max_overview_mb": 0.01}])
def test_large_district_overview_shows_aggregates_only(district_gpkg, tmp_path, profile):
    path, _ = district_gpkg
    site = publish(path, tmp_path, profile=profile).parent
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "data/gemeinden.js" in index and "data/gemeinde-07999001.js" not in index
    assert '"showParts":false' in index
    assert "data/gemeinde-07999001.js" in (site / "gemeinde-07999001.html").read_text(encoding="utf-8")


def test_republish_replaces_the_site(district_gpkg, tmp_path):
    path, _ = district_gpkg
    first = publish(path, tmp_path)
    (first.parent / "stale.txt").write_text("old", encoding="utf-8")
    second = publish(path, tmp_path, profile={"title": "Neu"})
    assert second == first and not (second.parent / "stale.txt").exists()
    assert "<h1>Neu</h1>" in second.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site")] == []


def test_english(district_gpkg, tmp_path):
    path, _ = district_gpkg
    index = publish(path, tmp_path, profile={"language": "en"}).read_text(encoding="utf-8")
    assert '<html lang="en">' in index and "Inner development potential" in index


@pytest.mark.parametrize("profile", [{"fields": {"brownfields": ["owner"]}}, {"private_candidates": "all"}])
def test_bad_profile_writes_nothing(district_gpkg, tmp_path, profile):
    from flaechen.errors import ConfigError

    path, _ = district_gpkg
    with pytest.raises(ConfigError):
        publish(path, tmp_path, profile=profile)
    assert not (tmp_path / "site").exists()


def test_summary_table_figures_are_used(fixture_site):
    index = (fixture_site / "index.html").read_text(encoding="utf-8")
    assert "Innenentwicklung: m² je Einwohner" in index
    assert "123,5" in index and 'class="fl-num">Wohneinheiten (geschätzt)</th>' in index and "768" in index
    assert "Richtwert zum Vergleich: 10 m²" in index


def test_without_summary_table(tmp_path):
    from tests.publish.conftest import build_district

    build_district(tmp_path / "district.gpkg", with_summary=False)
    index = publish(tmp_path / "district.gpkg", tmp_path).read_text(encoding="utf-8")
    assert "Innenentwicklung: m² je Einwohner" not in index
    assert 'class="fl-num">Wohneinheiten (geschätzt)</th>' not in index
    # own figure: all candidates' area per inhabitant (43 ha in Altdorf / 1200 inhabitants)
    assert "358,3" in index


def test_background_tiles_only_when_configured(district_gpkg, fixture_site, tmp_path):
    # no online tile server unless configured (the site's own offline tiles are "tiles/{z}/{x}/{y}.png")
    default = (fixture_site / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"https?://[^\"']*\{z\}", default) and '"tiles":' not in default
    path, _ = district_gpkg
    index = publish(
        path,
        tmp_path,
        profile={"tiles": "https://tiles.example.org/{z}/{x}/{y}.png", "tiles_attribution": "© Beispiel <Karten>"},
    ).read_text(encoding="utf-8")
    assert "https://tiles.example.org/{z}/{x}/{y}.png" in index
    assert "<Karten>" not in index and "Karte: © Beispiel &lt;Karten&gt;" in index


def test_pages_can_be_zoomed_on_a_phone(fixture_site):
    # Folium's map header forbids zooming; the page's own viewport comes after it, and browsers apply the last
    for page in ("index.html", "gemeinde-07999001.html"):
        text = (fixture_site / page).read_text(encoding="utf-8")
        viewports = re.findall(r'<meta name="viewport" content="([^"]*)"', text)
        assert viewports and "user-scalable=no" not in viewports[-1] and "maximum-scale" not in viewports[-1]
        assert text.index(viewports[-1]) < text.index("</head>")


def test_listing_is_bounded_largest_first(district_gpkg, tmp_path):
    path, _ = district_gpkg
    site = publish(path, tmp_path, profile={"max_listing_rows": 3, "private_candidates": "parcels"}).parent
    page = (site / "gemeinde-07999001.html").read_text(encoding="utf-8")
    assert "Die 3 größten von 43 Flächen; alle zeigt die Karte." in page
    listed = page.split("Einzeln dargestellte Potenzialflächen")[1].split("</table>")[0]
    assert listed.count("<tr>") == 1 + 3


def test_content_security_policy(fixture_site):
    import base64
    import hashlib

    for page in _pages(fixture_site):
        text = page.read_text(encoding="utf-8")
        policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text).group(1)
        policy = policy.replace("&#39;", "'")
        assert "default-src 'none'" in policy and "connect-src 'none'" in policy
        assert "unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
        for body in re.findall(r"<script>(.*?)</script>", text, re.S):
            digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii")
            assert f"'sha256-{digest}'" in policy


def test_content_security_policy_allows_the_tile_server(district_gpkg, tmp_path):
    path, _ = district_gpkg
    index = publish(
        path,
        tmp_path,
        profile={"tiles": "https://{s}.tiles.example.org/{z}/{x}/{y}.png", "tiles_attribution": "© Beispiel"},
    ).read_text(encoding="utf-8")
    assert "img-src &#39;self&#39; data: https://*.tiles.example.org;" in index
