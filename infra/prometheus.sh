#!/usr/bin/env bash
# Installs Debian's prometheus package (the server and promtool) for the alert-rule tests
# (infra/prometheus/rules.test.ts: promtool check and test rules; test/faults/prometheus-alerts.test.ts: a
# real Prometheus scraping the services). Idempotent: prints promtool's path and returns at once when both
# binaries are there. Set CITYCHECK_PROMTOOL / CITYCHECK_PROMETHEUS to use other binaries.
set -euo pipefail

# shellcheck source=infra/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

promtool=${CITYCHECK_PROMTOOL:-/usr/bin/promtool}
prometheus=${CITYCHECK_PROMETHEUS:-/usr/bin/prometheus}
if [[ -x $promtool && -x $prometheus ]]; then
  echo "$promtool"
  exit 0
fi
# --no-install-recommends: the exporters the package recommends are not needed; the service it would start
# under systemd does not start in a container, and nothing here relies on it.
apt_install prometheus.sh "$promtool" 'install Prometheus and set CITYCHECK_PROMTOOL and CITYCHECK_PROMETHEUS' \
  "Debian's prometheus (server and promtool)" --no-install-recommends prometheus
echo /usr/bin/promtool
