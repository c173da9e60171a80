#!/usr/bin/env bash
# `npm test`: installs what is missing, then runs every test against a real Temporal dev server
# and a real PostgreSQL (TEST_DATABASE_URL, default the local server with trust auth).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
if [ -z "${TEMPORAL_CLI:-}" ]; then
  TEMPORAL_CLI="$(bash scripts/temporal-cli.sh || true)"
  export TEMPORAL_CLI
fi
exec node --import tsx test/run.ts "$@"
