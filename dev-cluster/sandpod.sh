#!/usr/bin/env bash
# Installs sandpod into the running dev cluster: the CRDs and default Runtimes from manifests/, the
# operator as a local process watching the development tenant's namespace, and the gateway in
# Kubernetes mode on 127.0.0.1:8081 with a development tenant whose token is in .sandpod/token.
# Called by up.sh (SANDPOD_DEV_SANDPOD=0 skips it); needs `make build` (dist/) first.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=cluster-lib.sh
. "$HERE/cluster-lib.sh"

GATEWAY_PORT="${SANDPOD_DEV_GATEWAY_PORT:-8081}"
TENANT="${SANDPOD_DEV_TENANT:-dev}"
NAMESPACE="sandpod-$TENANT"
KUBECTL="$(resolve_component kubectl)"
NODE="$(command -v node)" || die "node not found (Node.js 20 is needed to run the operator and the gateway)"
k() { "$KUBECTL" --kubeconfig="$KUBECONFIG_PATH" "$@"; }

for entry in operator/main.js gateway/main.js; do
  [ -f "$REPO_ROOT/dist/$entry" ] || die "dist/$entry is missing: run \`make build\` first (make dev-cluster does)"
done

log "installing the CRDs and the default Runtimes"
k apply -f "$REPO_ROOT/manifests/crds/" >/dev/null
k wait --for=condition=Established crd/executions.sandpod.dev crd/runtimes.sandpod.dev crd/warmpools.sandpod.dev --timeout=60s >/dev/null
k apply -f "$REPO_ROOT/manifests/runtimes/" >/dev/null
k get namespace "$NAMESPACE" >/dev/null 2>&1 || k create namespace "$NAMESPACE" >/dev/null
k apply -f "$REPO_ROOT/manifests/tenant/deny-network.yaml" -n "$NAMESPACE" >/dev/null

# The token is made once and kept, so clients configured with it go on working across restarts.
TOKEN_FILE="$STATE/token"
if [ ! -s "$TOKEN_FILE" ]; then
  (umask 077 && openssl rand -hex 24 >"$TOKEN_FILE")
fi
token_sha256="$(tr -d '\n' <"$TOKEN_FILE" | sha256sum | cut -d' ' -f1)"
cat >"$STATE/gateway.yaml" <<YAML
# Written by dev-cluster/sandpod.sh: the development gateway in Kubernetes mode.
tenants:
  - name: $TENANT
    tokenSha256: ["$token_sha256"]
YAML

export KUBECONFIG="$KUBECONFIG_PATH"
WATCH_NAMESPACE="$NAMESPACE" SANDPOD_OPERATOR_CONFIG="$HERE/operator.yaml" \
  start sandpod-operator "$NODE" "$REPO_ROOT/dist/operator/main.js"
SANDPOD_BACKEND=kubernetes HOST=127.0.0.1 PORT="$GATEWAY_PORT" SANDPOD_CONFIG="$STATE/gateway.yaml" \
  start sandpod-gateway "$NODE" "$REPO_ROOT/dist/gateway/main.js"
WAIT_COMPONENT=sandpod-gateway wait_for "the gateway on 127.0.0.1:$GATEWAY_PORT" 60 \
  curl -fsS "http://127.0.0.1:$GATEWAY_PORT/readyz"
log "sandpod is installed: gateway http://127.0.0.1:$GATEWAY_PORT/, token in $TOKEN_FILE, tenant namespace $NAMESPACE"
