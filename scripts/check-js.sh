#!/usr/bin/env bash
# `make check` for the page's ES modules: each must parse as a module (node --check), with no
# download (Debian's nodejs, installed here if missing, as ensure-chromium.sh does Chromium),
# and follow .editorconfig's whitespace: no tabs, no trailing spaces, a final newline.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v node >/dev/null; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "Installing Node.js for the JS check (apt-get install nodejs)..."
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs >/dev/null
fi
status=0
for file in static/js/*.js; do
  if ! node --input-type=module --check <"$file" 2>/tmp/losslab-js-check.err; then
    echo "$file: does not parse as a module" >&2
    sed 's/^/  /' /tmp/losslab-js-check.err >&2
    status=1
  fi
  if grep -nP '\t| +$' "$file" >&2; then
    echo "$file: tabs or trailing spaces (lines above)" >&2
    status=1
  fi
  if [ -n "$(tail -c1 "$file")" ]; then
    echo "$file: no final newline" >&2
    status=1
  fi
done
exit $status
