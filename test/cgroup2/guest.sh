#!/bin/bash
# PID 1 of the cgroup v2 test guest once its root is the host's (read-only, with a tmpfs for
# writes): lays cgroups out as systemd does on a cgroup v2 host, runs the suites under runc and
# leaves each suite's output and exit code in the results folder the host shared.
set -uo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
results=/mnt/sandpod-results
# shellcheck source=/dev/null
source "$results/plan" # repo=<checkout>, suites=<all, sandbox or quick>, runsc=<path or empty>

# Emulation makes every program many times slower: the suites scale every time limit they ask
# for, the compile step's included, by this (test/helpers/time-scale.ts). Node filling 96 MiB
# until its OOM kill, refaulting its own code through 9p, is the slowest to its reason.
time_scale=10

say() { echo "cgroup2 guest: $*"; }
power_off() {
  sync
  umount "$results"
  busybox poweroff -f # at once: the host root may be gone before anything else would run
}
trap power_off EXIT

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
# The checkout may live below /run or /tmp (CI clones wherever it likes): it is kept visible
# through the fresh tmpfs mounted over them.
mkdir -p /mnt/checkout
mount --bind "$repo" /mnt/checkout
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
if [[ ! -d $repo/test/cgroup2 ]]; then
  mkdir -p "$repo"
  mount --bind /mnt/checkout "$repo"
fi
# As systemd mounts it on a unified host (cgroup_no_v1=all keeps every controller here).
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup
ip link set lo up
hostname cgroup2-guest

# systemd's layout: PID 1 in init.scope, services in leaves of system.slice, the controllers
# enabled down to them. The gateway runs as a service would; sandpod makes its own cgroup beside.
cgroups=/sys/fs/cgroup
service=$cgroups/system.slice/sandpod-tests.service
enable="+cpu +cpuset +io +memory +pids"
mkdir -p $cgroups/init.scope "$service"
echo $$ >$cgroups/init.scope/cgroup.procs
echo "$enable" >$cgroups/cgroup.subtree_control
echo "$enable" >$cgroups/system.slice/cgroup.subtree_control
say "ready $(cut -d" " -f1 /proc/uptime) s after the kernel started, on Linux $(uname -r): $(cat /proc/cmdline)"
say "cgroup2 root controllers: $(cat $cgroups/cgroup.controllers); delegated: $(cat $cgroups/cgroup.subtree_control)"
say "pids.peak: $([[ -e $cgroups/system.slice/pids.peak ]] && echo present || echo absent on this kernel)"

# Runs mocha as the service would run, its output in the suite's log: mocha_as_service LABEL ENV... -- ARGS...
mocha_as_service() {
  local label=$1 env=()
  shift
  while [[ $1 != -- ]]; do env+=("$1") && shift; done
  shift
  (
    echo $BASHPID >"$service/cgroup.procs"
    cd "$repo" && exec env "${env[@]}" node_modules/.bin/mocha "$@"
  ) 2>&1 | tee "$results/$label.log"
  return "${PIPESTATUS[0]}"
}

# Runs mocha on the files given, as the service, with the environment before them.
suite() {
  local label=$1
  shift
  local env=()
  while [[ $1 == *=* ]]; do env+=("$1") && shift; done
  say "--- $label: mocha $*"
  local started=$SECONDS
  mocha_as_service "$label" "${env[@]}" -- "$@"
  local code=$?
  # Node under emulation has (rarely: once in CI, once in some twenty boots here) died of SIGSEGV
  # while loading the test files, before any test ran; the same files then load and pass. Such a
  # death says nothing of sandpod, so the suite runs once more; a death after a test ran, or a
  # second one, fails as any other exit does.
  if ((code > 128)) && ! grep -q -E '[0-9]+ (passing|failing|pending)|✔' "$results/$label.log"; then
    say "--- $label: node died of signal $((code - 128)) before any test ran: $(dmesg | grep -E 'segfault|general protection|trap' | tail -1)"
    say "--- $label: running it once more"
    mocha_as_service "$label" "${env[@]}" -- "$@"
    code=$?
  fi
  echo "$code" >"$results/$label.rc"
  say "--- $label: exit code $code after $((SECONDS - started)) s"
}

if [[ $suites == quick ]]; then
  suite cgroups-runc "SANDPOD_TEST_TIME_SCALE=$time_scale" test/sandbox/cgroups.sandbox.test.ts
else
  suite sandbox-runc "SANDPOD_TEST_TIME_SCALE=$time_scale" test/sandbox/cgroups.sandbox.test.ts test/gateway/embedded/hostile.sandbox.test.ts \
    test/gateway/embedded/host.sandbox.test.ts
fi
if [[ $suites == all ]]; then
  # Less one test: it holds a client's socket paused for a whole run, and under emulation the run
  # outlasts engine.io's ping timeout (45 s), which closes the socket before the run ends.
  suite contract-runc "SANDPOD_TEST_TIME_SCALE=$time_scale" test/gateway/embedded/contract.sandbox.test.ts \
    --invert --grep 'should hold output back instead of buffering it when a client stops reading'
fi
if [[ -n $runsc ]]; then
  suite hostile-runsc "SANDPOD_TEST_TIME_SCALE=$time_scale" SANDPOD_OCI_RUNTIME=runsc "SANDPOD_OCI_RUNTIME_PATH=$runsc" test/gateway/embedded/hostile.sandbox.test.ts
fi
touch "$results/done"
