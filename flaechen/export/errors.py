"""Errors of the export step."""

from __future__ import annotations

from flaechen.errors import FlaechenError


class ExportError(FlaechenError):
    """An export cannot run: missing district dataset, unreachable database, conflicting target."""
