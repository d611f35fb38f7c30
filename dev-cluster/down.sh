#!/usr/bin/env bash
# Stop the sandpod dev cluster started by up.sh: every process by its recorded
# pid (node first, etcd last), then unmount whatever is left mounted under
# <repo>/.sandpod. Keeps the state (etcd data, certificates) for the next
# up.sh; `down.sh --purge` also deletes <repo>/.sandpod.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=cluster-lib.sh
. "$HERE/cluster-lib.sh"

[ -d "$STATE" ] || { log "nothing to stop ($STATE does not exist)"; exit 0; }

# sandpod's own processes first, while the API server still answers their last calls.
stop_component sandpod-gateway
stop_component sandpod-operator

# Containers next, while containerd still answers: kill every task in the
# k8s.io namespace so that no container, shim or runsc sandbox survives.
SOCK="$STATE/run/containerd/containerd.sock"
stop_component kubelet
CTR="$STATE/bin/ctr"; [ -x "$CTR" ] || CTR="$(command -v ctr || true)"
if running_pid containerd >/dev/null && [ -n "$CTR" ]; then
  ids="$("$CTR" --address "$SOCK" -n k8s.io tasks ls -q 2>/dev/null || true)"
  if [ -n "$ids" ]; then
    log "killing $(wc -w <<<"$ids") containers"
    for id in $ids; do "$CTR" --address "$SOCK" -n k8s.io tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true; done
    sleep 2
    for id in $ids; do "$CTR" --address "$SOCK" -n k8s.io tasks delete -f "$id" >/dev/null 2>&1 || true; done
  fi
fi

for c in kwok sandpod-netpol kube-proxy apiserver-forward kubelet containerd kube-scheduler kube-controller-manager kube-apiserver etcd; do
  stop_component "$c"
done

# Shims (containerd-shim-runc-v2 / containerd-shim-runsc-v1) and runsc
# sandboxes run in their own sessions: stop those whose command line names our
# state directory (their -address / --root flags point into it).
for p in /proc/[0-9]*; do
  pid="${p#/proc/}"
  cmd="$( { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null || true)"
  case "$cmd" in
    *containerd-shim*"$STATE/"*|*runsc*"$STATE/"*)
      log "stopping leftover shim pid $pid"
      kill -KILL "$pid" 2>/dev/null || true ;;
  esac
done

# Unmount everything below the state directory, deepest first.
for _ in 1 2 3; do
  mapfile -t mnts < <(awk -v s="$STATE/" 'index($2, s) == 1 {print $2}' /proc/self/mounts | sort -r)
  [ ${#mnts[@]} -gt 0 ] || break
  for m in "${mnts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
done
left="$(awk -v s="$STATE/" 'index($2, s) == 1' /proc/self/mounts | wc -l)"
[ "$left" = 0 ] || log "WARNING: $left mounts left under $STATE"

# Pod network left by the CNI bridge plugin; every pod is gone, so are its IPs. Only when this
# state directory's node made it: a control plane started elsewhere (SANDPOD_DEV_STATE,
# SANDPOD_DEV_NODE=0) must not take the running node's bridge with it.
rm -rf "$STATE/cni/ipam/sandpod"
if [ -e "$STATE/cni/net.d/10-sandpod.conflist" ] && ip link show sandpod0 >/dev/null 2>&1; then
  ip link delete sandpod0 2>/dev/null || true
fi

# SANDPOD_DEV_INSTALL=helm (pod-services.sh): kube-proxy's rules, the guard and NetworkPolicy
# chains, route_localnet.
if [ -f "$STATE/kube-proxy.yaml" ]; then
  KUBE_PROXY="$(resolve_component kube-proxy 2>/dev/null || true)"
  [ -z "$KUBE_PROXY" ] || "$KUBE_PROXY" --cleanup --config="$STATE/kube-proxy.yaml" >/dev/null 2>&1 || true
  for chain in INPUT FORWARD; do
    while iptables -D "$chain" -i sandpod0 -j SANDPOD-DEV-GUARD 2>/dev/null; do :; done
  done
  iptables -F SANDPOD-DEV-GUARD 2>/dev/null && iptables -X SANDPOD-DEV-GUARD 2>/dev/null || true
  for chain in INPUT FORWARD; do
    while iptables -t mangle -D "$chain" -i sandpod0 -j SANDPOD-DEV-NETPOL 2>/dev/null; do :; done
  done
  iptables -t mangle -F SANDPOD-DEV-NETPOL 2>/dev/null && iptables -t mangle -X SANDPOD-DEV-NETPOL 2>/dev/null || true
  # kube-proxy's guard for route_localnet, which its --cleanup leaves behind.
  for chain in INPUT OUTPUT; do
    while iptables -D "$chain" -j KUBE-FIREWALL 2>/dev/null; do :; done
  done
  iptables -F KUBE-FIREWALL 2>/dev/null && iptables -X KUBE-FIREWALL 2>/dev/null || true
  sysctl -qw net.ipv4.conf.all.route_localnet=0 2>/dev/null || true
  rm -f "$STATE/kube-proxy.yaml"
fi

if [ "${1:-}" = "--purge" ]; then
  log "removing $STATE"
  rm -rf "$STATE"
fi
log "dev cluster stopped"
