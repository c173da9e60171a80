#!/usr/bin/env bash
# docker-compose.yml's `temporal-schema` (temporalio/admin-tools image): makes Temporal's two
# databases on the compose PostgreSQL when missing and brings their schemas to the image's
# version with temporal-sql-tool. Safe to repeat: `setup-schema -v 0.0` only records the version
# table once, `update-schema` applies only the versions not applied yet.
# Connection: SQL_PLUGIN, SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD (read by temporal-sql-tool).
set -euo pipefail

# The image keeps the schema files of its own version here.
schema_root=${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}

for pair in "${TEMPORAL_DATABASE:-temporal}:temporal" "${TEMPORAL_VISIBILITY_DATABASE:-temporal_visibility}:visibility"; do
  database=${pair%%:*}
  schema=${pair##*:}
  exists=$(PGPASSWORD=$SQL_PASSWORD psql -h "$SQL_HOST" -p "$SQL_PORT" -U "$SQL_USER" -d postgres -tAc \
    "select 1 from pg_database where datname = '$database'")
  if [[ $exists != 1 ]]; then
    echo "temporal-schema: creating database $database"
    temporal-sql-tool --db "$database" create-database
  fi
  temporal-sql-tool --db "$database" setup-schema -v 0.0
  temporal-sql-tool --db "$database" update-schema -d "$schema_root/$schema/versioned"
  echo "temporal-schema: $database is at the image's $schema schema version"
done
