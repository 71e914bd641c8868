"""The declarative layer definitions in `layers/`: canonical schemas, code lists and issue types.

The YAML files are the single source of truth; this module loads them into typed, immutable objects.

Examples
--------
>>> from flaechen.layers import load_schema
>>> schema = load_schema()
>>> schema.layer("parcels").key
'parcel_id'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

CANONICAL_LAYERS = (
    "municipalities",
    "parcels",
    "zoning",
    "brownfields",
    "buildings",
    "land_use",
    "built_up_area",
)
"""The layers of a district dataset, in the order they are written."""

PROVENANCE_FIELDS = ("source_id", "source_layer", "source_fid", "source_hash")
"""Columns every harmonised feature carries: where it came from."""

_DTYPES = {
    "string": "string",
    "int32": "Int32",
    "int64": "Int64",
    "float64": "Float64",
    "bool": "boolean",
}


def layers_dir() -> Path:
    """Return the folder holding the layer definitions (the repository's `layers/` or the installed copy)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_layers", here.parent / "layers"):
        if (candidate / "parcels.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"layer definitions not found next to {here}: reinstall flaechen")


@dataclass(frozen=True)
class FieldDef:
    """One field of a canonical layer."""

    name: str
    type: str
    description: str = ""
    required: bool = False
    public: bool = False
    length: int | None = None
    unit: str | None = None
    codelist: str | None = None
    alias: str | None = None
    """German label for forms (QGIS attribute form, reports)."""
    derived: bool = False
    """Written by each run; read-only for editors (register layers)."""
    default: Any = None
    """Value a new feature gets (register fields that planners edit)."""

    @property
    def dtype(self) -> str:
        """The pandas extension dtype of the field (nullable)."""
        return _DTYPES[self.type]


@dataclass(frozen=True)
class LayerDef:
    """The canonical schema of one layer."""

    name: str
    title: str
    description: str
    geometry: str
    key: str
    fields: tuple[FieldDef, ...]

    def field(self, name: str) -> FieldDef:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"layer {self.name!r} has no field {name!r}")

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def aliases(self) -> dict[str, str]:
        """German label of each field that has one (for column headers and forms)."""
        return {f.name: f.alias for f in self.fields if f.alias}

    @property
    def public_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.public)


@dataclass(frozen=True)
class CodeList:
    """A code list: canonical codes with their short label and title."""

    name: str
    type: str
    values: dict[Any, dict[str, Any]]
    form_text: str = "{label}"
    """What QGIS's value map shows for a code: a template of ``label``, ``title`` and ``code``."""

    def label(self, code: Any) -> str | None:
        entry = self.values.get(code)
        return None if entry is None else entry.get("label")


@dataclass(frozen=True)
class IssueType:
    """One entry of the issue-type registry."""

    name: str
    severity: str
    responsible: str
    rejects: bool
    description: str


@dataclass(frozen=True)
class Schema:
    """All layer definitions, code lists and issue types."""

    layers: dict[str, LayerDef] = field(default_factory=dict)
    codelists: dict[str, CodeList] = field(default_factory=dict)
    issue_types: dict[str, IssueType] = field(default_factory=dict)

    def layer(self, name: str) -> LayerDef:
        try:
            return self.layers[name]
        except KeyError:
            known = ", ".join(sorted(self.layers))
            raise KeyError(f"unknown layer {name!r}; known layers: {known}") from None

    def codelist(self, name: str) -> CodeList:
        return self.codelists[name]


def _load_yaml(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    return data


@cache
def load_schema(directory: str | None = None) -> Schema:
    """Load every layer definition, code list and the issue-type registry.

    Parameters
    ----------
    directory
        Folder with the definitions; the bundled `layers/` by default.
    """
    root = Path(directory) if directory else layers_dir()
    layers: dict[str, LayerDef] = {}
    for path in sorted(root.glob("*.yaml")):
        raw = _load_yaml(path)
        if not raw or "fields" not in raw:
            continue
        fields = tuple(FieldDef(**f) for f in raw["fields"])
        layers[raw["name"]] = LayerDef(
            name=raw["name"],
            title=raw.get("title", raw["name"]),
            description=raw.get("description", ""),
            geometry=raw["geometry"],
            key=raw["key"],
            fields=fields,
        )
    codelists = {}
    for path in sorted((root / "codelists").glob("*.yaml")):
        raw = _load_yaml(path)
        codelists[raw["name"]] = CodeList(
            name=raw["name"], type=raw["type"], values=raw["values"], form_text=raw.get("form_text", "{label}")
        )
    issue_types = {
        name: IssueType(name=name, **spec)
        for name, spec in _load_yaml(root / "issue_types.yaml")["issue_types"].items()
    }
    return Schema(layers=layers, codelists=codelists, issue_types=issue_types)
