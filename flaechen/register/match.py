"""Carry the register over to a new survey: match its sites to this run's candidates.

Pure computation (frames in, frames out); :mod:`flaechen.register.store` applies the result.

The rules, in order (thresholds in :class:`~flaechen.register.settings.RegisterSettings`):

1. A site in state ``ungeklärt`` marked ``decision = beenden`` by a planner ends (``entfallen``, "vom Planer
   beendet"); the decision is read only for sites in conflict.
2. **Parcel key**: a site whose parcel keys are among the candidates' continues on those candidates, if
   the land is still the same: the candidates and the site overlap by at least ``ignore_overlap`` of each.
   The same key on other land (a renumbering that reused a number) is a conflict.
3. **Geometry**: the remaining sites and candidates are linked where they overlap by at least
   ``ignore_overlap`` of either; each connected group is resolved as
   - one site, one candidate, both overlapping by ``same_land`` → renumbered or redrawn: the site continues;
   - one site, candidates each ``contained`` in it → split (or a remainder): the site continues on them;
   - sites each ``contained`` in one candidate → merge: the site with planners' edits continues (the
     largest where none has edits); the others end ("zusammengelegt mit …"). Where several carry edits,
     the run cannot choose: conflict;
   - anything else (a candidate partly over several sites, n:m) → conflict.
   A conflict leaves the sites as they were in state ``ungeklärt`` and adds no new site for its
   candidates; the issue log lists it. A planner decides with the field ``decision``: ``fortführen``
   assigns each candidate of the group to the site it overlaps most, ``beenden`` ends the site.
4. A site left without a candidate ends (``entfallen``) with the reason found on its land now: built on
   (new building footprint ≥ ``built_area_min``; only where the municipality delivered buildings), excluded
   by a constraint, plan changed, below the minimum area, parcel no longer delivered, or the criteria no
   longer met. Sites of a municipality that delivered no parcels this time are kept as they were.
5. Every candidate left is a new site.

Examples
--------
The demo's register carried over to the same candidates a year later: every site continues, nothing changes.

>>> from flaechen.district import read_district
>>> from flaechen.register import GpkgRegister
>>> layers = read_district("out/demo", layers=["parcels", "buildings", "candidates", "parcel_measures"])
>>> context = SurveyContext(parcels=layers["parcels"], measures=layers["parcel_measures"],
...                         buildings=layers["buildings"])
>>> sites = GpkgRegister("out/demo/register.gpkg").read(crs=layers["candidates"].crs).sites
>>> result = carry_over(sites, layers["candidates"], context=context, survey="2027-04-01",
...                     previous_survey="2026-04-01")
>>> len(result.changes), len(result.conflicts), len(result.sites) == len(sites)
(0, 0, True)
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from flaechen.layers import load_schema
from flaechen.register.settings import RegisterSettings

log = logging.getLogger(__name__)

ACTIVE, GONE, UNRESOLVED = "aktiv", "entfallen", "ungeklärt"
NEW, BUILT, DROPPED, CHANGED = "neu", "bebaut", "entfallen", "geändert"
REASON_BUILT = "bebaut"
CONTINUE, END = "fortführen", "beenden"

PLANNER_FIELDS = (
    "status",
    "availability",
    "obstacle_owner",
    "obstacle_contamination",
    "obstacle_servicing",
    "obstacle_noise",
    "obstacle_heritage",
    "obstacle_topography",
    "obstacle_planning_law",
    "obstacle_other",
    "note",
    "decision",
    "edited_by",
    "edited_at",
)
"""The fields planners edit; a run never writes them (a new site gets their defaults once)."""

_EDIT_MARKS = ("note", "edited_by", "edited_at")


@dataclass(frozen=True)
class SurveyContext:
    """What the run knows about the land now, to explain why a site no longer qualifies.

    Attributes
    ----------
    parcels
        This run's parcels (parcel_id, ags, geometry).
    measures
        Every parcel's measures and status (table ``parcel_measures`` of the flagging step).
    buildings
        This run's buildings (ags, geometry).
    municipalities
        AGS → name.
    min_area
        Category → smallest area (m²) of the flagging rules, where the category has one.
    """

    parcels: gpd.GeoDataFrame
    measures: pd.DataFrame
    buildings: gpd.GeoDataFrame
    municipalities: Mapping[str, str] = field(default_factory=dict)
    min_area: Mapping[str, float] = field(default_factory=dict)

    @property
    def parcels_delivered(self) -> set[str]:
        return set(self.parcels["ags"].dropna().astype(str))

    @property
    def buildings_delivered(self) -> set[str]:
        return set(self.buildings["ags"].dropna().astype(str))


@dataclass(frozen=True)
class Conflict:
    """Sites whose parcels changed in a way the run cannot resolve."""

    ags: str
    site_ids: tuple[str, ...]
    parcel_ids: tuple[str, ...]
    message: str


@dataclass
class CarryOver:
    """The register after a run.

    Attributes
    ----------
    sites
        Every site (fields of ``layers/sites.yaml``): existing ones with derived fields updated and planner
        fields as read; new ones with the planner fields' defaults.
    new_ids
        site_id of the sites added by this run.
    changes
        This run's changes (``layers/changes.yaml``), unchanged sites omitted.
    conflicts
        For the issue log.
    kept_without_delivery
        AGS of municipalities that delivered no parcels: their sites were kept as they were.
    """

    sites: gpd.GeoDataFrame
    new_ids: set[str]
    changes: pd.DataFrame
    conflicts: list[Conflict]
    kept_without_delivery: list[str]


def empty_sites(crs: Any) -> gpd.GeoDataFrame:
    """An empty sites frame with the schema's columns and types."""
    layer = load_schema().layer("sites")
    data = {f.name: pd.Series([], dtype=f.dtype) for f in layer.fields}
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def empty_changes() -> pd.DataFrame:
    layer = load_schema().layer("changes")
    return pd.DataFrame({f.name: pd.Series([], dtype=f.dtype) for f in layer.fields})


def _split_ids(text: Any) -> list[str]:
    if text is None or text is pd.NA or (isinstance(text, float) and np.isnan(text)):
        return []
    return [p for p in str(text).split(";") if p]


def _has_edits(row: Mapping[str, Any]) -> bool:
    if any(str(row.get(c) or "").strip() for c in _EDIT_MARKS if isinstance(row.get(c), str)):
        return True
    if row.get("status") not in (None, "unbekannt") and not pd.isna(row.get("status")):
        return True
    if row.get("availability") not in (None, "unbekannt") and not pd.isna(row.get("availability")):
        return True
    return any(bool(row.get(c)) and not pd.isna(row.get(c)) for c in PLANNER_FIELDS if c.startswith("obstacle_"))


def _text(value: Any) -> str | None:
    return None if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) else str(value)


def _number(value: Any) -> float | None:
    return None if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) else float(value)


def _fmt_m2(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} m²".replace(",", ".")


class _Run:
    """One carry-over: state shared by the phases."""

    def __init__(
        self,
        sites: gpd.GeoDataFrame,
        candidates: gpd.GeoDataFrame,
        context: SurveyContext,
        survey: str,
        previous_survey: str | None,
        settings: RegisterSettings,
    ) -> None:
        self.settings = settings
        self.context = context
        self.survey = survey
        self.previous_survey = previous_survey
        self.crs = candidates.crs if candidates.crs is not None else sites.crs
        self.sites = _plain(sites)
        self.cands = _plain(candidates)
        self.site_recs = self.sites.drop(columns=self.sites.geometry.name).to_dict("records")
        self.cand_recs = self.cands.drop(columns=self.cands.geometry.name).to_dict("records")
        self.site_geoms = np.asarray(self.sites.geometry.array, dtype=object)
        self.cand_geoms = np.asarray(self.cands.geometry.array, dtype=object)
        self.site_area = shapely.area(self.site_geoms) if len(self.site_geoms) else np.zeros(0)
        self.cand_area = shapely.area(self.cand_geoms) if len(self.cand_geoms) else np.zeros(0)
        self.assigned: dict[int, list[int]] = {}  # site row -> candidate rows
        self.claimed: set[int] = set()  # candidate rows taken by a site or a conflict
        self.ended: dict[int, tuple[str, str]] = {}  # site row -> (change, reason)
        self.unresolved: dict[int, str] = {}  # site row -> reason
        self.conflicts: list[Conflict] = []
        self.changes: list[dict[str, Any]] = []

    # ------------------------------------------------------------------------------------------ phases
    def by_decision(self) -> None:
        for i, row in self.sites.iterrows():
            if row.get("decision") == END and row.get("state") == UNRESOLVED:  # only for a conflict
                self.ended[i] = (DROPPED, "vom Planer beendet")

    def by_key(self) -> None:
        index = {pid: j for j, pid in enumerate(self.cands["parcel_id"].astype(str))}
        threshold = self.settings.ignore_overlap
        pairs: list[tuple[int, list[int]]] = []
        taken: set[int] = set()
        for i, row in enumerate(self.site_recs):
            if i in self.ended:
                continue
            rows = [index[p] for p in _split_ids(row["parcel_ids"]) if p in index]
            rows = [j for j in rows if j not in taken]
            if rows:
                pairs.append((i, rows))
                taken.update(rows)
        if not pairs:
            return
        sites = np.array([i for i, _ in pairs])
        geoms = np.array(
            [
                self.cand_geoms[rows[0]] if len(rows) == 1 else shapely.union_all(self.cand_geoms[rows])
                for _, rows in pairs
            ],
            dtype=object,
        )
        inter = shapely.area(shapely.intersection(self.site_geoms[sites], geoms))
        areas = shapely.area(geoms)
        with np.errstate(divide="ignore", invalid="ignore"):
            site_share = np.where(self.site_area[sites] > 0, inter / self.site_area[sites], 0.0)
            cand_share = np.where(areas > 0, inter / areas, 0.0)
        for (i, rows), ss, cs in zip(pairs, site_share, cand_share, strict=True):
            if ss >= threshold and cs >= threshold:
                self.assigned[i] = rows
                self.claimed.update(rows)
            else:
                keys = tuple(str(self.cand_recs[j]["parcel_id"]) for j in rows)
                self._conflict(
                    [i],
                    rows,
                    f"Das Flurstückskennzeichen {', '.join(keys)} bezeichnet jetzt eine andere Fläche "
                    f"(Überdeckung {ss:.0%} der bisherigen Fläche): wurde neu nummeriert und ein Kennzeichen "
                    "wiederverwendet?",
                )

    def _union(self, rows: list[int]) -> Any:
        return self.cand_geoms[rows[0]] if len(rows) == 1 else shapely.union_all(self.cand_geoms[rows])

    def by_geometry(self) -> None:
        s_left = np.array(
            [
                i
                for i in range(len(self.sites))
                if i not in self.assigned
                and i not in self.ended
                and i not in self.unresolved
                and self.site_recs[i]["state"] != GONE  # a site that ended comes back by its parcel key only
            ],
            dtype=int,
        )
        c_left = np.array([j for j in range(len(self.cands)) if j not in self.claimed], dtype=int)
        if not len(s_left) or not len(c_left):
            return
        tree = shapely.STRtree(self.cand_geoms[c_left])
        si, cj = tree.query(self.site_geoms[s_left], predicate="intersects")
        if not len(si):
            return
        sites, cands = s_left[si], c_left[cj]
        inter = shapely.area(shapely.intersection(self.site_geoms[sites], self.cand_geoms[cands]))
        with np.errstate(divide="ignore", invalid="ignore"):
            s_share = inter / self.site_area[sites]
            c_share = inter / self.cand_area[cands]
        keep = (s_share >= self.settings.ignore_overlap) | (c_share >= self.settings.ignore_overlap)
        edges = [
            (int(s), int(c), float(a), float(ss), float(cs))
            for s, c, a, ss, cs, k in zip(sites, cands, inter, s_share, c_share, keep, strict=True)
            if k
        ]
        for group in _components(edges):
            self._resolve(group)

    def _resolve(self, edges: list[tuple[int, int, float, float, float]]) -> None:
        s = self.settings
        sites = sorted({e[0] for e in edges})
        cands = sorted({e[1] for e in edges})
        decided = [i for i in sites if self.site_recs[i]["decision"] == CONTINUE]
        if len(sites) == 1 and len(cands) == 1:
            _, c, _, ss, cs = edges[0]
            if (ss >= s.same_land and cs >= s.same_land) or cs >= s.contained or ss >= s.contained or decided:
                self._assign(sites[0], [c])
                return
        elif len(sites) == 1:
            if all(e[4] >= s.contained for e in edges) or decided:
                self._assign(sites[0], cands)
                return
        elif len(cands) == 1 and all(e[3] >= s.contained for e in edges):
            edited = [i for i in sites if _has_edits(self.site_recs[i])]
            if len(edited) <= 1:
                keep = edited[0] if edited else max(sites, key=lambda i: (self.site_area[i], -i))
                self._assign(keep, cands)
                for i in sites:
                    if i != keep:
                        self.ended[i] = (DROPPED, f"zusammengelegt mit {self.site_recs[keep]['site_id']}")
                return
        if decided:
            best: dict[int, tuple[float, int]] = {}
            for site, cand, area, _, _ in edges:
                if cand not in best or area > best[cand][0]:
                    best[cand] = (area, site)
            per_site: dict[int, list[int]] = defaultdict(list)
            for cand, (_, site) in best.items():
                per_site[site].append(cand)
            for site, rows in per_site.items():
                self._assign(site, sorted(rows))
            rest = [i for i in sites if i not in per_site]
            if rest:
                self._conflict(
                    rest, [], "Nach der Entscheidung 'fortführen' eines Nachbarn bleibt diese Fläche ohne Kandidat."
                )
            return
        shares = "; ".join(
            f"{self.sites.at[i, 'site_id']}↔{self.cands.at[c, 'parcel_id']}: {ss:.0%}/{cs:.0%}"
            for i, c, _, ss, cs in edges
        )
        self._conflict(
            sites,
            cands,
            "Die Flurstücke wurden so geändert, dass die Zuordnung nicht eindeutig ist "
            f"(Überdeckung Fläche/Kandidat: {shares}).",
        )

    def _assign(self, site: int, rows: list[int]) -> None:
        self.assigned[site] = rows
        self.claimed.update(rows)

    def _conflict(self, sites: list[int], rows: list[int], message: str) -> None:
        self.claimed.update(rows)
        ids = tuple(str(self.site_recs[i]["site_id"]) for i in sites)
        parcels = tuple(str(p) for p in self.cands.loc[rows, "parcel_id"]) if rows else ()
        fix = (
            " Bitte im Flächenregister (Feld 'Entscheidung') 'fortführen' oder 'beenden' wählen; der nächste Lauf "
            "übernimmt die Entscheidung."
        )
        for i in sites:
            self.unresolved[i] = message
        ags = str(self.site_recs[sites[0]]["ags"]) if sites else ""
        self.conflicts.append(Conflict(ags=ags, site_ids=ids, parcel_ids=parcels, message=message + fix))

    # ------------------------------------------------------------------------------------------ reasons
    def why_gone(self, rows: list[int]) -> dict[int, tuple[str, str]]:
        """Change and reason for each site row that lost its candidate."""
        out: dict[int, tuple[str, str]] = {}
        if not rows:
            return out
        ctx, s = self.context, self.settings
        geoms = self.site_geoms[rows]
        parcel_geoms = np.asarray(ctx.parcels.geometry.array, dtype=object)
        p_tree = shapely.STRtree(parcel_geoms)
        pi, pj = p_tree.query(geoms, predicate="intersects")
        p_inter = shapely.area(shapely.intersection(geoms[pi], parcel_geoms[pj])) if len(pi) else np.zeros(0)
        building_geoms = np.asarray(ctx.buildings.geometry.array, dtype=object)
        b_tree = shapely.STRtree(building_geoms)
        bi, bj = b_tree.query(geoms, predicate="intersects")
        b_inter = shapely.area(shapely.intersection(geoms[bi], building_geoms[bj])) if len(bi) else np.zeros(0)
        built = np.bincount(bi, weights=b_inter, minlength=len(rows)) if len(bi) else np.zeros(len(rows))
        measures = ctx.measures.set_index(ctx.measures["parcel_id"].astype(str), drop=False)
        parcel_ids = ctx.parcels["parcel_id"].astype(str).to_numpy()
        with_buildings = ctx.buildings_delivered
        for k, i in enumerate(rows):
            site = self.site_recs[i]
            area = self.site_area[i]
            hits = pi == k
            over = p_inter[hits]
            parts = pj[hits][over > 0]
            over = over[over > 0]
            before = _number(site.get("built_area_m2")) or 0.0
            if str(site["ags"]) in with_buildings and built[k] - before >= s.built_area_min:
                out[i] = (BUILT, REASON_BUILT + f" ({_fmt_m2(built[k] - before)} neue Gebäudegrundfläche)")
                continue
            if not len(parts):
                out[i] = (DROPPED, "Flurstück nicht mehr im Datensatz")
                continue
            main = int(parts[np.argmax(over)])
            split = int((over >= s.ignore_overlap * area).sum()) > 1 if area > 0 else False
            pid = parcel_ids[main]
            m = measures.loc[pid] if pid in measures.index else None
            if isinstance(m, pd.DataFrame):
                m = m.iloc[0]
            if m is not None and m.get("status") == "ausgeschlossen":
                out[i] = (DROPPED, f"durch Restriktion ausgeschlossen ({_text(m.get('constraints')) or 'Restriktion'})")
                continue
            old_zone, new_zone = _text(site.get("zoning_class")), None if m is None else _text(m.get("zoning_class"))
            if old_zone and old_zone != new_zone:
                out[i] = (DROPPED, f"Planänderung ({old_zone} → {new_zone or 'keine bauliche Nutzung'})")
                continue
            category = _text(site.get("category"))
            now_area = None if m is None else _number(m.get("area_m2"))
            minimum = ctx.min_area.get(category or "")
            if now_area is not None and minimum is not None and now_area < minimum:
                out[i] = (DROPPED, f"unter der Mindestfläche ({_fmt_m2(now_area)} < {_fmt_m2(minimum)})")
                continue
            if now_area is not None and area > 0 and now_area < (1 - s.area_change) * area and split:
                out[i] = (DROPPED, f"Flurstück geteilt, kein Teil erfüllt die Kriterien ({_fmt_m2(now_area)})")
                continue
            out[i] = (DROPPED, f"Kriterien für {category or 'eine Kategorie'} nicht mehr erfüllt")
        return out

    # ------------------------------------------------------------------------------------------ result
    def finish(self) -> CarryOver:
        sites = self.sites
        survey = self.survey
        delivered = self.context.parcels_delivered
        lost = [
            i
            for i in range(len(sites))
            if i not in self.assigned
            and i not in self.ended
            and i not in self.unresolved
            and self.site_recs[i]["state"] != GONE
        ]
        kept = sorted({str(self.site_recs[i]["ags"]) for i in lost if str(self.site_recs[i]["ags"]) not in delivered})
        lost = [i for i in lost if str(self.site_recs[i]["ags"]) in delivered]
        self.ended.update(self.why_gone(lost))

        out = [dict(r) for r in self.site_recs]
        geoms = self.site_geoms.copy()
        for i, rows in self.assigned.items():
            old = self.site_recs[i]
            cands = [self.cand_recs[j] for j in rows]
            primary = max(cands, key=lambda c: _number(c.get("area_m2")) or 0.0)
            values = {
                "parcel_ids": ";".join(sorted(str(c["parcel_id"]) for c in cands)),
                "category": primary["category"],
                "categories": ";".join(
                    sorted({k for c in cands for k in str(c.get("categories") or "").split(";") if k})
                ),
                "area_m2": float(sum(_number(c.get("area_m2")) or 0.0 for c in cands)),
                "zoning_class": _text(primary.get("zoning_class")),
                "built_area_m2": float(sum(_number(c.get("built_area_m2")) or 0.0 for c in cands)),
                "reasons": " ".join(str(c["reasons"]) for c in cands if c.get("reasons")),
                "ags": str(primary["ags"]),
                "municipality": self.context.municipalities.get(str(primary["ags"]), _text(old.get("municipality"))),
                "last_survey": survey,
            }
            details = []
            if old["state"] == GONE:
                self._change(old, values, NEW, f"wieder Kandidat (zuvor entfallen: {_text(old.get('state_reason'))})")
            else:
                if _text(old["category"]) != values["category"]:
                    details.append(f"Kategorie {_text(old['category'])} → {values['category']}")
                before = _number(old["area_m2"]) or 0.0
                if before > 0 and abs(values["area_m2"] - before) / before > self.settings.area_change:
                    details.append(f"Fläche {_fmt_m2(before)} → {_fmt_m2(values['area_m2'])}")
                if set(_split_ids(old["parcel_ids"])) != set(_split_ids(values["parcel_ids"])):
                    details.append(f"Flurstücke {_text(old['parcel_ids'])} → {values['parcel_ids']}")
                if old["state"] == UNRESOLVED:
                    details.append("Zuordnung geklärt")
                if details:
                    self._change(old, values, CHANGED, "; ".join(details))
            if old["state"] != ACTIVE:
                values["state_since"] = survey
            values["state"] = ACTIVE
            values["state_reason"] = None
            out[i].update(values)
            geoms[i] = self._union(rows)
        for i, (change, reason) in self.ended.items():
            old = self.site_recs[i]
            if old["state"] == GONE:
                continue
            self._change(old, {}, change, reason)
            out[i].update({"state": GONE, "state_reason": reason, "state_since": survey})
        for i, reason in self.unresolved.items():
            if self.site_recs[i]["state"] != UNRESOLVED:
                out[i]["state_since"] = survey
            out[i].update({"state": UNRESOLVED, "state_reason": reason})
        out = gpd.GeoDataFrame(
            pd.DataFrame(out, columns=list(self.sites.columns.drop(self.sites.geometry.name))),
            geometry=gpd.GeoSeries(geoms, crs=self.crs),
            crs=self.crs,
        )

        new_rows = [j for j in range(len(self.cands)) if j not in self.claimed]
        new = self._new_sites(new_rows, out)
        new_ids = set(new["site_id"].astype(str))
        if len(new):
            out = pd.concat([out, new], ignore_index=True) if len(out) else new
        changes = pd.DataFrame(self.changes) if self.changes else empty_changes()
        layer = load_schema().layer("changes")
        for f in layer.fields:
            if f.name not in changes:
                changes[f.name] = None
            changes[f.name] = changes[f.name].astype(f.dtype)
        changes = changes[list(layer.field_names)]
        order = {NEW: 0, BUILT: 1, DROPPED: 2, CHANGED: 3}
        changes = (
            changes.assign(_o=changes["change"].map(order))
            .sort_values(["ags", "_o", "site_id"])
            .drop(columns="_o")
            .reset_index(drop=True)
        )
        return CarryOver(
            sites=_typed_sites(out, self.crs),
            new_ids=new_ids,
            changes=changes,
            conflicts=self.conflicts,
            kept_without_delivery=kept,
        )

    def _change(self, old: Mapping[str, Any] | None, new: Mapping[str, Any], change: str, reason: str | None) -> None:
        old = old if old is not None else {}
        ags = new.get("ags") or _text(old.get("ags"))
        self.changes.append(
            {
                "survey": self.survey,
                "previous_survey": self.previous_survey,
                "site_id": new.get("site_id") or _text(old.get("site_id")),
                "ags": ags,
                "municipality": self.context.municipalities.get(ags or "", _text(old.get("municipality"))),
                "change": change,
                "reason": reason,
                "category": new.get("category", _text(old.get("category"))),
                "previous_category": _text(old.get("category")),
                "area_m2": new.get("area_m2", _number(old.get("area_m2"))),
                "previous_area_m2": _number(old.get("area_m2")),
                "parcel_ids": new.get("parcel_ids", _text(old.get("parcel_ids"))),
                "previous_parcel_ids": _text(old.get("parcel_ids")),
            }
        )

    def _new_sites(self, rows: list[int], existing: pd.DataFrame) -> gpd.GeoDataFrame:
        if not rows:
            return empty_sites(self.crs)
        layer = load_schema().layer("sites")
        counters: dict[str, int] = defaultdict(int)
        for sid in existing["site_id"].dropna().astype(str):
            ags, _, number = sid.rpartition("-")
            if number.isdigit():
                counters[ags] = max(counters[ags], int(number))
        records = []
        cands = self.cands.loc[rows].copy()
        cands["_x"] = shapely.get_x(shapely.centroid(self.cand_geoms[rows]))
        cands["_y"] = shapely.get_y(shapely.centroid(self.cand_geoms[rows]))
        cands = cands.sort_values(["ags", "_y", "_x", "parcel_id"], ascending=[True, False, True, True])
        for j, cand in zip(cands.index, cands.drop(columns=cands.geometry.name).to_dict("records"), strict=True):
            ags = str(cand["ags"])
            counters[ags] += 1
            record = {f.name: f.default for f in layer.fields if not f.derived}
            record.update(
                {
                    "site_id": f"{ags}-{counters[ags]:05d}",
                    "ags": ags,
                    "municipality": self.context.municipalities.get(ags),
                    "parcel_ids": str(cand["parcel_id"]),
                    "category": cand["category"],
                    "categories": cand.get("categories"),
                    "area_m2": float(cand["area_m2"]),
                    "zoning_class": _text(cand.get("zoning_class")),
                    "built_area_m2": _number(cand.get("built_area_m2")) or 0.0,
                    "reasons": _text(cand.get("reasons")),
                    "state": ACTIVE,
                    "state_reason": None,
                    "state_since": self.survey,
                    "first_survey": self.survey,
                    "last_survey": self.survey,
                    "geometry": self.cand_geoms[j],
                }
            )
            records.append(record)
            self._change(None, record, NEW, None)
        frame = gpd.GeoDataFrame(records, geometry="geometry", crs=self.crs)
        return _typed_sites(frame, self.crs)


def _plain(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy with Python objects and None for missing values (no NA in comparisons)."""
    frame = frame.reset_index(drop=True)
    data = {c: frame[c].astype(object).where(frame[c].notna(), None) for c in frame.columns if c != frame.geometry.name}
    return gpd.GeoDataFrame(data, geometry=frame.geometry.array, crs=frame.crs)


def _typed_sites(frame: gpd.GeoDataFrame, crs: Any) -> gpd.GeoDataFrame:
    layer = load_schema().layer("sites")
    data = {}
    for f in layer.fields:
        values = frame[f.name] if f.name in frame else pd.Series([None] * len(frame), index=frame.index)
        if f.dtype == "boolean":
            values = values.map(lambda v: None if v is None or v is pd.NA else bool(v))
        data[f.name] = pd.array(values.tolist(), dtype=f.dtype)
    geoms = np.asarray(frame.geometry.array, dtype=object)
    single = shapely.get_type_id(geoms) == 3  # Polygon
    geoms[single] = [shapely.MultiPolygon([g]) for g in geoms[single]]
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)


def _components(edges: list[tuple[int, int, float, float, float]]) -> list[list[tuple[int, int, float, float, float]]]:
    """Connected groups of a bipartite site-candidate graph (union-find)."""
    parent: dict[tuple[str, int], tuple[str, int]] = {}

    def find(x: tuple[str, int]) -> tuple[str, int]:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for s, c, *_ in edges:
        a, b = find(("s", s)), find(("c", c))
        if a != b:
            parent[a] = b
    groups: dict[tuple[str, int], list[tuple[int, int, float, float, float]]] = defaultdict(list)
    for e in edges:
        groups[find(("s", e[0]))].append(e)
    return list(groups.values())


def carry_over(
    sites: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    *,
    context: SurveyContext,
    survey: str,
    previous_survey: str | None = None,
    settings: RegisterSettings | None = None,
) -> CarryOver:
    """Match the register's sites to this run's candidates and derive every site's new state.

    Parameters
    ----------
    sites
        The register's sites before this run (``layers/sites.yaml``; empty for a new register).
    candidates
        This run's candidates (``layers/candidates.yaml``), in the same CRS.
    context
        The land now: parcels, parcel measures, buildings (to explain why a site no longer qualifies).
    survey
        This run's survey date (ISO).
    previous_survey
        The previous run's survey date, for the changes table.
    settings
        Thresholds; the documented defaults where None.

    Returns
    -------
    CarryOver
        The sites after the run, the ids of the new ones, the changes and the conflicts.

    Examples
    --------
    The first survey: every candidate is a new site.

    >>> from flaechen.district import read_district
    >>> from flaechen.register.state import RegisterState
    >>> layers = read_district("out/demo", layers=["parcels", "buildings", "candidates", "parcel_measures"])
    >>> context = SurveyContext(parcels=layers["parcels"], measures=layers["parcel_measures"],
    ...                         buildings=layers["buildings"])
    >>> empty = RegisterState.empty(crs=layers["candidates"].crs).sites
    >>> result = carry_over(empty, layers["candidates"], context=context, survey="2025-04-01")
    >>> set(result.changes["change"]), len(result.new_ids) == len(layers["candidates"])
    ({'neu'}, True)
    """
    settings = settings or RegisterSettings()
    if len(sites) and sites.crs is not None and candidates.crs is not None and sites.crs != candidates.crs:
        from flaechen.errors import CRSError

        raise CRSError(
            f"the register's sites are in {sites.crs.to_string()}, the candidates in {candidates.crs.to_string()}: "
            "set the district CRS back, or reproject the register (e.g. ogr2ogr -t_srs) before the run"
        )
    if not len(sites):
        sites = empty_sites(candidates.crs)
    run = _Run(sites, candidates, context, survey, previous_survey, settings)
    run.by_decision()
    run.by_key()
    run.by_geometry()
    result = run.finish()
    log.info(
        "register: %d sites, %d new, %d changes, %d conflicts",
        len(result.sites),
        len(result.new_ids),
        len(result.changes),
        len(result.conflicts),
    )
    return result
