#!/usr/bin/env bash
# Prints where the real Temporal server is (not the CLI's dev server), as three KEY=path lines:
#   TEMPORAL_SERVER      the server binary (`go.temporal.io/server/cmd/server`)
#   TEMPORAL_SQL_TOOL    its SQL tool (`.../cmd/tools/sql`: setup-schema, update-schema)
#   TEMPORAL_SCHEMA_DIR  the module's PostgreSQL schema (postgresql/v12/{temporal,visibility})
# Built once with Go into a cache folder outside the clone, keyed by version, like
# scripts/temporal-cli.sh; the schema is copied beside the binaries so that a cleaned Go module
# cache does not take it away. Exits non-zero when they are not there and Go is not either.
set -euo pipefail
version=v1.29.1
cache="${PAYCENTER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/paycenter}/temporal-server/$version"

report() {
  echo "TEMPORAL_SERVER=$cache/temporal-server"
  echo "TEMPORAL_SQL_TOOL=$cache/temporal-sql-tool"
  echo "TEMPORAL_SCHEMA_DIR=$cache/schema/postgresql/v12"
}

# The folder is moved into place whole, so a folder that exists is complete.
if [ -x "$cache/temporal-server" ]; then
  report
  exit 0
fi
# shellcheck source=go-build.sh
source "$(dirname "$0")/go-build.sh"
find_go temporal-server "Temporal server $version"
mkdir -p "${cache%/*}"
staging="$(mktemp -d "$cache.build.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
started=$SECONDS
# Both commands are named `server`/`sql` by Go: each goes to a folder of its own, then is renamed.
GOBIN="$staging/server" GOFLAGS=-mod=mod go install "go.temporal.io/server/cmd/server@$version" >&2
GOBIN="$staging/sql" GOFLAGS=-mod=mod go install "go.temporal.io/server/cmd/tools/sql@$version" >&2
mv "$staging/server/server" "$staging/temporal-server"
mv "$staging/sql/sql" "$staging/temporal-sql-tool"
rmdir "$staging/server" "$staging/sql"
module="$(go env GOMODCACHE)/go.temporal.io/server@$version"
mkdir -p "$staging/schema/postgresql"
cp -R "$module/schema/postgresql/v12" "$staging/schema/postgresql/"
chmod -R u+w "$staging/schema"
echo "temporal-server: built in $((SECONDS - started)) s" >&2
# Another build that finished first wins; ours is dropped with the staging folder.
mv -T "$staging" "$cache" 2>/dev/null || true
report
