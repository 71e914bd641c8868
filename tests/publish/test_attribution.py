"""Sources, licences and dates named on every page: defaults for ALKIS and VG250, the district's own."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import box

from flaechen.errors import ConfigError
from flaechen.publish.attribution import attribution_line, district_land, resolve_sources, run_date

RUN = date(2026, 11, 28)


def test_defaults_name_the_land_authority_and_the_bkg():
    sources = resolve_sources(None, land="07", run_date=RUN)
    assert [s.key for s in sources] == ["alkis", "vg250"]
    assert sources[0].text == "© GeoBasis-DE / LVermGeoRP (2026)"
    assert sources[1].text == "© GeoBasis-DE / BKG (2026)"
    assert sources[0].licence == "dl-de/by-2.0"
    assert sources[0].licence_url == "https://www.govdata.de/dl-de/by-2-0"
    assert attribution_line(sources) == "© GeoBasis-DE / LVermGeoRP (2026) · © GeoBasis-DE / BKG (2026)"
    # NRW's cadastre is dl-de/zero-2.0
    assert resolve_sources({}, land="05", run_date=RUN)[0].licence == "dl-de/zero-2.0"


def test_configuration_overrides_and_adds():
    sources = resolve_sources(
        {
            "alkis": {"year": 2024, "date": "2024-05-01"},
            "bplaene": {"name": "Bebauungspläne", "text": "Gemeinden des Kreises", "licence": "dl-de/by-2.0"},
        },
        land="14",
        run_date=RUN,
    )
    assert sources[0].text == "© GeoBasis-DE / GeoSN (2024)" and sources[0].date == "2024-05-01"
    assert sources[2].key == "bplaene" and sources[2].text == "Gemeinden des Kreises"
    assert json.dumps([s.as_dict() for s in sources], ensure_ascii=False)  # plain values for the pages


def test_every_problem_reported_at_once():
    with pytest.raises(ConfigError) as caught:
        resolve_sources(
            {"alkis": {"year": "2024", "colour": "red"}, "eigene": {"licence": "x"}, "leer": "text"},
            land="07",
            run_date=RUN,
        )
    text = str(caught.value)
    for expected in ("publish.sources.alkis.year", "colour", "publish.sources.eigene", "publish.sources.leer"):
        assert expected in text


def test_land_of_real_vg250_boundaries(shared_real: Path):
    frame = pyogrio.read_dataframe(
        shared_real / "boundaries" / "vg250_gemeinden_saarland.geojson", columns=["ags"], read_geometry=False
    )
    land = district_land(frame["ags"].astype(str).str.zfill(8))
    assert land == "10"
    assert resolve_sources(None, land=land, run_date=RUN)[0].text == "© GeoBasis-DE / LVGL (2026)"


def test_run_date_of_a_geopackage(tmp_path: Path):
    path = tmp_path / "district.gpkg"
    pyogrio.write_dataframe(gpd.GeoDataFrame({"a": [1]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:25832"), path)
    assert run_date(path) == date.today()
    assert run_date(tmp_path / "missing.gpkg") is None


def test_profile_checks_the_sources_table():
    from flaechen.publish import load_profile

    profile = load_profile({"sources": {"alkis": {"year": 2024}, "bplan": {"name": "B-Pläne", "text": "Gemeinden"}}})
    sources = resolve_sources(profile.sources, land="07", run_date=RUN)
    assert [s.text for s in sources] == ["© GeoBasis-DE / LVermGeoRP (2024)", "© GeoBasis-DE / BKG (2026)", "Gemeinden"]
    with pytest.raises(ConfigError) as caught:
        load_profile({"sources": {"eigen": {"licence": "x"}}})
    assert "publish.sources" in str(caught.value) and "needs name and text" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        load_profile({"sources": {"alkis": {"jahr": 2024}}})
    assert "did you mean 'year'" in str(caught.value) or "jahr" in str(caught.value)
