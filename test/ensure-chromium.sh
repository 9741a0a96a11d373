#!/usr/bin/env bash
# Runs before `npm test`: the dashboard test drives Debian's Chromium (never a browser npm
# downloads). Installs it when missing and we are allowed to; otherwise says how.
set -euo pipefail
browser="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$browser" ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the dashboard test..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  exit 0
fi
echo "chromium not found at $browser: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH; the dashboard test will fail" >&2
