#!/usr/bin/env bash
# Validates docker-compose.yml as Compose reads it, for each way it is run (no profile, `test`,
# `live`), without a Docker engine: `docker-compose config -q` only parses and resolves the file.
# Debian's docker-compose is installed with apt-get when missing and we are root.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v docker-compose >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "compose: docker-compose is missing; run 'sudo apt-get install -y docker-compose'" >&2
    exit 1
  fi
  echo "compose: installing docker-compose with apt-get (once per machine)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt_install() { apt-get install -y -qq --no-install-recommends docker-compose >/dev/null; }
  if ! apt_install 2>/dev/null; then
    apt-get update -qq >/dev/null
    apt_install
  fi
fi
for profile in '' test live; do
  docker-compose -f docker-compose.yml ${profile:+--profile "$profile"} config -q
  echo "compose: docker-compose.yml is valid${profile:+ with --profile $profile}"
done
