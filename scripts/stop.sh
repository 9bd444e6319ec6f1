#!/usr/bin/env bash
# Stops everything the demo started: the three services, then Kafka and the object store.
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
bash "$REPO_ROOT/scripts/services.sh" stop
bash "$REPO_ROOT/infra/down.sh"
