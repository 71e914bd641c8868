import subprocess
import sys
from pathlib import Path

import pytest

from flaechen.crs import choose_transformation, resolve_crs, use_grid_dirs
from flaechen.errors import CRSError

EIFEL = (6.6, 50.2, 7.3, 50.5)
BETA2007_INSTALLED = Path("/usr/share/proj/BETA2007.gsb").exists()


def test_adv_crs_names_resolve_to_their_epsg_codes():
    assert resolve_crs("urn:adv:crs:ETRS89_UTM32", where="x").to_epsg() == 25832
    assert resolve_crs("urn:adv:crs:DE_DHDN_3GK2", where="x").to_epsg() == 31466


def test_unresolvable_crs_names_where_it_was_given():
    with pytest.raises(CRSError, match=r"sources\[3\]: cannot resolve CRS 'EPSG:0815'.*EPSG code"):
        resolve_crs("EPSG:0815", where="sources[3]")


@pytest.mark.skipif(not BETA2007_INSTALLED, reason="Debian's proj-data with BETA2007.gsb is not installed")
def test_beta2007_grid_is_chosen_for_dhdn_where_installed():
    use_grid_dirs()
    choice = choose_transformation("EPSG:31466", "EPSG:25832", bounds=EIFEL)
    assert "DHDN to ETRS89 (8)" in choice.description
    assert choice.missing_grids == ()


def test_without_the_grid_a_helmert_runs_and_the_missing_grid_is_named():
    # A fresh process that never added the system grid folders to PROJ's search path.
    code = (
        "from flaechen.crs import choose_transformation;"
        f"c = choose_transformation('EPSG:31466', 'EPSG:25832', bounds={EIFEL});"
        "print(c.description); print(','.join(c.missing_grids)); print(c.accuracy, c.better_accuracy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert "DHDN to ETRS89 (8)" not in out[0]
    assert out[1] == "de_adv_BETA2007.tif"
    accuracy, better = map(float, out[2].split())
    assert better < accuracy


def test_same_crs_needs_no_transformation():
    assert choose_transformation("EPSG:25832", "EPSG:25832").is_identity
