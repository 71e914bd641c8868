"""The carry-over on real parcels (NRW ALKIS, tests/real/district.toml): renumbering and splits of real shapes.

Real parcels share their boundaries with their neighbours, so every site touches several candidates: the
matching must take the land, not the touching neighbours, and must raise no conflict where none is. The
real deliveries hold no plans over these parcels (so no flagged candidates): every real parcel of the
district serves as a candidate here, which is what the matching judges - the land.
"""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from conftest import REPO
from flaechen.config import load_config
from flaechen.pipeline import build_district
from flaechen.register import SurveyContext, carry_over

pytestmark = [pytest.mark.real_data, pytest.mark.slow]


@pytest.fixture(scope="module")
def real():
    from conftest import SHARED_REAL, require

    require(SHARED_REAL.is_dir(), f"real data folder {SHARED_REAL}", ci_required=False)
    dataset = build_district(load_config(REPO / "tests" / "real" / "district.toml"))
    parcels = dataset.layers["parcels"]
    parcels = parcels[parcels.geometry.area > 50].reset_index(drop=True)
    candidates = gpd.GeoDataFrame(
        {
            "parcel_id": parcels["parcel_id"].astype(str),
            "ags": parcels["ags"].astype(str),
            "category": "Baulücke",
            "categories": "Baulücke",
            "area_m2": parcels.geometry.area,
            "zoning_class": "WA",
            "built_area_m2": 0.0,
            "reasons": "Unbebautes Bauland.",
        },
        geometry=parcels.geometry.values,
        crs=parcels.crs,
    )
    measures = pd.DataFrame(
        {
            "parcel_id": candidates["parcel_id"],
            "ags": candidates["ags"],
            "status": "Kandidat",
            "zoning_class": "WA",
            "area_m2": candidates["area_m2"],
            "constraints": None,
        }
    )
    assert len(candidates) > 4000
    return dataset, SimpleNamespace(candidates=candidates, measures=measures)


def _context(dataset, measures, parcels=None):
    layers = dataset.layers
    return SurveyContext(
        parcels=layers["parcels"] if parcels is None else parcels,
        measures=measures,
        buildings=layers["buildings"],
        municipalities=dict(zip(layers["municipalities"]["ags"], layers["municipalities"]["name"], strict=True)),
        min_area={"Baulücke": 200.0},
    )


def _first(real):
    dataset, result = real
    return carry_over(
        result.candidates.iloc[0:0], result.candidates, context=_context(dataset, result.measures), survey="2025-04-01"
    )


def test_the_same_real_delivery_again_changes_nothing(real):
    dataset, result = real
    first = _first(real)
    assert set(first.changes["change"]) == {"neu"} and len(first.sites) == len(result.candidates)
    again = carry_over(first.sites, result.candidates, context=_context(dataset, result.measures), survey="2026-04-01")
    assert again.changes.empty and not again.conflicts and not again.new_ids


def test_a_real_municipality_renumbering_its_parcels_keeps_every_site(real):
    dataset, result = real
    first = _first(real)
    ags = result.candidates["ags"].value_counts().index[0]

    def renumber(ids: pd.Series, in_ags: pd.Series) -> pd.Series:
        new = ids.str[:6] + "9" + ids.str[7:]
        return new.where(in_ags, ids)

    cands = result.candidates.copy()
    cands["parcel_id"] = renumber(cands["parcel_id"], cands["ags"] == ags)
    parcels = dataset.layers["parcels"].copy()
    parcels["parcel_id"] = renumber(parcels["parcel_id"], parcels["ags"] == ags)
    measures = result.measures.copy()
    measures["parcel_id"] = renumber(measures["parcel_id"], measures["ags"] == ags)
    sites = first.sites.copy()
    sites.loc[sites["ags"] == ags, "note"] = "bleibt"
    again = carry_over(sites, cands, context=_context(dataset, measures, parcels), survey="2026-04-01")
    assert not again.conflicts and not again.new_ids
    moved = again.changes[again.changes["ags"] == ags]
    assert len(moved) == int((cands["ags"] == ags).sum()) and set(moved["change"]) == {"geändert"}
    assert (again.sites.loc[again.sites["ags"] == ags, "note"] == "bleibt").all()
    assert again.changes[again.changes["ags"] != ags].empty


def test_real_parcels_split_in_two_continue_their_sites(real):
    dataset, result = real
    first = _first(real)
    big = result.candidates[result.candidates["area_m2"] > 2_000].sort_values("parcel_id").head(3)
    rows = []
    for _, cand in big.iterrows():
        minx, miny, maxx, maxy = cand.geometry.bounds
        mid = (minx + maxx) / 2
        for n, half in enumerate((box(minx - 1, miny - 1, mid, maxy + 1), box(mid, miny - 1, maxx + 1, maxy + 1)), 1):
            part = cand.copy()
            part["parcel_id"] = cand["parcel_id"][:14] + f"{n:04d}__"
            part.geometry = shapely.intersection(cand.geometry, half)
            part["area_m2"] = part.geometry.area
            rows.append(part)
    cands = pd.concat(
        [result.candidates[~result.candidates["parcel_id"].isin(big["parcel_id"])], pd.DataFrame(rows)],
        ignore_index=True,
    ).set_geometry("geometry")
    again = carry_over(first.sites, cands, context=_context(dataset, result.measures), survey="2026-04-01")
    assert not again.conflicts and not again.new_ids
    assert len(again.changes) == 3 and set(again.changes["change"]) == {"geändert"}
    for pid in big["parcel_id"]:
        site = again.sites[again.sites["parcel_ids"].str.startswith(pid[:14])]
        assert len(site) == 1 and site["parcel_ids"].iloc[0].count(";") == 1
