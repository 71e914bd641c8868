"""The change summary ``flaechen run`` prints: what changed since the previous survey, per municipality."""

from __future__ import annotations

from flaechen.register.core import RegisterUpdate

KINDS = ("neu", "bebaut", "entfallen", "geändert")


def change_summary(update: RegisterUpdate) -> list[str]:
    """Lines for the terminal (no printing in the library: the CLI prints them).

    Examples
    --------
    The demo district delivered once more, unchanged (the lines of a survey with changes name, per
    municipality, how many sites are ``neu``, ``bebaut``, ``entfallen`` and ``geändert``):

    >>> import shutil
    >>> from flaechen.district import read_district
    >>> from flaechen.register import GpkgRegister, RegisterSettings, prepare
    >>> _ = shutil.copy("out/demo/register.gpkg", "register.gpkg")
    >>> layers = read_district("out/demo", layers=["municipalities", "parcels", "buildings", "candidates",
    ...                                            "parcel_measures"])
    >>> update = prepare(GpkgRegister("register.gpkg"), layers, candidates=layers["candidates"],
    ...                  measures=layers["parcel_measures"], settings=RegisterSettings(survey="2027-04-01"))
    >>> print("\\n".join(change_summary(update)))  # doctest: +ELLIPSIS
    Register: register.gpkg (survey 2027-04-01, previous 2026-04-01): ... sites, ... active, 0 unresolved
      no change since the previous survey
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
