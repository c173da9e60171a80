#!/usr/bin/env bash
# `npm run cluster`: installs what is missing, then runs production's shape on this machine, one
# process per part (src/commands/cluster.ts): the real Temporal server on the local PostgreSQL
# (built the first time by scripts/temporal-server.sh), the channel simulator, two workers and two
# API processes. Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# The demo's merchant receiver may listen on this machine; a deployment lists its own hosts, if any.
export NOTIFY_URL_ALLOWED_HOSTS="${NOTIFY_URL_ALLOWED_HOSTS-localhost,127.0.0.1}"
exec node --import tsx src/main.ts cluster
