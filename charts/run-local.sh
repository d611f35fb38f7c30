#!/usr/bin/env bash
# Runs the operator and the gateway of an installed sandpod release as local processes, configured
# from the release's ConfigMaps and authenticated as its ServiceAccounts (short-lived tokens from
# `kubectl create token`), for clusters whose nodes cannot run the chart's pods (the dev cluster:
# see charts/sandpod/ci/dev-cluster-values.yaml). Stops both on Ctrl-C.
#   charts/run-local.sh RELEASE NAMESPACE [PORT]     (gateway on 127.0.0.1:PORT, default 8082)
# Needs dist/ (make build) and KUBECONFIG (default .sandpod/kubeconfig).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
release="${1:?usage: charts/run-local.sh RELEASE NAMESPACE [PORT]}"
namespace="${2:?usage: charts/run-local.sh RELEASE NAMESPACE [PORT]}"
port="${3:-8082}"
# shellcheck source=../dev-cluster/lib.sh
. "$root/dev-cluster/lib.sh"
export KUBECONFIG="${KUBECONFIG:-$root/.sandpod/kubeconfig}"
kubectl="$(resolve_component kubectl)" || die "no kubectl (dev-cluster/build-binaries.sh kubectl)"
k() { "$kubectl" "$@"; }
for entry in operator/main.js gateway/main.js; do
  [ -f "$root/dist/$entry" ] || die "dist/$entry is missing: run make build"
done
# The release's object names: <release>-sandpod, or the release name when it holds "sandpod".
fullname="$release"
[[ "$release" == *sandpod* ]] || fullname="$release-sandpod"

dir="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

kubeconfig_for() { # service account -> kubeconfig file
  local token server ca
  token="$(k create token "$1" -n "$namespace" --duration=12h)"
  server="$(k config view --minify --raw --flatten -o jsonpath='{.clusters[0].cluster.server}')"
  ca="$(k config view --minify --raw --flatten -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')"
  cat >"$dir/$1.kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters: [{name: cluster, cluster: {server: "$server", certificate-authority-data: "$ca"}}]
users: [{name: "$1", user: {token: "$token"}}]
contexts: [{name: "$1", context: {cluster: cluster, user: "$1"}}]
current-context: "$1"
YAML
  echo "$dir/$1.kubeconfig"
}

k get configmap "$fullname-operator" -n "$namespace" -o jsonpath='{.data.operator\.yaml}' >"$dir/operator.yaml"
k get configmap "$fullname-gateway" -n "$namespace" -o jsonpath='{.data.gateway\.yaml}' >"$dir/gateway.yaml"
# Metrics on a loopback port of its own instead of the pod's 0.0.0.0:8081.
(cd "$root" && node --input-type=module -e "
import { readFileSync, writeFileSync } from 'node:fs';
import yaml from 'js-yaml';
const file = process.argv[1];
writeFileSync(file, yaml.dump({ ...yaml.load(readFileSync(file, 'utf8')), metrics: { host: '127.0.0.1', port: 0 } }));
" "$dir/operator.yaml")

KUBECONFIG="$(kubeconfig_for "$fullname-operator")" SANDPOD_OPERATOR_CONFIG="$dir/operator.yaml" \
  POD_NAMESPACE="$namespace" POD_NAME="$fullname-operator-local" node "$root/dist/operator/main.js" &
pids+=($!)
KUBECONFIG="$(kubeconfig_for "$fullname-gateway")" SANDPOD_CONFIG="$dir/gateway.yaml" HOST=127.0.0.1 PORT="$port" \
  node "$root/dist/gateway/main.js" &
pids+=($!)
log "operator and gateway of release $release running; gateway on http://127.0.0.1:$port (Ctrl-C stops both)"
wait -n "${pids[@]}"
