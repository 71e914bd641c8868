"""The change summary ``flaechen run`` prints: what changed since the previous survey, per municipality."""

from __future__ import annotations

from flaechen.register.core import RegisterUpdate

KINDS = ("neu", "bebaut", "entfallen", "geändert")


def change_summary(update: RegisterUpdate) -> list[str]:
    """Lines for the terminal (no printing in the library: the CLI prints them).

    Examples
    --------
    >>> print("\\n".join(change_summary(update)))  # doctest: +SKIP
    Register: out/demo/register.gpkg (survey 2026-04-01, previous 2025-04-01): 182 sites, 176 active
      07999001 Hohenmaar                neu   3 (  0.4 ha)  bebaut   2 (  0.2 ha)  entfallen   1  geändert   4
    """
    sites = update.result.sites
    previous = update.previous_survey or "—"
    lines = [
        f"Register: {update.store.where} (survey {update.survey}, previous {previous}): {len(sites):,d} sites, "
        f"{int((sites['state'] == 'aktiv').sum()):,d} active, {int((sites['state'] == 'ungeklärt').sum()):,d} "
        "unresolved"
    ]
    changes = update.changes
    if changes.empty:
        lines.append("  no change since the previous survey")
    for (ags, name), group in changes.groupby(["ags", "municipality"], dropna=False, sort=True):
        parts = []
        for kind in KINDS:
            rows = group[group["change"] == kind]
            hectares = rows["area_m2"].astype(float).fillna(0).sum() / 10_000
            parts.append(
                f"{kind} {len(rows):>3d} ({hectares:5.1f} ha)"
                if kind in ("neu", "bebaut")
                else f"{kind} {len(rows):>3d}"
            )
        lines.append(f"  {ags} {name!s:24s} " + "  ".join(parts))
    conflicts = update.result.conflicts
    if conflicts:
        lines.append(
            f"  {len(conflicts)} conflict(s) for a planner to decide (issue type register-conflict; field 'decision')"
        )
    for ags in update.result.kept_without_delivery:
        lines.append(f"  {ags}: no parcels delivered, its sites were kept as they were")
    return lines
