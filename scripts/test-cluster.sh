#!/usr/bin/env bash
# Runs the suites that need a real Kubernetes control plane and node. Uses a running dev cluster
# when there is one; otherwise starts it (building what it lacks, cached in ~/.cache/sandpod) and
# stops it again at the end. A suite never skips here: no cluster is a failure.
# The cluster it starts has sandpod installed as a platform team installs it (SANDPOD_DEV_INSTALL=helm:
# the chart's operator and gateway as pods from the built image, Services, enforced
# NetworkPolicy), so the chart's own suites run too and must find the release. The other suites
# run operators and gateways of their own in namespaces of their own, as in either mode.
# SANDPOD_DEV_INSTALL=local starts the local processes instead; on such a cluster (or a running
# one without the release) the chart's release suites say why and are counted as pending.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
# shellcheck source=../dev-cluster/lib.sh
. dev-cluster/lib.sh
export KUBECONFIG="$here/.sandpod/kubeconfig"
kubectl="$(component_cache_path kubectl)"

started_here=false
if ! { [[ -x "$kubectl" ]] && "$kubectl" get --raw /readyz >/dev/null 2>&1; }; then
  export SANDPOD_DEV_INSTALL="${SANDPOD_DEV_INSTALL:-helm}"
  dev-cluster/up.sh
  started_here=true
  [[ $SANDPOD_DEV_INSTALL != helm ]] || export SANDPOD_REQUIRE_RELEASE=1
fi
stop() { if $started_here; then dev-cluster/down.sh; fi; }
trap stop EXIT

export SANDPOD_REQUIRE_CLUSTER=1
# The short chaos campaign kills the operator and gateway processes it starts and may restart
# cluster components: it runs alone, after every other suite named (directly or by a glob).
chaos=test/bench/chaos.cluster.test.ts
shopt -s globstar nullglob
rest=()
run_chaos=false
for arg in "$@"; do
  if [[ $arg == "$chaos" ]]; then
    run_chaos=true
    continue
  fi
  rest+=("$arg")
  if [[ $arg == *'*'* ]]; then
    # shellcheck disable=SC2086 # the glob is expanded here on purpose, to see what it names
    for file in $arg; do [[ $file != "$chaos" ]] || run_chaos=true; done
  fi
done
status=0
if ((${#rest[@]})); then node_modules/.bin/mocha --timeout 240000 --ignore "$chaos" "${rest[@]}" || status=$?; fi
if $run_chaos; then node_modules/.bin/mocha --timeout 600000 "$chaos" || status=$?; fi
exit "$status"
