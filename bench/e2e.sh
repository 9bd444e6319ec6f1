#!/usr/bin/env bash
# The end-to-end benchmark in one command: installs what is missing, builds, and runs bench/e2e.mjs on a
# private Kafka + S3Proxy pair (started under .local/bench/stack on free ports, removed afterwards), so
# it neither needs nor disturbs the shared local stack. Prints the report and writes it to
# bench/results/e2e-<date>.md. Options: see the top of bench/e2e.mjs.
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/../scripts/lib.sh"

ensure_dependencies
bash "$REPO_ROOT/infra/duckdb/install-extensions.sh" >/dev/null
build
cd "$REPO_ROOT" && exec node bench/e2e.mjs "$@"
