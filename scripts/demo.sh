#!/usr/bin/env bash
# Quick start, first command: provisions what is missing, starts Kafka, the object store and the three
# services in the background, pushes a small sample cycle through the ingest endpoint, waits for the
# rollups and prints them. Leaves the stack running; `bash scripts/stop.sh` stops it.
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

ensure_dependencies
ensure_infrastructure
build
bash "$REPO_ROOT/scripts/services.sh" start
(cd "$REPO_ROOT" && node packages/generator/dist/demo.js "$@")
say "the stack is still running; stop it with: bash scripts/stop.sh"
