"""User-interface texts of the map site (German by default, English as an option), and display styles.

All texts are fixed strings of this module; no data value is ever used as markup.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from flaechen import palette

UI: MappingProxyType[str, MappingProxyType[str, str]] = MappingProxyType(
    {
        "de": MappingProxyType(
            {
                "overview": "Übersicht",
                "municipalities": "Gemeinden",
                "municipality": "Gemeinde",
                "zoning": "Bauleitplanung",
                "brownfields": "Brachflächen",
                "candidates": "Potenzialflächen",
                "buildings": "Gebäude",
                "grid": "Private Flächen (zusammengefasst)",
                "built": "Seit der letzten Erhebung bebaut",
                "built_grid": "Seit der letzten Erhebung bebaut (zusammengefasst)",
                "built_cell": "Seit der letzten Erhebung bebaut",
                "built_cell_text": "{n} bebaute Flächen auf Privatgrund, zusammen {ha} ha",
                "built_category": "Kategorie (bisher)",
                "built_previous": "Letzte Erhebung",
                "built_survey": "Diese Erhebung",
                "built_total": "Seit der letzten Erhebung bebaut",
                "built_counted": "davon nur gezählt (nicht öffentlicher Grund)",
                "note_built": "„Seit der letzten Erhebung bebaut“ vergleicht die Erhebung vom {survey} mit der "
                "vom {previous}: Potenzialflächen, die inzwischen bebaut sind. Auf der Karte stehen nur "
                "solche auf öffentlichem Grund, die übrigen werden je Gemeinde gezählt.",
                "note_built_grid": "„Seit der letzten Erhebung bebaut“ vergleicht die Erhebung vom {survey} mit "
                "der vom {previous}: Potenzialflächen, die inzwischen bebaut sind. Einzeln stehen auf der Karte "
                "nur solche auf öffentlichem Grund; die übrigen werden je Gemeinde gezählt und als Rasterzellen "
                "mit mindestens {n} Flächen gezeigt.",
                "note_built_all": "„Seit der letzten Erhebung bebaut“ vergleicht die Erhebung vom {survey} "
                "mit der vom {previous}: Potenzialflächen, die inzwischen bebaut sind.",
                "legend": "Legende",
                "other_categories": "Weitere Kategorien",
                "layers": "Ebenen",
                "zoom_in": "Vergrößern",
                "zoom_out": "Verkleinern",
                "fullscreen": "Vollbild",
                "fullscreen_exit": "Vollbild beenden",
                "table_title": "Innenentwicklungspotenziale je Gemeinde",
                "chart_title": "Fläche der Potenziale nach Kategorie (Hektar)",
                "population": "Einwohner",
                "count": "Anzahl",
                "hectares": "ha",
                "area_ha": "Fläche (ha)",
                "total": "Summe",
                "m2_per_inhabitant": "m² je Einwohner",
                "inner_m2_per_inhabitant": "Innenentwicklung: m² je Einwohner",
                "dwellings": "Wohneinheiten (geschätzt)",
                "note_inner": "„Innenentwicklung: m² je Einwohner“ zählt die Potenziale im Siedlungsbestand "
                "(ohne Außenreserven) je Einwohner.",
                "note_benchmark": "Richtwert zum Vergleich: {b} m² Innenentwicklungspotenzial je Einwohner "
                "(die BBSR-Baulandumfrage 2020 ermittelte bundesweit rund 10 m²).",
                "private_aggregated": "davon auf Privatgrund (nur zusammengefasst)",
                "private_count": "auf Privatgrund",
                "category": "Kategorie",
                "open_page": "Gemeindeseite öffnen",
                "back": "Zur Übersicht",
                "list_candidates": "Einzeln dargestellte Potenzialflächen",
                "list_brownfields": "Brachflächen",
                "none": "keine",
                "note_title": "Hinweise",
                "note_private": "Potenziale auf privaten Grundstücken (und solche mit unbekanntem Eigentum) "
                "werden nicht einzeln, sondern nur zusammengefasst gezeigt.",
                "note_private_grid": "Potenziale auf privaten Grundstücken werden nur zusammengefasst "
                "gezeigt: als Summe je Gemeinde und als Rasterzellen mit mindestens {n} Flächen.",
                "note_parcels": "Alle Potenziale werden einzeln gezeigt, auch auf privaten Grundstücken "
                "(§ 200 Abs. 3 BauGB).",
                "note_large": "Die Übersicht zeigt wegen der großen Zahl an Flächen nur die Summen je "
                "Gemeinde; die einzelnen Flächen zeigen die Gemeindeseiten.",
                "note_offline": "Diese Karte funktioniert ohne Internetverbindung.",
                "generated": "Erstellt am",
                "licences": "Lizenzen der verwendeten Software",
                "sources_title": "Quellen, Lizenzen und Datenstand",
                "licence": "Lizenz",
                "data_date": "Stand",
                "run_date": "Stand der Auswertung",
                "print_map": "Karte drucken (A3, PDF)",
                "localities": "Ortslagen",
                "localities_choose": "Ortslage wählen …",
                "background": "Hintergrund",
                "cell": "Rasterzelle",
                "cell_text": "{n} Flächen auf Privatgrund, zusammen {ha} ha",
                "yes": "ja",
                "no": "nein",
                "no_data": "Für diese Gemeinde liegen keine Potenzialflächen vor.",
                "skip": "Zur Tabelle springen",
                "map_label": "Karte",
                "more": "Weitere Angaben",
                "choropleth": "Potenzialfläche je Gemeinde",
                "listing_more": "Die {n} größten von {total} Flächen; alle zeigt die Karte.",
            }
        ),
        "en": MappingProxyType(
            {
                "overview": "Overview",
                "municipalities": "Municipalities",
                "municipality": "Municipality",
                "zoning": "Zoning",
                "brownfields": "Brownfields",
                "candidates": "Potential sites",
                "buildings": "Buildings",
                "grid": "Private land (aggregated)",
                "built": "Built on since the last survey",
                "built_grid": "Built on since the last survey (aggregated)",
                "built_cell": "Built on since the last survey",
                "built_cell_text": "{n} sites on private land built on, {ha} ha in all",
                "built_category": "Category (before)",
                "built_previous": "Previous survey",
                "built_survey": "This survey",
                "built_total": "Built on since the last survey",
                "built_counted": "of which only counted (not public land)",
                "note_built": "“Built on since the last survey” compares the survey of {survey} with that "
                "of {previous}: potentials built on since. The map shows those on public land only; the "
                "others are counted per municipality.",
                "note_built_grid": "“Built on since the last survey” compares the survey of {survey} with that "
                "of {previous}: potentials built on since. Only those on public land are drawn one by one; the "
                "others are counted per municipality and shown as grid cells of at least {n} sites.",
                "note_built_all": "“Built on since the last survey” compares the survey of {survey} with "
                "that of {previous}: potentials built on since.",
                "legend": "Legend",
                "other_categories": "Other categories",
                "layers": "Layers",
                "zoom_in": "Zoom in",
                "zoom_out": "Zoom out",
                "fullscreen": "Full screen",
                "fullscreen_exit": "Exit full screen",
                "table_title": "Inner development potential per municipality",
                "chart_title": "Area of potential sites by category (hectares)",
                "population": "Inhabitants",
                "count": "Count",
                "hectares": "ha",
                "area_ha": "Area (ha)",
                "total": "Total",
                "m2_per_inhabitant": "m² per inhabitant",
                "inner_m2_per_inhabitant": "Inner development: m² per inhabitant",
                "dwellings": "Dwellings (estimated)",
                "note_inner": "'Inner development: m² per inhabitant' counts the potential inside the built-up "
                "area (without outer reserves) per inhabitant.",
                "note_benchmark": "Benchmark for comparison: {b} m² of inner development potential per "
                "inhabitant (the BBSR survey 2020 found about 10 m² across Germany).",
                "private_aggregated": "of which on private land (aggregated only)",
                "private_count": "on private land",
                "category": "Category",
                "open_page": "Open the municipality's page",
                "back": "Back to the overview",
                "list_candidates": "Potential sites shown individually",
                "list_brownfields": "Brownfields",
                "none": "none",
                "note_title": "Notes",
                "note_private": "Potential sites on private land (or of unknown ownership) are shown only "
                "as totals, not one by one.",
                "note_private_grid": "Potential sites on private land are shown only as totals per "
                "municipality and as grid cells holding at least {n} sites.",
                "note_parcels": "All potential sites are shown one by one, on private land too.",
                "note_large": "With this many sites the overview shows only totals per municipality; the "
                "municipality pages show the sites.",
                "note_offline": "This map works without an internet connection.",
                "generated": "Generated on",
                "licences": "Licences of the software used",
                "sources_title": "Sources, licences and dates",
                "licence": "licence",
                "data_date": "as of",
                "run_date": "Analysis of",
                "print_map": "Print the map (A3, PDF)",
                "localities": "Localities",
                "localities_choose": "Go to a locality …",
                "background": "Background",
                "cell": "Grid cell",
                "cell_text": "{n} sites on private land, {ha} ha in all",
                "yes": "yes",
                "no": "no",
                "no_data": "No potential sites for this municipality.",
                "skip": "Skip to the table",
                "map_label": "Map",
                "more": "More details",
                "choropleth": "Potential sites per municipality",
                "listing_more": "The {n} largest of {total} sites; the map shows all of them.",
            }
        ),
    }
)

FIELD_LABELS: dict[str, dict[str, str]] = {
    "de": {
        "ags": "Gemeindeschlüssel",
        "name": "Name",
        "population": "Einwohner",
        "parcel_id": "Flurstück",
        "category": "Kategorie",
        "categories": "Alle Kategorien",
        "area_m2": "Fläche (m²)",
        "zoning_class": "Baugebiet",
        "ownership": "Eigentum",
        "capacity_dwellings": "Wohneinheiten (geschätzt)",
        "capacity_floor_area": "Geschossfläche (m², geschätzt)",
        "reasons": "Begründung",
        "site_id": "Kennung",
        "former_use": "Frühere Nutzung",
        "since_year": "Brach seit",
        "contamination_suspected": "Altlastenverdacht",
        "zoning_id": "Kennung",
        "plan_name": "Plan",
        "plan_type": "Planart",
        "allg_art": "Art der Baufläche",
        "bes_art": "Baugebiet",
        "grz": "GRZ",
        "gfz": "GFZ",
        "storeys": "Geschosse",
        "rechtsstand": "Rechtsstand",
        "building_id": "Gebäude",
        "function": "Gebäudefunktion",
        "state": "Zustand",
        "zoning_share": "Anteil des Baugebiets",
        "grz_source": "Herkunft der GRZ",
        "gfz_source": "Herkunft der GFZ",
        "brownfield_share": "Anteil Brachfläche",
        "brownfield_site_id": "Brachfläche (Kennung)",
        "building_count": "Gebäude (Anzahl)",
        "built_area_m2": "Bebaute Fläche (m²)",
        "coverage": "Überbauungsgrad",
        "building_density": "Bebauungsdichte der Umgebung",
        "innenbereich": "Im Innenbereich (Schätzung)",
        "lowered": "Nachrangig (Einschränkung)",
        "constraints": "Einschränkungen",
        "capacity_basis": "Grundlage der Schätzung",
    },
    "en": {
        "ags": "Municipality key (AGS)",
        "name": "Name",
        "population": "Inhabitants",
        "parcel_id": "Parcel",
        "category": "Category",
        "categories": "All categories",
        "area_m2": "Area (m²)",
        "zoning_class": "Zoning",
        "ownership": "Ownership",
        "capacity_dwellings": "Dwellings (estimated)",
        "capacity_floor_area": "Floor area (m², estimated)",
        "reasons": "Reasons",
        "site_id": "Reference",
        "former_use": "Former use",
        "since_year": "Vacant since",
        "contamination_suspected": "Suspected contamination",
        "zoning_id": "Reference",
        "plan_name": "Plan",
        "plan_type": "Plan type",
        "allg_art": "Land-use class",
        "bes_art": "Zone",
        "grz": "Site coverage (GRZ)",
        "gfz": "Floor area ratio (GFZ)",
        "storeys": "Storeys",
        "rechtsstand": "Legal status",
        "building_id": "Building",
        "function": "Function",
        "state": "State",
        "zoning_share": "Share of the zone",
        "grz_source": "Source of the GRZ",
        "gfz_source": "Source of the GFZ",
        "brownfield_share": "Brownfield share",
        "brownfield_site_id": "Brownfield (reference)",
        "building_count": "Buildings",
        "built_area_m2": "Built area (m²)",
        "coverage": "Site coverage",
        "building_density": "Building density around",
        "innenbereich": "Inside the built-up area (estimate)",
        "lowered": "Lower priority (constraint)",
        "constraints": "Constraints",
        "capacity_basis": "Basis of the estimate",
    },
}

PRIMARY_FIELDS = {
    "candidates": ("category", "area_m2", "zoning_class", "ownership", "capacity_dwellings", "reasons"),
    "brownfields": ("name", "site_id", "former_use", "since_year", "ownership", "contamination_suspected"),
    "zoning": ("plan_name", "plan_type", "allg_art", "bes_art", "grz", "gfz", "storeys"),
}
"""Fields a popup shows first; the other allowed fields follow under "Weitere Angaben" (folded)."""

CATEGORY_COLOURS = dict(palette.category_colours())
"""Colours of the candidate categories, from the one palette (``layers/palette.yaml``)."""

OTHER_COLOUR = palette.other_colour()

ZONING_COLOURS = {key: palette.colours("zoning")[key] for key in ("W", "M", "G", "S")}
"""Fill colours of the Bauflächen after PlanZV conventions (W red, M brown, G grey, S orange), from the one
palette (the FNP classes of the QGIS style)."""

ZONING_OTHER = palette.colours("zoning")["Sonstige"]
"""Fill colour of zoning of no Baufläche (W, M, G, S)."""

LAYER_STYLES: dict[str, dict[str, Any]] = {
    "municipalities": {"color": palette.outline_of("municipalities"), "weight": 2, "fillOpacity": 0.0},
    "zoning": {"color": "#999999", "weight": 0.5, "fillOpacity": 0.45},
    "brownfields": {
        "color": palette.outline_of("brownfields"),
        "weight": 2,
        "dashArray": "6 4",
        "fillColor": palette.fill_of("brownfields"),
        "fillOpacity": 0.2,
    },
    "candidates": {"weight": 1.5, "fillOpacity": 0.6},
    "buildings": {
        "color": palette.outline_of("buildings"),
        "weight": 0.5,
        "fillColor": palette.fill_of("buildings"),
        "fillOpacity": 0.6,
    },
    "grid": {
        "color": palette.outline_of("grid"),
        "weight": 1,
        "dashArray": "3 3",
        "fillColor": palette.fill_of("grid"),
        "fillOpacity": 0.35,
    },
    "built_grid": {
        "color": palette.outline_of("built_on"),
        "weight": 1.5,
        "dashArray": "4 3",
        "fillColor": palette.fill_of("built_on"),
        "fillOpacity": 0.15,
    },
    "built": {
        "color": palette.outline_of("built_on"),
        "weight": 2,
        "fillColor": palette.fill_of("built_on"),
        "fillOpacity": 0.3,
    },
}
"""Leaflet path options of each layer; their colours from the one palette (``layers/palette.yaml``)."""


def field_label(field: str, language: str) -> str:
    """The display label of a field, falling back to its name."""
    return FIELD_LABELS.get(language, FIELD_LABELS["de"]).get(field, field)
