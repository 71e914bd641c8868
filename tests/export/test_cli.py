import zipfile

import pytest

from flaechen.cli import main


def test_export_has_help(capsys):
    with pytest.raises(SystemExit) as done:
        main(["export", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for option in ("--format", "--to", "--schema", "--dest", "--quiet", "service=NAME"):
        assert option in out


def test_export_parquet_and_qgis_from_an_output_folder(district, tmp_path, capsys):
    assert main(["export", str(district.parent), "--format", "parquet"]) == 0
    out = capsys.readouterr().out.split()
    assert out[0] == str(district.parent / "parquet" / "candidates.parquet")
    assert main(["export", str(district), "--format", "parquet", "--dest", str(tmp_path / "p"), "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    assert len(list((tmp_path / "p").glob("*.parquet"))) == 9
    assert main(["export", str(district.parent), "--format", "qgis"]) == 0
    assert capsys.readouterr().out.strip() == str(district.with_suffix(".qgz"))
    assert zipfile.is_zipfile(district.with_suffix(".qgz"))


def test_export_user_errors_are_clean(tmp_path, capsys, district):
    assert main(["export", str(tmp_path / "missing"), "--format", "parquet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "flaechen run" in err and "Traceback" not in err
    assert main(["export", str(district), "--to", "nonsense"]) == 2
    assert "service=NAME" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", str(district), "--format", "parquet", "--to", "env"])


@pytest.mark.postgis
def test_export_to_postgis(district, postgis_db, capsys):
    assert main(["export", str(district.parent), "--to", postgis_db, "--schema", "kreis"]) == 0
    assert capsys.readouterr().out.strip() == "schema kreis: exported"
