#!/usr/bin/env bash
# `npm start`: installs what is missing, then runs the whole system in one process:
# Temporal dev server with its UI, the database (PostgreSQL, else embedded PGlite), the channel
# simulator, the worker and the API.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
if [ -z "${TEMPORAL_ADDRESS:-}" ] && [ -z "${TEMPORAL_CLI:-}" ]; then
  TEMPORAL_CLI="$(bash scripts/temporal-cli.sh || true)"
  export TEMPORAL_CLI
fi
# The demo's merchant receiver may listen on this machine; a deployment lists its own hosts, if any.
export NOTIFY_URL_ALLOWED_HOSTS="${NOTIFY_URL_ALLOWED_HOSTS-localhost,127.0.0.1}"
exec node --import tsx src/main.ts all
