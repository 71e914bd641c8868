"""The exception hierarchy of flaechen.

Every message names what is wrong, where (file, layer, feature, key) and how to fix it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class FlaechenError(Exception):
    """Base class of all errors flaechen raises for bad input or configuration."""


@dataclass(frozen=True)
class Problem:
    """One problem in a configuration file, in the one format every configuration message uses.

    Rendered as ``FILE: KEY: WHAT; fix: FIX``, e.g.
    ``district.toml: publish.titel: unknown key; fix: did you mean 'title'?``.

    Attributes
    ----------
    file
        The configuration (or rules) file the problem is in; None where there is no file (a mapping
        passed in code).
    key
        The key path, e.g. ``municipalities[Hohenmaar].sources[hohenmaar-flurstuecke].fields``.
    message
        What is wrong.
    fix
        How to fix it (may be empty where the message says it).
    """

    file: str | None
    key: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        parts = [p for p in (self.file, self.key) if p]
        text = ": ".join([*parts, self.message])
        return f"{text}; fix: {self.fix}" if self.fix else text


class ConfigError(FlaechenError):
    """The district configuration is invalid. Carries every problem found, not only the first.

    Parameters
    ----------
    problems
        :class:`Problem` objects, or plain texts (taken as the message of a problem in `path`).
    path
        The file the problems are in.

    Attributes
    ----------
    details
        The problems as :class:`Problem` objects.
    problems
        The problems rendered as text, one line each.
    """

    def __init__(self, problems: Sequence[Problem | str], *, path: str | None = None) -> None:
        self.path = path
        self.details = [p if isinstance(p, Problem) else Problem(None, "", str(p)) for p in problems]
        self.problems = [str(p) for p in self.details]
        where = f"{path}: " if path else ""
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{where}{len(self.problems)} problem(s) in the configuration:\n{lines}")


class SourceError(FlaechenError):
    """A declared source cannot be read: missing file, unknown layer, unmapped field, corrupt file."""


class DistrictError(FlaechenError):
    """The district dataset (``district.gpkg``) cannot be read: missing, lacking a layer or column, or changed
    outside flaechen."""


class CRSError(FlaechenError):
    """A CRS cannot be resolved, is missing, or does not fit the municipality the data belongs to."""


class GeometryError(FlaechenError):
    """An invalid geometry under the `raise` geometry policy."""


class OutputError(FlaechenError):
    """The output folder cannot be used: it is a file, cannot be written, or another run holds it."""


class AccountingError(FlaechenError):
    """Features were lost: read != written + rejected for some source."""
