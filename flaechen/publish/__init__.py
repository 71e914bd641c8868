"""Publishing: an offline map site for public workshops, built from the district dataset.

``publish()`` reads ``district.gpkg`` through the publishing profile's allow-list, simplifies and
reprojects the layers for display, and writes a self-contained folder ``site/`` (pages, data scripts,
Leaflet from npm) that opens from a USB stick with no network. See ``flaechen/publish/README.md``.

Examples
--------
>>> from flaechen.publish import publish
>>> index = publish("out/demo/district.gpkg", "out/demo", profile={"private_candidates": "grid"})  # doctest: +SKIP
>>> index.name  # doctest: +SKIP
'index.html'

The same map in a notebook (a :class:`folium.Map` with the site's layers, popups and legend):

>>> from flaechen.publish import district_map
>>> district_map("out/demo")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flaechen._lazy import lazy_exports

if TYPE_CHECKING:
    from flaechen.publish.assets import AssetError
    from flaechen.publish.prepare import PublishError
    from flaechen.publish.maps import district_map
    from flaechen.publish.profile import PublishProfile, load_profile

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "AssetError": "flaechen.publish.assets",
        "PublishError": "flaechen.publish.prepare",
        "PublishProfile": "flaechen.publish.profile",
        "load_profile": "flaechen.publish.profile",
        "district_map": "flaechen.publish.maps",
    },
)

__all__ = ["AssetError", "PublishError", "PublishProfile", "district_map", "load_profile", "publish"]

log = logging.getLogger(__name__)


def publish(
    gpkg_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    profile: PublishProfile | Mapping[str, Any] | None = None,
    base_dir: Path | None = None,
    district_name: str | None = None,
    generated: date | None = None,
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
        (fields marked ``public: true``, private land aggregated per municipality, no tile server).
    base_dir
        Folder that relative paths in the profile are resolved against (the configuration's folder).
    district_name
        The district's name (``DistrictConfig.name``): the default title becomes
        "Flächenpotenziale <district_name>" where the profile sets no ``title``.
    generated
        Date printed on the pages; today by default.

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
    """
    from flaechen.publish.assets import copy_assets
    from flaechen.publish.prepare import read_district
    from flaechen.publish.profile import load_profile
    from flaechen.publish.pages import build_site

    checked = load_profile(profile, base_dir=base_dir)
    if district_name and "title" not in checked.model_fields_set:
        checked = checked.model_copy(update={"title": f"Flächenpotenziale {district_name}"})
    district = read_district(gpkg_path, profile=checked)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / "site"
    tmp = Path(tempfile.mkdtemp(prefix=".site-", dir=out))
    try:
        copy_assets(tmp)
        build_site(district, profile=checked, site_dir=tmp, generated=generated or date.today())
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=".site-old-", dir=out))
            os.replace(target, old / "site")
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    os.chmod(target, 0o755)
    index = target / "index.html"
    log.info("map site written: %s", index)
    return index
