#!/usr/bin/env bash
# Runs before `npm test`: the dashboard test drives Debian's Chromium (never a browser npm
# downloads) and the terminal test reads a real terminal through tmux. Installs what is missing
# when we are allowed to (root with apt); otherwise says how.
set -euo pipefail
browser="${CHROMIUM_PATH:-/usr/bin/chromium}"
missing=()
[ -x "$browser" ] || missing+=(chromium)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's ${missing[*]} for the dashboard and terminal tests..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
echo "missing ${missing[*]}: install them (apt-get install ${missing[*]}; or set CHROMIUM_PATH); the dashboard or terminal test will fail" >&2
