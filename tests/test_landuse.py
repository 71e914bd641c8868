"""The actual land use: code list, the ALKIS-vereinfacht text in its real forms, and parcels' dominant use.

Real data: the NRW and Sachsen "ALKIS vereinfacht" texts, and the Monzel Gemarkung with its land use as one
layer per ALKIS object class (../shared/data/real/alkis_full).
"""

from __future__ import annotations

import json
import textwrap

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import box

from flaechen.config import load_config
from flaechen.landuse import actual_use_shares, normalise_use, parcel_land_use, parse_actual_use, use_group, use_label
from flaechen.layers import CANONICAL_LAYERS, load_schema
from flaechen.pipeline import build_district


def test_the_code_list_holds_the_26_classes_with_labels_groups_and_class_numbers():
    values = load_schema().codelist("alkis_nutzung").values
    assert len(values) == 26
    assert {v["group"] for v in values.values()} == {"Siedlung", "Verkehr", "Vegetation", "Gewässer"}
    assert len({v["code"] for v in values.values()}) == 26
    assert use_label("AX_Fliessgewaesser") == "Fließgewässer"
    assert use_group("AX_Friedhof") == "Siedlung"
    assert {"land_use", "built_up_area"} <= set(CANONICAL_LAYERS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AX_Wohnbauflaeche", "AX_Wohnbauflaeche"),
        ("ax_wohnbauflaeche", "AX_Wohnbauflaeche"),
        ("Wohnbaufläche", "AX_Wohnbauflaeche"),
        ("Wohnbauflaeche", "AX_Wohnbauflaeche"),
        ("Strassenverkehr", "AX_Strassenverkehr"),
        ("STRASSENVERKEHR", "AX_Strassenverkehr"),
        ("Fliessgewässer", "AX_Fliessgewaesser"),
        ("Unland, Vegetationslose Fläche", "AX_UnlandVegetationsloseFlaeche"),
        ("Unland/Vegetationslose Fläche", "AX_UnlandVegetationsloseFlaeche"),
        ("Sport-, Freizeit- und Erholungsfläche / Grünanlage", "AX_SportFreizeitUndErholungsflaeche"),
        ("Tagebau, Grube, Steinbruch", "AX_TagebauGrubeSteinbruch"),
        ("41001", "AX_Wohnbauflaeche"),
        ("Acker", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_use_reads_class_names_labels_ascii_and_class_numbers(text, expected):
    assert normalise_use(text) == expected


def test_parse_actual_use_reads_every_real_form():
    texts = pd.Series(
        [
            "Wohnbaufläche;512",
            "1837|Wohnbauflaeche",
            "Wald / Nadelholz;560|Weg / Fahrweg;30",
            "Wohnbaufläche;412;Straßenverkehr;30",
            "Wohnbaufläche;300, Strassenverkehr;20",
            "Landwirtschaft;100\nGehölz;50",
            "Weg;1971|Wald;0.00",
            "Fläche gemischter Nutzung;12,5",
            "Landwirtschaft",
            "Acker;10",
            None,
            "",
        ],
        index=[f"p{i}" for i in range(12)],
    )
    rows = parse_actual_use(texts)
    got = {
        p: [
            (u if u is not pd.NA else None, None if np.isnan(a) else a)
            for u, a in zip(g["use"], g["area_m2"], strict=True)
        ]
        for p, g in rows.groupby("parcel", sort=False)
    }
    assert got == {
        "p0": [("AX_Wohnbauflaeche", 512.0)],
        "p1": [("AX_Wohnbauflaeche", 1837.0)],
        "p2": [("AX_Wald", 560.0), ("AX_Weg", 30.0)],
        "p3": [("AX_Wohnbauflaeche", 412.0), ("AX_Strassenverkehr", 30.0)],
        "p4": [("AX_Wohnbauflaeche", 300.0), ("AX_Strassenverkehr", 20.0)],
        "p5": [("AX_Landwirtschaft", 100.0), ("AX_Gehoelz", 50.0)],
        "p6": [("AX_Weg", 1971.0), ("AX_Wald", 0.0)],
        "p7": [("AX_FlaecheGemischterNutzung", 12.5)],
        "p8": [("AX_Landwirtschaft", None)],
        "p9": [(None, 10.0)],
    }
    assert rows.loc[rows["parcel"] == "p9", "use_text"].item() == "Acker"


def test_actual_use_shares_adds_repeated_uses_and_names_the_dominant_one():
    shares = actual_use_shares(
        pd.Series(["Wald;100|Weg;150|Wald;100", "Landwirtschaft", "1837|Wohnbauflaeche", None, "Acker;5"])
    )
    assert shares["dominant_use"].tolist() == ["AX_Wald", "AX_Landwirtschaft", "AX_Wohnbauflaeche", pd.NA, pd.NA]
    assert json.loads(shares.loc[0, "use_shares"]) == {"AX_Wald": 0.5714, "AX_Weg": 0.4286}
    assert shares.loc[0, "dominant_share"] == pytest.approx(200 / 350, abs=1e-6)
    assert pd.isna(shares.loc[1, "use_shares"])  # no areas: the dominant use is known, the shares are not
    assert json.loads(shares.loc[2, "use_shares"]) == {"AX_Wohnbauflaeche": 1.0}


@pytest.mark.real_data
@pytest.mark.parametrize("name", ["nrw_euskirchen_kleve", "sachsen_goerlitz"])
def test_every_real_alkis_vereinfacht_text_names_known_classes_with_areas_matching_the_book(shared_real, name):
    frame = pyogrio.read_dataframe(
        shared_real / "alkis" / f"{name}.gpkg", read_geometry=False, columns=["tntxt", "flaeche"]
    )
    rows = parse_actual_use(frame["tntxt"])
    assert len(rows) > len(frame)  # several uses per parcel
    assert rows["use"].notna().all(), rows.loc[rows["use"].isna(), "use_text"].unique()[:5]
    total = rows.groupby("parcel")["area_m2"].sum()
    ratio = total / frame["flaeche"].reindex(total.index).astype(float)
    assert abs(ratio.median() - 1) < 1e-9
    shares = actual_use_shares(frame["tntxt"])
    assert shares["dominant_use"].notna().all()


def test_parcel_land_use_by_area_of_intersection():
    parcels = gpd.GeoDataFrame(
        {"parcel_id": ["a", "b", "c"]},
        geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10), box(100, 100, 110, 110)],
        crs="EPSG:25832",
        index=[5, 6, 7],
    )
    uses = gpd.GeoDataFrame(
        {"use": ["AX_Wohnbauflaeche", "AX_Strassenverkehr", "AX_Weg"]},
        geometry=[box(0, 0, 13, 7), box(0, 7, 20, 10), box(13, 0, 20, 7)],
        crs="EPSG:25832",
    )
    result = parcel_land_use(parcels, uses)
    assert result.index.tolist() == [5, 6, 7]
    assert result["dominant_use"].tolist() == ["AX_Wohnbauflaeche", "AX_Weg", pd.NA]
    assert json.loads(result.loc[5, "use_shares"]) == {"AX_Strassenverkehr": 0.3, "AX_Wohnbauflaeche": 0.7}
    assert json.loads(result.loc[6, "use_shares"]) == {
        "AX_Strassenverkehr": 0.3,
        "AX_Weg": 0.49,
        "AX_Wohnbauflaeche": 0.21,
    }
    with pytest.raises(ValueError, match="share one CRS"):
        parcel_land_use(parcels, uses.set_crs("EPSG:25833", allow_override=True))


@pytest.mark.real_data
def test_monzel_parcels_get_their_dominant_use_from_the_per_class_layers(shared_real):
    path = shared_real / "alkis_full" / "monzel_rlp_nas.gpkg"
    parcels = pyogrio.read_dataframe(path, layer="AX_Flurstueck", columns=["flurstueckskennzeichen"])
    frames = []
    for name, _ in pyogrio.list_layers(path):
        if normalise_use(name) is not None:
            frame = pyogrio.read_dataframe(path, layer=name, columns=[])
            frame["use"] = name
            frames.append(frame)
    land_use = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=parcels.crs)
    assert len(frames) == 25 and len(land_use) == 1345  # 25 of the 26 classes occur (no AX_Meer)
    result = parcel_land_use(parcels, land_use)
    assert result["dominant_use"].notna().all()
    covered = result["use_shares"].map(lambda s: sum(json.loads(s).values()))
    assert covered.median() == pytest.approx(1.0, abs=1e-3)  # SOURCES.md: the uses cover 100 % of the parcels
    assert (result["dominant_use"] == "AX_Landwirtschaft").sum() > 500
    assert (result["dominant_use"] == "AX_Wohnbauflaeche").sum() > 100


def test_a_land_use_and_a_built_up_area_source_build_with_labels_and_ascii_spellings(tmp_path):
    src = tmp_path / "sources"
    src.mkdir()
    gpd.GeoDataFrame(
        {"ags": ["07999101"], "name": ["Ahausen"]}, geometry=[box(0, 0, 1000, 1000)], crs="EPSG:25832"
    ).to_file(src / "gemeinden.gpkg")
    gpd.GeoDataFrame(
        {"oid": ["n1", "n2", "n3", "n4"], "nutzung": ["Wohnbaufläche", "Strassenverkehr", "AX_Wald", "Acker"]},
        geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10), box(20, 0, 30, 10), box(30, 0, 40, 10)],
        crs="EPSG:25832",
    ).to_file(src / "nutzung.gpkg")
    gpd.GeoDataFrame({"nr": ["o1"]}, geometry=[box(0, 0, 500, 500)], crs="EPSG:25832").to_file(src / "ortslage.gpkg")
    config = tmp_path / "district.toml"
    config.write_text(
        textwrap.dedent("""\
        [district]
        name = "Landkreis Nutzung"

        [boundaries]
        path = "sources/gemeinden.gpkg"
        ags_field = "ags"

        [[municipalities]]
        ags = "07999101"
        name = "Ahausen"

        [[municipalities.sources]]
        id = "nutzung"
        layer = "land_use"
        path = "sources/nutzung.gpkg"
        fields = { land_use_id = "oid", use = "nutzung" }

        [[municipalities.sources]]
        id = "ortslage"
        layer = "built_up_area"
        path = "sources/ortslage.gpkg"
        fields = { area_id = "nr" }
        values = { kind = "ortslage", source_name = "Basis-DLM" }
        """),
        encoding="utf-8",
    )
    dataset = build_district(load_config(config))
    land_use = dataset.layers["land_use"]
    assert land_use["use"].tolist() == ["AX_Wohnbauflaeche", "AX_Strassenverkehr", "AX_Wald"]
    issues = dataset.issues
    normalised = issues[issues["issue_type"] == "normalised-code"]
    assert sorted(normalised["value"]) == ["Strassenverkehr", "Wohnbaufläche"]
    unknown = issues[(issues["issue_type"] == "unknown-code") & (issues["field"] == "use")]
    assert unknown["value"].tolist() == ["Acker"]
    assert issues.loc[issues["issue_type"] == "missing-value", "feature_id"].tolist() == ["n4"]
    built = dataset.layers["built_up_area"]
    assert built[["area_id", "kind", "source_name"]].values.tolist() == [["o1", "ortslage", "Basis-DLM"]]
    assert dataset.accounting["balanced"].all()
