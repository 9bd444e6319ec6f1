#!/usr/bin/env bash
# Installs Debian's postgresql-client for the query service's PostgreSQL door test
# (services/query/src/pg-door.integration.test.ts connects with psql). Idempotent: prints psql's path and
# returns at once when it is there. Set CITYCHECK_PSQL to use another psql instead.
set -euo pipefail

if [[ -n ${CITYCHECK_PSQL:-} ]]; then
  [[ -x $CITYCHECK_PSQL ]] || { echo "psql.sh: CITYCHECK_PSQL=$CITYCHECK_PSQL is not executable" >&2; exit 1; }
  echo "$CITYCHECK_PSQL"
  exit 0
fi
if [[ -x /usr/bin/psql ]] && /usr/bin/psql --version >/dev/null 2>&1; then
  echo /usr/bin/psql
  exit 0
fi
command -v apt-get >/dev/null 2>&1 || {
  echo "psql.sh: no /usr/bin/psql and no apt-get; install postgresql-client and set CITYCHECK_PSQL" >&2
  exit 1
}
sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
echo "psql.sh: installing Debian's postgresql-client (apt-get)" >&2
"${sudo[@]}" apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq postgresql-client >/dev/null
echo /usr/bin/psql
