"""Offline assets: Leaflet and its plugins from npm packages, copied into ``site/assets/`` at publish time.

No third-party JavaScript or CSS lives in this repository. The packages are declared in the root
``package.json`` and installed with ``npm ci`` (``make setup``); this module finds the installed
``node_modules``, checks the versions, and copies the few files the pages load, with their licences.
The site's own script and style sheet (``flaechen/publish/static/``) are copied beside them.

Where ``node_modules`` lives: ``$FLAECHEN_NODE_MODULES`` if set, else ``node_modules`` in the
repository root (an editable install) or in the current folder.

Examples
--------
>>> from pathlib import Path
>>> links = copy_assets(Path("site-beispiel"))
>>> links.js[0]
('leaflet', 'assets/leaflet/leaflet.js')
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from flaechen.errors import AssetError
from flaechen.palette import stylesheet

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"


@dataclass(frozen=True)
class NpmAsset:
    """Files taken from one npm package: source path in the package → path under ``site/assets/``."""

    package: str
    major: int
    files: tuple[tuple[str, str], ...]
    js: tuple[str, ...] = ()
    css: tuple[str, ...] = ()
    license: str = "LICENSE"


NPM_ASSETS = (
    NpmAsset(
        package="leaflet",
        major=1,
        files=(
            ("dist/leaflet.js", "leaflet/leaflet.js"),
            ("dist/leaflet.css", "leaflet/leaflet.css"),
            ("dist/images/layers.png", "leaflet/images/layers.png"),
            ("dist/images/layers-2x.png", "leaflet/images/layers-2x.png"),
            ("dist/images/marker-icon.png", "leaflet/images/marker-icon.png"),
            ("dist/images/marker-icon-2x.png", "leaflet/images/marker-icon-2x.png"),
            ("dist/images/marker-shadow.png", "leaflet/images/marker-shadow.png"),
        ),
        js=("leaflet/leaflet.js",),
        css=("leaflet/leaflet.css",),
    ),
    NpmAsset(
        package="leaflet.fullscreen",
        major=3,
        files=(
            ("Control.FullScreen.js", "fullscreen/Control.FullScreen.js"),
            ("Control.FullScreen.css", "fullscreen/Control.FullScreen.css"),
            ("icon-fullscreen.svg", "fullscreen/icon-fullscreen.svg"),
        ),
        js=("fullscreen/Control.FullScreen.js",),
        css=("fullscreen/Control.FullScreen.css",),
    ),
)

OWN_ASSETS = (
    ("site.js", "flaechen/site.js"),
    ("site.css", "flaechen/site.css"),
    ("background.js", "flaechen/background.js"),
)


@dataclass(frozen=True)
class AssetLinks:
    """Relative URLs (from a page in ``site/``) of the scripts and style sheets, in load order."""

    js: tuple[tuple[str, str], ...]
    css: tuple[tuple[str, str], ...]


def asset_links() -> AssetLinks:
    """The relative URLs (from a page in ``site/``) of the scripts and style sheets :func:`copy_assets` copies."""
    js: list[tuple[str, str]] = []
    css: list[tuple[str, str]] = []
    for asset in NPM_ASSETS:
        js += [(Path(p).stem, f"assets/{p}") for p in asset.js]
        css += [(Path(p).stem + "_css", f"assets/{p}") for p in asset.css]
    js.append(("flaechen_background", "assets/flaechen/background.js"))
    js.append(("flaechen_site", "assets/flaechen/site.js"))
    css.append(("flaechen_site_css", "assets/flaechen/site.css"))
    return AssetLinks(js=tuple(js), css=tuple(css))


def find_node_modules() -> Path:
    """Return the ``node_modules`` folder holding the site's front-end packages.

    Raises
    ------
    AssetError
        If none is found; the message says how to install them.
    """
    candidates = []
    if os.environ.get("FLAECHEN_NODE_MODULES"):
        candidates.append(Path(os.environ["FLAECHEN_NODE_MODULES"]))
    candidates += [Path(__file__).resolve().parents[2] / "node_modules", Path.cwd() / "node_modules"]
    for candidate in candidates:
        if (candidate / "leaflet" / "package.json").is_file():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise AssetError(
        f"front-end packages (Leaflet) not found in {tried}; run `npm ci` in the repository root "
        "(`make setup` does it) or set FLAECHEN_NODE_MODULES to an installed node_modules folder"
    )


def _check_version(root: Path, asset: NpmAsset) -> str:
    manifest = root / asset.package / "package.json"
    if not manifest.is_file():
        raise AssetError(f"npm package {asset.package!r} is not installed in {root}; run `npm ci`")
    version = str(json.loads(manifest.read_text(encoding="utf-8")).get("version", ""))
    if not version.startswith(f"{asset.major}."):
        raise AssetError(
            f"npm package {asset.package!r} {version} installed in {root}, but {asset.major}.x is needed; "
            "run `npm ci` to install the versions in package-lock.json"
        )
    return version


def copy_assets(site_dir: Path, *, node_modules: Path | None = None) -> AssetLinks:
    """Copy the scripts, style sheets and images the pages need into ``site_dir/assets``.

    Parameters
    ----------
    site_dir
        The site folder; ``assets/`` is (re)created inside it.
    node_modules
        Where the npm packages are installed; found with :func:`find_node_modules` by default.

    Returns
    -------
    AssetLinks
        The relative URLs to load, in order.
    """
    root = node_modules or find_node_modules()
    target = site_dir / "assets"
    notices: list[str] = []
    for asset in NPM_ASSETS:
        version = _check_version(root, asset)
        for src, dst in asset.files:
            source = root / asset.package / src
            if not source.is_file():
                raise AssetError(f"{source} is missing; reinstall with `npm ci`")
            (target / dst).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target / dst)
        licence = root / asset.package / asset.license
        if licence.is_file():
            notices.append(f"{asset.package} {version}\n\n{licence.read_text(encoding='utf-8').strip()}\n")
        log.debug("copied npm package %s %s", asset.package, version)
    for src, dst in OWN_ASSETS:
        (target / dst).parent.mkdir(parents=True, exist_ok=True)
        if src.endswith(".css"):  # with the palette's colours (layers/palette.yaml) as CSS variables
            (target / dst).write_text(stylesheet(STATIC / src), encoding="utf-8")
        else:
            shutil.copyfile(STATIC / src, target / dst)
    (target / "LICENSES.txt").write_text(
        "Third-party software in this folder, with its licence:\n\n" + "\n\n".join(notices), encoding="utf-8"
    )
    return asset_links()
