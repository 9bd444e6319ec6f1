#!/usr/bin/env bash
# Installs Debian's postgresql-client for the query service's PostgreSQL door test
# (services/query/src/pg-door.integration.test.ts connects with psql). Idempotent: prints psql's path and
# returns at once when it is there. Set CITYCHECK_PSQL to use another psql instead.
set -euo pipefail

# shellcheck source=infra/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

use_tool_override psql.sh CITYCHECK_PSQL
if [[ -x /usr/bin/psql ]] && /usr/bin/psql --version >/dev/null 2>&1; then
  echo /usr/bin/psql
  exit 0
fi
apt_install psql.sh /usr/bin/psql 'install postgresql-client and set CITYCHECK_PSQL' \
  "Debian's postgresql-client" postgresql-client
echo /usr/bin/psql
