#!/usr/bin/env bash
# Restarts one running component of the dev cluster (etcd, kube-apiserver, kubelet, containerd, ...)
# with the command line, environment and working directory it runs with now: a stop (TERM, KILL
# after 10 s) and a start, as a supervisor's restart would do. Used by bench/chaos.ts to inject
# control-plane and node faults; `restart.sh NAME --kill` sends KILL at once instead (a crash).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=cluster-lib.sh
. "$HERE/cluster-lib.sh"

name="${1:?usage: restart.sh COMPONENT [--kill]}"
pid="$(running_pid "$name")" || die "$name is not running (no live pid in $PIDS/$name.pid)"
read -r _ bin <"$PIDS/$name.pid"
mapfile -d '' -t argv <"/proc/$pid/cmdline"
mapfile -d '' -t environment <"/proc/$pid/environ"
cwd="$(readlink "/proc/$pid/cwd")"

if [ "${2:-}" = --kill ]; then
  log "killing $name (pid $pid)"
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
  rm -f "$PIDS/$name.pid"
else
  stop_component "$name"
fi
log "starting $name again ($bin), log $LOGS/$name.log"
# As start() in cluster-lib.sh, and not from a subshell: a subshell that starts a background job
# waits for it before it ends, and so would this script.
cd "$cwd"
setsid env -i "${environment[@]}" "$bin" "${argv[@]:1}" </dev/null >>"$LOGS/$name.log" 2>&1 &
echo "$! $bin" >"$PIDS/$name.pid"
