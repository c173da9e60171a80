#!/usr/bin/env bash
# Prints the path of a Temporal CLI: `temporal` from PATH, else one built with Go into a cache
# folder outside the clone, keyed by version, so every clone and CI run on this machine reuses it.
# Exits non-zero when neither is possible (the SDK then downloads a dev server where it can).
set -euo pipefail
version=v1.5.1
if command -v temporal >/dev/null 2>&1; then
  command -v temporal
  exit 0
fi
cache="${PAYCENTER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/paycenter}/temporal-cli/$version"
if [ -x "$cache/temporal" ]; then
  echo "$cache/temporal"
  exit 0
fi
# shellcheck source=go-build.sh
source "$(dirname "$0")/go-build.sh"
find_go temporal-cli "Temporal CLI $version (no 'temporal' on PATH)"
staging="$(mktemp -d "${cache%/*}.build.XXXXXX" 2>/dev/null || { mkdir -p "${cache%/*}" && mktemp -d "${cache%/*}.build.XXXXXX"; })"
trap 'rm -rf "$staging"' EXIT
GOBIN="$staging" GOFLAGS=-mod=mod go install "github.com/temporalio/cli/cmd/temporal@$version" >&2
mkdir -p "$cache"
mv -f "$staging/temporal" "$cache/temporal"
echo "$cache/temporal"
