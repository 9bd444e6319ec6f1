#!/usr/bin/env bash
# Quick start, second command: provisions what the tests need (dependencies, Kafka, the object store,
# DuckDB's httpfs), type-checks (sources and tests) and lints the tree, and runs every test against the real
# services.
# Two suites run one after the other: the main one (vitest.config.ts, files in parallel on the shared stack),
# then the fault and scale-out suite (vitest.faults.config.ts: each file starts a private Kafka and object
# store, stops them or kills services, one file at a time). Ends with one line "N passed, N failed" over
# both; exits non-zero when anything failed.
#   --quick    the main suite only (a few minutes)
#   --faults   the fault and scale-out suite only
# Further arguments go to vitest (a file filter, -t pattern ...).
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

ensure_dependencies
ensure_infrastructure
say "type-checking, linting, and checking generated contracts"
(cd "$REPO_ROOT" && pnpm exec tsc -b tsconfig.json tsconfig.tests.json && pnpm exec biome check . --diagnostic-level=error >/dev/null) ||
  die "type check or lint failed (run: pnpm check)"
(cd "$REPO_ROOT" && node packages/contracts/scripts/generate-types.mjs --check &&
  node services/ingest/scripts/generate-openapi.mjs --check) ||
  die "generated contracts are stale (run the two scripts above without --check)"

mkdir -p "$STATE_DIR"
configs=(vitest.config.ts vitest.faults.config.ts)
case ${1:-} in
  --quick) configs=(vitest.config.ts); shift ;;
  --faults) configs=(vitest.faults.config.ts); shift ;;
esac
status=0
reports=()
for config in "${configs[@]}"; do
  report="$STATE_DIR/vitest-report-${config%.config.ts}.json"
  rm -f "$report"
  reports+=("$report")
  say "running the tests of $config"
  (cd "$REPO_ROOT" && pnpm exec vitest run --config "$config" --reporter=default --reporter=json --outputFile.json="$report" "$@") || status=$?
done
# One line over every suite; a suite that wrote no report (it could not start) counts as one failure.
node -e '
  const fs = require("fs");
  let passed = 0, failed = 0;
  for (const file of process.argv.slice(1)) {
    if (!fs.existsSync(file) || fs.statSync(file).size === 0) { failed += 1; continue; }
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    passed += r.numPassedTests;
    failed += r.numFailedTests + (r.numFailedTestSuites > 0 && r.numFailedTests === 0 ? r.numFailedTestSuites : 0);
  }
  console.log(`${passed} passed, ${failed} failed`);
' "${reports[@]}"
exit "$status"
