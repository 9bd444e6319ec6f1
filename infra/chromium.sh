#!/usr/bin/env bash
# Installs Debian's Chromium, and a CJK font so province names render, for the status page's browser test
# (test/status-page.test.ts drives it headless through playwright-core). Idempotent: prints the browser's
# path and returns at once when both are there.
# Set CITYCHECK_CHROMIUM to use another Chromium binary instead.
set -euo pipefail

# shellcheck source=infra/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

use_tool_override chromium.sh CITYCHECK_CHROMIUM
if [[ -x /usr/bin/chromium && -d /usr/share/fonts/truetype/wqy ]]; then
  echo /usr/bin/chromium
  exit 0
fi
apt_install chromium.sh /usr/bin/chromium 'install Chromium and set CITYCHECK_CHROMIUM' \
  "Debian's chromium and fonts-wqy-zenhei" chromium fonts-wqy-zenhei
echo /usr/bin/chromium
