"""Benchmark: flaechen's read + harmonise + merge + write against a plain geopandas baseline.

Both run on the same generated demo district in the same invocation, each in its own subprocess so that
peak memory (max RSS) is measured per variant:

- baseline: for every declared source ``geopandas.read_file`` + ``to_crs(district CRS)`` + ``to_file`` (GPKG),
  i.e. what a script without checks, repairs, code lists, provenance, duplicate resolution or issue log does;
- flaechen: ``build_district`` + ``write_dataset`` (everything issue 2 asks for).

The ratio flaechen / baseline says what the checks cost on top of plain I/O.

Usage::

    .venv/bin/python benchmarks/bench_pipeline.py --parcels 1000000   # the issue's scale
    .venv/bin/python benchmarks/bench_pipeline.py                      # quick: 50,000 parcels
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _baseline(config_path: Path, out: Path) -> dict:
    import geopandas as gpd

    from flaechen.config import load_config

    config = load_config(config_path)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    features = 0
    for src in config.sources:
        kwargs = {"layer": src.source_layer} if src.source_layer else {}
        if src.encoding:
            kwargs["encoding"] = src.encoding
        gdf = gpd.read_file(src.path, engine="pyogrio", **kwargs, **dict(src.open_options))
        if gdf.crs is None:
            gdf = gdf.set_crs(src.crs)
        gdf = gdf.to_crs(config.crs)
        gdf.to_file(out / f"{src.id}.gpkg", driver="GPKG", engine="pyogrio")
        features += len(gdf)
    return {"seconds": time.perf_counter() - start, "features": features, "peak_mb": _peak_mb()}


def _flaechen(config_path: Path, out: Path) -> dict:
    from flaechen.config import load_config
    from flaechen.pipeline import build_district, write_dataset

    start = time.perf_counter()
    dataset = build_district(load_config(config_path))
    write_dataset(dataset, out)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "features": int(dataset.accounting["read"].sum()),
        "parcels": len(dataset.layers["parcels"]),
        "issues": len(dataset.issues),
        "peak_mb": _peak_mb(),
    }


def _child(variant: str, config: Path, out: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", variant, "--config", str(config), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parcels", type=int, default=50_000, help="demo district size in parcels")
    parser.add_argument("--work", type=Path, default=None, help="folder for the generated district (kept)")
    parser.add_argument("--child", choices=["baseline", "flaechen"], help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = (_baseline if args.child == "baseline" else _flaechen)(args.config, args.out)
        print(json.dumps(result))
        return

    from flaechen.demo.generate import generate_demo

    work = args.work or REPO / "out" / f"bench-{args.parcels}"
    start = time.perf_counter()
    config = generate_demo(work / "input", scale=args.parcels)
    print(f"demo district of {args.parcels:,d} parcels ready in {time.perf_counter() - start:.1f} s: {config}")
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        base = _child("baseline", config, Path(tmp) / "baseline")
        ours = _child("flaechen", config, Path(tmp) / "flaechen")
    print(f"{'variant':10s} {'seconds':>9s} {'features':>10s} {'peak MB':>9s}")
    print(f"{'baseline':10s} {base['seconds']:9.1f} {base['features']:10,d} {base['peak_mb']:9.0f}")
    print(f"{'flaechen':10s} {ours['seconds']:9.1f} {ours['features']:10,d} {ours['peak_mb']:9.0f}")
    print(
        f"ratio flaechen / baseline: {ours['seconds'] / base['seconds']:.2f}x time, "
        f"{ours['peak_mb'] / base['peak_mb']:.2f}x peak memory "
        f"({ours['parcels']:,d} parcels in the dataset, {ours['issues']:,d} issues logged)"
    )


if __name__ == "__main__":
    main()
