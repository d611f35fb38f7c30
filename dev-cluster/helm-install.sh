#!/usr/bin/env bash
# Installs sandpod into the running dev cluster as a platform team would (SANDPOD_DEV_INSTALL=helm;
# called by up.sh): builds the gateway/operator image with images/build.sh (buildah; cached by its
# inputs), imports it into the node's containerd, and runs `helm upgrade --install` of charts/sandpod
# as release `sandpod` in namespace sandpod-system with dev-cluster/helm-values.yaml: the operator
# (2 replicas, leader election) and the gateway (2 replicas) as pods, the seccomp installer
# DaemonSet, the Runtimes and the tenant `dev` (namespace sandpod-dev) whose token is in
# .sandpod/token, the gateway's Service on 127.0.0.1:8081.
# Objects that the local-process mode (sandpod.sh) made are adopted into the release.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=cluster-lib.sh
. "$HERE/cluster-lib.sh"

RELEASE="${SANDPOD_DEV_RELEASE:-sandpod}"
RELEASE_NAMESPACE="${SANDPOD_DEV_RELEASE_NAMESPACE:-sandpod-system}"
TENANT="${SANDPOD_DEV_TENANT:-dev}"
GATEWAY_PORT="${SANDPOD_DEV_GATEWAY_PORT:-8081}"
KUBECTL="$(resolve_component kubectl)"
HELM="$(resolve_component helm)" || { "$HERE/build-binaries.sh" helm; HELM="$(resolve_component helm)"; }
CTR="$STATE/bin/ctr"; [ -x "$CTR" ] || CTR="$(resolve_component ctr)"
SOCK="$STATE/run/containerd/containerd.sock"
k() { "$KUBECTL" --kubeconfig="$KUBECONFIG_PATH" "$@"; }
h() { "$HELM" --kubeconfig="$KUBECONFIG_PATH" "$@"; }

# --- the image --------------------------------------------------------------------------------
started=$SECONDS
tarball="$(LANGUAGES=" " EXPORT_DIR="$SANDPOD_CACHE_DIR/images" "$REPO_ROOT/images/build.sh" | tail -n 1)"
[ -f "$tarball" ] || die "images/build.sh wrote no image archive"
digest="$(cat "${tarball%.tar}.digest")"
held="$("$CTR" --address "$SOCK" -n k8s.io images ls -q 2>/dev/null | grep -x "sandpod.local/sandpod@$digest" || true)"
if [ -z "$held" ]; then
  log "importing sandpod.local/sandpod:dev ($digest) into containerd"
  "$CTR" --address "$SOCK" -n k8s.io images import --all-platforms "$tarball" >/dev/null
  # The chart names the image by digest; the CRI finds it by that name.
  "$CTR" --address "$SOCK" -n k8s.io images tag --force sandpod.local/sandpod:dev "sandpod.local/sandpod@$digest" >/dev/null
fi
log "image sandpod.local/sandpod@$digest ready in $((SECONDS - started)) s"

# --- the tenant's token, as the local-process mode keeps it ------------------------------------------
TOKEN_FILE="$STATE/token"
if [ ! -s "$TOKEN_FILE" ]; then
  (umask 077 && openssl rand -hex 24 >"$TOKEN_FILE")
fi
token_sha256="$(tr -d '\n' <"$TOKEN_FILE" | sha256sum | cut -d' ' -f1)"

k get namespace "$RELEASE_NAMESPACE" >/dev/null 2>&1 || k create namespace "$RELEASE_NAMESPACE" >/dev/null
values=(-f "$HERE/helm-values.yaml"
  --set "images.digest=$digest"
  --set "executions.seccomp.installer.kubeletRootDir=$STATE/kubelet/root"
  --set "tenants[0].name=$TENANT" --set "tenants[0].namespace=sandpod-$TENANT"
  --set "tenants[0].tokenSha256[0]=$token_sha256"
  --set "gateway.service.nodePort=$GATEWAY_PORT")

# The helm test reads the token from a Secret in the release namespace (the chart holds only its sha256).
k -n "$RELEASE_NAMESPACE" create secret generic "$RELEASE-dev-token" --from-literal="$TENANT=$(tr -d '\n' <"$TOKEN_FILE")" \
  --dry-run=client -o yaml | k apply -f - >/dev/null
values+=(--set "tests.tokenSecret.name=$RELEASE-dev-token" --set "tests.tokenSecret.key=$TENANT")

# Adopt what exists already (made by sandpod.sh, or kubectl apply of manifests/): helm installs over
# an object only when it carries the release's ownership marks.
if ! h status "$RELEASE" -n "$RELEASE_NAMESPACE" >/dev/null 2>&1; then
  # (kinds the cluster does not know yet, such as Runtime before the CRDs, make kubectl fail: nothing to adopt then)
  { h template "$RELEASE" "$REPO_ROOT/charts/sandpod" -n "$RELEASE_NAMESPACE" "${values[@]}" |
    k get -f - --ignore-not-found --no-headers -o custom-columns=KIND:.kind,NAME:.metadata.name,NAMESPACE:.metadata.namespace 2>/dev/null ||
    true; } | while read -r kind name ns; do
      where=()
      [ "$ns" = "<none>" ] || where=(-n "$ns")
      k annotate "${where[@]}" "$kind" "$name" --overwrite "meta.helm.sh/release-name=$RELEASE" "meta.helm.sh/release-namespace=$RELEASE_NAMESPACE" >/dev/null
      k label "${where[@]}" "$kind" "$name" --overwrite app.kubernetes.io/managed-by=Helm >/dev/null
      log "adopted $kind $name${ns:+ ($ns)} into release $RELEASE"
    done
fi

started=$SECONDS
log "helm upgrade --install $RELEASE charts/sandpod -n $RELEASE_NAMESPACE"
h upgrade --install "$RELEASE" "$REPO_ROOT/charts/sandpod" -n "$RELEASE_NAMESPACE" "${values[@]}" \
  --wait --timeout 5m >"$LOGS/helm-install.log" 2>&1 || {
  tail -n 20 "$LOGS/helm-install.log" >&2
  k -n "$RELEASE_NAMESPACE" get pods -o wide >&2 || true
  die "helm upgrade --install failed (log: $LOGS/helm-install.log)"
}
log "release $RELEASE installed in $((SECONDS - started)) s"
wait_for "the gateway on 127.0.0.1:$GATEWAY_PORT" 60 curl -fsS "http://127.0.0.1:$GATEWAY_PORT/readyz" ||
  die "the gateway's NodePort does not answer on 127.0.0.1:$GATEWAY_PORT"
log "sandpod is installed (helm): gateway http://127.0.0.1:$GATEWAY_PORT/, token in $TOKEN_FILE, tenant namespace sandpod-$TENANT"
