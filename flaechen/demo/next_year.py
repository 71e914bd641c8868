"""The demo district's second delivery, a year later, derived from the first one's files.

What changed on the ground and in the files, the way a year changes a district:

- **built on**: several Baulücken got a house (a new building in the municipality's building file);
- **a parcel split**: a large potential was divided into two parcels (Zähler kept, Nenner 1 and 2);
- **a new brownfield**: a commercial parcel fell out of use and is registered as a Brachfläche;
- **a plan changed**: a municipality took a Wohnbaufläche out of its FNP (its Außenreserven go);
- **renumbering**: Lindenhöh's parcels were renumbered (a new Flur after a Neuvermessung): the same land
  under new Flurstückskennzeichen, which the register follows by geometry.

Only files in formats that keep their geometry exactly (GeoPackage, GeoJSON) are edited; everything else
is copied as delivered. ``next_year.json`` beside the configuration lists each change (the register's
``changes`` table of the second run should report them).

Examples
--------
>>> import json
>>> config = derive_next_year(Path("out/demo/input"), Path("out/demo/district.gpkg"), Path("input-next"))
>>> config.name
'district.toml'
>>> changes = json.loads((config.parent / "next_year.json").read_text(encoding="utf-8"))
>>> sorted({change["change"] for change in changes})
['Teilung', 'Umnummerierung', 'bebaut', 'neue Brachfläche']
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from shapely.geometry import box

from flaechen.config import DistrictConfig, SourceConfig, load_config
from flaechen.district import read_district

if TYPE_CHECKING:
    from flaechen.pipeline import RunResult

log = logging.getLogger(__name__)

FIRST_SURVEY = "2025-04-01"
NEXT_SURVEY = "2026-04-01"
MANIFEST = "next_year.json"
BUILT_ON = 4
"""Baulücken built on between the two deliveries: at least this many, and one in 25 of a larger district's."""
BUILT_ON_PUBLIC = 4
"""Of the lots built on, one in this many is a municipality's own plot (sold and built on): at least one,
so that the map site has a built-on site on public land to draw."""
RENUMBERED_AGS = "07999006"
"""Lindenhöh renumbers its parcels (a Shapefile in UTF-8: attributes rewritten, geometry untouched)."""
_EDITABLE = (".gpkg", ".geojson", ".json")
_SURVEY_LINE = re.compile(r"^survey\s*=.*$", re.M)


def set_survey(config_path: Path, survey: str) -> None:
    """Set ``[register] survey`` of a demo configuration (adding the table where it is missing)."""
    text = config_path.read_text(encoding="utf-8")
    if "[register]" not in text:
        text = text.rstrip("\n") + f"\n\n[register]\nsurvey = {survey}\n"
    else:
        head, _, tail = text.partition("[register]")
        tail = (
            _SURVEY_LINE.sub(f"survey = {survey}", tail, count=1)
            if _SURVEY_LINE.search(tail)
            else (f"\nsurvey = {survey}" + tail)
        )
        text = head + "[register]" + tail
    config_path.write_text(text, encoding="utf-8")


def _source(
    config: DistrictConfig, ags: str, layer: str, *, formats: tuple[str, ...] = _EDITABLE
) -> SourceConfig | None:
    for src in config.sources:
        if src.ags == ags and src.layer == layer and src.path.suffix.lower() in formats and not src.where:
            found: SourceConfig = src
            return found
    return None


def _read(src: SourceConfig) -> gpd.GeoDataFrame:
    frame = pyogrio.read_dataframe(src.path, layer=src.source_layer)
    if frame.crs is None and src.crs:
        frame = frame.set_crs(src.crs)
    return frame


def _write(src: SourceConfig, frame: gpd.GeoDataFrame) -> None:
    """Write a whole source layer back in its own format and CRS."""
    if src.path.suffix.lower() == ".shp":
        encoding = src.encoding or "UTF-8"
        pyogrio.write_dataframe(frame, src.path, driver="ESRI Shapefile", encoding=encoding)
    elif src.path.suffix.lower() == ".gpkg":
        layer = src.source_layer or pyogrio.list_layers(src.path)[0][0]
        pyogrio.write_dataframe(frame, src.path, layer=layer, driver="GPKG", layer_options={"OVERWRITE": "YES"})
    else:
        tmp = src.path.with_suffix(".tmp.geojson")
        pyogrio.write_dataframe(frame, tmp, driver="GeoJSON")
        tmp.replace(src.path)


def _field(src: SourceConfig, name: str) -> str:
    return src.fields.get(name, name)


def _new_row(frame: gpd.GeoDataFrame, geom: Any, crs: Any, values: dict[str, Any]) -> gpd.GeoDataFrame:
    """A copy of the frame's first row with new values and a geometry given in `crs`."""
    row = frame.iloc[[0]].copy()
    for column in row.columns:
        if column != row.geometry.name and column not in values:
            row[column] = row[column].iloc[0]
    for key, value in values.items():
        row[key] = value
    row = row.set_geometry(gpd.GeoSeries([geom], crs=crs).to_crs(frame.crs).values)
    return row


def derive_next_year(first: Path, district_gpkg: Path, out: Path, *, survey: str = NEXT_SURVEY) -> Path:
    """Write the second delivery into `out` and return its configuration.

    Parameters
    ----------
    first
        The first delivery (``district.toml`` and ``sources/``).
    district_gpkg
        The district dataset built from the first delivery (its candidates choose where things change).
    out
        Target folder (replaced).
    survey
        The second survey's date.
    """
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(first, out)
    config_path = out / "district.toml"
    set_survey(config_path, survey)
    config = load_config(config_path)
    crs = config.crs
    read = read_district(
        district_gpkg,
        layers=["candidates", "parcels", "parcel_measures"],
        columns={"parcels": ["parcel_id", "ags", "actual_use"]},
    )
    candidates, parcels, measures = read["candidates"], read["parcels"], read["parcel_measures"]
    manifest: list[dict[str, Any]] = []
    _build_on(config, candidates, crs, manifest)
    _split(config, candidates, crs, manifest)
    _new_brownfield(config, parcels, measures, crs, manifest)
    _plan_changed(config, candidates, manifest)
    _renumber(config, manifest)
    (out / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    log.info("second delivery written to %s: %d changes on the ground", out, len(manifest))
    return config_path


def _build_on(config: DistrictConfig, candidates: gpd.GeoDataFrame, crs: Any, manifest: list[dict[str, Any]]) -> None:
    """Build a house on Baulücken, spread over the municipalities (one each, then more where needed)."""
    lots = candidates[(candidates["category"] == "Baulücke") & (candidates["ags"] != RENUMBERED_AGS)]
    lots = lots.sort_values(["ags", "parcel_id"])
    editable = {ags for ags in set(lots["ags"]) if _source(config, ags, "buildings") is not None}
    lots = lots[lots["ags"].isin(editable)]
    count = max(BUILT_ON, len(lots) // 25)
    owned = lots["ownership"] if "ownership" in lots.columns else pd.Series(None, index=lots.index)
    public = owned.astype("string").eq("public").fillna(False).to_numpy(dtype=bool)

    def spread(part: gpd.GeoDataFrame, n: int) -> gpd.GeoDataFrame:
        """The first `n` lots taking one per municipality in turn."""
        return part.assign(_rank=part.groupby("ags").cumcount()).sort_values(["_rank", "ags"]).head(n)

    # a few municipal plots first (at least one where there is any), then the others
    order = pd.concat([spread(lots[public], max(1, count // BUILT_ON_PUBLIC)), spread(lots[~public], count)])
    order = order.head(count)
    for ags, group in order.groupby("ags"):
        src = _source(config, ags, "buildings")
        if src is None:
            continue
        frame = _read(src)
        id_field = _field(src, "building_id")
        rows: list[gpd.GeoDataFrame] = []
        for _, lot in group.iterrows():
            centre = lot.geometry.representative_point()
            side = max(8.0, min(14.0, np.sqrt(lot.geometry.area) * 0.4))
            house = shapely.intersection(
                box(centre.x - side / 2, centre.y - side / 2, centre.x + side / 2, centre.y + side / 2), lot.geometry
            )
            new_id = f"DERP{ags[-3:]}N{len(rows):09d}"
            values: dict[str, Any] = {id_field: new_id}
            for name, default in (("state", None), ("storeys", 2), ("function", "Wohnhaus")):
                column = _field(src, name)
                if column in frame.columns:
                    values[column] = default
            rows.append(_new_row(frame, house, crs, values))
            manifest.append({"change": "bebaut", "ags": ags, "parcel_id": lot["parcel_id"], "building_id": new_id})
        _write(src, pd.concat([frame, *rows], ignore_index=True))


def _split(config: DistrictConfig, candidates: gpd.GeoDataFrame, crs: Any, manifest: list[dict[str, Any]]) -> None:
    built = {m["parcel_id"] for m in manifest}
    pool = candidates[
        candidates["category"].isin(["Außenreserve", "Brachfläche", "Untergenutzte Fläche"])
        & (candidates["ags"] != RENUMBERED_AGS)
        & ~candidates["parcel_id"].isin(built)
        & candidates["area_m2"].between(2_000, 20_000)
    ].sort_values(["ags", "parcel_id"])
    for _, cand in pool.iterrows():
        src = _source(config, cand["ags"], "parcels")
        if src is None:
            continue
        frame = _read(src)
        key = _field(src, "parcel_id")
        hit = frame.index[frame[key].astype(str) == cand["parcel_id"]]
        if len(hit) != 1 or cand["parcel_id"][14:18] != "0000":
            continue
        geom = cand.geometry
        minx, miny, maxx, maxy = geom.bounds
        mid = (minx + maxx) / 2
        halves = [
            shapely.intersection(geom, box(minx - 1, miny - 1, mid, maxy + 1)),
            shapely.intersection(geom, box(mid, miny - 1, maxx + 1, maxy + 1)),
        ]
        original = frame.loc[hit]
        parts = []
        for n, half in enumerate(halves, start=1):
            pid = cand["parcel_id"][:14] + f"{n:04d}" + "__"
            values = {key: pid}
            if _field(src, "nenner") in frame.columns:
                values[_field(src, "nenner")] = str(n)
            if _field(src, "official_area") in frame.columns:
                values[_field(src, "official_area")] = round(half.area)
            part = _new_row(original, half, crs, values)
            parts.append(part)
        _write(src, pd.concat([frame.drop(index=hit), *parts], ignore_index=True))
        manifest.append(
            {
                "change": "Teilung",
                "ags": cand["ags"],
                "parcel_id": cand["parcel_id"],
                "into": [cand["parcel_id"][:14] + f"{n:04d}__" for n in (1, 2)],
            }
        )
        return


def _new_brownfield(
    config: DistrictConfig, parcels: gpd.GeoDataFrame, measures: pd.DataFrame, crs: Any, manifest: list[dict[str, Any]]
) -> None:
    status = measures.set_index("parcel_id")["status"]
    use = parcels["actual_use"].fillna("").astype(str)
    for ags in sorted(set(parcels["ags"])):
        if ags == RENUMBERED_AGS:
            continue
        src = _source(config, ags, "brownfields")
        if src is None:
            continue
        pool = parcels[
            (parcels["ags"] == ags)
            & use.str.contains("Gewerbe|Industrie|Handel", regex=True)
            & parcels.geometry.area.between(1_500, 15_000)
        ]
        pool = pool[pool["parcel_id"].map(status).fillna("kein Kandidat") == "kein Kandidat"]
        if pool.empty:
            continue
        parcel = pool.sort_values("parcel_id").iloc[0]
        frame = _read(src)
        site_id = f"BF-{ags}-N1"
        values: dict[str, Any] = {_field(src, "site_id"): site_id}
        for name, value in (
            ("name", "Ehemaliges Sägewerk"),
            ("former_use", "Gewerbe"),
            ("since_year", 2025),
            ("contamination_suspected", False),
            ("notes", "intern: neu gemeldet 2026"),
        ):
            column = _field(src, name)
            if column in frame.columns:
                values[column] = value
        row = _new_row(frame, parcel.geometry.buffer(-0.5), crs, values)
        _write(src, pd.concat([frame, row], ignore_index=True))
        manifest.append(
            {"change": "neue Brachfläche", "ags": ags, "parcel_id": parcel["parcel_id"], "site_id": site_id}
        )
        return


def _plan_changed(config: DistrictConfig, candidates: gpd.GeoDataFrame, manifest: list[dict[str, Any]]) -> None:
    """Take an FNP Wohnbaufläche with an Außenreserve (and the fewest other potentials) out of the plan."""
    reserves = candidates[(candidates["category"] == "Außenreserve") & (candidates["plan_type"] == "FNP")]
    for src in config.sources:
        if src.layer != "zoning" or src.path.suffix.lower() not in _EDITABLE or src.ags == RENUMBERED_AGS:
            continue
        frame = _read(src)
        plan_type = src.values.get("plan_type")
        if plan_type is None and _field(src, "plan_type") in frame.columns:
            is_fnp = (frame[_field(src, "plan_type")].astype(str) == "FNP").to_numpy()
        else:
            is_fnp = np.full(len(frame), plan_type == "FNP")
        here = reserves[reserves["ags"] == src.ags]
        if here.empty or not is_fnp.any():
            continue
        geoms = gpd.GeoSeries(frame.geometry.values, crs=frame.crs).to_crs(candidates.crs)
        points = here.geometry.representative_point()
        everything = candidates[candidates["ags"] == src.ags].geometry.representative_point()
        counts = [int(points.within(g).sum()) if fnp else 0 for g, fnp in zip(geoms, is_fnp, strict=True)]
        affected = [int(everything.within(g).sum()) for g in geoms]
        options = [i for i, n in enumerate(counts) if n >= 1]
        if not options:
            continue
        drop = min(options, key=lambda i: (affected[i], i))  # the smallest change that takes a reserve
        key = _field(src, "zoning_id")
        manifest.append(
            {
                "change": "Planänderung",
                "ags": src.ags,
                "zoning_id": str(frame.iloc[drop][key]) if key in frame.columns else str(drop),
                "parcels": sorted(here.loc[points.within(geoms.iloc[drop]), "parcel_id"]),
            }
        )
        _write(src, frame.drop(index=frame.index[drop]))
        return


def _renumber(config: DistrictConfig, manifest: list[dict[str, Any]]) -> None:
    src = _source(config, RENUMBERED_AGS, "parcels", formats=(*_EDITABLE, ".shp"))
    if src is None:
        return
    frame = _read(src)
    key = _field(src, "parcel_id")
    flur = _field(src, "flur")
    ids = frame[key].astype("string")
    valid = ids.str.fullmatch(r"\d{18}__").fillna(False)
    new_flur = ids[valid].str[6:9].map(lambda f: f"{int(f) + 100:03d}")
    frame.loc[valid, key] = ids[valid].str[:6] + new_flur + ids[valid].str[9:]
    if flur in frame.columns:
        frame.loc[valid, flur] = new_flur
    _write(src, frame)
    manifest.append({"change": "Umnummerierung", "ags": RENUMBERED_AGS, "parcels": int(valid.sum())})


# ------------------------------------------------------------------------------- planners' edits, both runs
PLANNER = "demo-planerin"


def seed_planner_edits(register: Path, manifest_path: Path | None = None) -> list[str]:
    """Record a few planners' edits in the register between the two runs, with a plain SQLite client.

    Edits sites the second delivery changes (so the carry-over is visible: a note on a lot that will be
    built on, on the parcel that will be split, on a renumbered parcel) and a few others. Returns the
    site ids edited.
    """
    import sqlite3
    from contextlib import closing

    watched: list[str] = []
    if manifest_path is not None and manifest_path.is_file():
        for entry in json.loads(manifest_path.read_text(encoding="utf-8")):
            if "parcel_id" in entry:
                watched.append(entry["parcel_id"])
            elif isinstance(entry.get("parcels"), list):
                watched += entry["parcels"][:1]
    edits = [
        ("in_bau", "sofort", "Bauantrag eingegangen; Baubeginn im Herbst.", {}),
        ("angesprochen", "bis_5_jahre", "Eigentümer will teilen und einen Teil verkaufen.", {"obstacle_owner": 1}),
        ("bereit", "sofort", "Erbengemeinschaft verkaufsbereit, Wertgutachten liegt vor.", {}),
        ("nicht_bereit", "spaeter", "Eigentümer lehnt ab (Gespräch März 2025).", {"obstacle_owner": 1}),
        ("in_planung", "bis_5_jahre", "Altlastengutachten beauftragt.", {"obstacle_contamination": 1}),
        ("angesprochen", "unbekannt", "Erschließung fehlt; Kostenschätzung angefragt.", {"obstacle_servicing": 1}),
        ("in_planung", "bis_5_jahre", "Bebauungsplan-Aufstellung beschlossen.", {"obstacle_planning_law": 1}),
        ("unbekannt", "unbekannt", "Lärm der Kreisstraße prüfen.", {"obstacle_noise": 1}),
    ]
    edited: list[str] = []
    with closing(sqlite3.connect(register)) as db:
        rows = db.execute("SELECT site_id, parcel_ids, ags FROM sites ORDER BY site_id").fetchall()
        chosen = [r for p in watched for r in rows if p in (r[1] or "").split(";")]
        renumbered = [r for r in rows if r[2] == RENUMBERED_AGS][:1]
        others = [r for r in rows if r not in chosen and r not in renumbered][:: max(1, len(rows) // 6)]
        for (site_id, _, _), (status, availability, note, flags) in zip(
            [*renumbered, *chosen, *others], edits, strict=False
        ):
            sets = ", ".join(f"{k} = ?" for k in flags)
            db.execute(
                "UPDATE sites SET status = ?, availability = ?, note = ?, edited_by = ?, edited_at = ?"
                + (f", {sets}" if sets else "")
                + " WHERE site_id = ?",
                (status, availability, note, PLANNER, f"{FIRST_SURVEY}T10:00:00", *flags.values(), site_id),
            )
            edited.append(site_id)
        db.commit()
    log.info("seeded planners' edits on %d register sites: %s", len(edited), ", ".join(edited))
    return edited


def run_two_surveys(
    out: Path,
    *,
    scale: int,
    seed: int,
    progress: Callable[[str, int, int], None] | None = None,
    publish: bool = True,
    on_first: Callable[[RunResult], None] | None = None,
) -> RunResult:
    """Generate the demo, run the first delivery, seed planners' edits, derive and run the second one.

    The demo's register is started afresh (``out/register.gpkg`` is replaced): it is generated data.
    `on_first` is called with the first run's result while its dataset is in `out` (e.g. to evaluate it
    against the planted truth, which describes the first delivery). Returns the second run's
    :class:`~flaechen.pipeline.RunResult`.
    """
    from flaechen.demo.generate import generate_demo
    from flaechen.pipeline import run

    first_config = generate_demo(out / "input", scale=scale, seed=seed)
    set_survey(first_config, FIRST_SURVEY)
    (out / "register.gpkg").unlink(missing_ok=True)
    first = run(load_config(first_config), out, progress=progress, publish=False)
    if on_first is not None:
        on_first(first)
    second_config = derive_next_year(out / "input", first.gpkg, out / "input-2026")
    seed_planner_edits(out / "register.gpkg", second_config.parent / MANIFEST)
    return run(load_config(second_config), out, progress=progress, publish=publish)
