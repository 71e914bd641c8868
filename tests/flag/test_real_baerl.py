"""The real Duisburg-Baerl set: an ALKIS parcel (NAS), its B-Plan (XPlanGML 5.1), LoD2 buildings, a DGM1 raster.

Skips where ../shared is absent. GDAL's GML driver would write a `.gfs` sidecar next to a GML file it
parses; ../shared must never be written to, so every read passes ``WRITE_GFS="NO"`` and names its layer.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from flaechen.flag import flag, load_constraints, load_rules
from flaechen.flag.constraints import raster_status
from flaechen.flag.overlay import OverlayLayer, indexed_overlaps

from .conftest import frame

pytestmark = pytest.mark.real_data


def _read(path, layer=None):
    with warnings.catch_warnings():
        # NAS repeats `identifier`; GDAL keeps the first and says so
        warnings.filterwarnings("ignore", message="Field with same name", category=RuntimeWarning)
        return pyogrio.read_dataframe(path, layer=layer, WRITE_GFS="NO")


@pytest.fixture
def baerl(shared_real):
    folder = shared_real / "baerl"
    alkis = _read(folder / "alkis_flurstueck_nrw.gml")
    plan = _read(folder / "BPlan_1251_Baerl.gml", "BP_Plan")
    lod2 = _read(folder / "lod2_existing_building.gml")
    footprints = [
        shapely.union_all(shapely.get_parts(shapely.polygonize(shapely.get_parts(shapely.force_2d(g)))))
        for g in lod2.geometry
    ]
    p = alkis.iloc[0]
    layers = {
        "parcels": frame(
            "parcels",
            [
                {
                    "parcel_id": p["flurstueckskennzeichen"],
                    "ags": "05112000",
                    "official_area": float(p["amtlicheFlaeche"]),
                    "geometry": p.geometry,
                }
            ],
        ),
        "zoning": frame(
            "zoning",
            [
                {
                    "zoning_id": r["gml_id"],
                    "ags": r["ags"],
                    "plan_name": r["nummer"],
                    "plan_type": "BPlan",
                    "rechtsstand": str(r["rechtsstand"]),
                    "geometry": r.geometry,
                }
                for _, r in plan.iterrows()
            ],
        ),
        "brownfields": frame("brownfields", []),
        "buildings": frame(
            "buildings",
            [
                {"building_id": r["gml_id"], "ags": "05112000", "function": r["function"], "geometry": fp}
                for (_, r), fp in zip(lod2.iterrows(), footprints, strict=True)
            ],
        ),
        "municipalities": frame(
            "municipalities",
            [
                {
                    "ags": "05112000",
                    "name": "Duisburg",
                    "population": 503_000,
                    "geometry": shapely.box(*plan.total_bounds),
                }
            ],
        ),
    }
    return folder, layers


def test_the_parcel_gets_its_zoning_from_the_real_plan(baerl):
    _, layers = baerl
    m = flag(layers, rules=load_rules(), workers=1).measures.iloc[0]
    assert m["parcel_id"] == "05329001100085______"
    assert m["area_m2"] == pytest.approx(684.0, abs=1.0)  # amtliche Fläche 684 m²
    assert m["zoning_id"] == "GML_5b9e0a62-02e9-47be-8f30-b819754a6f0d"
    assert m["plan_name"] == "1251 (Ur.)"
    assert m["zoning_share"] == pytest.approx(1.0)
    # The plan carries no Baugebiet (no BP_BaugebietsTeilFlaeche): no class, so no building land by rule.
    assert pd.isna(m["zoning_class"])
    assert m["building_count"] == 0  # the LoD2 buildings stand on the neighbouring parcels
    assert m["status"] == "kein Kandidat"


def test_the_buildable_area_overlap_is_exact(baerl):
    folder, layers = baerl
    parcel = layers["parcels"].geometry.to_numpy()
    ueberbaubar = _read(folder / "BPlan_1251_Baerl.gml", "BP_UeberbaubareGrundstuecksFlaeche").geometry.to_numpy()
    ov = indexed_overlaps(parcel, {"u": OverlayLayer.build(ueberbaubar)}, workers=1)["u"]
    brute = sum(shapely.intersection(parcel[0], g).area for g in ueberbaubar)
    assert ov.area.sum() == pytest.approx(brute, abs=1e-6)
    assert ov.area.sum() == pytest.approx(389.8, abs=0.1)


def test_the_parcel_gets_a_slope_from_the_real_terrain_model(baerl, tmp_path):
    folder, layers = baerl
    section = {
        "constraints": [
            {
                "name": "hang",
                "label": "Hangneigung",
                "kind": "raster",
                "path": str(folder / "nrw_dgm.tif"),
                "derive": "slope_percent",
                "statistic": "mean",
                "above": 15.0,
                "effect": "lower",
            }
        ]
    }
    (constraint,) = load_constraints(section, base_dir=tmp_path, crs="EPSG:25832")
    parcels = layers["parcels"].geometry.to_numpy()
    st = raster_status(constraint, parcels=parcels, parcel_area=shapely.area(parcels)).iloc[0]
    assert st["status"] == "frei"  # Lower Rhine plain: a few per cent at most
    assert 0.0 <= st["value"] < 15.0
    assert np.isfinite(float(st["value"]))
    assert st["valid_share"] == pytest.approx(1.0, abs=0.05)
