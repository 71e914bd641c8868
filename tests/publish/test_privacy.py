"""Values derived from a private object follow its publishing rule (issue 8 §5).

A candidate on public land inside a brownfield on private land is drawn; the brownfield is not. Its id,
name and former use must not reach the site through the candidate's fields or reasons.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyogrio
import pytest
from shapely.geometry import box

from flaechen.publish import publish
from flaechen.publish.prepare import WITHHELD_BROWNFIELD, WITHHELD_REASONS
from tests.publish.conftest import X0, XSS, Y0, build_district
from tests.publish.helpers import find_leaks, read_parts

PRIVATE_BF = box(X0 + 1200, Y0 + 700, X0 + 1400, Y0 + 900)  # BF-2 "Alte Ziegelei", private
PUBLIC_BF = box(X0 + 200, Y0 + 700, X0 + 400, Y0 + 900)  # BF-1 (hostile name), public


def private_identity(gpkg: Path) -> list[str]:
    """Ids and names of every brownfield not on public land: none may appear in a default site."""
    frame = pyogrio.read_dataframe(gpkg, layer="brownfields", read_geometry=False)
    private = frame[frame["ownership"].fillna("") != "public"]
    return sorted({*private["site_id"].dropna(), *private["name"].dropna()})


@pytest.fixture(scope="module")
def overlapping(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic district with candidates carrying the brownfield they lie in, as the flag step writes."""
    gpkg = tmp_path_factory.mktemp("overlap") / "district.gpkg"
    build_district(gpkg)
    candidates = pyogrio.read_dataframe(gpkg, layer="candidates")
    candidates["brownfield_site_id"] = None
    candidates["former_use"] = None
    candidates["brownfield_share"] = None
    sites = ((PRIVATE_BF, "BF-2", "Alte Ziegelei", "Bahn"), (PUBLIC_BF, "BF-1", XSS, "Industrie"))
    for geometry, site, name, use in sites:
        inside = candidates.geometry.intersection(geometry).area / candidates.geometry.area >= 0.5
        candidates.loc[inside, "brownfield_site_id"] = site
        candidates.loc[inside, "former_use"] = "rail" if use == "Bahn" else "industry"
        candidates.loc[inside, "brownfield_share"] = 1.0
        candidates.loc[inside, "category"] = "Brachfläche"
        candidates.loc[inside, "reasons"] = (
            f"Zu 100 % als Brachfläche registriert (Schwelle 50 %): {site} „{name}“, frühere Nutzung {use}. "
            "1 Gebäude im Zustand verfallen oder teilweise zerstört (ALKIS-Zustand 2200, 2300)."
        )
    pyogrio.write_dataframe(candidates, gpkg, layer="candidates")
    return gpkg


def _candidates(site: Path) -> list[dict]:
    parts = read_parts(site).values()
    return [f["properties"] for layers in parts for f in layers.get("candidates", {}).get("features", [])]


def test_the_fixture_has_public_candidates_in_the_private_brownfield(overlapping):
    candidates = pyogrio.read_dataframe(overlapping, layer="candidates", read_geometry=False)
    inside = candidates[candidates["brownfield_site_id"] == "BF-2"]
    assert (inside["ownership"] == "public").sum() >= 1


def test_private_brownfield_identity_is_withheld_from_public_candidates(overlapping, tmp_path):
    site = publish(overlapping, tmp_path).parent
    assert private_identity(overlapping) == ["Alte Ziegelei", "BF-2"]
    assert find_leaks(site, private_identity(overlapping)) == []
    # the public candidates inside are still drawn, with a generalised reason and no brownfield id
    withheld = [p for p in _candidates(site) if WITHHELD_BROWNFIELD in p.get("reasons", "")]
    assert withheld
    for props in withheld:
        assert "brownfield_site_id" not in props and "former_use" not in props
        assert props["reasons"].startswith("Zu 100 % als Brachfläche registriert (Schwelle 50 %): ein nicht")
        assert "1 Gebäude im Zustand verfallen" in props["reasons"]  # the rest of the reason stays
        assert props["brownfield_share"] == "100 %"
    # the public brownfield's id stays with its candidates: it is published itself
    assert any(p.get("brownfield_site_id") == "BF-1" for p in _candidates(site))
    page = (site / "gemeinde-07999002.html").read_text(encoding="utf-8")
    assert "nicht veröffentlichter Eintrag des Brachflächenkatasters" in page


def test_per_parcel_publishing_shows_the_brownfield_and_what_derives_from_it(overlapping, tmp_path):
    site = publish(overlapping, tmp_path, profile={"private_candidates": "parcels"}).parent
    assert any(p.get("brownfield_site_id") == "BF-2" for p in _candidates(site))
    assert any("„Alte Ziegelei“" in p.get("reasons", "") for p in _candidates(site))


def test_withheld_when_brownfields_are_not_drawn_at_all(overlapping, tmp_path):
    site = publish(overlapping, tmp_path, profile={"layers": ["municipalities", "candidates"]}).parent
    assert find_leaks(site, private_identity(overlapping)) == []
    assert any(WITHHELD_BROWNFIELD in p.get("reasons", "") for p in _candidates(site))


def test_a_reason_naming_a_private_brownfield_otherwise_is_not_shown(overlapping, tmp_path):
    gpkg = tmp_path / "district.gpkg"
    gpkg.write_bytes(overlapping.read_bytes())
    candidates = pyogrio.read_dataframe(gpkg, layer="candidates")
    public = candidates.index[candidates["ownership"] == "public"]
    # a reason in another wording, on a candidate that records no brownfield at all
    candidates.loc[public[0], "reasons"] = "Nachbar der Alten Ziegelei (Alte Ziegelei, Kataster BF-2)."
    candidates.loc[public[0], "brownfield_site_id"] = None
    pyogrio.write_dataframe(candidates, gpkg, layer="candidates")
    site = publish(gpkg, tmp_path / "out").parent
    assert find_leaks(site, private_identity(gpkg)) == []
    assert any(p.get("reasons") == WITHHELD_REASONS for p in _candidates(site))


def test_leak_check_follows_derived_values(overlapping, tmp_path):
    """Without the rule, the derived values would be there: the leak test can fail."""
    text = json.dumps(_candidates(publish(overlapping, tmp_path, profile={"private_candidates": "parcels"}).parent))
    assert "BF-2" in text and "Alte Ziegelei" in text


@pytest.mark.parametrize("min_count", [None, 5])
def test_default_grid_cells_never_single_out_a_parcel(district_gpkg, tmp_path, min_count):
    """Private candidates are on the map by default, but only as cells of at least grid_min_count of them."""
    import geopandas as gpd
    import shapely

    from flaechen.publish import load_profile

    gpkg, _ = district_gpkg
    profile = {} if min_count is None else {"grid_min_count": min_count}
    minimum = load_profile(profile).grid_min_count
    assert load_profile(profile).private_candidates == "grid"  # the default
    site = publish(gpkg, tmp_path, profile=profile).parent
    cells = [f for layers in read_parts(site).values() for f in layers.get("grid", {}).get("features", [])]
    assert cells, "the private candidates are not on the map"
    candidates = pyogrio.read_dataframe(gpkg, layer="candidates", columns=["parcel_id", "ownership"])
    private = candidates[candidates["ownership"] != "public"]
    points = gpd.GeoSeries(private.geometry.representative_point(), crs=private.crs).to_crs("EPSG:4326").to_numpy()
    counted = 0
    for cell in cells:
        shape = shapely.geometry.shape(cell["geometry"])
        inside = int(shapely.covers(shape, points).sum())
        # the cell says how many it holds, and it does hold them: never fewer than the minimum
        assert cell["properties"]["n"] >= minimum
        assert inside == cell["properties"]["n"]
        counted += inside
        # numbers only: no id, no name, no ownership
        assert set(cell["properties"]) == {"n", "ha", "cats"}
    assert counted <= len(private)
    # no private parcel's key or geometry reaches the site
    assert find_leaks(site, list(private["parcel_id"])) == []
    drawn = [f for layers in read_parts(site).values() for f in layers.get("candidates", {}).get("features", [])]
    assert all(f["properties"].get("ownership") == "öffentlich" for f in drawn)
