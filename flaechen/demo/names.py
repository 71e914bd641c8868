"""Fictional names for the demo district: municipalities, people, firms, streets.

All names are invented combinations; any resemblance to real persons is coincidental. Umlauts, ß and
cp1252-only characters (– „ “ €) are deliberate: they test attribute encodings.
"""

from __future__ import annotations

from dataclasses import dataclass

LAND = "07"
"""Land code of Rheinland-Pfalz (first two digits of AGS and Flurstückskennzeichen)."""

KREIS = "999"
"""A fictional Kreis code: no AGS of the demo collides with a real one."""

DISTRICT_NAME = "Landkreis Beispielkreis"

HOSTILE_NAMES = {
    "brownfield_markup": "<img src=x onerror=alert(1)>",
    "brownfield_template": "Lager {{ lipsum.__globals__ }} {% Nord",
    "plan_template": "Nr. 1 {{ 7*7 }} {% Nord {# Süd",
    "xplan_template": "Nr. 12 Im Wiesengrund {{ 7*7 }} & <Süd> ]]>",
}
"""Hostile values the demo delivers (markup, template syntax, XML specials): the map site, the QGIS
project and the exports must show them literally. Brownfield names (the markup one on a private site
of Kelberath, the template one on Wiesenau's public Güterbahnhof), the first B-Plan name of Mühlental
(a cp1252 Shapefile) and the plan name inside Wiesenau's XPlanGML file; the demo configuration gives
that plan a hostile ``plan_name`` as well."""


@dataclass(frozen=True)
class MunicipalitySpec:
    """A fictional municipality (Ortsgemeinde) of the demo district."""

    number: int
    name: str
    slug: str
    population: int
    gemarkungen: tuple[tuple[int, str], ...]

    @property
    def ags(self) -> str:
        """The 8-character AGS, e.g. ``07999001``."""
        return f"{LAND}{KREIS}{self.number:03d}"


MUNICIPALITIES: tuple[MunicipalitySpec, ...] = (
    MunicipalitySpec(1, "Hohenmaar", "hohenmaar", 12400, ((4711, "Hohenmaar"), (4712, "Hohenmaar-Tal"))),
    MunicipalitySpec(2, "Mühlental", "muehlental", 8900, ((4721, "Mühlental"), (4722, "Niederweiß"))),
    MunicipalitySpec(3, "Kelberath", "kelberath", 6300, ((4731, "Kelberath"),)),
    MunicipalitySpec(4, "Wiesenau", "wiesenau", 4800, ((4741, "Wiesenau"), (4742, "Oberwiesenau"))),
    MunicipalitySpec(5, "Steinbüchel", "steinbuechel", 3100, ((4751, "Steinbüchel"),)),
    MunicipalitySpec(6, "Lindenhöh", "lindenhoeh", 2200, ((4761, "Lindenhöh"), (4762, "Krähwinkel"))),
)

FIRST_NAMES = (
    "Anna",
    "Bernd",
    "Christa",
    "Dieter",
    "Elke",
    "Frank",
    "Gisela",
    "Günther",
    "Hans-Jürgen",
    "Ilse",
    "Jörg",
    "Karin",
    "Lothar",
    "Marlene",
    "Norbert",
    "Ortrud",
    "Peter",
    "Renate",
    "Sönke",
    "Ursula",
    "Volker",
    "Waltraud",
    "Björn",
    "Käthe",
    "Jürgen",
    "Hildegard",
    "Matthias",
    "Sabine",
    "Thomas",
    "Zoë",
)

LAST_NAMES = (
    "Müller",
    "Schäfer",
    "Weiß",
    "Krämer",
    "Bäcker",
    "Schröder",
    "Hoffmann",
    "Jüngling",
    "Lößner",
    "Wagner",
    "Becker",
    "Schmitz",
    "Klein",
    "Hürter",
    "Mertes",
    "Thelen",
    "Görgen",
    "Pütz",
    "Reuter",
    "Zöller",
    "Kreuzberg",
    "Mohr",
    "Nießen",
    "Falkenstein",
    "Oberhäuser",
    "Dörr",
    "Steffes",
    "Kühn",
    "Brück",
    "Wirtz",
)

FIRMS = (
    "Eifeler Baustoffe GmbH",
    "Maarblick Logistik GmbH & Co. KG",
    "Holzbau Görgen GmbH",
    "Vulkanstein Naturstein AG",
    "Autohaus Thelen e. K.",
    "Landtechnik Pütz GmbH",
    "Brückner Metallbau GmbH",
    "Eifel-Molkerei eG",
    "Schreinerei Mertes",
    "Elektro Zöller GmbH",
)

STREETS = (
    "Hauptstraße",
    "Kirchstraße",
    "Mühlenweg",
    "Am Maarufer",
    "Schulstraße",
    "Lindenstraße",
    "Im Wiesengrund",
    "Bahnhofstraße",
    "Zur Höhe",
    "Brückenstraße",
    "Gartenstraße",
    "Am Sportplatz",
    "Römerstraße",
    "Auf der Lüh",
    "Kapellenweg",
    "Industriestraße",
    "Grüner Weg",
    "Talstraße",
)
