import pytest

from flaechen.errors import ConfigError
from flaechen.export import ExportSettings, parse_export_section, run_exports


def test_defaults_export_nothing_more():
    assert parse_export_section(None) == ExportSettings()
    assert parse_export_section({}) == ExportSettings(parquet=None, postgis=None, schema="flaechen")


def test_valid_section():
    settings = parse_export_section({"parquet": "geoparquet", "postgis": "service=kreis", "schema": "kreis"})
    assert settings == ExportSettings(parquet="geoparquet", postgis="service=kreis", schema="kreis")
    assert parse_export_section({"parquet": True, "postgis": "env"}).parquet == "parquet"


def test_every_problem_is_reported_at_once_and_no_password_is_accepted():
    with pytest.raises(ConfigError) as failed:
        parse_export_section(
            {
                "parquett": True,
                "parquet": "/abs/path",
                "postgis": "postgresql://gis:Geheim123@db/kreis",
                "schema": "Kreis-Daten",
            }
        )
    problems = failed.value.problems
    assert len(problems) == 4
    assert "export.parquett: unknown key; fix: did you mean 'parquet'?" in problems
    assert any("carries a password" in p for p in problems)
    assert any("plain PostgreSQL name" in p for p in problems)
    assert "Geheim123" not in str(failed.value)


def test_run_exports_writes_parquet_into_the_output_folder(district):
    written = run_exports(district, parse_export_section({"parquet": True}))
    assert written and all(p.parent == district.parent / "parquet" for p in written)
