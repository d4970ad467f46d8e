#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests when it is missing (Playwright's own
# browser download does not work offline). Needs root or passwordless sudo.
set -euo pipefail
CHROMIUM=${LOSSLAB_CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null; then
  SUDO="sudo"
else
  echo "Chromium is missing at $CHROMIUM and this user cannot install it (need root)." >&2
  exit 1
fi
echo "Installing Chromium for the browser tests (apt-get install chromium)..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
"$CHROMIUM" --version
