#!/usr/bin/env bash
# Starts or stops the pipeline services (ingest, validate, aggregate) and the analysts' query service as background processes of this
# checkout, logging to .local/logs/<service>.log. Idempotent: a running service is left alone.
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

readonly SERVICES=(ingest validate aggregate query)

running() {
  local pidfile="$RUN_DIR/$1.pid"
  [[ -f $pidfile ]] && kill -0 "$(<"$pidfile")" 2>/dev/null
}

start() {
  mkdir -p "$LOG_DIR" "$RUN_DIR"
  local service
  for service in "${SERVICES[@]}"; do
    if running "$service"; then
      say "$service is already running (pid $(<"$RUN_DIR/$service.pid"))"
      continue
    fi
    (cd "$REPO_ROOT" && exec node "services/$service/dist/main.js" >>"$LOG_DIR/$service.log" 2>&1) &
    echo $! >"$RUN_DIR/$service.pid"
    say "started $service (pid $!, log .local/logs/$service.log)"
  done
  local port="${INGEST_PORT:-8080}" deadline=$((SECONDS + 60))
  until curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
    for service in "${SERVICES[@]}"; do
      running "$service" || {
        tail -n 30 "$LOG_DIR/$service.log" >&2
        die "$service exited during start (log above)"
      }
    done
    ((SECONDS < deadline)) || die "ingest did not become ready on port $port within 60 s"
    sleep 0.2
  done
  say "ingest is ready on http://127.0.0.1:$port"
}

stop() {
  local service pid
  for service in "${SERVICES[@]}"; do
    running "$service" || {
      rm -f "$RUN_DIR/$service.pid"
      continue
    }
    pid=$(<"$RUN_DIR/$service.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    rm -f "$RUN_DIR/$service.pid"
    say "stopped $service"
  done
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*) die "usage: scripts/services.sh start|stop" ;;
esac
