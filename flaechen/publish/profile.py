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

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from flaechen.layers import Schema, load_schema
from flaechen.publish.attribution import SourceSettings
from flaechen.validation import Settings, ValidationError, invalid, validate

PUBLISHABLE_LAYERS = ("municipalities", "zoning", "brownfields", "candidates", "buildings")
"""Layers a site may show. `parcels` never: the parcel layer of a whole district is not a workshop map."""

DEFAULT_LAYERS = ("municipalities", "zoning", "brownfields", "candidates")
"""Layers shown unless the profile says otherwise (buildings are many and add little to a workshop)."""

PRIVATE_MODES = ("parcels", "municipality", "grid")
"""How potentials on private land appear: per parcel, or only as aggregates per municipality or grid cell."""

BUILT_ON_MODES = ("aggregate", "parcels", "none")
"""How the sites built on since the last survey appear: those on public land drawn and the others counted
per municipality, all drawn, or not at all."""

LANGUAGES = ("de", "en")

OPT_IN_FIELDS = {
    ("brownfields", "contamination_suspected"): "show_contamination",
    ("candidates", "contamination_suspected"): "show_contamination",
}
"""Non-public fields a profile switch may release, with the switch that does it."""

REQUIRED_FIELDS = {"municipalities": ("ags", "name"), "candidates": ("category",)}
"""Fields the site cannot do without: names for the pages, the category for colours and legend."""

Text = Annotated[str, Field(min_length=1)]


def _field_problems(layer: str, names: Any, *, show_contamination: bool, schema: Schema) -> list[Any]:
    """Pydantic error details for a ``publish.fields.<layer>`` list (empty where all is well)."""
    from pydantic_core import InitErrorDetails

    errors: list[InitErrorDetails] = []
    layer_def = schema.layer(layer)
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        errors.append(
            {"type": invalid("must be a list of field names", 'e.g. ["name", "area_m2"]'), "loc": (), "input": names}
        )
        return errors
    for i, name in enumerate(names):
        problem: tuple[str, str] | None = None
        if name not in layer_def.field_names:
            close = difflib.get_close_matches(name, layer_def.field_names, n=1)
            problem = (
                f"layer {layer!r} has no field {name!r}",
                f"did you mean {close[0]!r}?" if close else f"fields: {', '.join(layer_def.field_names)}",
            )
        elif not layer_def.field(name).public:
            switch = OPT_IN_FIELDS.get((layer, name))
            if switch is None:
                problem = (
                    f"field {name!r} is marked non-public in layers/{layer}.yaml (personal or internal data) "
                    "and can never be published",
                    "remove it",
                )
            elif not show_contamination:
                problem = (f"field {name!r} needs publish.{switch} = true", "set it or remove the field")
        if problem:
            errors.append({"type": invalid(*problem), "loc": (i,), "input": name})
    missing = [n for n in REQUIRED_FIELDS.get(layer, ()) if n not in names]
    if missing:
        errors.append(
            {
                "type": invalid(f"must include {', '.join(missing)} (the site needs them)", "add them to the list"),
                "loc": (),
                "input": names,
            }
        )
    return errors


class PublishProfile(Settings):
    """A validated publishing profile: the ``[publish]`` table. Build it with :func:`load_profile`.

    Attributes
    ----------
    title
        Site title, shown in the header of every page.
    language
        UI language: ``"de"`` (default) or ``"en"``.
    layers
        Layers drawn on the map, in drawing order from bottom to top.
    show_contamination
        Whether ``brownfields.contamination_suspected`` may be shown.
    fields
        Allow-list: for each layer the fields that may appear anywhere in the site (by default the
        fields marked ``public: true`` in ``layers/*.yaml``).
    private_candidates
        ``"grid"`` (default): candidates on private land appear as counts and hectares per
        municipality and on the map as grid cells of ``grid_size_m`` holding at least
        ``grid_min_count`` candidates each; ``"municipality"``: only as counts and hectares per
        municipality; ``"parcels"``: candidates and brownfields on private land appear per parcel
        (§ 200 Abs. 3 BauGB). Land whose ownership is unknown counts as private.
    built_on
        The sites built on since the last survey (table ``changes`` of the register, change
        ``bebaut``): ``"aggregate"``: those on public land drawn, the others counted per municipality
        (and, with ``"grid"``, drawn as cells of at least ``grid_min_count`` of them);
        ``"parcels"``: all drawn; ``"none"``: not shown. Unset, it follows `private_candidates`
        (``"parcels"`` there draws them all, otherwise ``"aggregate"``).
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
        Optional image file (resolved against the configuration's folder) shown in the page header.
    background
        Draw the offline background from the district's own land use and buildings into
        ``site/tiles/`` (:mod:`flaechen.publish.background`).
    background_max_zoom
        Finest zoom level of the background (16 ≈ 1.5 m per pixel: houses and streets sharp); the
        finest levels are drawn only where buildings stand.
    print_maps
        Also print one A3 landscape map per municipality into ``site/karten-a3.pdf``
        (:mod:`flaechen.publish.printing`; needs Chromium).
    sources
        Attribution, licence and date per data source, over the defaults for ALKIS (``alkis``) and
        VG250 (``vg250``); other keys add the district's own sources
        (:mod:`flaechen.publish.attribution`).
    """

    title: Annotated[str, Field(min_length=1), AfterValidator(str.strip)] = "Flächenpotenziale"
    language: Literal["de", "en"] = "de"
    layers: tuple[str, ...] = DEFAULT_LAYERS
    show_contamination: bool = False
    fields: Mapping[str, tuple[str, ...]] = Field(
        default_factory=lambda: MappingProxyType(_default_fields(DEFAULT_LAYERS, False))
    )
    private_candidates: Literal["parcels", "municipality", "grid"] = "grid"
    built_on: Literal["aggregate", "parcels", "none"] | None = None
    grid_size_m: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 500.0
    grid_min_count: Annotated[int, Field(ge=1)] = 3
    tiles: str | None = None
    tiles_attribution: Text | None = Field(default=None, validate_default=True)
    simplify_tolerance_m: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 1.0
    coordinate_decimals: Annotated[int, Field(ge=4, le=8)] = 6
    max_overview_features: Annotated[int, Field(ge=1)] = 4_000
    max_overview_mb: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 4.0
    max_listing_rows: Annotated[int, Field(ge=0)] = 300
    logo: Path | None = None
    background: bool = True
    background_max_zoom: Annotated[int, Field(ge=12, le=19)] = 16
    print_maps: bool = False
    sources: Mapping[str, SourceSettings] = Field(default_factory=dict)

    @property
    def built_on_mode(self) -> Literal["aggregate", "parcels", "none"]:
        """`built_on`, or where unset what `private_candidates` implies."""
        if self.built_on is not None:
            return self.built_on
        return "parcels" if self.private_candidates == "parcels" else "aggregate"

    def allowed(self, layer: str) -> tuple[str, ...]:
        """Return the fields of `layer` that may appear in the site (empty for a layer not shown)."""
        return self.fields.get(layer, ())

    @field_validator("layers", mode="before")
    @classmethod
    def _layers(cls, value: Any) -> Any:
        from pydantic_core import InitErrorDetails

        if not isinstance(value, list | tuple) or not all(isinstance(n, str) for n in value):
            raise invalid("must be a list of layer names", f"use some of {', '.join(PUBLISHABLE_LAYERS)}")
        errors: list[InitErrorDetails] = []
        for i, name in enumerate(value):
            if name not in PUBLISHABLE_LAYERS:
                errors.append(
                    {
                        "type": invalid(
                            f"{name!r} cannot be published", f"use some of {', '.join(PUBLISHABLE_LAYERS)}"
                        ),
                        "loc": (i,),
                        "input": name,
                    }
                )
        if "municipalities" not in value:
            errors.append(
                {
                    "type": invalid(
                        "must include 'municipalities' (the pages are built per municipality)", "add it to the list"
                    ),
                    "loc": (),
                    "input": value,
                }
            )
        if errors:
            raise ValidationError.from_exception_data("layers", errors)
        # drawn in a fixed order, bottom to top, whatever order the profile lists them in
        return tuple(name for name in PUBLISHABLE_LAYERS if name in value)

    @field_validator("fields", mode="before")
    @classmethod
    def _fields(cls, value: Any, info: ValidationInfo) -> Any:
        from pydantic_core import InitErrorDetails

        layers = info.data.get("layers", DEFAULT_LAYERS)
        show = info.data.get("show_contamination", False) is True
        if isinstance(value, MappingProxyType):
            return value
        if not isinstance(value, Mapping):
            raise invalid("must be a table of layer = [field, …]", 'e.g. fields = { candidates = ["category"] }')
        schema = load_schema()
        chosen = _default_fields(layers, show)
        errors: list[InitErrorDetails] = []
        for layer, names in value.items():
            if layer not in PUBLISHABLE_LAYERS:
                close = difflib.get_close_matches(str(layer), PUBLISHABLE_LAYERS, n=1)
                fix = f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(PUBLISHABLE_LAYERS)}"
                errors.append(
                    {"type": invalid(f"{layer!r} is no publishable layer", fix), "loc": (layer,), "input": names}
                )
                continue
            if layer not in layers:
                errors.append(
                    {
                        "type": invalid(f"layer {layer!r} is not in publish.layers", "add it there or drop this entry"),
                        "loc": (layer,),
                        "input": names,
                    }
                )
                continue
            found = _field_problems(layer, names, show_contamination=show, schema=schema)
            errors += [{**e, "loc": (layer, *e["loc"])} for e in found]  # type: ignore[typeddict-item]
            if not found:
                chosen[layer] = tuple(dict.fromkeys(names))
        if errors:
            raise ValidationError.from_exception_data("fields", errors)
        return MappingProxyType(chosen)

    @field_validator("sources")
    @classmethod
    def _sources(cls, value: Mapping[str, SourceSettings]) -> Mapping[str, SourceSettings]:
        for key, entry in value.items():
            if key not in ("alkis", "vg250") and not (entry.name and (entry.text or entry.holder)):
                raise invalid(
                    f"source {key!r} of the district's own needs name and text (or holder)",
                    f'e.g. [publish.sources.{key}] name = "Bebauungspläne der Gemeinden", text = "Gemeinde …"',
                )
        return MappingProxyType(dict(value))

    @field_validator("tiles")
    @classmethod
    def _tiles(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")) or not all(p in value for p in ("{z}", "{x}", "{y}")):
            raise invalid(
                "must be an http(s) URL template with {z}, {x} and {y}", "e.g. https://tile.example.org/{z}/{x}/{y}.png"
            )
        return value

    @field_validator("tiles_attribution")
    @classmethod
    def _attribution(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("tiles") and not value:
            raise invalid(
                "is required with publish.tiles (the tile licence demands it)", 'add tiles_attribution = "© …"'
            )
        return value if info.data.get("tiles") else None

    @field_validator("logo", mode="before")
    @classmethod
    def _logo(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, Path):
            return value
        if not isinstance(value, str) or not value:
            raise invalid("must be a path to an image file", 'e.g. logo = "logo.png"')
        logo = Path(value)
        if not logo.is_absolute():
            logo = Path((info.context or {}).get("base_dir") or Path.cwd()) / logo
        if logo.suffix.lower() not in {".png", ".jpg", ".jpeg", ".svg", ".webp"}:
            raise invalid(f"{logo.name!r} is not a PNG, JPEG, SVG or WebP image", "convert it to PNG or SVG")
        if not logo.is_file():
            raise invalid(f"file {logo} not found", "check the path (relative to the configuration file)")
        return logo

    @model_validator(mode="after")
    def _default_allow_list(self) -> PublishProfile:
        if "fields" not in self.model_fields_set:
            object.__setattr__(self, "fields", MappingProxyType(_default_fields(self.layers, self.show_contamination)))
        return self


def _default_fields(layers: Sequence[str], show_contamination: bool) -> dict[str, tuple[str, ...]]:
    schema = load_schema()
    chosen: dict[str, tuple[str, ...]] = {}
    for layer in layers:
        if layer not in schema.layers:
            continue
        defaults = list(schema.layer(layer).public_fields)
        for (opt_layer, opt_field), switch in OPT_IN_FIELDS.items():
            if opt_layer == layer and show_contamination and switch == "show_contamination":
                defaults.append(opt_field)
        chosen[layer] = tuple(defaults)
    return chosen


def load_profile(
    raw: PublishProfile | Mapping[str, Any] | None = None,
    *,
    base_dir: Path | None = None,
    schema: Schema | None = None,
) -> PublishProfile:
    """Validate a ``[publish]`` table and return the profile (a typed profile is returned as it is).

    Parameters
    ----------
    raw
        The table: typed (``DistrictConfig.publish``) or raw; ``None`` or empty gives the default profile.
    base_dir
        Folder that relative paths (``logo``) are resolved against; the current folder by default.
    schema
        Unused; the bundled ``layers/`` define the layers (kept for compatibility).

    Returns
    -------
    PublishProfile

    Raises
    ------
    ConfigError
        With every problem found, each naming the key and the fix.

    Examples
    --------
    >>> load_profile({"language": "fr", "grid_size_m": -1})
    Traceback (most recent call last):
    ...
    flaechen.errors.ConfigError: 2 problem(s) in the configuration:
      - publish.language: 'fr' is not allowed; fix: use 'de' or 'en'
      - publish.grid_size_m: -1 is out of range; fix: use a value more than 0
    """
    if isinstance(raw, PublishProfile):
        return raw
    return validate(PublishProfile, dict(raw or {}), prefix="publish", context={"base_dir": base_dir})
