#!/usr/bin/env bash
# `npm test`: installs what is missing, then runs every test against a real Temporal dev server
# and a real PostgreSQL (TEST_DATABASE_URL, default the local server with trust auth), then the
# quick chaos run (chaos/run.ts: every part a process of its own, killed on a seeded schedule,
# every order audited). With test files as arguments, only those run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
if [ -z "${TEMPORAL_CLI:-}" ]; then
  TEMPORAL_CLI="$(bash scripts/temporal-cli.sh || true)"
  export TEMPORAL_CLI
fi
# The browser tests (test/browser) drive Debian's Chromium, installed here when missing.
CHROMIUM_PATH="$(bash scripts/chromium.sh)"
export CHROMIUM_PATH
node --import tsx test/run.ts "$@"
if [ "$#" -eq 0 ] && [ "${SKIP_CHAOS:-}" != "1" ]; then
  # A fixed seed, so that a red run replays as printed; CHAOS_SEED tries another.
  node --import tsx chaos/run.ts --quick --seed "${CHAOS_SEED:-5}"
fi
