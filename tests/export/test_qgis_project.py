import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pyogrio
import pytest

from flaechen.errors import CRSError
from flaechen.export import style_gpkg, write_qgis_project
from tests.conftest import require
from tests.export.conftest import SYSTEM_PYTHON, qgis_available, run_qgis_check


def _document(qgz: Path) -> ET.Element:
    with zipfile.ZipFile(qgz) as archive:
        assert archive.namelist() == [f"{qgz.stem}.qgs"]
        return ET.fromstring(archive.read(f"{qgz.stem}.qgs"))


def test_project_has_groups_relative_paths_crs_and_extent(district):
    qgz = write_qgis_project(district, crs="EPSG:25832", title="Landkreis Beispielkreis")
    assert qgz == district.with_suffix(".qgz")
    root = _document(qgz)
    assert root.findtext("title") == "Landkreis Beispielkreis"
    groups = {
        g.get("name"): [layer.get("id") for layer in g.iter("layer-tree-layer")]
        for g in root.find("layer-tree-group").findall("layer-tree-group")
    }
    assert list(groups) == [
        "Verwaltungsgrenzen",
        "Potenziale",
        "Liegenschaftskataster",
        "Planung",
        "Prüfung und Auswertung",
    ]
    assert groups["Potenziale"] == ["flaechen_candidates", "flaechen_brownfields"]
    sources = [e.text for e in root.iter("datasource")]
    assert sources and all(s.startswith("./district.gpkg|layername=") for s in sources)
    assert root.findtext("properties/Paths/Absolute") == "false"
    assert root.findtext("projectCrs/spatialrefsys/authid") == "EPSG:25832"
    extent = [float(root.findtext(f"mapcanvas/extent/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")]
    xmin, ymin, xmax, ymax = pyogrio.read_info(district, layer="municipalities")["total_bounds"]
    assert extent[0] < xmin and extent[1] < ymin and extent[2] > xmax and extent[3] > ymax
    assert extent[2] - extent[0] < 1.2 * (xmax - xmin)
    zoning = root.find("projectlayers/maplayer[id='flaechen_zoning']")
    assert zoning.find("renderer-v2").get("type") == "RuleRenderer"


def test_project_is_reproducible_and_may_live_elsewhere(district, tmp_path):
    first = write_qgis_project(district, crs="EPSG:25832").read_bytes()
    assert write_qgis_project(district, crs="EPSG:25832").read_bytes() == first
    other = write_qgis_project(district, tmp_path / "projects" / "kreis.qgz", crs="EPSG:25832")
    sources = {e.text for e in _document(other).iter("datasource")}
    assert "../out/district.gpkg|layername=parcels" in sources


def test_hostile_title_is_text_in_a_well_formed_project(district, tmp_path):
    title = 'Kreis {{ 7*7 }} {% Nord ]]> <![CDATA[ & <b>"x"</b> \x01\x1b =1+1'
    qgz = write_qgis_project(district, tmp_path / "hostile.qgz", crs="EPSG:25832", title=title)
    root = _document(qgz)  # parses: the control characters did not break the XML
    shown = title.replace("\x01", "\ufffd").replace("\x1b", "\ufffd")
    assert root.findtext("title") == shown and root.get("projectname") == shown
    assert root.find("title").findall("*") == []  # no element smuggled in through the markup


def test_project_refuses_a_crs_the_layers_are_not_in(district):
    with pytest.raises(CRSError, match="EPSG:25833"):
        write_qgis_project(district, crs="EPSG:25833")


@pytest.mark.qgis
def test_qgis_opens_the_geopackage_and_the_project_with_the_styles(district, tmp_path):
    require(qgis_available(), "QGIS's Python API (Debian package python3-qgis)")
    style_gpkg(district)
    write_qgis_project(district, crs="EPSG:25832")
    # the folder is copied elsewhere, as to another computer: relative paths must still resolve
    moved = Path(shutil.copytree(district.parent, tmp_path / "usb-stick" / "kreis"))
    report, stderr = run_qgis_check(moved / "district.gpkg", moved / "district.qgz")

    assert "may only be partially supported" not in stderr
    for name, layer in report["gpkg"].items():
        assert layer["valid"], name
        assert layer["features"] > 0, name
        if layer["spatial"]:
            assert layer["signature"] == report["qml"][name]["signature"], f"{name}: default style"
    assert set(report["qml"]) == {"municipalities", "parcels", "zoning", "brownfields", "buildings", "candidates"}
    assert all(q["ok"] for q in report["qml"].values())

    project = report["project"]
    assert project["read"] and project["crs"] == "EPSG:25832" and not project["absolute_paths"]
    assert project["default_extent_crs"] == "EPSG:25832"
    assert project["groups"]["Potenziale"] == ["Innenentwicklungspotenziale", "Brachflächen"]
    assert set(project["layers"]) == set(report["gpkg"]) - {"layer_styles"}
    for name, layer in project["layers"].items():
        assert layer["valid"] and layer["features"] > 0, name
        assert layer["source"].startswith(str(moved)), name
        if layer["spatial"]:
            assert layer["crs"] == "EPSG:25832"
            assert layer["signature"] == report["qml"][name]["signature"], f"{name}: project style"
    candidates = report["qml"]["candidates"]["signature"]
    assert candidates["renderer"] == "categorizedSymbol"
    assert ["Brachfläche", "Brachfläche"] in candidates["classes"]
    assert report["qml"]["municipalities"]["signature"]["label_field"] == "name"


@pytest.mark.qgis
def test_qgis_shows_german_aliases_and_code_labels(district, tmp_path):
    """Planners see "Besondere Art der baulichen Nutzung: WA – Allgemeines Wohngebiet", not "bes_art: 1200",
    in the project and in the layers opened from the GeoPackage (their default styles)."""
    from flaechen.export.forms import PROVENANCE_ALIASES
    from flaechen.layers import load_schema

    require(qgis_available(), "QGIS's Python API (Debian package python3-qgis)")
    style_gpkg(district)
    write_qgis_project(district, crs="EPSG:25832")
    report, _ = run_qgis_check(district, district.with_suffix(".qgz"))
    schema = load_schema()
    for source in ("project", "gpkg"):
        layers = report["project"]["layers"] if source == "project" else report["gpkg"]
        zoning, parcels = layers["zoning"]["fields"], layers["parcels"]["fields"]
        assert zoning["bes_art"]["alias"] == "Besondere Art der baulichen Nutzung", source
        assert zoning["bes_art"]["widget"] == "ValueMap"
        assert (zoning["bes_art"]["value"], zoning["bes_art"]["shown"]) == ("1200", "WA – Allgemeines Wohngebiet")
        assert (zoning["plan_type"]["value"], zoning["plan_type"]["shown"]) == ("BPlan", "Bebauungsplan")
        assert (parcels["ownership"]["value"], parcels["ownership"]["shown"]) == ("public", "öffentlich"), source
        assert parcels["ownership"]["alias"] == "Eigentumsart"
        suspected = layers["brownfields"]["fields"]["contamination_suspected"]
        assert (suspected["value"], suspected["shown"]) == ("True", "ja"), source  # a boolean, shown as ja
        assert parcels["source_fid"]["alias"] == PROVENANCE_ALIASES["source_fid"]
        # every field of every layer and table with a schema has its German alias; every code list a value map
        for name, layer in layers.items():
            if name not in schema.layers:
                continue
            for field in schema.layer(name).fields:
                shown = layer["fields"][field.name]
                assert shown["alias"] == field.alias, (source, name, field.name)
                has_map = bool(field.codelist) or field.type == "bool"
                assert (shown["widget"] == "ValueMap") == has_map, (source, name, field.name)
    assert report["project"]["layers"]["summary"]["fields"]["population"]["alias"] == "Einwohner"
    assert report["gpkg"]["summary"]["fields"]["population"]["alias"] == "Einwohner"  # its default style


@pytest.mark.qgis
def test_the_version_check_would_catch_a_geopackage_1_4(district, tmp_path):
    """Negative control: the warning the test above looks for does appear for a GeoPackage 1.4."""
    require(qgis_available(), "QGIS's Python API (Debian package python3-qgis)")
    newer = tmp_path / "v14" / "district.gpkg"
    newer.parent.mkdir()
    frame = pyogrio.read_dataframe(district, layer="municipalities")
    pyogrio.write_dataframe(frame, newer, layer="municipalities", VERSION="1.4")
    qgz = write_qgis_project(newer, crs="EPSG:25832")
    _, stderr = run_qgis_check(newer, qgz)
    assert "may only be partially supported" in stderr


@pytest.mark.qgis
def test_render_script_draws_the_project(district, tmp_path):
    require(qgis_available(), "QGIS's Python API (Debian package python3-qgis)")
    from PIL import Image

    qgz = write_qgis_project(district, crs="EPSG:25832")
    png = tmp_path / "map.png"
    script = Path(__file__).parents[2] / "scripts" / "render_qgis.py"
    env = {**os.environ, "XDG_RUNTIME_DIR": str(tmp_path)}
    done = subprocess.run(
        [SYSTEM_PYTHON, str(script), str(qgz), str(png), "--width", "400"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    image = Image.open(png).convert("RGB")
    width, height = image.size
    assert width > 400 and height >= 200  # the 400 × 200 map and its legend to the right
    colours = {tuple(int(v) for v in c) for c in np.unique(np.asarray(image).reshape(-1, 3), axis=0)}
    assert len(colours) > 20  # not a blank canvas
    # the Baulücke colour of the palette is drawn (fill alpha 170 over the light background)
    from flaechen.palette import category_colours, rgb

    expected = [round(c * 170 / 255 + 255 * 85 / 255) for c in rgb(category_colours()["Baulücke"])]
    assert any(all(abs(v - e) < 30 for v, e in zip((r, g, b), expected, strict=True)) for r, g, b in colours)


@pytest.mark.qgis
@pytest.mark.slow
def test_qgis_opens_the_demo_district(demo_dir, tmp_path):
    """The same checks on the real pipeline's output: every layer of the demo district, styled."""
    require(qgis_available(), "QGIS's Python API (Debian package python3-qgis)")
    out = Path(shutil.copytree(demo_dir, tmp_path / "demo", ignore=shutil.ignore_patterns("input")))
    style_gpkg(out)
    write_qgis_project(out, crs="EPSG:25832")
    report, stderr = run_qgis_check(out / "district.gpkg", out / "district.qgz")
    assert "may only be partially supported" not in stderr
    layers = report["project"]["layers"]
    spatial = {name for name, layer in layers.items() if layer["spatial"]}
    assert spatial == {
        "municipalities",
        "parcels",
        "zoning",
        "brownfields",
        "buildings",
        "land_use",
        "built_up_area",
        "candidates",
        "commercial_areas",
    }
    undelivered = {"land_use", "built_up_area"}  # the demo district delivers none: empty, typed layers
    for name, layer in layers.items():
        assert layer["valid"], name
        if layer["spatial"]:
            assert layer["features"] > 0 or name in undelivered, name
            assert layer["signature"] == report["qml"][name]["signature"], name


@pytest.mark.qgis
@pytest.mark.slow
def test_qgis_opens_the_register_with_its_form(demo_dir, tmp_path):
    """The demo's register.gpkg in real QGIS: valid, styled, its attribute form as layers/sites.yaml says."""
    from flaechen.layers import load_schema

    require(qgis_available(), "QGIS's Python API (Debian package python3-qgis)")
    register = Path(shutil.copy(demo_dir / "register.gpkg", tmp_path / "register.gpkg"))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path)}
    done = subprocess.run(
        [SYSTEM_PYTHON, str(Path(__file__).with_name("qgis_check.py")), "--form", str(register), "sites"],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["valid"] and report["features"] > 0
    assert report["renderer"] == "categorizedSymbol" and report["layout"] == "tabs"
    assert [t["name"] for t in report["tabs"]] == ["Bearbeitung", "Fläche", "Verlauf"]
    assert "Hemmnisse" in report["tabs"][0]["children"]
    fields = report["fields"]
    schema = load_schema()
    for f in schema.layer("sites").fields:
        assert fields[f.name]["alias"] == f.alias, f.name
        assert fields[f.name]["editable"] is not f.derived, f.name
    assert fields["status"]["widget"] == "ValueMap" and fields["availability"]["widget"] == "ValueMap"
    status_map = fields["status"]["config"]["map"]
    for entry in schema.codelist("site_status").values.values():
        assert entry["label"] in status_map
    assert all(fields[n]["widget"] == "CheckBox" for n in fields if n.startswith("obstacle_"))
    assert fields["note"]["widget"] == "TextEdit" and fields["note"]["config"]["IsMultiline"] is True
    assert fields["edited_by"]["default"] == "@user_account_name"
    assert report["saved"], report["commit_errors"]
    notes = pyogrio.read_dataframe(register, layer="sites", columns=["note"], read_geometry=False)["note"]
    assert (notes == "Notiz aus QGIS").sum() == 1
