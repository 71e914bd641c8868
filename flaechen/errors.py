"""The exception hierarchy of flaechen.

Every message names what is wrong, where (file, layer, feature, key) and how to fix it.
"""

from __future__ import annotations


class FlaechenError(Exception):
    """Base class of all errors flaechen raises for bad input or configuration."""


class ConfigError(FlaechenError):
    """The district configuration is invalid. Carries every problem found, not only the first."""

    def __init__(self, problems: list[str], *, path: str | None = None) -> None:
        self.problems = list(problems)
        self.path = path
        where = f"{path}: " if path else ""
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{where}{len(self.problems)} problem(s) in the configuration:\n{lines}")


class SourceError(FlaechenError):
    """A declared source cannot be read: missing file, unknown layer, unmapped field, corrupt file."""


class CRSError(FlaechenError):
    """A CRS cannot be resolved, is missing, or does not fit the municipality the data belongs to."""


class GeometryError(FlaechenError):
    """An invalid geometry under the `raise` geometry policy."""


class AccountingError(FlaechenError):
    """Features were lost: read != written + rejected for some source."""
