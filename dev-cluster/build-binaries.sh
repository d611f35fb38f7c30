#!/usr/bin/env bash
# Build the dev cluster's binaries from Go modules into
#   $SANDPOD_CACHE_DIR/bin/<group>-<version>/<name>   (default ~/.cache/sandpod)
# Usage: dev-cluster/build-binaries.sh [component ...]   (default: all)
#   components: runsc etcd kube-apiserver kubectl kube-controller-manager
#               kube-scheduler kubelet kube-proxy sandpod-netpol containerd-shim-runsc-v1 kwok helm
# A component is skipped when $SANDPOD_<NAME> names an executable, when the
# cached file exists and is executable, or when PATH has one reporting the
# pinned version. Builds run one after another at low priority (nice 15).
# Per-component logs: $SANDPOD_CACHE_DIR/logs/<name>.log
# Build times: $SANDPOD_CACHE_DIR/build-times.tsv
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

command -v go >/dev/null 2>&1 || die "go not found (need Go >= 1.26.3 on PATH or /usr/local/go)"
NICE="${SANDPOD_BUILD_NICE:-15}"
BUILD_ROOT="$SANDPOD_CACHE_DIR/build"
LOG_DIR="$SANDPOD_CACHE_DIR/logs"
TIMES="$SANDPOD_CACHE_DIR/build-times.tsv"
mkdir -p "$BUILD_ROOT" "$LOG_DIR" "$SANDPOD_BIN_ROOT"

export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=mod -trimpath"

# --- wrapper modules (generated in the cache, never in the repo) -------------

k8s_wrapper() {
  local dir="$BUILD_ROOT/k8s-$SANDPOD_K8S_VERSION"
  if [ -f "$dir/go.mod" ] && grep -q "^// complete" "$dir/go.mod"; then echo "$dir"; return; fi
  mkdir -p "$dir"
  log "k8s: fetching k8s.io/kubernetes@$SANDPOD_K8S_VERSION go.mod"
  local modfile
  modfile="$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$SANDPOD_K8S_VERSION" | sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p')"
  [ -f "$modfile" ] || die "cannot read go.mod of k8s.io/kubernetes@$SANDPOD_K8S_VERSION"
  # Staging modules are replaced by ./staging/src/k8s.io/<x> in the release's
  # go.mod; in a wrapper they must point at the published v0.<minor>.<patch>.
  local staging_ver="v0.${SANDPOD_K8S_VERSION#v1.}"
  {
    echo "module sandpod.local/devcluster/k8s"
    echo
    echo "go 1.24.0"
    echo
    echo "godebug default=go1.24"
    echo
    echo "require k8s.io/kubernetes $SANDPOD_K8S_VERSION"
    echo
    echo "replace ("
    sed -n 's#^\s*\(k8s\.io/[a-z0-9-]*\) => \./staging/src/k8s\.io/[a-z0-9-]*\s*$#\t\1 => \1 '"$staging_ver"'#p' "$modfile"
    echo ")"
    echo "// complete"
  } >"$dir/go.mod.tmp"
  grep -q "k8s.io/client-go => k8s.io/client-go $staging_ver" "$dir/go.mod.tmp" || die "staging replace list is empty"
  mv "$dir/go.mod.tmp" "$dir/go.mod"
  echo "$dir"
}

simple_wrapper() { # name module version [main.go contents]
  local dir="$BUILD_ROOT/$1"
  if [ ! -f "$dir/go.mod" ]; then
    mkdir -p "$dir"
    local gov
    gov="$(cd "$dir" && go mod download -json "$2@$3" | sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p' | xargs sed -n 's/^go \([0-9.]*\)$/\1/p')"
    printf 'module sandpod.local/devcluster/%s\n\ngo %s\n\nrequire %s %s\n' "$1" "${gov:-1.26.0}" "$2" "$3" >"$dir/go.mod.tmp"
    [ -z "${4:-}" ] || printf '%s\n' "$4" >"$dir/main.go"
    mv "$dir/go.mod.tmp" "$dir/go.mod"
  fi
  echo "$dir"
}

# gVisor's containerd shim, built from a patched copy of the module (kept in the
# cache, never in the repo): the shim sets its own oom_score_adj to -999 and
# gives up when that fails, which it does on hosts without CAP_SYS_RESOURCE
# (such as this project's VMs). The patch turns that failure into a no-op; the
# shim then keeps the score it inherited from containerd.
gvisor_shim_wrapper() {
  local src="$BUILD_ROOT/gvisor-src-$SANDPOD_GVISOR_VERSION" dir="$BUILD_ROOT/gvisor-shim-$SANDPOD_GVISOR_VERSION"
  if [ ! -f "$src/.patched" ]; then
    local moddir
    moddir="$(go mod download -json "gvisor.dev/gvisor@$SANDPOD_GVISOR_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')"
    [ -d "$moddir" ] || die "cannot download gvisor.dev/gvisor@$SANDPOD_GVISOR_VERSION"
    rm -rf "$src"; cp -r "$moddir" "$src"; chmod -R u+w "$src"
    local f="$src/pkg/shim/v1/manager.go"
    local want='return shim.BootstrapParams{}, fmt.Errorf("failed to set OOM Score on shim: %w", err)'
    grep -qF "$want" "$f" || die "gvisor shim patch does not apply to $SANDPOD_GVISOR_VERSION ($f changed)"
    sed -i "s|$want|_ = err // sandpod dev-cluster: no CAP_SYS_RESOURCE, keep the inherited oom_score_adj|" "$f"
    touch "$src/.patched"
  fi
  if [ ! -f "$dir/go.mod" ]; then
    mkdir -p "$dir"
    sed -n 's/^go \([0-9.]*\)$/\1/p' "$src/go.mod" | head -1 | {
      read -r gov
      printf 'module sandpod.local/devcluster/gvisor-shim\n\ngo %s\n\nrequire gvisor.dev/gvisor %s\n\nreplace gvisor.dev/gvisor => %s\n' "$gov" "$SANDPOD_GVISOR_VERSION" "$src" >"$dir/go.mod"
    }
    # reuse the sums of the unpatched wrapper when it exists
    [ -f "$BUILD_ROOT/gvisor-$SANDPOD_GVISOR_VERSION/go.sum" ] && cp "$BUILD_ROOT/gvisor-$SANDPOD_GVISOR_VERSION/go.sum" "$dir/go.sum"
  fi
  echo "$dir"
}

# --- per component -----------------------------------------------------------

build_one() {
  local c="$1" out dir pkg ldflags tags=()
  out="$(component_cache_path "$c")" || die "unknown component: $c"
  local started=$SECONDS
  case "$c" in
    kube-apiserver|kube-controller-manager|kube-scheduler|kubelet|kube-proxy|kubectl)
      dir="$(k8s_wrapper)"
      pkg="k8s.io/kubernetes/cmd/$c"
      local minor="${SANDPOD_K8S_VERSION#v1.}"; minor="${minor%%.*}"
      local bd; bd="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
      ldflags="-s -w"
      for p in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
        ldflags+=" -X '$p.gitVersion=$SANDPOD_K8S_VERSION' -X '$p.gitMajor=1' -X '$p.gitMinor=$minor'"
        ldflags+=" -X '$p.gitTreeState=clean' -X '$p.buildDate=$bd'"
      done ;;
    etcd)
      dir="$(simple_wrapper "etcd-$SANDPOD_ETCD_VERSION" go.etcd.io/etcd/server/v3 "$SANDPOD_ETCD_VERSION" \
'// Generated by sandpod dev-cluster/build-binaries.sh: the etcd binary
// (same entry point as the etcd repository root main.go).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }')"
      pkg="."
      ldflags="-s -w -X 'go.etcd.io/etcd/api/v3/version.GitSHA=$SANDPOD_ETCD_VERSION'" ;;
    kwok)
      dir="$(simple_wrapper "kwok-$SANDPOD_KWOK_VERSION" sigs.k8s.io/kwok "$SANDPOD_KWOK_VERSION")"
      pkg="sigs.k8s.io/kwok/cmd/kwok"
      ldflags="-s -w -X 'sigs.k8s.io/kwok/pkg/consts.Version=$SANDPOD_KWOK_VERSION'" ;;
    helm)
      dir="$(simple_wrapper "helm-$SANDPOD_HELM_VERSION" helm.sh/helm/v4 "$SANDPOD_HELM_VERSION")"
      pkg=helm.sh/helm/v4/cmd/helm
      # As helm's own Makefile sets it; without it `helm version` says only the minor version.
      ldflags="-s -w -X 'helm.sh/helm/v4/internal/version.version=$SANDPOD_HELM_VERSION' -X 'helm.sh/helm/v4/internal/version.gitTreeState=clean'" ;;
    runsc)
      dir="$(simple_wrapper "gvisor-$SANDPOD_GVISOR_VERSION" gvisor.dev/gvisor "$SANDPOD_GVISOR_VERSION")"
      pkg=gvisor.dev/gvisor/runsc
      ldflags="-s -w -X 'gvisor.dev/gvisor/runsc/version.version=$SANDPOD_GVISOR_VERSION'" ;;
    containerd-shim-runsc-v1)
      dir="$(gvisor_shim_wrapper)"
      pkg=gvisor.dev/gvisor/shim
      ldflags="-s -w -X 'gvisor.dev/gvisor/runsc/version.version=$SANDPOD_GVISOR_VERSION'" ;;
    sandpod-netpol)
      # The project's own module (dev-cluster/netpol/go.mod pins sigs.k8s.io/kube-network-policies).
      dir="$SANDPOD_NETPOL_SRC"
      pkg="."
      tags=(-mod=readonly) # never rewrite the repo's go.mod/go.sum (GOFLAGS has -mod=mod)
      ldflags="-s -w" ;;
    containerd|ctr|containerd-shim-runc-v2)
      dir="$(simple_wrapper "containerd-$SANDPOD_CONTAINERD_VERSION" github.com/containerd/containerd "$SANDPOD_CONTAINERD_VERSION")"
      pkg="github.com/containerd/containerd/cmd/$c"
      tags=(-tags "no_btrfs no_devmapper no_zfs urfave_cli_no_docs")
      ldflags="-s -w -X 'github.com/containerd/containerd/version.Version=$SANDPOD_CONTAINERD_VERSION' -X 'github.com/containerd/containerd/version.Package=github.com/containerd/containerd'" ;;
  esac
  mkdir -p "$(dirname "$out")"
  log "building $c ($(component_group "$c")) -> $out (log: $LOG_DIR/$c.log)"
  if ! (cd "$dir" && nice -n "$NICE" go build ${tags[@]+"${tags[@]}"} -ldflags "$ldflags" -o "$out.tmp" "$pkg") >"$LOG_DIR/$c.log" 2>&1; then
    tail -n 30 "$LOG_DIR/$c.log" >&2
    die "build of $c failed (full log: $LOG_DIR/$c.log)"
  fi
  mv "$out.tmp" "$out"
  local secs=$((SECONDS - started))
  printf '%s\t%s\t%s\t%ss\t%s\n' "$(date -u +%FT%TZ)" "$c" "$(component_group "$c")" "$secs" "$(du -h "$out" | cut -f1)" >>"$TIMES"
  log "built $c in ${secs}s ($(du -h "$out" | cut -f1))"
}

want=("$@")
[ ${#want[@]} -gt 0 ] || want=("${SANDPOD_COMPONENTS[@]}")
for c in "${want[@]}"; do
  component_group "$c" >/dev/null || die "unknown component: $c (known: ${SANDPOD_COMPONENTS[*]})"
  var="$(component_envvar "$c")"
  if [ -n "${!var:-}" ] && [ ! -x "${!var}" ]; then die "$var=${!var} is not an executable file"; fi
done

# One build at a time per cache (wrapper modules and the 2 cores are shared).
exec 9>"$SANDPOD_CACHE_DIR/build.lock"
if ! flock -n 9; then
  log "another build-binaries.sh is running on $SANDPOD_CACHE_DIR, waiting for it"
  flock 9
fi
log "building ${want[*]} (cache $SANDPOD_CACHE_DIR, $(go version | cut -d' ' -f3))"
for c in "${want[@]}"; do
  if p="$(resolve_component "$c")"; then
    log "$c: using $p"
    continue
  fi
  build_one "$c"
done
log "done; disk: $(du -sh "$SANDPOD_CACHE_DIR" | cut -f1) in $SANDPOD_CACHE_DIR"
