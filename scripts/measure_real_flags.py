"""Measure the flags on the real full-ALKIS sets of Monzel (RLP) and Massenheim (Hessen).

For each set: the agreement of the Innenbereich estimate with the settlement land use of the same ALKIS
(per parcel and by area, all settlement parcels and the settlement cores), and the Baulücke candidates of
the village as a stand-in for a surveyed one — with the estimate, with an Ortslage-like built-up area
derived from the settlement land use, and with the naive rule of issue 11 (inside the Ortslage, no
building, 200–2,500 m², not street or water) — and the same run without building footprints (nothing may
rely on their absence). Prints Markdown tables (the flag README quotes them).

    PYTHONPATH=. .venv/bin/python scripts/measure_real_flags.py [../shared/data/real/alkis_full]
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pandas as pd

from flaechen.flag import flag, load_rules
from flaechen.flag.agreement import innenbereich_agreement, ortslage_from_land_use, read_full_alkis, settlement_cores

SETS = {
    "Monzel (RLP)": ("monzel_rlp_nas.gpkg", "07231103"),
    "Massenheim (Hessen)": ("massenheim_hessen_nas.gpkg", "06436006"),
}
NAIVE_EXCLUDED = ("Straßenverkehr", "Weg", "Platz", "Bahnverkehr", "Fließgewässer", "Stehendes Gewässer")


def main(folder: Path) -> None:
    rules = load_rules()
    agreement_rows, village_rows = [], []
    for label, (file, ags) in SETS.items():
        layers = read_full_alkis(str(folder / file), ags=ags)
        result = flag(layers, rules=rules, workers=1)
        m = result.measures
        core = settlement_cores(
            layers["parcels"].geometry.to_numpy(),
            layers["buildings"].geometry.to_numpy(),
            m["use"],
            min_building_area=rules["innenbereich.min_building_area_m2"],
            gap_area=rules["innenbereich.gap_area_m2"],
        )
        agreement_rows.append({"set": label, **innenbereich_agreement(m, core=core)})
        cats = result.candidates["category"].value_counts()

        ortslage = ortslage_from_land_use(layers["land_use"], ags=ags)
        with_ol = flag({**layers, "built_up_area": ortslage}, rules=rules, workers=1)
        cats_ol = with_ol.candidates["category"].value_counts()
        mo = with_ol.measures
        naive = (
            mo["inside"].astype("boolean").fillna(False)
            & (mo["building_count"].astype(float) == 0)
            & mo["area_m2"].astype(float).between(200, 2500)
            & ~mo["use"].astype("string").isin(NAIVE_EXCLUDED).fillna(False)
        )
        no_footprints = flag({**layers, "buildings": layers["buildings"].iloc[0:0]}, rules=rules, workers=1)
        relying = no_footprints.candidates["category"].isin(["Baulücke", "Außenreserve", "Untergenutzte Fläche"]).sum()
        village_rows.append(
            {
                "set": label,
                "parcels": len(m),
                "Baulücken (estimate)": int(cats.get("Baulücke", 0)),
                "Baulücken (Ortslage from land use)": int(cats_ol.get("Baulücke", 0)),
                "naive rule (same Ortslage)": int(naive.sum()),
                "candidates relying on absent buildings, run without footprints": int(relying),
            }
        )
        logging.getLogger(__name__).info("%s done", label)
    print(_markdown(pd.DataFrame(agreement_rows)))
    print()
    print(_markdown(pd.DataFrame(village_rows)))


def _markdown(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "alkis_full"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
