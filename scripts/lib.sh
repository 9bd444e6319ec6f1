# shellcheck shell=bash
# Shared by the project's scripts: finds the repo, makes sure pnpm and the dependencies are installed, and
# provisions what the pipeline needs on this machine. Sourced, not run.
REPO_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
STATE_DIR="$REPO_ROOT/.local"
LOG_DIR="$STATE_DIR/logs"
RUN_DIR="$STATE_DIR/run"
readonly PNPM_VERSION=9.15.9
# Where the services, the demo and the tests find Kafka and the object store: the ports infra/up.sh starts
# them on (KAFKA_PORT, S3_PORT), unless given outright. Set here, once, so every script agrees with infra/.
export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:${KAFKA_PORT:-9092}}"
export S3_ENDPOINT="${S3_ENDPOINT:-http://127.0.0.1:${S3_PORT:-9000}}"

say() { printf 'citycheck: %s\n' "$*"; }
die() {
  printf 'citycheck: error: %s\n' "$*" >&2
  exit 1
}

# pnpm is not on a fresh machine, and corepack cannot verify it here: install the pinned version with npm.
ensure_pnpm() {
  if command -v pnpm >/dev/null 2>&1 && [[ $(pnpm --version) == "$PNPM_VERSION" ]]; then return 0; fi
  command -v npm >/dev/null 2>&1 || die "npm is needed to install pnpm; install Node.js 20"
  say "installing pnpm $PNPM_VERSION with npm"
  npm install --global --silent "pnpm@$PNPM_VERSION" >/dev/null
}

ensure_dependencies() {
  ensure_pnpm
  local stamp="$REPO_ROOT/node_modules/.citycheck-lock-hash" want
  want=$(sha256sum "$REPO_ROOT/pnpm-lock.yaml" | cut -d ' ' -f 1)
  if [[ -f $stamp && $(<"$stamp") == "$want" ]]; then return 0; fi
  say "installing dependencies (pnpm install --frozen-lockfile)"
  (cd "$REPO_ROOT" && pnpm install --frozen-lockfile --reporter=silent)
  printf '%s\n' "$want" >"$stamp"
}

build() {
  say "building (tsc -b)"
  (cd "$REPO_ROOT" && pnpm exec tsc -b tsconfig.json)
}

# Kafka, the object store and DuckDB's httpfs extension: all provisioned offline, all idempotent.
ensure_infrastructure() {
  bash "$REPO_ROOT/infra/up.sh"
  bash "$REPO_ROOT/infra/duckdb/install-extensions.sh" >/dev/null
  # Headless Chromium (Debian's) for the status page test.
  bash "$REPO_ROOT/infra/chromium.sh" >/dev/null
  # Debian's Prometheus (server and promtool) for the alert-rule tests.
  bash "$REPO_ROOT/infra/prometheus.sh" >/dev/null
  # Debian's psql for the PostgreSQL door test of the query service.
  bash "$REPO_ROOT/infra/psql.sh" >/dev/null
}
