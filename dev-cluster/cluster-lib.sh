# shellcheck shell=bash
# Shared by up.sh, node.sh and down.sh. Sourced after lib.sh.
# shellcheck disable=SC2034  # variables used by the scripts that source this file
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${SANDPOD_DEV_STATE:-$REPO_ROOT/.sandpod}"
PKI="$STATE/pki"
LOGS="$STATE/logs"
PIDS="$STATE/pids"
KUBECONFIG_PATH="$STATE/kubeconfig"

# Loopback ports (override if they clash with something else on the machine).
APISERVER_PORT="${SANDPOD_DEV_APISERVER_PORT:-16443}"
ETCD_PORT="${SANDPOD_DEV_ETCD_PORT:-12379}"
ETCD_PEER_PORT="${SANDPOD_DEV_ETCD_PEER_PORT:-12380}"
KCM_PORT="${SANDPOD_DEV_KCM_PORT:-10257}"
SCHED_PORT="${SANDPOD_DEV_SCHEDULER_PORT:-10259}"
KUBELET_PORT="${SANDPOD_DEV_KUBELET_PORT:-10250}"
KUBELET_HEALTHZ_PORT="${SANDPOD_DEV_KUBELET_HEALTHZ_PORT:-10248}"
SERVICE_CIDR="${SANDPOD_DEV_SERVICE_CIDR:-10.96.0.0/24}"
SERVICE_IP="${SERVICE_CIDR%.*}.1"
POD_CIDR="${SANDPOD_DEV_POD_CIDR:-10.88.0.0/24}"
# The node's address on the pod bridge (SANDPOD_DEV_INSTALL=helm: the pods' gateway, where the
# `kubernetes` Service leads).
POD_GATEWAY_IP="${POD_CIDR%.*}.1"
# NodePorts from 8000, so that the helm install's gateway Service can take 127.0.0.1:8081.
NODE_PORT_RANGE="${SANDPOD_DEV_NODE_PORT_RANGE:-8000-32767}"
KUBE_PROXY_HEALTHZ_PORT="${SANDPOD_DEV_KUBE_PROXY_HEALTHZ_PORT:-10256}"
KUBE_PROXY_METRICS_PORT="${SANDPOD_DEV_KUBE_PROXY_METRICS_PORT:-10249}"
# The netfilter queue whose packets sandpod-netpol (pod-services.sh) judges against NetworkPolicies.
NETPOL_QUEUE="${SANDPOD_DEV_NETPOL_QUEUE:-100}"
# How up.sh installs sandpod: `local` (default): the operator and gateway as local processes from
# dist/ (dev-cluster/sandpod.sh); `helm`: `helm install` of charts/sandpod with the images built by
# images/build.sh, on a pod network that routes to the API server through kube-proxy
# (dev-cluster/pod-services.sh, dev-cluster/helm-install.sh). Switching needs down.sh first.
INSTALL_MODE="${SANDPOD_DEV_INSTALL:-local}"
case "$INSTALL_MODE" in local|helm) ;; *) echo "SANDPOD_DEV_INSTALL must be local or helm, not $INSTALL_MODE" >&2; exit 1 ;; esac
# The node is named localhost: kubelet refuses a loopback node IP, so the
# apiserver reaches the kubelet through the node's Hostname address instead.
NODE_NAME="${SANDPOD_DEV_NODE_NAME:-localhost}"
KCM_CONTROLLERS="${SANDPOD_DEV_KCM_CONTROLLERS:-garbage-collector-controller,namespace-controller,job-controller,cronjob-controller,ttl-after-finished-controller,serviceaccount-token-controller,serviceaccount-controller,root-ca-certificate-publisher-controller,clusterrole-aggregation-controller,pod-garbage-collector-controller,replicaset-controller,deployment-controller,daemonset-controller,endpointslice-controller,resourcequota-controller,node-lifecycle-controller,taint-eviction-controller,disruption-controller}"

# pid of a running component, or nothing. The pid file holds "pid path-of-binary";
# a pid is only trusted while /proc/<pid>/exe still points at that binary.
running_pid() {
  local f="$PIDS/$1.pid" pid exe
  [ -f "$f" ] || return 1
  read -r pid exe <"$f" || return 1
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  # (a binary replaced by a rebuild shows as "<path> (deleted)")
  local cur; cur="$(readlink "/proc/$pid/exe" 2>/dev/null)" || return 1
  [ "${cur% (deleted)}" = "$(readlink -f "$exe")" ] || return 1
  echo "$pid"
}

# start NAME BINARY ARGS... : starts it detached unless it already runs.
start() {
  local name="$1" bin="$2"; shift 2
  local pid
  if pid="$(running_pid "$name")"; then
    log "$name already running (pid $pid)"
    return 0
  fi
  log "starting $name ($bin), log $LOGS/$name.log"
  mkdir -p "$LOGS" "$PIDS"
  setsid "$bin" "$@" </dev/null >>"$LOGS/$name.log" 2>&1 &
  echo "$! $bin" >"$PIDS/$name.pid"
}

# wait_for WHAT SECONDS CMD... : polls CMD until it succeeds. With
# WAIT_COMPONENT=<name> it gives up as soon as that component's process is gone.
wait_for() {
  local what="$1" secs="$2"; shift 2
  local deadline=$((SECONDS + secs)) comp="${WAIT_COMPONENT:-}"
  until "$@" >/dev/null 2>&1; do
    if [ -n "$comp" ] && ! running_pid "$comp" >/dev/null; then
      log "$comp exited while waiting for $what; last lines of $LOGS/$comp.log:"
      tail -n 15 "$LOGS/$comp.log" >&2 || true
      return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      log "timed out after ${secs}s waiting for $what; last output:"
      "$@" >&2 || true
      return 1
    fi
    sleep 1
  done
  log "$what: ok"
}

# check_ports NAME PORT... : unless NAME already runs (as ours), its loopback
# ports must be free; another dev cluster (other clone) is the usual culprit.
check_ports() {
  local name="$1" port; shift
  running_pid "$name" >/dev/null && return 0
  for port in "$@"; do
    # shellcheck disable=SC2016  # $1 belongs to the inner bash
    if timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$port" 2>/dev/null; then
      die "cannot start $name: 127.0.0.1:$port is already in use (another dev cluster? see the SANDPOD_DEV_*_PORT settings in dev-cluster/README.md)"
    fi
  done
}

# stop NAME : TERM, then KILL after a grace period.
stop_component() {
  local name="$1" pid i
  if pid="$(running_pid "$name")"; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do [ -d "/proc/$pid" ] || break; sleep 0.2; done
    if [ -d "/proc/$pid" ]; then
      log "$name did not exit, sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
    fi
  fi
  rm -f "$PIDS/$name.pid"
}

# Writes $STATE/bin.env with the binaries the cluster uses.
write_env_file() {
  local c p
  mkdir -p "$STATE"
  {
    echo "# binaries used by the sandpod dev cluster (written by dev-cluster/up.sh)"
    for c in "${SANDPOD_COMPONENTS[@]}"; do
      if p="$(resolve_component "$c" 2>/dev/null)"; then echo "$(component_envvar "$c")=$p"; fi
    done
    echo "KUBECONFIG=$KUBECONFIG_PATH"
  } >"$STATE/bin.env"
}
