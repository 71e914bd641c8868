"""A delivery like the held-back surveyed village of issue 11, configured as docs/configuration.md shows.

From the real full ALKIS of Massenheim (Hessen): the parcels with arcs read with only their key, the building
footprints without ids, the land use as the polygons of all classes in one layer with the class in a field in
the municipality's own codes (mapped with ``codes``), an Ortslage-like built-up area as a Shapefile (kind
``ortslage``), no B-Plan. The files the municipality would deliver are generated into ``tmp_path`` from the
real data (nothing of it enters the repository). ``flaechen run`` builds the district, ``flaechen evaluate``
compares its candidates with a stand-in survey: the lots of the naive rule of issue 11 (at least half inside
the Ortslage, no building, 200–2,500 m², not street or water), computed here with plain geopandas from the
delivered files, as points in EPSG:4326. Skips where ../shared/data/real is absent.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest

from flaechen.cli import main
from flaechen.flag.agreement import ortslage_from_land_use, read_full_alkis
from flaechen.flag.rules import load_rules

pytestmark = pytest.mark.real_data

AGS = "06436006"
STREET_OR_WATER = (
    "AX_Strassenverkehr",
    "AX_Weg",
    "AX_Platz",
    "AX_Bahnverkehr",
    "AX_Fliessgewaesser",
    "AX_StehendesGewaesser",
)


def _code(ax_class: str) -> str:
    """A municipality's own short code for an ALKIS class, e.g. AX_Wohnbauflaeche -> WOHNBAUFL."""
    return re.sub(r"[^A-Z]", "", ax_class.removeprefix("AX_").upper())[:9]


def _toml_table(mapping: dict[str, str]) -> str:
    return "{ " + ", ".join(f'"{k}" = "{v}"' for k, v in sorted(mapping.items())) + " }"


@pytest.fixture
def delivery(tmp_path, shared_real):
    alkis = shared_real / "alkis_full" / "massenheim_hessen_nas.gpkg"
    if not alkis.is_file():
        pytest.skip(f"{alkis} is not here")
    folder = tmp_path
    layers = read_full_alkis(str(alkis), ags=AGS)
    land_use = layers["land_use"]
    codes = {_code(c): c for c in sorted(set(land_use["use"]))}
    assert len(codes) == len(set(land_use["use"]))  # the short codes are distinct
    nutzung = gpd.GeoDataFrame(
        {"nutzart": land_use["use"].map({c: k for k, c in codes.items()})}, geometry=land_use.geometry, crs=land_use.crs
    )
    pyogrio.write_dataframe(nutzung, folder / "nutzung.gpkg", layer="nutzung", promote_to_multi=True)
    ortslage = ortslage_from_land_use(land_use, ags=AGS, close_m=35.0, fill_holes_m2=4900.0)
    ortslage = gpd.GeoDataFrame(
        {"OBJART": ["AX_Ortslage"] * len(ortslage)}, geometry=ortslage.geometry, crs=ortslage.crs
    )
    pyogrio.write_dataframe(ortslage, folder / "ortslage.shp", encoding="UTF-8")
    config = folder / "district.toml"
    config.write_text(
        f"""[district]
name = "Main-Taunus-Kreis (Ausschnitt)"
crs = "EPSG:25832"

[[municipalities]]
ags = "{AGS}"
name = "Hochheim am Main (Gemarkung Massenheim)"
boundary = {{ path = "{alkis}", source_layer = "AX_Flurstueck" }}

[[municipalities.sources]]
id = "massenheim-flurstuecke"
layer = "parcels"
path = "{alkis}"
source_layer = "AX_Flurstueck"
fields = {{ parcel_id = "flurstueckskennzeichen" }}

[[municipalities.sources]]
id = "massenheim-gebaeude"
layer = "buildings"
path = "{alkis}"
source_layer = "AX_Gebaeude"

[[municipalities.sources]]
id = "massenheim-nutzung"
layer = "land_use"
path = "nutzung.gpkg"
source_layer = "nutzung"
fields = {{ use = "nutzart" }}
codes = {{ use = {_toml_table(codes)} }}

[[municipalities.sources]]
id = "massenheim-ortslage"
layer = "built_up_area"
path = "ortslage.shp"
values = {{ kind = "ortslage", source_name = "ATKIS Basis-DLM, Ortslage (Stand-in)" }}
""",
        encoding="utf-8",
    )
    return folder, config, alkis


def _naive_survey(folder: Path, alkis: Path) -> gpd.GeoDataFrame:
    """The naive rule of issue 11 on the delivered files, with geopandas only: one point per lot."""
    parcels = gpd.read_file(alkis, layer="AX_Flurstueck", columns=["flurstueckskennzeichen"])
    parcels["geometry"] = parcels.geometry.make_valid()
    parcels["area"] = parcels.area
    ortslage = gpd.read_file(folder / "ortslage.shp")
    inside = gpd.overlay(parcels, ortslage[["geometry"]], how="intersection", keep_geom_type=True)
    share = (
        inside.assign(a=inside.area).groupby("flurstueckskennzeichen")["a"].sum()
        / parcels.set_index("flurstueckskennzeichen")["area"]
    )
    buildings = gpd.read_file(alkis, layer="AX_Gebaeude", columns=["gml_id"])
    built = gpd.sjoin(parcels, buildings, predicate="intersects")
    touched = gpd.overlay(parcels[parcels.index.isin(built.index)], buildings[["geometry"]], keep_geom_type=True)
    built_ids = set(touched.loc[touched.area >= load_rules()["general.min_overlap_m2"], "flurstueckskennzeichen"])
    nutzung = gpd.read_file(folder / "nutzung.gpkg", layer="nutzung")
    pieces = gpd.overlay(parcels[["flurstueckskennzeichen", "geometry"]], nutzung, keep_geom_type=True)
    pieces["a"] = pieces.area
    dominant = pieces.sort_values("a").groupby("flurstueckskennzeichen")["nutzart"].last()
    excluded = {_code(c) for c in STREET_OR_WATER}
    ids = parcels["flurstueckskennzeichen"]
    lot = (
        (ids.map(share).fillna(0.0) >= 0.5)
        & ~ids.isin(built_ids)
        & parcels["area"].between(200, 2500)
        & ~ids.map(dominant).isin(excluded)
    )
    lots = parcels[lot.to_numpy()]
    return gpd.GeoDataFrame(
        {"art": ["Lücke"] * len(lots), "flst": lots["flurstueckskennzeichen"].to_numpy()},
        geometry=lots.geometry.representative_point().to_numpy(),
        crs=parcels.crs,
    ).to_crs("EPSG:4326")


def test_the_documented_configuration_runs_and_evaluates_against_a_stand_in_survey(delivery, capsys):
    folder, config, alkis = delivery
    out = folder / "out"
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == 0
    survey = _naive_survey(folder, alkis)
    assert 30 <= len(survey) <= 100
    survey.to_file(folder / "survey.gpkg", driver="GPKG")
    capsys.readouterr()
    assert main(["evaluate", str(out), str(folder / "survey.gpkg"), "--field", "art", "--map", "Lücke=Baulücke"]) == 0
    printed = capsys.readouterr().out
    assert "Baulücke" in printed
    result = json.loads((out / "evaluation.json").read_text(encoding="utf-8"))
    gaps = result["categories"]["Baulücke"]
    assert gaps["reference"] == len(survey)
    assert gaps["candidates"] <= 100  # a village of about 3,000 people
    assert gaps["found"] / gaps["reference"] >= 0.7
    # every lot of the naive rule the flags leave out is a garden behind houses or a strip: no access or too
    # narrow, never outside the Ortslage or the wrong size
    for miss in result["misses"]:
        reasons = [r.strip() for r in (miss["failed_conditions"] or "").split(";") if r.strip()]
        assert reasons, miss
        assert all(r.startswith(("bauluecke: keine Erschließung", "bauluecke: zu schmal")) for r in reasons), miss
    # land use with the municipality's codes reached the dataset as ALKIS classes; ids were generated
    land_use = pyogrio.read_dataframe(out / "district.gpkg", layer="land_use", columns=["use", "land_use_id"])
    assert land_use["use"].str.startswith("AX_").all()
    assert land_use["land_use_id"].str.startswith("massenheim-nutzung/").all()
    buildings = pyogrio.read_dataframe(out / "district.gpkg", layer="buildings", columns=["building_id"])
    assert buildings["building_id"].str.startswith("massenheim-gebaeude/").all()
    candidates = pyogrio.read_dataframe(out / "district.gpkg", layer="candidates", columns=["category", "legal_basis"])
    basis = candidates.loc[candidates["category"] == "Baulücke", "legal_basis"]
    assert basis.str.startswith("§34 BauGB: Innenbereich laut ATKIS-Ortslage").all()
    assert np.isclose(gaps["recall"], gaps["found_same_category"] / gaps["reference"], atol=1e-4)
