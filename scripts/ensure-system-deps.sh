#!/usr/bin/env bash
# Install the Debian packages the product needs (WeasyPrint's Pango, HarfBuzz subsetting,
# fonts, gettext) when they are missing. As root it installs them; otherwise it prints the command.
# Extra packages can be asked for: scripts/ensure-system-deps.sh chromium docker-compose
set -eu
wanted=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core gettext "$@")
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Missing system packages: ${missing[*]} (install them with your package manager)." >&2
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "Missing system packages. Run:  sudo apt-get install -y ${missing[*]}" >&2
fi
