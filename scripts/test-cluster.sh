#!/usr/bin/env bash
# `npm run test:cluster`: the end-to-end tests (test/e2e, or the files given as arguments) against
# the real Temporal server on PostgreSQL instead of the dev server (test/run.ts, TEST_TEMPORAL=cluster):
# databases of the run's own, dropped after it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
TEST_TEMPORAL=cluster exec node --import tsx test/run.ts "$@"
