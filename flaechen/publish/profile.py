"""The publishing profile: what the public map site may show, validated once.

The profile is the ``[publish]`` table of the district configuration. It is an allow-list: a field
reaches the site only if the profile names it (by default every field marked ``public: true`` in
``layers/*.yaml``), and a field marked ``public: false`` can never be allowed — with one exception,
``brownfields.contamination_suspected`` (Altlastenverdacht), which ``show_contamination = true`` lets
through. Every problem in the table is collected and raised at once as a
:class:`~flaechen.errors.ConfigError`.

Examples
--------
>>> profile = load_profile({"title": "Flächenpotenziale Musterkreis", "private_candidates": "grid"})
>>> profile.private_candidates
'grid'
>>> "owner" in profile.fields["brownfields"]
False
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from flaechen.errors import ConfigError
from flaechen.layers import Schema, load_schema

PUBLISHABLE_LAYERS = ("municipalities", "zoning", "brownfields", "candidates", "buildings")
"""Layers a site may show. `parcels` never: the parcel layer of a whole district is not a workshop map."""

DEFAULT_LAYERS = ("municipalities", "zoning", "brownfields", "candidates")
"""Layers shown unless the profile says otherwise (buildings are many and add little to a workshop)."""

PRIVATE_MODES = ("parcels", "municipality", "grid")
"""How potentials on private land appear: per parcel, or only as aggregates per municipality or grid cell."""

LANGUAGES = ("de", "en")

OPT_IN_FIELDS = {
    ("brownfields", "contamination_suspected"): "show_contamination",
    ("candidates", "contamination_suspected"): "show_contamination",
}
"""Non-public fields a profile switch may release, with the switch that does it."""

REQUIRED_FIELDS = {"municipalities": ("ags", "name"), "candidates": ("category",)}
"""Fields the site cannot do without: names for the pages, the category for colours and legend."""

_KNOWN_KEYS = (
    "title",
    "language",
    "layers",
    "fields",
    "show_contamination",
    "private_candidates",
    "grid_size_m",
    "grid_min_count",
    "tiles",
    "tiles_attribution",
    "simplify_tolerance_m",
    "coordinate_decimals",
    "max_overview_features",
    "max_overview_mb",
    "max_listing_rows",
    "logo",
)


@dataclass(frozen=True)
class PublishProfile:
    """A validated publishing profile. Build it with :func:`load_profile`.

    Attributes
    ----------
    title
        Site title, shown in the header of every page.
    language
        UI language: ``"de"`` (default) or ``"en"``.
    layers
        Layers drawn on the map, in drawing order from bottom to top.
    fields
        Allow-list: for each layer the fields that may appear anywhere in the site.
    show_contamination
        Whether ``brownfields.contamination_suspected`` may be shown.
    private_candidates
        ``"parcels"``: candidates and brownfields on private land appear per parcel;
        ``"municipality"`` (default): only as counts and hectares per municipality;
        ``"grid"``: additionally as grid cells of ``grid_size_m`` holding at least
        ``grid_min_count`` candidates. Land whose ownership is unknown counts as private.
    tiles, tiles_attribution
        Optional background tile URL (``https://…/{z}/{x}/{y}.png``) and its attribution; off by default,
        and the site stays fully usable without it.
    simplify_tolerance_m
        Display simplification tolerance in metres of the district CRS (0 switches it off).
    coordinate_decimals
        Decimals kept of longitude/latitude (6 ≈ 0.1 m).
    max_overview_features, max_overview_mb
        Above this many drawn features, or this many megabytes of feature data, the overview page shows
        only municipalities with their aggregates; the features are drawn on the municipality pages.
        The defaults keep the overview under 5 MB and fast in a browser.
    max_listing_rows
        Rows of the candidate and brownfield lists on a municipality page (the largest first); the
        map still shows every feature. Long HTML tables slow a page down more than the map does.
    logo
        Optional image file (resolved against ``base_dir``) shown in the page header.
    """

    title: str = "Flächenpotenziale"
    language: str = "de"
    layers: tuple[str, ...] = DEFAULT_LAYERS
    fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    show_contamination: bool = False
    private_candidates: str = "municipality"
    grid_size_m: float = 500.0
    grid_min_count: int = 3
    tiles: str | None = None
    tiles_attribution: str | None = None
    simplify_tolerance_m: float = 1.0
    coordinate_decimals: int = 6
    max_overview_features: int = 4_000
    max_overview_mb: float = 4.0
    max_listing_rows: int = 300
    logo: Path | None = None

    def allowed(self, layer: str) -> tuple[str, ...]:
        """Return the fields of `layer` that may appear in the site (empty for a layer not shown)."""
        return self.fields.get(layer, ())


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _fields(
    raw: Any,
    *,
    layers: Sequence[str],
    schema: Schema,
    show_contamination: bool,
    problems: list[str],
) -> dict[str, tuple[str, ...]]:
    chosen: dict[str, tuple[str, ...]] = {}
    for layer in layers:
        if layer not in schema.layers:
            continue
        defaults = list(schema.layer(layer).public_fields)
        for (opt_layer, opt_field), switch in OPT_IN_FIELDS.items():
            if opt_layer == layer and show_contamination and switch == "show_contamination":
                defaults.append(opt_field)
        chosen[layer] = tuple(defaults)
    if raw is None:
        return chosen
    if not isinstance(raw, Mapping):
        problems.append("publish.fields: must be a table of layer = [field, …]")
        return chosen
    for layer, names in raw.items():
        key = f"publish.fields.{layer}"
        if layer not in schema.layers or layer not in PUBLISHABLE_LAYERS:
            problems.append(f"{key}: unknown or unpublishable layer; use one of {', '.join(PUBLISHABLE_LAYERS)}")
            continue
        if layer not in layers:
            problems.append(f"{key}: layer {layer!r} is not in publish.layers; add it there or drop this entry")
            continue
        if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
            problems.append(f"{key}: must be a list of field names")
            continue
        layer_def = schema.layer(layer)
        ok: list[str] = []
        for name in names:
            if name not in layer_def.field_names:
                problems.append(
                    f"{key}: layer {layer!r} has no field {name!r}; fields: {', '.join(layer_def.field_names)}"
                )
                continue
            if not layer_def.field(name).public:
                switch = OPT_IN_FIELDS.get((layer, name))
                if switch is None:
                    problems.append(
                        f"{key}: field {name!r} is marked non-public in layers/{layer}.yaml "
                        "(personal or internal data) and can never be published; remove it"
                    )
                    continue
                if not show_contamination:
                    problems.append(f"{key}: field {name!r} needs publish.{switch} = true; set it or remove the field")
                    continue
            if name not in ok:
                ok.append(name)
        chosen[layer] = tuple(ok)
    return chosen


def load_profile(
    raw: Mapping[str, Any] | None = None,
    *,
    base_dir: Path | None = None,
    schema: Schema | None = None,
) -> PublishProfile:
    """Validate a ``[publish]`` table and return the profile.

    Parameters
    ----------
    raw
        The raw table (``DistrictConfig.publish``); ``None`` or empty gives the default profile.
    base_dir
        Folder that relative paths (``logo``) are resolved against; the current folder by default.
    schema
        Layer definitions; the bundled ``layers/`` by default.

    Returns
    -------
    PublishProfile

    Raises
    ------
    ConfigError
        With every problem found, each naming the key and the fix.

    Examples
    --------
    >>> load_profile({"language": "fr", "grid_size_m": -1})  # doctest: +SKIP
    ConfigError: 2 problem(s) in the configuration: ...
    """
    schema = schema or load_schema()
    raw = dict(raw or {})
    problems: list[str] = []
    for key in raw:
        if key not in _KNOWN_KEYS:
            problems.append(f"publish.{key}: unknown setting; known settings: {', '.join(_KNOWN_KEYS)}")

    defaults = PublishProfile()
    title = raw.get("title", defaults.title)
    if not isinstance(title, str) or not title.strip():
        problems.append("publish.title: must be a non-empty text")
        title = defaults.title

    language = raw.get("language", defaults.language)
    if language not in LANGUAGES:
        problems.append(f"publish.language: {language!r} is not supported; use one of {', '.join(LANGUAGES)}")
        language = defaults.language

    layers_raw = raw.get("layers", list(DEFAULT_LAYERS))
    layers: list[str] = []
    if not isinstance(layers_raw, list | tuple) or not all(isinstance(n, str) for n in layers_raw):
        problems.append("publish.layers: must be a list of layer names")
        layers = list(DEFAULT_LAYERS)
    else:
        for name in layers_raw:
            if name not in PUBLISHABLE_LAYERS:
                problems.append(
                    f"publish.layers: {name!r} cannot be published; use some of {', '.join(PUBLISHABLE_LAYERS)}"
                )
            elif name not in layers:
                layers.append(name)
        if "municipalities" not in layers:
            problems.append("publish.layers: must include 'municipalities' (the pages are built per municipality)")
            layers.insert(0, "municipalities")
    # draw in a fixed order, bottom to top, whatever order the profile lists them in
    layers = [name for name in PUBLISHABLE_LAYERS if name in layers]

    show_contamination = raw.get("show_contamination", False)
    if not isinstance(show_contamination, bool):
        problems.append("publish.show_contamination: must be true or false")
        show_contamination = False

    fields = _fields(
        raw.get("fields"),
        layers=layers,
        schema=schema,
        show_contamination=show_contamination,
        problems=problems,
    )
    for layer, needed in REQUIRED_FIELDS.items():
        if layer in fields:
            missing = [n for n in needed if n not in fields[layer]]
            if missing:
                problems.append(f"publish.fields.{layer}: must include {', '.join(missing)} (the site needs them)")

    private = raw.get("private_candidates", defaults.private_candidates)
    if private not in PRIVATE_MODES:
        problems.append(f"publish.private_candidates: {private!r} is not one of {', '.join(PRIVATE_MODES)}")
        private = defaults.private_candidates

    grid_size = raw.get("grid_size_m", defaults.grid_size_m)
    if not _is_number(grid_size) or grid_size <= 0:
        problems.append("publish.grid_size_m: must be a positive number of metres")
        grid_size = defaults.grid_size_m
    grid_min = raw.get("grid_min_count", defaults.grid_min_count)
    if not isinstance(grid_min, int) or isinstance(grid_min, bool) or grid_min < 1:
        problems.append("publish.grid_min_count: must be a whole number ≥ 1")
        grid_min = defaults.grid_min_count

    tiles = raw.get("tiles")
    attribution = raw.get("tiles_attribution")
    if tiles is not None:
        if (
            not isinstance(tiles, str)
            or not tiles.startswith(("https://", "http://"))
            or not all(part in tiles for part in ("{z}", "{x}", "{y}"))
        ):
            problems.append("publish.tiles: must be an http(s) URL template with {z}, {x} and {y}")
            tiles = None
        elif not isinstance(attribution, str) or not attribution.strip():
            problems.append("publish.tiles_attribution: required with publish.tiles (the tile licence demands it)")
    elif attribution is not None and not isinstance(attribution, str):
        problems.append("publish.tiles_attribution: must be a text")

    tolerance = raw.get("simplify_tolerance_m", defaults.simplify_tolerance_m)
    if not _is_number(tolerance) or tolerance < 0:
        problems.append("publish.simplify_tolerance_m: must be a number ≥ 0 (metres)")
        tolerance = defaults.simplify_tolerance_m
    decimals = raw.get("coordinate_decimals", defaults.coordinate_decimals)
    if not isinstance(decimals, int) or isinstance(decimals, bool) or not 4 <= decimals <= 8:
        problems.append("publish.coordinate_decimals: must be a whole number from 4 to 8")
        decimals = defaults.coordinate_decimals
    max_features = raw.get("max_overview_features", defaults.max_overview_features)
    if not isinstance(max_features, int) or isinstance(max_features, bool) or max_features < 1:
        problems.append("publish.max_overview_features: must be a whole number ≥ 1")
        max_features = defaults.max_overview_features

    max_mb = raw.get("max_overview_mb", defaults.max_overview_mb)
    if not _is_number(max_mb) or max_mb <= 0:
        problems.append("publish.max_overview_mb: must be a positive number of megabytes")
        max_mb = defaults.max_overview_mb

    max_rows = raw.get("max_listing_rows", defaults.max_listing_rows)
    if not isinstance(max_rows, int) or isinstance(max_rows, bool) or max_rows < 0:
        problems.append("publish.max_listing_rows: must be a whole number ≥ 0")
        max_rows = defaults.max_listing_rows

    logo: Path | None = None
    if raw.get("logo") is not None:
        if not isinstance(raw["logo"], str):
            problems.append("publish.logo: must be a path to an image file")
        else:
            logo = Path(raw["logo"])
            if not logo.is_absolute():
                logo = (base_dir or Path.cwd()) / logo
            if logo.suffix.lower() not in {".png", ".jpg", ".jpeg", ".svg", ".webp"}:
                problems.append(f"publish.logo: {logo.name!r} is not a PNG, JPEG, SVG or WebP image")
            elif not logo.is_file():
                problems.append(f"publish.logo: file {logo} not found")

    if problems:
        raise ConfigError(problems)
    return PublishProfile(
        title=title.strip(),
        language=language,
        layers=tuple(layers),
        fields=MappingProxyType(fields),
        show_contamination=show_contamination,
        private_candidates=private,
        grid_size_m=float(grid_size),
        grid_min_count=grid_min,
        tiles=tiles,
        tiles_attribution=attribution if tiles else None,
        simplify_tolerance_m=float(tolerance),
        coordinate_decimals=decimals,
        max_overview_features=max_features,
        max_overview_mb=float(max_mb),
        max_listing_rows=max_rows,
        logo=logo,
    )
