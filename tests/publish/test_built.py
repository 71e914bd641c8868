"""The sites built on since the last survey (the register's table ``changes``, ``bebaut``) on the map site.

Public land drawn, the rest only counted per municipality (the default), all drawn with
``built_on = "parcels"``, none with ``"none"``; values escaped; nothing without a second survey.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
import shapely

from flaechen.publish import publish
from tests.publish.conftest import XSS
from tests.publish.helpers import read_district_data, read_parts


def _pid(n: int) -> str:
    """Parcel n of the synthetic district (public where n % 3 == 0, private where 1, unknown where 2)."""
    return f"0799{1 if n <= 100 else 2:02d}001{n:05d}0000__"


def _changes(rows: list[tuple[str, str, str, list[int] | str]], *, previous: str = "2025-04-01") -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "survey": "2026-04-01",
                "previous_survey": previous,
                "site_id": f"{ags}-{i}",
                "ags": ags,
                "municipality": "x",
                "change": change,
                "reason": "Gebäude errichtet",
                "category": category,
                "area_m2": 10_000.0 * (len(parcels) if isinstance(parcels, list) else 1),
                "parcel_ids": ";".join(_pid(n) for n in parcels) if isinstance(parcels, list) else parcels,
            }
            for i, (ags, change, category, parcels) in enumerate(rows)
        ]
    )


ROWS: list[tuple[str, str, str, list[int] | str]] = [
    ("07999001", "bebaut", XSS, [3]),  # public: drawn
    ("07999001", "bebaut", "Baulücke", [4]),  # private: counted only
    ("07999001", "bebaut", "Baulücke", [6, 7]),  # one public, one private parcel: counted only
    ("07999001", "bebaut", "Baulücke", "0799010019999900000__"),  # parcel gone: counted only
    ("07999002", "bebaut", "Baulücke", [104]),  # unknown ownership: counted only
    ("07999001", "neu", "Baulücke", [9]),  # not built on: not this layer
]


def _with_changes(source: Path, target: Path, changes: pd.DataFrame) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    path = target / "district.gpkg"
    shutil.copy(source, path)
    pyogrio.write_dataframe(changes, path, layer="changes", driver="GPKG")
    return path


@pytest.fixture(scope="module")
def built_gpkg(district_gpkg, tmp_path_factory: pytest.TempPathFactory) -> Path:
    source, _ = district_gpkg
    return _with_changes(source, tmp_path_factory.mktemp("built"), _changes(ROWS))


def _built(site: Path) -> list[dict]:
    return [f for layers in read_parts(site).values() for f in layers.get("built", {}).get("features", [])]


def _config(page: Path) -> dict:
    text = page.read_text(encoding="utf-8")
    start = text.index('<script type="application/json" id="flaechen-config">') + len(
        '<script type="application/json" id="flaechen-config">'
    )
    return json.loads(text[start : text.index("</script>", start)])


def test_default_draws_public_sites_and_counts_the_others(built_gpkg, district_gpkg, tmp_path):
    site = publish(built_gpkg, tmp_path).parent
    drawn = _built(site)
    assert len(drawn) == 1
    geometry = shapely.geometry.shape(drawn[0]["geometry"])
    parcels = pyogrio.read_dataframe(built_gpkg, layer="parcels", columns=["parcel_id"]).to_crs("EPSG:4326")
    expected = parcels[parcels["parcel_id"] == _pid(3)].geometry.iloc[0]
    assert geometry.symmetric_difference(expected).area < 0.01 * expected.area
    # nothing drawn on private land or land of unknown ownership
    private = parcels[parcels["parcel_id"].isin([_pid(4), _pid(7), _pid(104)])].geometry
    assert all(geometry.intersection(p).area < 0.01 * p.area for p in private)  # at most a shared edge
    props = drawn[0]["properties"]
    assert props["category"] == XSS and props["survey"] == "01.04.2026" and props["previous_survey"] == "01.04.2025"
    stats = read_district_data(site)["stats"]
    assert stats["07999001"]["built"] == [4, 5.0, 3, 4.0]  # the site of two parcels has 2 ha
    assert stats["07999002"]["built"] == [1, 1.0, 1, 1.0]
    # escaped: the value only as JSON text, never as markup
    assert not [p for p in site.rglob("*") if p.is_file() and XSS.encode() in p.read_bytes()]
    data = (site / "data" / "gemeinde-07999001.js").read_text(encoding="utf-8")
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in data and "<img" not in data
    page = site / "gemeinde-07999001.html"
    text = page.read_text(encoding="utf-8")
    assert "Seit der letzten Erhebung bebaut" in text and "nur gezählt" in text
    assert "vergleicht die Erhebung vom 01.04.2026 mit der vom 01.04.2025" in text
    config = _config(page)
    assert "built" in config["layers"]
    assert [f[1] for f in config["fields"]["built"]] == [
        "Kategorie (bisher)",
        "Fläche (m²)",
        "Letzte Erhebung",
        "Diese Erhebung",
    ]


def test_parcels_draws_every_site_with_parcels(built_gpkg, tmp_path):
    site = publish(built_gpkg, tmp_path, profile={"built_on": "parcels"}).parent
    assert len(_built(site)) == 4  # the site whose parcel is gone stays counted only
    assert read_district_data(site)["stats"]["07999001"]["built"] == [4, 5.0, 1, 1.0]
    # with every private candidate drawn per parcel, the built-on sites follow unless the profile says otherwise
    site = publish(built_gpkg, tmp_path / "p", profile={"private_candidates": "parcels"}).parent
    assert len(_built(site)) == 4


def test_none_shows_nothing(built_gpkg, tmp_path):
    site = publish(built_gpkg, tmp_path, profile={"built_on": "none"}).parent
    assert _built(site) == []
    assert "built" not in read_district_data(site)["stats"]["07999001"]
    assert "built" not in _config(site / "index.html")["layers"]
    page = (site / "gemeinde-07999001.html").read_text(encoding="utf-8")
    assert "fl-swatch-built" not in page and "vergleicht die Erhebung" not in page  # no legend entry, row, note


def test_first_survey_and_no_register_show_no_layer(district_gpkg, tmp_path):
    source, _ = district_gpkg
    site = publish(source, tmp_path / "none").parent  # no table changes at all
    assert "built" not in _config(site / "index.html")["layers"]
    first = _with_changes(source, tmp_path / "first", _changes([("07999001", "neu", "Baulücke", [3])], previous=""))
    site = publish(first, tmp_path / "first").parent
    assert "built" not in _config(site / "index.html")["layers"] and _built(site) == []


def _cells(site: Path) -> list[dict]:
    return [f for layers in read_parts(site).values() for f in layers.get("built_grid", {}).get("features", [])]


def test_private_sites_built_on_as_aggregate_cells(built_gpkg, tmp_path):
    """Like the private potentials: cells of at least grid_min_count sites, numbers only."""
    # 07999001: the private site (parcel 4) and the mixed one (parcels 6, 7) share a 1 km block; the site
    # whose parcel is gone cannot be placed; 07999002's one site of unknown ownership stays alone
    site = publish(built_gpkg, tmp_path / "two", profile={"grid_min_count": 2}).parent
    cells = _cells(site)
    assert [c["properties"]["n"] for c in cells] == [2]
    assert set(cells[0]["properties"]) == {"n", "ha", "cats"} and cells[0]["properties"]["ha"] == 3.0
    assert "built_grid" in _config(site / "index.html")["layers"]
    page = (site / "gemeinde-07999001.html").read_text(encoding="utf-8")
    assert "als Rasterzellen mit mindestens 2 Flächen gezeigt" in page and "fl-swatch-built-grid" in page
    parcels = pyogrio.read_dataframe(built_gpkg, layer="parcels", columns=["parcel_id"]).to_crs("EPSG:4326")
    shape = shapely.geometry.shape(cells[0]["geometry"])
    inside = parcels[parcels["parcel_id"].isin([_pid(4), _pid(6), _pid(7)])].geometry.representative_point()
    assert shapely.covers(shape, inside.to_numpy()).all()
    assert shape.area > 50 * parcels.geometry.iloc[0].area  # a block, not a parcel
    # the default minimum of 3: no cell (two sites are too few); other modes: no such layer
    assert _cells(publish(built_gpkg, tmp_path / "three").parent) == []
    for profile in ({"built_on": "parcels"}, {"private_candidates": "municipality", "grid_min_count": 2}):
        site = publish(built_gpkg, tmp_path / str(len(profile)) / next(iter(profile.values())), profile=profile).parent
        assert _cells(site) == [] and "built_grid" not in _config(site / "index.html")["layers"]
