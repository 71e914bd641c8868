"""Publishing: an offline map site for public workshops, built from the district dataset.

``publish()`` reads ``district.gpkg`` through the publishing profile's allow-list, simplifies and
reprojects the layers for display, and writes a self-contained folder ``site/`` (pages, data scripts,
Leaflet from npm) that opens from a USB stick with no network. See ``flaechen/publish/README.md``.

Examples
--------
>>> from flaechen.publish import publish
>>> index = publish("out/demo/district.gpkg", "out/karte", profile={"private_candidates": "grid"}, background=False)
>>> index.relative_to("out/karte").as_posix()
'site/index.html'

The same map in a notebook (a :class:`folium.Map` with the site's layers, popups and legend):

>>> from flaechen.publish import district_map
>>> m = district_map("out/demo")
>>> type(m).__name__
'Map'
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flaechen._lazy import lazy_exports

if TYPE_CHECKING:
    from flaechen.errors import AssetError, PrintError, PublishError
    from flaechen.publish.background import TileSet
    from flaechen.publish.maps import district_map
    from flaechen.publish.profile import PublishProfile, load_profile

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "AssetError": "flaechen.errors",
        "PublishError": "flaechen.errors",
        "PrintError": "flaechen.errors",
        "PublishProfile": "flaechen.publish.profile",
        "load_profile": "flaechen.publish.profile",
        "district_map": "flaechen.publish.maps",
    },
)

__all__ = ["AssetError", "PrintError", "PublishError", "PublishProfile", "district_map", "load_profile", "publish"]

log = logging.getLogger(__name__)


def publish(
    gpkg_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    profile: PublishProfile | Mapping[str, Any] | None = None,
    base_dir: Path | None = None,
    district_name: str | None = None,
    generated: date | None = None,
    background: bool | None = None,
    print_maps: bool | None = None,
) -> Path:
    """Build the offline map site ``out_dir/site/`` from a district GeoPackage.

    The site is built in a temporary folder beside the target and moved into place when complete, so a
    failed run never leaves a half-written site (nor a mix of old and new files).

    Parameters
    ----------
    gpkg_path
        The district dataset (``district.gpkg``) with municipalities, candidates and the other layers.
    out_dir
        Folder receiving ``site/`` (replaced if present).
    profile
        The raw ``[publish]`` table of the district configuration; ``None`` publishes with the defaults
        (fields marked ``public: true``, private land only as aggregates per municipality and grid cell,
        no tile server).
    base_dir
        Folder that relative paths in the profile are resolved against (the configuration's folder).
    district_name
        The district's name (``DistrictConfig.name``): the default title becomes
        "Flächenpotenziale <district_name>" where the profile sets no ``title``.
    generated
        Date printed on the pages; today by default.
    background
        Draw the offline background (land use, streets, water, forest, buildings) into ``site/tiles/``
        (:mod:`flaechen.publish.background`); None follows the profile's ``background`` (on).
    print_maps
        Also print one A3 landscape sheet per municipality into ``site/karten-a3.pdf``
        (:mod:`flaechen.publish.printing`; needs Chromium, Playwright and pypdf); None follows the
        profile's ``print_maps`` (off).

    Returns
    -------
    Path
        ``out_dir/site/index.html``.

    Raises
    ------
    ConfigError
        The profile is invalid (every problem listed).
    PublishError
        The GeoPackage or a required layer is missing.
    AssetError
        The front-end packages are not installed (``npm ci``).
    PrintError
        `print_maps` is set and Chromium, Playwright or pypdf is missing.
    """
    from flaechen.atomic import atomic_folder
    from flaechen.publish.assets import copy_assets
    from flaechen.publish.attribution import district_land, resolve_sources, run_date
    from flaechen.publish.localities import localities
    from flaechen.publish.pages import build_site
    from flaechen.publish.prepare import select_district
    from flaechen.publish.printing import PDF_NAME, print_district
    from flaechen.publish.profile import load_profile
    from flaechen.publish.workshop import Workshop, locality_entries

    checked = load_profile(profile, base_dir=base_dir)
    if district_name and "title" not in checked.model_fields_set:
        checked = checked.model_copy(update={"title": f"Flächenpotenziale {district_name}"})
    district = select_district(gpkg_path, profile=checked)
    today = generated or date.today()
    ran = run_date(gpkg_path) or today
    credits = resolve_sources(
        checked.sources, land=district_land(district.layers["municipalities"]["_ags"]), run_date=ran
    )

    def fill(site_dir: Path) -> None:
        copy_assets(site_dir)
        draw = checked.background if background is None else background
        tiles = (
            _background(gpkg_path, district, site_dir=site_dir, max_zoom=checked.background_max_zoom) if draw else None
        )
        candidates = district.layers.get("candidates")
        found = localities(gpkg_path, candidates=candidates)
        printing = checked.print_maps if print_maps is None else print_maps
        order = sorted(district.layers["municipalities"]["_ags"].astype(str))
        workshop = Workshop(
            tiles=tiles,
            sources=credits,
            run_date=ran,
            localities=locality_entries(found),
            pdf=PDF_NAME if printing else None,
            pdf_pages={ags: i + 1 for i, ags in enumerate(order)} if printing else {},
        )
        build_site(district, profile=checked, site_dir=site_dir, generated=today, workshop=workshop)
        if printing:
            print_district(
                gpkg_path,
                site_dir=site_dir,
                profile=checked,
                sources=credits,
                tiles=tiles,
                run_date=ran,
                generated=today,
                found=found,
            )

    target = atomic_folder(Path(out_dir) / "site", fill)
    os.chmod(target, 0o755)
    index = target / "index.html"
    log.info("map site written: %s", index)
    return index


def _background(gpkg_path: str | os.PathLike[str], district: Any, *, site_dir: Path, max_zoom: int) -> TileSet | None:
    """Render the background tiles into ``site_dir/tiles`` (None where the dataset has nothing to draw)."""
    import shapely

    from flaechen.publish.background import background_features, render_background

    features, source = background_features(gpkg_path)
    if features.empty:
        log.warning("%s: no land use and no buildings: the map site has no background", gpkg_path)
        return None
    municipalities = district.layers["municipalities"]
    extent = shapely.union_all(municipalities.to_crs(features.crs).geometry.to_numpy())
    return render_background(features, out_dir=site_dir / "tiles", extent=extent, max_zoom=max_zoom, source=source)
