# shellcheck shell=bash
# Shared settings for the sandpod dev cluster scripts. Sourced, never executed.
#
# Pinned versions (change here only; the cache directory names follow them).
SANDPOD_K8S_VERSION="${SANDPOD_K8S_VERSION:-v1.34.4}"
SANDPOD_ETCD_VERSION="${SANDPOD_ETCD_VERSION:-v3.6.16}"
SANDPOD_KWOK_VERSION="${SANDPOD_KWOK_VERSION:-v0.8.0}"
# Helm 4 (helm.sh/helm/v4): Helm 3's support ended in November 2026. Used by the chart tests only.
SANDPOD_HELM_VERSION="${SANDPOD_HELM_VERSION:-v4.3.2}"
# containerd >= 1.7 is needed by gVisor's shim (Debian 12 ships 1.6).
SANDPOD_CONTAINERD_VERSION="${SANDPOD_CONTAINERD_VERSION:-v1.7.35}"
# gVisor publishes no tags to the Go module proxy; this pseudo-version is the
# `go` branch commit the proxy resolved for gvisor.dev/gvisor@latest on 2026-11-29.
SANDPOD_GVISOR_VERSION="${SANDPOD_GVISOR_VERSION:-v0.0.0-20260905035102-160fafc42237}"

SANDPOD_CACHE_DIR="${SANDPOD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sandpod}"
SANDPOD_BIN_ROOT="$SANDPOD_CACHE_DIR/bin"

# Go toolchain: the one on PATH, else the machine's /usr/local/go.
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  PATH="/usr/local/go/bin:$PATH"
fi
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

# Every component the scripts know about.
# shellcheck disable=SC2034  # used by the scripts that source this file
SANDPOD_COMPONENTS=(runsc etcd kube-apiserver kubectl kube-controller-manager kube-scheduler kubelet kube-proxy sandpod-netpol containerd ctr containerd-shim-runc-v2 containerd-shim-runsc-v1 kwok helm)

log() { printf '%s [dev-cluster] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Group (cache directory) and pinned version of a component.
component_group() {
  case "$1" in
    kube-apiserver|kube-controller-manager|kube-scheduler|kubelet|kube-proxy|kubectl) echo "k8s-$SANDPOD_K8S_VERSION" ;;
    etcd) echo "etcd-$SANDPOD_ETCD_VERSION" ;;
    kwok) echo "kwok-$SANDPOD_KWOK_VERSION" ;;
    helm) echo "helm-$SANDPOD_HELM_VERSION" ;;
    runsc) echo "gvisor-$SANDPOD_GVISOR_VERSION" ;;
    # built from a patched copy (see build-binaries.sh), hence its own directory
    containerd-shim-runsc-v1) echo "gvisor-$SANDPOD_GVISOR_VERSION-sandpod" ;;
    containerd|ctr|containerd-shim-runc-v2) echo "containerd-$SANDPOD_CONTAINERD_VERSION" ;;
    # the project's own module (dev-cluster/netpol): keyed on its source, so an edit rebuilds it
    sandpod-netpol) echo "netpol-$(netpol_source_key)" ;;
    *) return 1 ;;
  esac
}

SANDPOD_NETPOL_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/netpol"
netpol_source_key() {
  cat "$SANDPOD_NETPOL_SRC/go.mod" "$SANDPOD_NETPOL_SRC/go.sum" "$SANDPOD_NETPOL_SRC/main.go" | sha256sum | cut -c1-12
}

# SANDPOD_KUBE_APISERVER, SANDPOD_CONTAINERD_SHIM_RUNSC_V1, ...
component_envvar() {
  local v="${1^^}"
  echo "SANDPOD_${v//-/_}"
}

component_cache_path() {
  local g; g="$(component_group "$1")" || return 1
  echo "$SANDPOD_BIN_ROOT/$g/$1"
}

# Does the binary at $2 report the pinned version of component $1?
component_version_ok() {
  local c="$1" bin="$2" out
  case "$c" in
    kube-apiserver|kube-controller-manager|kube-scheduler|kubelet|kube-proxy)
      out="$("$bin" --version 2>/dev/null)" || return 1
      [ "$out" = "Kubernetes $SANDPOD_K8S_VERSION" ] ;;
    kubectl)
      out="$("$bin" version --client 2>/dev/null)" || return 1
      grep -q "Client Version: $SANDPOD_K8S_VERSION\$" <<<"$out" ;;
    etcd)
      out="$("$bin" --version 2>/dev/null)" || return 1
      grep -q "^etcd Version: ${SANDPOD_ETCD_VERSION#v}\$" <<<"$out" ;;
    kwok)
      out="$("$bin" --version 2>/dev/null)" || return 1
      grep -q "$SANDPOD_KWOK_VERSION" <<<"$out" ;;
    helm)
      out="$("$bin" version --template '{{.Version}}' 2>/dev/null)" || return 1
      [ "$out" = "$SANDPOD_HELM_VERSION" ] ;;
    runsc)
      out="$("$bin" --version 2>/dev/null)" || return 1
      grep -q "$SANDPOD_GVISOR_VERSION" <<<"$out" ;;
    containerd|ctr)
      out="$("$bin" --version 2>/dev/null)" || return 1
      grep -q " $SANDPOD_CONTAINERD_VERSION\b" <<<"$out" ;;
    containerd-shim-runsc-v1|containerd-shim-runc-v2|sandpod-netpol)
      # sandpod-netpol is the project's own program: only the cache (keyed on its source) will do.
      # Shims have no usable version flag: only $SANDPOD_<NAME> or the cache
      # provide them (a Debian containerd 1.6 shim on PATH would not do).
      return 1 ;;
    *) return 1 ;;
  esac
}

# Print the path of a usable binary for component $1, or return 1.
# Order: $SANDPOD_<NAME> (used as given, no version check), the cache,
# then PATH if it reports the pinned version.
resolve_component() {
  local c="$1" var path
  var="$(component_envvar "$c")"
  path="${!var:-}"
  if [ -n "$path" ]; then
    [ -x "$path" ] || die "$var=$path is not an executable file"
    echo "$path"; return 0
  fi
  path="$(component_cache_path "$c")" || return 1
  if [ -f "$path" ] && [ -x "$path" ]; then echo "$path"; return 0; fi
  path="$(command -v "$c" 2>/dev/null || true)"
  if [ -n "$path" ] && component_version_ok "$c" "$path"; then echo "$path"; return 0; fi
  return 1
}
