#!/usr/bin/env bash
# Prints whether this checkout's local Kafka broker and S3Proxy are up and answering. Exits 0 when every
# named service (default: all) is up, 1 otherwise, so scripts can run `infra/status.sh || infra/up.sh`.
set -euo pipefail

# shellcheck source=infra/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

main() {
  begin_services_command "$@"
  local service pid port where all_up=0
  for service in "${SERVICES[@]}"; do
    port=$(service_port "$service")
    case $service in
    kafka) where="$BIND_HOST:$port" ;;
    s3) where="http://$BIND_HOST:$port" ;;
    esac
    pid=$(running_pid "$service")
    if [[ -z $pid ]]; then
      all_up=1
      if port_open "$port"; then
        say "$(printf '%-6s' "$service") down; port $port is held by $(describe_listener "$port")"
      else
        say "$(printf '%-6s' "$service") down"
      fi
      continue
    fi
    local detail
    detail="$(service_label "$service"), pid $pid, rss $(rss_mib "$pid") MiB"
    local ok=no
    case $service in
    kafka) kafka_serves_metadata && ok=yes ;;
    s3) s3_answers && ok=yes ;;
    esac
    if [[ $ok == yes ]]; then
      if [[ $service == s3 && $(s3_request HEAD "/$S3_BUCKET") != 200 ]]; then
        say "$(printf '%-6s' "$service") up at $where ($detail), but bucket $S3_BUCKET is missing: run infra/up.sh s3"
        all_up=1
      else
        say "$(printf '%-6s' "$service") up at $where ($detail)"
      fi
    else
      say "$(printf '%-6s' "$service") running but not answering at $where ($detail; log $(log_file "$service"))"
      all_up=1
    fi
  done
  return "$all_up"
}

main "$@"
