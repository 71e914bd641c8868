#!/usr/bin/env bash
# Installs the Debian packages flaechen needs beyond PyPI, where this machine allows it (root + apt-get):
#   proj-data               BETA2007 grid for accurate DHDN -> ETRS89 transformations
#   postgresql, postgis     a real PostGIS server for the export tests
#   chromium                headless browser for the map-site tests
#   python3-qgis            QGIS's Python API for the QGIS integration test
#   gdal-bin                ogrinfo, to check outputs as GIS staff would
# Without root it only reports what is missing; the tests that need a missing piece then skip locally
# (and fail under CI=true, where nothing may be missing).
set -euo pipefail
packages=(proj-data postgresql postgresql-15-postgis-3 chromium chromium-driver python3-qgis gdal-bin xvfb)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Note: Debian packages missing (install them as root): ${missing[*]}" >&2
fi
