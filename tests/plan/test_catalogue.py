"""The criteria catalogue: the bundled file, its validation (every problem at once) and a district's changes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flaechen.errors import ConfigError
from flaechen.plan.catalogue import default_catalogue_path, load_catalogue, parse_catalogue

DOMAIN_THEMES = [
    "Umwelt, Klimaschutz und Klimaanpassung",
    "Soziale Nachhaltigkeit",
    "Wirtschaftliche Entwicklung",
    "Übergeordnete Ziele",
]
DOMAIN_SUBTHEMES = [
    "Treibhausgasneutralität, erneuerbare Energien und Energieeffizienz",
    "Ressourcenbedarf und Kreislaufwirtschaft",
    "Wasser, Boden und Biodiversität",
    "Gesunde und sozialverträgliche Arbeitsbedingungen",
    "Um- und Weiterbildungsangebote",
    "Soziale Infrastruktur und gesunde Umgebung",
    "Innovative Projekte",
    "Ökonomische Wertschöpfung",
]


def _raw() -> dict:
    return yaml.safe_load(default_catalogue_path().read_text(encoding="utf-8"))


def test_bundled_catalogue_has_domain_structure_and_named_measures():
    c = load_catalogue()
    assert [t.title for t in c.themes] == DOMAIN_THEMES
    subs = [s.title for t in c.themes for s in t.subthemes]
    assert all(s in subs for s in DOMAIN_SUBTHEMES)
    assert c.measure("kreislaufwirtschaft").sdgs == (12,)
    assert c.measure("kreislaufwirtschaft").indicator == "Recyclingquote und Anteil der Sekundärrohstoffe"
    assert c.measure("investitionsbereite_infrastruktur").sdgs == (8, 9)
    assert c.measure("investitionsbereite_infrastruktur").indicator == "Anteil der fertiggestellten Infrastruktur"
    assert c.measure("finanzierungsmodell").sdgs == (8, 17)
    assert c.levels == {0: "nicht erreicht", 1: "durchschnittlich", 2: "fortschrittlich", 3: "ambitioniert"}


def test_only_measures_domain_names_claim_konnekt_origin():
    c = load_catalogue()
    konnekt = {m.id for _, _, m in c.walk() if m.origin == "KONNEKT"}
    assert konnekt == {"kreislaufwirtschaft", "investitionsbereite_infrastruktur", "finanzierungsmodell"}
    for _, _, m in c.walk():
        assert set(m.levels) == {1, 2, 3} and all(m.levels.values())
        assert m.description and m.indicator and m.sdgs
    # additions are marked as this project's
    assert c.measure("flaecheneffizienz").origin == "flaechen"
    derived = {m.derive.indicator for _, _, m in c.walk() if m.derive}
    assert derived == {"land_efficiency", "unused_plots", "brownfield", "sealed_share", "green_share", "solar_roof"}


def test_every_problem_of_a_bad_catalogue_is_reported_at_once(tmp_path):
    raw = _raw()
    energy = raw["themes"][0]["subthemes"][0]["measures"]
    energy[0]["sdgs"] = [7, 18]  # no SDG 18
    energy[1]["id"] = energy[2]["id"]  # duplicate id
    del energy[2]["levels"][3]  # level 3 missing
    energy[0]["derive"]["thresholds"] = [3000, 2000, 1000]  # not rising although better = higher
    energy[1]["colour"] = "green"  # unknown key
    raw["themes"][1]["subthemes"][0]["measures"][0]["origin"] = "KONNEKT"  # claims KONNEKT without attestation
    raw["themes"][2]["subthemes"][0]["measures"][0]["implementer"] = "Land"
    path = tmp_path / "katalog.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_catalogue(path)
    text = "\n".join(err.value.problems)
    assert "[18] are no SDG numbers" in text
    assert "is also used at" in text
    assert "needs exactly the levels 1, 2 and 3" in text
    assert "must rise from level 1 to 3" in text
    assert "colour: unknown key" in text
    assert "must list what DOMAIN.md attests" in text
    assert "implementer" in text
    assert len(err.value.problems) >= 7
    assert str(path) in str(err.value)


def test_district_drops_rewords_and_adds_measures():
    changes = {
        "drop": ["arbeitsplaetze"],
        "reword": {
            "regenwasser": {"indicator": "Anteil abflusswirksamer Fläche"},
            "flaecheneffizienz": {"derive": {"thresholds": [0.4, 0.6, 0.8]}},
            "kreislaufwirtschaft": {"description": "Unsere Beschreibung"},
        },
        "add": [
            {
                "id": "laermschutz",
                "subtheme": "infrastruktur_umgebung",
                "title": "Lärmschutz",
                "description": "Lärmarme Betriebe und Schutz der Nachbarschaft.",
                "sdgs": [3, 11],
                "implementer": "Unternehmen und Kommune",
                "indicator": "Beschwerden je Jahr",
                "levels": {1: "a", 2: "b", 3: "c"},
            }
        ],
    }
    c = load_catalogue(changes=changes)
    assert "arbeitsplaetze" not in c.measure_ids
    assert c.measure("regenwasser").indicator == "Anteil abflusswirksamer Fläche"
    assert c.measure("regenwasser").reworded
    assert c.measure("flaecheneffizienz").derive.thresholds == (0.4, 0.6, 0.8)
    assert c.measure("flaecheneffizienz").derive.indicator == "land_efficiency"  # merged, not replaced
    added = c.measure("laermschutz")
    assert added.origin == "Landkreis"
    # a reworded KONNEKT measure no longer claims the reworded attribute as KONNEKT's
    assert c.measure("kreislaufwirtschaft").konnekt == ("title", "sdgs", "indicator")
    assert c.measure_ids.index("laermschutz") > c.measure_ids.index("erreichbarkeit")


def test_bad_changes_are_reported_together():
    with pytest.raises(ConfigError) as err:
        load_catalogue(
            changes={
                "drop": ["gibtsnicht"],
                "reword": {"regenwasser": {"farbe": "blau"}, "nichtda": {"title": "x"}},
                "add": [{"id": "kreislaufwirtschaft", "subtheme": "ressourcen"}, {"id": "neu", "subtheme": "nirgends"}],
                "ersetzen": True,
            }
        )
    problems = err.value.problems
    assert any("no measure 'gibtsnicht' to drop" in p for p in problems)
    assert any("farbe: cannot be reworded" in p for p in problems)
    assert any("no measure 'nichtda' to reword" in p for p in problems)
    assert any("exists already" in p for p in problems)
    assert any("'nirgends' is no sub-theme" in p for p in problems)
    assert any("ersetzen: unknown key" in p for p in problems)


def test_dropping_every_measure_of_a_subtheme_is_refused():
    with pytest.raises(ConfigError, match="would be left without measures"):
        load_catalogue(changes={"drop": ["weiterbildungsangebote"]})


def test_a_district_catalogue_file_replaces_the_bundled_one(tmp_path):
    raw = _raw()
    raw["title"] = "Unser Katalog"
    (tmp_path / "k.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert load_catalogue(changes={"file": "k.yaml"}, base_dir=tmp_path).title == "Unser Katalog"
    with pytest.raises(ConfigError, match="does not exist"):
        load_catalogue(changes={"file": "fehlt.yaml"}, base_dir=tmp_path)


def test_parse_catalogue_without_file_names_keys():
    with pytest.raises(ConfigError) as err:
        parse_catalogue({"name": "catalogue"})
    assert any(p.startswith("themes") for p in err.value.problems)
    assert Path(default_catalogue_path()).name == "catalogue.yaml"
