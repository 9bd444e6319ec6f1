#!/usr/bin/env bash
# Installs Debian's Chromium, and a CJK font so province names render, for the status page's browser test
# (test/status-page.test.ts drives it headless through playwright-core). Idempotent: prints the browser's
# path and returns at once when both are there.
# Set CITYCHECK_CHROMIUM to use another Chromium binary instead.
set -euo pipefail

if [[ -n ${CITYCHECK_CHROMIUM:-} ]]; then
  [[ -x $CITYCHECK_CHROMIUM ]] || { echo "chromium.sh: CITYCHECK_CHROMIUM=$CITYCHECK_CHROMIUM is not executable" >&2; exit 1; }
  echo "$CITYCHECK_CHROMIUM"
  exit 0
fi
if [[ -x /usr/bin/chromium && -d /usr/share/fonts/truetype/wqy ]]; then
  echo /usr/bin/chromium
  exit 0
fi
command -v apt-get >/dev/null 2>&1 || {
  echo "chromium.sh: no /usr/bin/chromium and no apt-get; install Chromium and set CITYCHECK_CHROMIUM" >&2
  exit 1
}
sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
echo "chromium.sh: installing Debian's chromium and fonts-wqy-zenhei (apt-get)" >&2
"${sudo[@]}" apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null
echo /usr/bin/chromium
