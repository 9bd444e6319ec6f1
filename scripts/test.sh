#!/usr/bin/env bash
# Quick start, second command: provisions what the tests need (dependencies, Kafka, the object store,
# DuckDB's httpfs), type-checks and lints the tree, and runs every test against the real services.
# Ends with one line "N passed, N failed"; exits non-zero when anything failed.
# `--faults` runs the long fault and scale-out suites (vitest.faults.config.ts) instead.
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

ensure_dependencies
ensure_infrastructure
say "type-checking, linting, and checking generated contracts"
(cd "$REPO_ROOT" && pnpm exec tsc -b tsconfig.json && pnpm exec biome check . --diagnostic-level=error >/dev/null) ||
  die "type check or lint failed (run: pnpm check)"
(cd "$REPO_ROOT" && node packages/contracts/scripts/generate-types.mjs --check &&
  node services/ingest/scripts/generate-openapi.mjs --check) ||
  die "generated contracts are stale (run the two scripts above without --check)"

export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:${KAFKA_PORT:-9092}}"
export S3_ENDPOINT="${S3_ENDPOINT:-http://127.0.0.1:${S3_PORT:-9000}}"
mkdir -p "$STATE_DIR"
report="$STATE_DIR/vitest-report.json"
rm -f "$report"
config=vitest.config.ts
if [[ ${1:-} == --faults ]]; then
  config=vitest.faults.config.ts
  shift
fi
status=0
(cd "$REPO_ROOT" && pnpm exec vitest run --config "$config" --reporter=default --reporter=json --outputFile.json="$report" "$@") || status=$?
if [[ -s $report ]]; then
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(`${r.numPassedTests} passed, ${r.numFailedTests + (r.numFailedTestSuites > 0 && r.numFailedTests === 0 ? r.numFailedTestSuites : 0)} failed`);
  ' "$report"
else
  echo "0 passed, 1 failed"
  status=1
fi
exit "$status"
