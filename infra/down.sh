#!/usr/bin/env bash
# Stops the local Kafka broker and S3Proxy that infra/up.sh started for this checkout: SIGTERM first
# (Kafka shuts down cleanly and skips log recovery next start), SIGKILL after INFRA_STOP_TIMEOUT. Idempotent.
set -euo pipefail

# shellcheck source=infra/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

main() {
  begin_services_command "$@"
  # Wait for a running up.sh to finish rather than stop a service it is still bringing up.
  if [[ -d $STATE_DIR ]]; then
    exec 9>"$STATE_DIR/.up.lock"
    flock --wait 900 9 || die "infra/up.sh has held $STATE_DIR/.up.lock for 15 minutes"
  fi
  local service pid
  local -A stopping=()
  # Signal every service first and then wait, so the shutdowns overlap.
  for service in "${SERVICES[@]}"; do
    pid=$(running_pid "$service")
    if [[ -z $pid ]]; then
      rm -f -- "$(pid_file "$service")"
      say "$service  not running"
      continue
    fi
    kill -TERM "$pid" 2>/dev/null || true
    stopping[$service]=$pid
  done

  local deadline=$((SECONDS + INFRA_STOP_TIMEOUT))
  for service in "${!stopping[@]}"; do
    pid=${stopping[$service]}
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      warn "$service (pid $pid) still running ${INFRA_STOP_TIMEOUT}s after SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    rm -f -- "$(pid_file "$service")"
    say "$service  stopped (pid $pid)"
  done
}

main "$@"
