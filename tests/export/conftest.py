"""Fixtures of the export tests: a small synthetic district dataset that follows layers/*.yaml.

Two municipalities side by side (1 km × 1 km each, EPSG:25832), a handful of parcels, zoning areas,
brownfields, buildings and candidates, plus the `issues`, `summary` and `rules` tables, written with the
project's own GeoPackage writer.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import psycopg
import pytest
from shapely.geometry import MultiPolygon, box

from flaechen.demo.district import MIN_SCALE
from flaechen.gpkg import write_gpkg
from flaechen.layers import PROVENANCE_FIELDS, load_schema
from tests.conftest import require

CRS = "EPSG:25832"
X0, Y0 = 500_000.0, 5_600_000.0
AGS = ("10044111", "10044112")


def _frame(layer: str, rows: list[dict], geoms: list) -> gpd.GeoDataFrame:
    schema = load_schema().layer(layer)
    data = {}
    for field in schema.fields:
        data[field.name] = pd.Series([row.get(field.name) for row in rows], dtype=field.dtype)
    for i, name in enumerate(PROVENANCE_FIELDS):
        values = [f"{layer}-{n}" if i != 2 else str(n) for n in range(len(rows))]
        data[name] = pd.Series(values, dtype="string")
    return gpd.GeoDataFrame(data, geometry=[MultiPolygon([g]) for g in geoms], crs=CRS)


def _cell(i: int, j: int, size: float = 100.0, inset: float = 0.0):
    x, y = X0 + i * size, Y0 + j * size
    return box(x + inset, y + inset, x + size - inset, y + size - inset)


def build_district(out: Path) -> Path:
    """Write a synthetic district dataset to `out/district.gpkg` and return its path."""
    municipalities = _frame(
        "municipalities",
        [
            {"ags": AGS[0], "name": "Neustadt", "population": 12000},
            {"ags": AGS[1], "name": "Altdorf", "population": 3500},
        ],
        [box(X0, Y0, X0 + 1000, Y0 + 1000), box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)],
    )
    parcel_rows, parcel_geoms = [], []
    for i in range(20):
        for j in range(3):
            ags = AGS[0] if i < 10 else AGS[1]
            number = i * 3 + j + 1
            parcel_rows.append(
                {
                    "parcel_id": f"0644{ags[-2:]}001{number:05d}0000__",
                    "ags": ags,
                    "gemarkung": "4411",
                    "flur": "001",
                    "zaehler": str(number),
                    "official_area": 10000.0,
                    "actual_use": "Wohnbaufläche;512",
                    "owner": "Erika Mustermann",
                    "ownership": "private" if j else "public",
                }
            )
            parcel_geoms.append(_cell(i, j))
    parcels = _frame("parcels", parcel_rows, parcel_geoms)
    zoning = _frame(
        "zoning",
        [
            {
                "zoning_id": "bp1-1",
                "ags": AGS[0],
                "plan_name": "BP 1",
                "plan_type": "BPlan",
                "allg_art": 1000,
                "bes_art": 1200,
                "grz": 0.4,
                "storeys": 2,
            },
            {
                "zoning_id": "bp1-2",
                "ags": AGS[0],
                "plan_name": "BP 1",
                "plan_type": "BPlan",
                "allg_art": 2000,
                "bes_art": 1500,
                "grz": 0.6,
            },
            {
                "zoning_id": "bp2-1",
                "ags": AGS[1],
                "plan_name": "BP 2",
                "plan_type": "BPlan",
                "allg_art": 3000,
                "bes_art": 1700,
                "grz": 0.8,
                "gfz": 1.6,
            },
            {"zoning_id": "fnp-1", "ags": AGS[1], "plan_name": "FNP", "plan_type": "FNP", "allg_art": 1000},
        ],
        [
            box(X0, Y0, X0 + 500, Y0 + 300),
            box(X0 + 500, Y0, X0 + 1000, Y0 + 300),
            box(X0 + 1000, Y0, X0 + 1500, Y0 + 300),
            box(X0 + 1500, Y0, X0 + 2000, Y0 + 300),
        ],
    )
    brownfields = _frame(
        "brownfields",
        [
            {
                "site_id": "B-1",
                "ags": AGS[0],
                "name": "Alte Ziegelei",
                "former_use": "industry",
                "since_year": 1998,
                "contamination_suspected": True,
                "ownership": "private",
            },
            {
                "site_id": "B-2",
                "ags": AGS[1],
                "name": "Bahnhof Altdorf",
                "former_use": "rail",
                "since_year": 2005,
                "contamination_suspected": False,
                "ownership": "public",
            },
        ],
        [_cell(3, 1, inset=5), _cell(14, 2, inset=5)],
    )
    buildings = _frame(
        "buildings",
        [
            {
                "building_id": f"DE{n:04d}",
                "ags": AGS[0] if i < 10 else AGS[1],
                "storeys": 2,
                "state": 2100 if n == 3 else None,
            }
            for n, i in enumerate(range(0, 20, 2))
        ],
        [_cell(i, 0, inset=30) for i in range(0, 20, 2)],
    )
    categories = ["Baulücke", "Brachfläche", "Untergenutzte Fläche", "Außenreserve", "Leerstand"]
    cand_idx = [3, 10, 20, 40, 55]
    candidates = _frame(
        "candidates",
        [
            {
                "parcel_id": parcel_rows[k]["parcel_id"],
                "ags": parcel_rows[k]["ags"],
                "category": cat,
                "categories": cat,
                "area_m2": 10000.0,
                "zoning_class": "WA",
                "ownership": parcel_rows[k]["ownership"],
                "capacity_dwellings": 12.0 + n,
                "capacity_floor_area": 4000.0,
                "reasons": f"Das Flurstück ist eine {cat}.",
                "reasons_json": json.dumps([{"rule": "demo", "category": cat, "values": {}}]),
            }
            for n, (k, cat) in enumerate(zip(cand_idx, categories, strict=True))
        ],
        [parcel_geoms[k] for k in cand_idx],
    )
    issues = pd.DataFrame(
        {
            "ags": pd.Series([AGS[0]], dtype="string"),
            "source_id": pd.Series(["neustadt-alkis"], dtype="string"),
            "layer": pd.Series(["parcels"], dtype="string"),
            "source_fid": pd.Series([17.0]),
            "feature_id": pd.Series([None], dtype="string"),
            "field": pd.Series(["ags"], dtype="string"),
            "value": pd.Series(["1004411"], dtype="string"),
            "issue_type": pd.Series(["invalid-ags"], dtype="string"),
            "severity": pd.Series(["error"], dtype="string"),
            "responsible": pd.Series(["municipality"], dtype="string"),
            "rejected": pd.Series([True]),
            "message": pd.Series(["AGS '1004411' is not 8 digits"], dtype="string"),
        }
    )
    summary_fields = load_schema().layer("summary").fields
    summary = pd.DataFrame(
        {
            f.name: pd.Series(
                list(AGS)
                if f.name == "ags"
                else ["Neustadt", "Altdorf"]
                if f.name == "name"
                else [12000, 3500]
                if f.name == "population"
                else [n + 1, n + 2],
                dtype=f.dtype,
            )
            for n, f in enumerate(summary_fields)
        }
    )
    rules = pd.DataFrame(
        {
            "key": pd.Series(["bauluecke.min_area_m2"], dtype="string"),
            "value": pd.Series(["200"], dtype="string"),
            "unit": pd.Series(["m²"], dtype="string"),
            "origin": pd.Series(["default"], dtype="string"),
            "source": pd.Series(["Raum+: reserves from 200 m²"], dtype="string"),
        }
    )
    return write_gpkg(
        out / "district.gpkg",
        layers={
            "municipalities": municipalities,
            "parcels": parcels,
            "zoning": zoning,
            "brownfields": brownfields,
            "buildings": buildings,
            "candidates": candidates,
        },
        tables={"issues": issues, "summary": summary, "rules": rules},
    )


@pytest.fixture(scope="session")
def district_template(tmp_path_factory) -> Path:
    """The synthetic district dataset, built once per session (do not modify: use `district`)."""
    return build_district(tmp_path_factory.mktemp("district-template"))


@pytest.fixture
def district(district_template, tmp_path) -> Path:
    """A private copy of the synthetic district dataset: `tmp_path/out/district.gpkg`."""
    out = tmp_path / "out"
    out.mkdir()
    return Path(shutil.copy(district_template, out / "district.gpkg"))


# ------------------------------------------------------------------------------ a throwaway PostGIS server

PG_BIN = Path("/usr/lib/postgresql/15/bin")
POSTGIS_CONTROL = Path("/usr/share/postgresql/15/extension/postgis.control")
PLANNER_PASSWORD = "Kr3is-Geheim!pw"
"""Password of the `planner` role of the test server (the tests check it never shows up)."""


@dataclass(frozen=True)
class PostgisServer:
    """A PostgreSQL server started for the test session, reachable by unix socket and TCP."""

    socket_dir: Path
    port: int
    template: str

    def admin_conninfo(self, dbname: str = "postgres") -> str:
        return f"host={self.socket_dir} port={self.port} user=postgres dbname={dbname}"

    def new_database(self, name: str) -> str:
        """Create a database with PostGIS from the template; return its admin conninfo."""
        with psycopg.connect(self.admin_conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return self.admin_conninfo(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*args: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


@pytest.fixture(scope="session")
def postgis_server():
    """Start a throwaway PostgreSQL 15 + PostGIS 3 cluster in a temporary folder; stop it afterwards.

    Runs `initdb` and `pg_ctl` as the `postgres` OS user when the tests run as root (PostgreSQL refuses
    root). Local connections are trusted; TCP connections on 127.0.0.1 need a password (scram-sha-256).
    """
    require(
        (PG_BIN / "initdb").exists() and POSTGIS_CONTROL.exists(),
        "PostgreSQL 15 with PostGIS 3 (Debian packages postgresql, postgresql-15-postgis-3)",
    )
    root = Path(tempfile.mkdtemp(prefix="flaechen-pg-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    data, port = root / "data", _free_port()
    quiet = {"capture_output": True, "text": True, "timeout": 120}
    done = subprocess.run(
        _as_postgres(
            str(PG_BIN / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-locale",
            "-N",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
        ),
        **quiet,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c full_page_writes=off"
    done = subprocess.run(
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"),
        **quiet,
        check=False,
    )
    assert done.returncode == 0, done.stderr + (root / "log").read_text()
    try:
        server = PostgisServer(socket_dir=root, port=port, template="postgis_template")
        with psycopg.connect(server.admin_conninfo(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE postgis_template")
            conn.execute(f"CREATE ROLE planner LOGIN PASSWORD '{PLANNER_PASSWORD}'")
        with psycopg.connect(server.admin_conninfo("postgis_template"), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
        yield server
    finally:
        subprocess.run(
            _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"),
            **quiet,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgis_db(postgis_server, request) -> str:
    """A fresh PostGIS database for one test; returns the admin (trusted, no password) conninfo."""
    name = re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:50]
    return postgis_server.new_database(name)


# ------------------------------------------------------------------------------------- the demo district

DEMO_SCALE = MIN_SCALE
"""Parcels of the demo district the notebook and QGIS tests build (the generator's minimum: fast)."""

DEMO_SEED = 42
"""The seed of `flaechen demo` (its default)."""


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """The demo district as `flaechen demo` builds it (two deliveries), once per session (do not modify).

    Without the map site, which the notebook and QGIS tests do not open.
    """
    from flaechen.demo.next_year import run_two_surveys

    out = tmp_path_factory.mktemp("demo")
    run_two_surveys(out, scale=DEMO_SCALE, seed=DEMO_SEED, publish=False)
    return out


# ------------------------------------------------------------------------------------ QGIS's Python API

SYSTEM_PYTHON = "/usr/bin/python3"
"""The Python that has Debian's python3-qgis (not the project venv)."""

QGIS_CHECK = Path(__file__).with_name("qgis_check.py")


def qgis_available() -> bool:
    """Whether the system Python can import QGIS's Python API."""
    if not Path(SYSTEM_PYTHON).exists():
        return False
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, check=False)
    return probe.returncode == 0


def run_qgis_check(gpkg: Path, qgz: Path, *, postgis: tuple[str, str] | None = None) -> tuple[dict, str]:
    """Run qgis_check.py headless on a GeoPackage and project (and a PostGIS schema); return report, stderr."""
    from flaechen.export.styles import styles_dir

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(gpkg.parent)}
    args = [SYSTEM_PYTHON, str(QGIS_CHECK), str(gpkg), str(qgz), str(styles_dir()), *(postgis or ())]
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


@pytest.fixture(autouse=True)
def _flaechen_logs_reach_caplog(monkeypatch):
    """`flaechen.cli.main` cuts the `flaechen` logger off the root logger; let caplog see it again."""
    import logging

    monkeypatch.setattr(logging.getLogger("flaechen"), "propagate", True)
