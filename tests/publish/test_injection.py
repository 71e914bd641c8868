"""Hostile delivered text never runs: not as a template, not as markup or script, not as a command.

Every delivered text field that reaches the map site (municipality, plan and brownfield names, ids,
reasons, the district name and the map attribution of the configuration) carries a payload: Jinja
syntax (``{{ … }}``, ``{% … %}``, ``{# ``, a ``lipsum.__globals__`` command), HTML/JavaScript
(``</script>``, ``<img onerror>``), XML (``]]>``, ``&``, ``<``) and spreadsheet formulas. The site must
build, show each payload literally as text (static files and a real headless Chromium), and the
command must not have run.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pyogrio
import pytest
from markupsafe import escape

from flaechen.publish import publish
from tests.publish.conftest import build_district
from tests.publish.helpers import read_district_data, read_parts


def payloads(marker: Path) -> dict[str, str]:
    """The hostile values by name; the command payload would create `marker` if it ran."""
    command = f"touch {marker}"
    return {
        "jinja_expr": "Plan {{ 7*7 }} Nord",
        "jinja_block": "FNP {% Nord",
        "jinja_comment": "Brache {# Süd",
        "jinja_command": "{{ lipsum.__globals__['os'].popen('" + command + "').read() }}",
        "jinja_config": "{{ config }}{{ self.__init__.__globals__ }}",
        "script_end": "</script><script>window.__pwned=1</script>",
        "img_onerror": '<img src=x onerror="window.__pwned=1">',
        "xml": "]]> & < Ende <![CDATA[",
        "formula": '=HYPERLINK("http://example.invalid";"klick")',
        "formula_plus": "+49-1",
        "formula_at": "@SUM(A1:A9)",
    }


def _plant(gpkg: Path, p: dict[str, str]) -> dict[str, list[str]]:
    """Overwrite the delivered text fields of the synthetic district; return the payloads per layer."""
    placed: dict[str, list[str]] = {}

    def rewrite(layer: str, values: dict[str, list[str]]) -> None:
        frame = pyogrio.read_dataframe(gpkg, layer=layer)
        for column, texts in values.items():
            for i, text in enumerate(texts):
                frame.loc[i % len(frame), column] = text
            placed.setdefault(layer, []).extend(texts)
        pyogrio.write_dataframe(frame, gpkg, layer=layer)

    rewrite("municipalities", {"name": [p["jinja_expr"], p["img_onerror"]]})
    rewrite(
        "zoning",
        {"plan_name": [p["jinja_block"], p["script_end"], p["jinja_command"]], "zoning_id": [p["formula"]]},
    )
    # brownfield 0 is public (drawn); names and ids of both carry payloads
    rewrite(
        "brownfields",
        {"name": [p["jinja_comment"]], "site_id": [p["xml"]], "former_use": [p["jinja_config"]]},
    )
    candidates = pyogrio.read_dataframe(gpkg, layer="candidates")
    public = [i for i, own in enumerate(candidates["ownership"]) if own == "public"][:6]
    order = ["jinja_expr", "jinja_command", "script_end", "xml", "formula_plus", "formula_at"]
    for i, name in zip(public, order, strict=True):
        candidates.loc[i, "reasons"] = f"Grund: {p[name]}"
    candidates.loc[public[0], "parcel_id"] = p["jinja_block"]
    candidates.loc[public[1], "parcel_id"] = p["img_onerror"]
    pyogrio.write_dataframe(candidates, gpkg, layer="candidates")
    placed["candidates"] = [f"Grund: {p[n]}" for n in order] + [p["jinja_block"], p["img_onerror"]]
    return placed


class _Text(HTMLParser):
    """The text a reader sees: character data outside script and style elements, entities decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(page: Path) -> str:
    parser = _Text()
    parser.feed(page.read_text(encoding="utf-8"))
    return "".join(parser.parts)


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], dict[str, list[str]], Path]:
    root = tmp_path_factory.mktemp("hostile")
    marker = root / "command-ran"
    p = payloads(marker)
    gpkg = root / "district.gpkg"
    build_district(gpkg)
    placed = _plant(gpkg, p)
    index = publish(
        gpkg,
        root,
        district_name=p["jinja_command"],
        profile={
            "private_candidates": "municipality",
            "tiles": "https://tiles.example.org/{z}/{x}/{y}.png",
            "tiles_attribution": p["jinja_expr"] + " " + p["img_onerror"],
        },
    )
    return index.parent, p, placed, marker


def test_site_builds_and_no_command_ran(hostile_site):
    site, _, _, marker = hostile_site
    assert (site / "index.html").is_file()
    assert not marker.exists()


def test_pages_show_every_payload_literally(hostile_site):
    site, p, placed, _ = hostile_site
    index = visible_text(site / "index.html")
    title = "Flächenpotenziale " + p["jinja_command"]
    assert title in index
    for name in placed["municipalities"]:
        assert name in index
    page = visible_text(site / "gemeinde-07999001.html")
    assert title in page and p["jinja_expr"] in page
    # the lists of a municipality page: parcel ids and reasons of the candidates drawn, brownfield names
    for value in [p["jinja_block"], p["img_onerror"], "Grund: " + p["jinja_command"], "Grund: " + p["xml"]]:
        assert value in visible_text(site / "gemeinde-07999001.html") + visible_text(site / "gemeinde-07999002.html"), (
            value
        )
    assert p["jinja_comment"] in page and p["xml"] in page
    # nothing was evaluated: 7*7 stayed an expression
    assert "Plan 49 Nord" not in index + page


def test_pages_hold_no_live_markup(hostile_site):
    site, p, _, _ = hostile_site
    for page in site.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        for raw in (p["img_onerror"], p["script_end"], "<![CDATA["):
            assert raw not in text, (page.name, raw)
        assert str(escape(p["img_onerror"])) in text
        # the one configuration block is JSON that cannot end its script element
        config = text.split('id="flaechen-config">', 1)[1].split("</script>", 1)[0]
        cfg = json.loads(config)
        assert cfg["tiles"]["attribution"] == p["jinja_expr"] + " " + p["img_onerror"]


def test_data_scripts_carry_the_values_unchanged(hostile_site):
    site, p, _, _ = hostile_site
    parts = read_parts(site)
    plans = {f["properties"].get("plan_name") for f in parts["07999001"]["zoning"]["features"]}
    assert {p["jinja_block"], p["script_end"], p["jinja_command"]} <= plans
    ids = {f["properties"].get("zoning_id") for f in parts["07999001"]["zoning"]["features"]}
    assert p["formula"] in ids  # data, not a spreadsheet: kept as it is
    reasons = {f["properties"].get("reasons") for layers in parts.values() for f in layers["candidates"]["features"]}
    assert "Grund: " + p["jinja_command"] in reasons and "Grund: " + p["formula_at"] in reasons
    brownfield = parts["07999001"]["brownfields"]["features"][0]["properties"]
    assert brownfield["name"] == p["jinja_comment"] and brownfield["site_id"] == p["xml"]
    assert brownfield["former_use"] == p["jinja_config"]
    names = {f["properties"]["name"] for f in read_district_data(site)["municipalities"]["features"]}
    assert names == {p["jinja_expr"], p["img_onerror"]}
    for script in (site / "data").glob("*.js"):
        assert "</script" not in script.read_text(encoding="utf-8").lower()


@pytest.mark.browser
@pytest.mark.slow
def test_chromium_shows_the_payloads_as_text(chromium, hostile_site, tmp_path):
    from tests.publish.browser import open_site_page

    site, p, _, marker = hostile_site
    # without the tile server: the test browser is offline and the tiles would be refused
    for page_path in (site / "index.html", site / "gemeinde-07999001.html"):
        text = page_path.read_text(encoding="utf-8")
        offline = page_path.with_name("offline-" + page_path.name)
        cfg_start = text.index('id="flaechen-config">') + len('id="flaechen-config">')
        cfg_end = text.index("</script>", cfg_start)
        cfg = json.loads(text[cfg_start:cfg_end])
        cfg.pop("tiles")
        from flaechen.publish.values import js_json

        offline.write_text(text[:cfg_start] + js_json(cfg) + text[cfg_end:], encoding="utf-8")
        page, log, _ = open_site_page(chromium, offline)
        body = page.evaluate("document.body.innerText")
        assert "Flächenpotenziale " + p["jinja_command"] in body
        assert p["jinja_expr"] in body and p["img_onerror"] in body
        assert page.evaluate("window.__pwned === undefined")
        assert page.locator("main img, header img:not(.fl-logo)").count() == 0
        if page_path.name != "index.html":
            # every popup of the page: open it, its text holds the values literally
            texts = page.evaluate(
                """() => {
                    const out = [];
                    const site = FlaechenSite.site;
                    Object.values(site.groups).forEach((group) => group.eachLayer((lyr) => {
                        if (!lyr.getPopup || !lyr.getPopup()) { return; }
                        lyr.openPopup();
                        const node = document.querySelector('.leaflet-popup-content');
                        if (node) { out.push(node.innerText); }
                        lyr.closePopup();
                    }));
                    return out.join('\\n');
                }"""
            )
            for value in (p["jinja_block"], p["script_end"], p["jinja_command"], p["jinja_comment"], p["xml"]):
                assert value in texts, value
            assert "Grund: " + p["jinja_expr"] in texts
            assert page.locator(".leaflet-popup-content img").count() == 0
        assert log.errors == [] and log.dialogs == [] and log.requests == [], page_path.name
        assert page.evaluate("window.__pwned === undefined")
        page.context.close()
    assert not marker.exists()
