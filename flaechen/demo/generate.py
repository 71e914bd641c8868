"""Generate the demo district: configuration, every municipality's sources, the planted-defect manifest.

Examples
--------
>>> from pathlib import Path
>>> from flaechen.demo import generate_demo
>>> config = generate_demo(Path("out/demo/input"), scale=3_000)  # already there: left as it is
>>> config.name, sorted(p.name for p in (config.parent / "sources").iterdir())[:3]
('district.toml', ['gemeinden.geojson', 'hohenmaar', 'kelberath'])
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from pathlib import Path

from flaechen.demo.assessment import write_demo_sheets
from flaechen.demo.deliver import write_sources
from flaechen.demo.district import CRS, MIN_SCALE, build_truth
from flaechen.demo.truth import planted_truth, write_truth

logger = logging.getLogger(__name__)

GENERATOR_VERSION = "3"
"""Bumped whenever the generated content changes on purpose. A finished generation is also redone when the
committed configuration or the generator's code changed (the marker holds hashes of both)."""

MARKER = ".flaechen-demo.json"
"""Written last: with the same version, scale, seed, configuration and code it means the folder is complete."""

CONFIG_NAME = "district.toml"
MANIFEST_NAME = "planted_defects.json"
TRUTH_NAME = "planted_truth.gpkg"


def demo_config_path() -> Path:
    """The committed demo configuration (repository checkout or installed wheel).

    Raises
    ------
    FileNotFoundError
        Where neither ``data/demo/district.toml`` of a checkout nor ``flaechen/_data/demo/district.toml``
        of a wheel exists.
    """
    here = Path(__file__).resolve()
    candidates = (here.parents[2] / "data" / "demo" / CONFIG_NAME, here.parents[1] / "_data" / "demo" / CONFIG_NAME)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        "the demo configuration is missing: looked for "
        + " and ".join(str(c) for c in candidates)
        + "; reinstall flaechen"
    )


def _finished(out_dir: Path, *, scale: int, seed: int) -> bool:
    marker = out_dir / MARKER
    if not marker.is_file():
        return False
    try:
        info = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(
        info.get("version") == GENERATOR_VERSION
        and info.get("scale") == scale
        and info.get("seed") == seed
        and info.get("config_sha256") == _config_hash()
        and info.get("code_sha256") == _code_hash()
    )


def _config_hash() -> str:
    return hashlib.sha256(demo_config_path().read_bytes()).hexdigest()


def _code_hash() -> str:
    """Hash of the generator's own modules: a generation by other code is redone."""
    h = hashlib.sha256()
    for module in sorted(Path(__file__).resolve().parent.glob("*.py")):
        h.update(module.name.encode())
        h.update(module.read_bytes())
    return h.hexdigest()


def generate_demo(out_dir: Path, *, scale: int = 20_000, seed: int = 42) -> Path:
    """Write the demo district into ``out_dir`` and return its configuration file.

    Writes ``out_dir/district.toml`` (a copy of the committed demo configuration), every source under
    ``out_dir/sources/``, the filled assessment sheets of the commercial areas under ``out_dir/bewertung/``,
    ``out_dir/planted_defects.json`` (the defects planted in the sources, each with the issue type the
    pipeline should log), ``out_dir/planted_truth.gpkg`` (the planted reuse candidates, layer ``truth``, and
    the planted non-candidates, layer ``non_candidates``: see :mod:`flaechen.demo.truth`) and a marker file,
    last. A folder that already holds a
    finished generation of the same scale, seed and generator version is left as it is.

    Parameters
    ----------
    out_dir
        Target folder (created where missing).
    scale
        Number of parcels in the district (reached within ±5 %); at least 3,000.
    seed
        Random seed: the same seed and scale give the same attribute content.

    Returns
    -------
    pathlib.Path
        ``out_dir / "district.toml"``.

    Raises
    ------
    ValueError
        Where ``scale`` is below 3,000.

    Examples
    --------
    A folder that already holds this generation is left as it is (``flaechen demo`` generated the sources of
    ``out/demo`` into ``out/demo/input`` with the default seed):

    >>> cfg = generate_demo(Path("out/demo/input"), scale=3_000, seed=42)
    >>> cfg.name, (cfg.parent / "planted_defects.json").is_file()
    ('district.toml', True)
    """
    if scale < MIN_SCALE:
        raise ValueError(f"scale must be at least {MIN_SCALE:,} parcels, got {scale:,}")
    out_dir = Path(out_dir)
    config = out_dir / CONFIG_NAME
    if _finished(out_dir, scale=scale, seed=seed) and config.is_file():
        logger.info("%s already holds the demo district (scale %d, seed %d): nothing to do", out_dir, scale, seed)
        return config
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER).unlink(missing_ok=True)
    if (out_dir / "sources").exists():
        shutil.rmtree(out_dir / "sources")
    logger.info("building the demo district: %d parcels, seed %d", scale, seed)
    truth = build_truth(scale=scale, seed=seed)
    manifest = write_sources(out_dir, truth, config_path=demo_config_path())
    write_demo_sheets(out_dir, truth, seed=seed)
    shutil.copyfile(demo_config_path(), config)
    write_truth(out_dir / TRUTH_NAME, *planted_truth(truth.parcels, crs=CRS))
    (out_dir / MANIFEST_NAME).write_text(
        json.dumps(manifest.defects, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    info = {
        "version": GENERATOR_VERSION,
        "scale": scale,
        "seed": seed,
        "config_sha256": _config_hash(),
        "code_sha256": _code_hash(),
        "parcels": len(truth.parcels),
        "buildings": len(truth.buildings),
        "zoning": len(truth.zoning),
        "brownfields": len(truth.brownfields),
        "gauss_krueger_transformation": manifest.transformation,
    }
    (out_dir / MARKER).write_text(json.dumps(info, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    logger.info(
        "demo district written to %s in %.1f s (%d parcels)", out_dir, time.perf_counter() - started, len(truth.parcels)
    )
    return config
