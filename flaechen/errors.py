"""The exception hierarchy of flaechen: every error a user can meet is a :class:`FlaechenError`.

Every message names what is wrong, where (file, layer, feature, key) and how to fix it. The command line
maps each class to an exit status in one table (``flaechen.cli.EXIT_STATUS``): a :class:`FlaechenError` is
a user error (status 2) except :class:`AccountingError`, which is a bug (status 1).

::

    FlaechenError
    ├── ConfigError        the configuration (every problem at once)
    ├── SourceError        a declared source cannot be read
    ├── CRSError           a CRS cannot be resolved or does not fit
    ├── GeometryError      an invalid geometry under the raise policy
    ├── OutputError        the output folder cannot be used
    ├── AccountingError    features were lost (a bug)
    ├── DistrictError      district.gpkg cannot be read back
    ├── LayerError         flag: a layer or field is missing
    ├── RegisterError      the register cannot be read or written
    ├── SheetError         assessment sheets hold bad values (every problem at once)
    ├── ExportError        an export cannot run
    └── PublishError       the map site cannot be built
        ├── AssetError     front-end packages missing
        └── PrintError     the printed maps cannot be made
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


class LayerError(FlaechenError):
    """The district dataset handed to the flagging step lacks a layer or a field."""


class RegisterError(FlaechenError):
    """The register cannot be read or written (locked, not a register, damaged)."""


class SheetError(FlaechenError):
    """Assessment sheets hold bad values. Carries every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the assessment sheets:\n{lines}")


class ExportError(FlaechenError):
    """An export cannot run: missing district dataset, unreachable database, conflicting target."""


class PublishError(FlaechenError):
    """The district dataset cannot be published as it is (missing file or layer)."""


class AssetError(PublishError):
    """The front-end packages the site needs are not installed."""


class PrintError(PublishError):
    """The printed maps cannot be made (no Chromium, Playwright or pypdf; a sheet that never drew)."""
