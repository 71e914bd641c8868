"""The [register] table: validated at once with every problem named; the store follows the configuration."""

from __future__ import annotations

import datetime as dt

import pytest

from flaechen.errors import ConfigError
from flaechen.register import GpkgRegister, parse_register_section
from flaechen.register.postgis_store import PostgisRegister
from flaechen.register.step import open_store


def test_defaults_and_a_toml_date():
    settings = parse_register_section({"survey": dt.date(2026, 4, 1)})
    assert settings.survey_date() == "2026-04-01" and settings.same_land == 0.8 and settings.store == "auto"
    assert len(parse_register_section(None).survey_date()) == 10


def test_every_problem_is_named_at_once():
    with pytest.raises(ConfigError) as err:
        parse_register_section({"same_land": 1.5, "surveyy": "2026", "store": "excel"})
    text = "\n".join(err.value.problems)
    assert "register.same_land" in text and "register.surveyy" in text and "register.store" in text


def test_thresholds_must_be_ordered():
    with pytest.raises(ConfigError, match="ignore_overlap"):
        parse_register_section({"ignore_overlap": 0.9})


def test_the_store_follows_the_configuration(tmp_path):
    assert isinstance(open_store(parse_register_section({}), out_dir=tmp_path, export={}), GpkgRegister)
    store = open_store(parse_register_section({}), out_dir=tmp_path, export={"postgis": "service=kreis"})
    assert isinstance(store, PostgisRegister) and store.schema == "register"
    assert store.take_over is not None and store.take_over.path == tmp_path / "register.gpkg"
    forced = open_store(parse_register_section({"store": "gpkg"}), out_dir=tmp_path, export={"postgis": "service=k"})
    assert isinstance(forced, GpkgRegister)
    with pytest.raises(ConfigError, match="export's schema"):
        open_store(
            parse_register_section({"schema": "flaechen"}), out_dir=tmp_path, export={"postgis": "service=kreis"}
        )
    with pytest.raises(ConfigError, match=r"needs register\.connection"):
        open_store(parse_register_section({"store": "postgis"}), out_dir=tmp_path, export={})
