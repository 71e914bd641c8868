"""XPlanGML read as a standard: each area gets its own plan's name and number via the Bereich relation,
plans selected by name or number, plan_type from the class, XPlanung attributes without `fields`,
GRZ/GFZ of 0 as not set. Real plans from ../shared/data/real/xplan (versions 4.1 to 6.0); the file with
several plans is made in tmp_path from two real Hamburg plans."""

from __future__ import annotations

import re
import textwrap

import pytest

from flaechen.config import load_config
from flaechen.errors import SourceError
from flaechen.pipeline import build_district, check
from flaechen.xplan import xplan_version

pytestmark = pytest.mark.real_data


def _two_plans(shared_real, tmp_path):
    """Rotherbaum27 and HafenCity7 (both XPlanGML 5.2) in one file, as Hamburg delivers several plans at once."""
    first = (shared_real / "xplan" / "BP_Hamburg_Rotherbaum27.gml").read_text(encoding="utf-8")
    second = (shared_real / "xplan" / "BP_Hamburg_HafenCity7.gml").read_text(encoding="utf-8")
    members = second[second.index("<gml:featureMember>") : second.rindex("</xplan:XPlanAuszug>")]
    area = members.index("<xplan:BP_BaugebietsTeilFlaeche ")  # its first Baugebiet says "GRZ 0,00"
    members = members[:area] + members[area:].replace("<xplan:GRZ>1.0</xplan:GRZ>", "<xplan:GRZ>0.00</xplan:GRZ>", 1)
    merged = first[: first.rindex("</xplan:XPlanAuszug>")] + members + "</xplan:XPlanAuszug>\n"
    path = tmp_path / "hamburg_bplaene.gml"
    path.write_text(merged, encoding="utf-8")
    return path


def _config(tmp_path, path, extra: str = "", layer: str = "BP_BaugebietsTeilFlaeche"):
    config = tmp_path / "district.toml"
    config.write_text(
        textwrap.dedent(f"""\
        [district]
        name = "Hamburg"
        [[municipalities]]
        ags = "02000000"
        name = "Hamburg"
        boundary = false
        [[municipalities.sources]]
        id = "bplaene"
        layer = "zoning"
        path = "{path}"
        source_layer = "{layer}"
        """)
        + extra,
        encoding="utf-8",
    )
    return load_config(config)


def test_several_plans_in_one_file_each_area_gets_its_own_plan(shared_real, tmp_path):
    path = _two_plans(shared_real, tmp_path)
    dataset = build_district(_config(tmp_path, path))
    zoning = dataset.layers["zoning"]
    held = {
        name: (shared_real / "xplan" / f"BP_Hamburg_{name}.gml")
        .read_text(encoding="utf-8")
        .count("<xplan:BP_BaugebietsTeilFlaeche ")
        for name in ("Rotherbaum27", "HafenCity7")
    }
    assert zoning["plan_name"].value_counts().to_dict() == held
    assert (zoning["plan_type"] == "BPlan").all()
    assert zoning["zoning_id"].str.startswith("GML_").all()
    assert set(zoning["bes_art"].dropna()) <= {1100, 1200, 1500, 1550, 1600, 1700, 1800}
    assert zoning["allg_art"].notna().all()
    assert zoning["grz"].notna().sum() == len(zoning) - 1  # the GRZ of 0 is empty
    assert set(zoning["rechtsstand"]) == {"3000"}  # the plans' legal status: in Kraft getreten
    unset = dataset.issues[dataset.issues["issue_type"] == "unset-value"]
    assert unset["field"].tolist() == ["grz"] and unset["value"].tolist() == ["0.0"]
    assert dataset.accounting["balanced"].all()


def test_a_source_selects_plans_by_name_or_number(shared_real, tmp_path):
    path = _two_plans(shared_real, tmp_path)
    dataset = build_district(_config(tmp_path, path, 'plans = ["hafencity7"]\n'))
    assert set(dataset.layers["zoning"]["plan_name"]) == {"HafenCity7"}
    filtered = dataset.issues[dataset.issues["issue_type"] == "filtered"]
    assert len(filtered) == 4 and filtered["message"].str.contains("'Rotherbaum27', not one of plans").all()
    config = _config(tmp_path, path, 'plans = ["Altona 12"]\n')
    with pytest.raises(
        SourceError, match=r"'Altona 12' names no plan of the file. Its plans: Rotherbaum27, HafenCity7"
    ):
        build_district(config)
    assert any("names no plan" in p for p in check(config))


@pytest.mark.parametrize(
    ("name", "layer", "version", "plan_type"),
    [
        ("BP_Hamburg_Blankenese29_xplan60.gml", "BP_BaugebietsTeilFlaeche", "6.0", "BPlan"),
        ("BP_Hamburg_BPlan002_xplan51.gml", "BP_BaugebietsTeilFlaeche", "5.1", "BPlan"),
        ("BP_Bremen_2070.gml", "BP_BaugebietsTeilFlaeche", "5.0", "BPlan"),
        ("BP_Bremen_2135.gml", "BP_BaugebietsTeilFlaeche", "5.2", "BPlan"),
        ("FP_FNP_Test_xplan60.gml", "FP_BebauungsFlaeche", "6.0", "FNP"),
    ],
)
def test_real_plans_of_every_version_map_without_fields(shared_real, tmp_path, name, layer, version, plan_type):
    path = shared_real / "xplan" / name
    assert xplan_version(path) == version
    text = path.read_text(encoding="utf-8")
    # the plan object's name (with or without the xplan: prefix, as files differ)
    plan_name = re.search(r"<(?:xplan:)?[BF]P_Plan\b.*?<(?:xplan:)?name>([^<]+)</", text, re.S).group(1)
    config = _config(tmp_path, path, layer=layer)
    dataset = build_district(config)
    zoning = dataset.layers["zoning"]
    assert len(zoning) > 0 and dataset.accounting["balanced"].all()
    assert (zoning["plan_name"] == plan_name.strip()).all()
    assert (zoning["plan_type"] == plan_type).all()
    assert zoning["allg_art"].notna().mean() > 0.5


def test_a_regional_plan_class_is_no_zoning_and_check_says_where_it_belongs(shared_real, tmp_path):
    # The RROP's RP_WohnenSiedlung read as zoning gave 331 areas without plan type, name or use: zoning that
    # seemed delivered and that no rule can read.
    config = _config(tmp_path, shared_real / "xplan" / "RP_RROP_Landkreis_Test_xplan51.gml", layer="RP_WohnenSiedlung")
    problems = check(config)
    assert any("is a class of a Raumordnungsplan (regional plan), not of a B-Plan" in p for p in problems), problems
    assert any("[[flag.constraints]]" in p for p in problems)
    with pytest.raises(SourceError, match="RP_WohnenSiedlung' is a class of a Raumordnungsplan"):
        build_district(config)
    # a B-Plan class of the same kind of file still reads
    plan = _config(tmp_path, shared_real / "xplan" / "BP_Hamburg_Rotherbaum27.gml")
    assert not build_district(plan).layers["zoning"].empty
