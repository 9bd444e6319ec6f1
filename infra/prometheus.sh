#!/usr/bin/env bash
# Installs Debian's prometheus package (the server and promtool) for the alert-rule tests
# (infra/prometheus/rules.test.ts: promtool check and test rules; test/faults/prometheus-alerts.test.ts: a
# real Prometheus scraping the services). Idempotent: prints promtool's path and returns at once when both
# binaries are there. Set CITYCHECK_PROMTOOL / CITYCHECK_PROMETHEUS to use other binaries.
set -euo pipefail

promtool=${CITYCHECK_PROMTOOL:-/usr/bin/promtool}
prometheus=${CITYCHECK_PROMETHEUS:-/usr/bin/prometheus}
if [[ -x $promtool && -x $prometheus ]]; then
  echo "$promtool"
  exit 0
fi
command -v apt-get >/dev/null 2>&1 || {
  echo "prometheus.sh: no $promtool and no apt-get; install Prometheus and set CITYCHECK_PROMTOOL and CITYCHECK_PROMETHEUS" >&2
  exit 1
}
sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
echo "prometheus.sh: installing Debian's prometheus (server and promtool; apt-get)" >&2
"${sudo[@]}" apt-get update -qq >/dev/null
# --no-install-recommends: the exporters the package recommends are not needed; the service it would start
# under systemd does not start in a container, and nothing here relies on it.
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends prometheus >/dev/null
echo /usr/bin/promtool
