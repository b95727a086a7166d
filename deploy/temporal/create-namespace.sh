#!/bin/sh
# Creates courier's namespace and the search attributes its jobs set
# (kind, status, project, host); both steps are skipped when already done.
set -eu
ns="${TEMPORAL_NAMESPACE:-default}"
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do sleep 2; done
temporal operator namespace describe --namespace "$ns" >/dev/null 2>&1 ||
  temporal operator namespace create --namespace "$ns" --retention "${TEMPORAL_RETENTION:-30d}"
for attribute in CourierKind CourierStatus CourierProject CourierHost; do
  temporal operator search-attribute create --namespace "$ns" --name "$attribute" --type Keyword --yes 2>/dev/null ||
    echo "search attribute $attribute exists"
done
echo "namespace $ns ready"
