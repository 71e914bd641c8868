"""Measure the flags on the real full-ALKIS sets of Monzel (RLP) and Massenheim (Hessen).

For each set: the agreement of the Innenbereich estimate with the settlement land use of the same ALKIS
(per parcel and by area, all settlement parcels and the settlement cores), and the Baulücke candidates of
the village as a stand-in for a surveyed one — with the estimate, and with two Ortslage-like built-up
areas derived from the settlement land use (``built_up_area`` of kind ``ortslage``, as the ATKIS Ortslage
would be delivered): a tight one (closed over 15 m) and one that, like the ATKIS Ortslage, encloses the
plots between the houses (closed over 35 m, enclosed open land under 4,900 m² filled). For each Ortslage
the naive rule of issue 11 (at least half inside the Ortslage, no building, 200–2,500 m², not street or
water) for comparison: its lots, how many of them the flags find, and which condition rejects the rest;
and the same run without building footprints (nothing may rely on their absence). Prints Markdown tables
(the flag README quotes them).

    PYTHONPATH=. .venv/bin/python scripts/measure_real_flags.py [../shared/data/real/alkis_full]
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from pathlib import Path

import pandas as pd

from flaechen.flag import flag, load_rules
from flaechen.flag.agreement import (
    innenbereich_agreement,
    naive_bauluecken,
    ortslage_from_land_use,
    read_full_alkis,
    settlement_cores,
)
from flaechen.flag.categories import failed_conditions

SETS = {
    "Monzel (RLP)": ("monzel_rlp_nas.gpkg", "07231103"),
    "Massenheim (Hessen)": ("massenheim_hessen_nas.gpkg", "06436006"),
}


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
        baulücken = m["categories"].astype("string").str.contains("Baulücke").fillna(False)

        row: dict[str, object] = {"set": label, "parcels": len(m), "Baulücken (estimate)": int(baulücken.sum())}
        for name, close, fill in (("tight Ortslage", 15.0, 0.0), ("DLM-like Ortslage", 35.0, 4900.0)):
            ortslage = ortslage_from_land_use(layers["land_use"], ags=ags, close_m=close, fill_holes_m2=fill)
            mo = flag({**layers, "built_up_area": ortslage}, rules=rules, workers=1).measures
            ours = mo["categories"].astype("string").str.contains("Baulücke").fillna(False).to_numpy(dtype=bool)
            naive = naive_bauluecken(mo)
            rejected: Counter[str] = Counter()
            for _, r in mo[naive & ~ours].iterrows():
                for text in failed_conditions(r.to_dict(), "bauluecke", rules=rules):
                    rejected[text.split(":")[0]] += 1
            row[f"Baulücken ({name})"] = int(ours.sum())
            row[f"of which at the edge ({name})"] = int((ours & mo["built_up_edge"].fillna(False).to_numpy()).sum())
            row[f"naive rule ({name})"] = int(naive.sum())
            row[f"naive lots flagged ({name})"] = int((naive & ours).sum())
            row[f"naive lots rejected because ({name})"] = ", ".join(f"{k} {v}" for k, v in rejected.most_common())
        no_footprints = flag({**layers, "buildings": layers["buildings"].iloc[0:0]}, rules=rules, workers=1)
        relying = no_footprints.candidates["category"].isin(["Baulücke", "Außenreserve", "Untergenutzte Fläche"]).sum()
        row["candidates relying on absent buildings, run without footprints"] = int(relying)
        village_rows.append(row)
        logging.getLogger(__name__).info("%s done", label)
    print(_markdown(pd.DataFrame(agreement_rows)))
    print()
    print(_markdown(pd.DataFrame(village_rows).set_index("set").T.reset_index().rename(columns={"index": "measure"})))


def _markdown(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "alkis_full"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
