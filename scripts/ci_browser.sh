#!/usr/bin/env bash
# Headless Chromium for the leaderboard browser test (tests/test_leaderboard_html.py), from the
# distribution's packages: Debian's `chromium` (no browser download, no snap). Runs as root with
# no stdin (CI); as another user it uses `sudo -n`. Does nothing when a Chromium is installed.
set -euo pipefail
for exe in chromium chromium-browser; do
  if command -v "$exe" >/dev/null 2>&1; then
    echo "ci_browser: $exe already installed ($(command -v "$exe"))"
    exit 0
  fi
done
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ci_browser: no apt-get here: install Chromium with this system's package manager" >&2
  exit 1
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo -n); fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q </dev/null
# fonts-dejavu-core: the page's text renders the same on a bare image (the test checks a screenshot)
"${SUDO[@]}" apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core </dev/null
command -v chromium || { echo "ci_browser: chromium is not on PATH after the install" >&2; exit 1; }
chromium --version 2>/dev/null || true
