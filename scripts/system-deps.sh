#!/usr/bin/env bash
# Install the Debian packages the station needs, only those missing.
#   run:  WeasyPrint's Pango, HarfBuzz subsetting, fonts with Vietnamese glyphs
#   test: socat (pseudo-terminal printer ports), Chromium (Playwright), poppler-utils (pdftotext)
#   ci:   PostgreSQL server (the suite runs a second time against it)
#   bench: wrk (an HTTP load generator in C, so the client does not steal the server's CPU)
set -euo pipefail
profile="${1:-run}"
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-noto-core)
if [[ "$profile" == test || "$profile" == ci ]]; then
  packages+=(socat chromium poppler-utils)
fi
if [[ "$profile" == ci ]]; then
  packages+=(postgresql)
fi
if [[ "$profile" == bench ]]; then
  packages+=(wrk socat)
fi
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
echo "Installing Debian packages: ${missing[*]}"
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
