#!/usr/bin/env bash
# Runs the suites that need a real Kubernetes control plane and node. Uses a running dev cluster
# when there is one; otherwise starts it (building what it lacks, cached in ~/.cache/sandpod) and
# stops it again at the end. A suite never skips here: no cluster is a failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
# shellcheck source=../dev-cluster/lib.sh
. dev-cluster/lib.sh
export KUBECONFIG="$here/.sandpod/kubeconfig"
kubectl="$(component_cache_path kubectl)"

started_here=false
if ! { [[ -x "$kubectl" ]] && "$kubectl" get --raw /readyz >/dev/null 2>&1; }; then
  dev-cluster/up.sh
  started_here=true
fi
stop() { if $started_here; then dev-cluster/down.sh; fi; }
trap stop EXIT

export SANDPOD_REQUIRE_CLUSTER=1
node_modules/.bin/mocha --timeout 240000 "$@"
