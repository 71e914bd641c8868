"""The publishing profile: defaults follow the `public:` flags; problems are collected and raised once."""

from __future__ import annotations

import pytest

from flaechen.errors import ConfigError
from flaechen.layers import load_schema
from flaechen.publish.profile import DEFAULT_LAYERS, load_profile


def test_defaults_are_the_public_fields():
    profile = load_profile(None)
    schema = load_schema()
    assert profile.layers == DEFAULT_LAYERS
    for layer in profile.layers:
        assert profile.allowed(layer) == schema.layer(layer).public_fields
    assert "owner" not in profile.allowed("brownfields")
    assert "notes" not in profile.allowed("brownfields")
    assert "contamination_suspected" not in profile.allowed("brownfields")
    assert "reasons_json" not in profile.allowed("candidates")
    # private land: on the map only as aggregate cells of at least grid_min_count candidates
    assert profile.private_candidates == "grid" and profile.grid_min_count >= 3
    assert profile.built_on is None and profile.built_on_mode == "aggregate"
    assert load_profile({"private_candidates": "parcels"}).built_on_mode == "parcels"
    assert load_profile({"private_candidates": "parcels", "built_on": "none"}).built_on_mode == "none"
    assert profile.tiles is None
    assert profile.language == "de"


def test_show_contamination_releases_only_that_field():
    profile = load_profile({"show_contamination": True})
    assert "contamination_suspected" in profile.allowed("brownfields")
    assert "owner" not in profile.allowed("brownfields")


def test_narrowing_fields():
    profile = load_profile({"fields": {"candidates": ["category", "area_m2"]}})
    assert profile.allowed("candidates") == ("category", "area_m2")


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as info:
        load_profile(
            {
                "language": "fr",
                "private_candidates": "everything",
                "grid_size_m": -5,
                "tiles": "https://tile.example.org/{z}/{x}/{y}.png",
                "fields": {
                    "brownfields": ["name", "owner", "notes", "contamination_suspected", "nonsense"],
                    "parcels": ["owner"],
                    "candidates": ["area_m2"],
                },
                "layers": ["municipalities", "zoning", "brownfields", "candidates", "parcels"],
                "colour": "red",
            }
        )
    text = str(info.value)
    problems = info.value.problems
    assert len(problems) >= 10, problems
    for needle in (
        "publish.language",
        "publish.private_candidates",
        "publish.grid_size_m",
        "publish.tiles_attribution",
        "'owner' is marked non-public",
        "'notes' is marked non-public",
        "show_contamination = true",
        "no field 'nonsense'",
        "'parcels' cannot be published",
        "must include category",
        "publish.colour: unknown key; fix: remove it; known keys here: title, language,",
    ):
        assert needle in text, needle


def test_types_are_checked():
    with pytest.raises(ConfigError) as info:
        load_profile({"show_contamination": "yes", "coordinate_decimals": 12, "title": ""})
    assert len(info.value.problems) == 3


def test_tiles_with_attribution(tmp_path):
    profile = load_profile({"tiles": "https://tile.example.org/{z}/{x}/{y}.png", "tiles_attribution": "© Beispiel"})
    assert profile.tiles_attribution == "© Beispiel"


def test_logo_is_resolved_against_base_dir(tmp_path):
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    profile = load_profile({"logo": "logo.png"}, base_dir=tmp_path)
    assert profile.logo == tmp_path / "logo.png"
    with pytest.raises(ConfigError, match="not found"):
        load_profile({"logo": "missing.png"}, base_dir=tmp_path)


def test_built_on_is_checked():
    with pytest.raises(ConfigError) as info:
        load_profile({"built_on": "alle"})
    assert "publish.built_on" in str(info.value)
