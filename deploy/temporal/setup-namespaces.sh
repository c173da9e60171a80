#!/usr/bin/env bash
# docker-compose.yml's `temporal-namespaces` (temporalio/admin-tools image), once the server is
# healthy: each namespace in TEMPORAL_NAMESPACES made when missing, paycenter's search attributes
# registered in it (SQL visibility keeps them per namespace), then a wait until a list query by
# every attribute works, so that no workflow meets an attribute the server does not know yet.
# The same steps as src/dev/temporalServer.ts does for `npm run cluster`. Safe to repeat.
set -euo pipefail

retention=${TEMPORAL_RETENTION:-7d}
# Name:Type, as in src/workflows/contracts/payment.ts (searchAttributes).
attributes=(MerchantId:Keyword MerchantOrderNo:Keyword PayStatus:Keyword PayChannel:Keyword NeedsAttention:Bool Amount:Int ExpiresAt:Datetime AnomalyKinds:KeywordList AttentionReason:Keyword)
every_attribute="MerchantId = '' AND MerchantOrderNo = '' AND PayStatus = '' AND PayChannel = '' AND NeedsAttention = false AND Amount = 0 AND ExpiresAt = '2000-01-01T00:00:00Z' AND AnomalyKinds = '' AND AttentionReason = ''"

# Retries a command every 2 s for at most 2 minutes.
eventually() {
  local what=$1
  shift
  for _ in $(seq 60); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 2
  done
  echo "temporal-namespaces: $what: no success within 2 minutes" >&2
  "$@"
}

for namespace in ${TEMPORAL_NAMESPACES:-default}; do
  if ! temporal operator namespace describe --namespace "$namespace" >/dev/null 2>&1; then
    echo "temporal-namespaces: creating namespace $namespace (retention $retention)"
    temporal operator namespace create --namespace "$namespace" --retention "$retention"
  fi
  eventually "namespace $namespace to be served" \
    temporal operator search-attribute list --namespace "$namespace"
  known=$(temporal operator search-attribute list --namespace "$namespace")
  for attribute in "${attributes[@]}"; do
    name=${attribute%%:*}
    if ! grep -qw "$name" <<<"$known"; then
      echo "temporal-namespaces: adding search attribute $name to $namespace"
      temporal operator search-attribute create --namespace "$namespace" --name "$name" --type "${attribute##*:}"
    fi
  done
  eventually "search attributes in $namespace to be queryable" \
    temporal workflow count --namespace "$namespace" --query "$every_attribute"
  echo "temporal-namespaces: $namespace is ready"
done
# One more namespace refresh (every 2 s) for the history service, which checks the attributes.
sleep 4
