#!/usr/bin/env bash
# Start one real node for the dev cluster (called by up.sh after the control
# plane is ready): containerd (built 1.7, else Debian's 1.6) with runc
# (cgroupfs) and a CNI bridge without a default route, kubelet, local images
# (images/build-images.sh: pause and the sandpod.local/runtime-<lang>:dev images), and RuntimeClass
# `gvisor` (handler runsc, gVisor's shim) when runsc, the shim and containerd
# >= 1.7 are available.
# Exits non-zero with the reason when the node cannot run on this machine.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=cluster-lib.sh
. "$HERE/cluster-lib.sh"

no_node() { log "NODE NOT STARTED: $*"; exit 1; }

[ "$(id -u)" = 0 ] || no_node "kubelet and containerd need root (running as uid $(id -u))"
[ "$(uname -s)" = Linux ] || no_node "needs Linux"
[ -f "$KUBECONFIG_PATH" ] || no_node "control plane not started (no $KUBECONFIG_PATH); run dev-cluster/up.sh"

# Build what the node needs and lacks (cold: kubelet ~1 min after the control
# plane, runsc ~1.5 min, containerd ~3 min; see README.md). A failed optional
# build only costs RuntimeClass gvisor / containerd 1.7.
missing=()
for c in kubelet runsc containerd ctr containerd-shim-runc-v2 containerd-shim-runsc-v1; do
  resolve_component "$c" >/dev/null 2>&1 || missing+=("$c")
done
if [ ${#missing[@]} -gt 0 ] && [ "${SANDPOD_DEV_BUILD:-1}" != 0 ]; then
  log "building missing node binaries: ${missing[*]}"
  for c in "${missing[@]}"; do "$HERE/build-binaries.sh" "$c" || log "WARNING: build of $c failed"; done
fi
KUBELET="$(resolve_component kubelet)" || no_node "no kubelet binary (dev-cluster/build-binaries.sh kubelet failed, or SANDPOD_DEV_BUILD=0)"
KUBECTL="$(resolve_component kubectl)"
k() { "$KUBECTL" --kubeconfig="$KUBECONFIG_PATH" "$@"; }

# --- host packages ----------------------------------------------------------------
CNI_BIN="${SANDPOD_DEV_CNI_BIN_DIR:-/usr/lib/cni}"
# containerd: the one build-binaries.sh built (>= 1.7, needed by gVisor's shim),
# else Debian's (1.6: runc only, no RuntimeClass gvisor).
CONTAINERD="$(resolve_component containerd 2>/dev/null || true)"
CTR="$(resolve_component ctr 2>/dev/null || true)"
RUNC_SHIM="$(resolve_component containerd-shim-runc-v2 2>/dev/null || true)"
if [ -z "$CONTAINERD" ] || [ -z "$CTR" ] || [ -z "$RUNC_SHIM" ]; then
  log "containerd $SANDPOD_CONTAINERD_VERSION not built (dev-cluster/build-binaries.sh containerd ctr containerd-shim-runc-v2): using Debian's containerd"
  CONTAINERD="" CTR="" RUNC_SHIM=""
fi
pkgs=()
[ -n "$CONTAINERD" ] || command -v containerd >/dev/null || pkgs+=(containerd)
command -v runc >/dev/null || pkgs+=(runc)
[ -x "$CNI_BIN/bridge" ] && [ -x "$CNI_BIN/host-local" ] && [ -x "$CNI_BIN/loopback" ] || pkgs+=(containernetworking-plugins)
command -v gcc >/dev/null || pkgs+=(gcc libc6-dev)
if [ "$INSTALL_MODE" = helm ]; then
  # helm-install.sh builds the gateway/operator image; pod-services.sh routes Services and fences pods.
  command -v buildah >/dev/null || pkgs+=(buildah)
  command -v iptables >/dev/null || pkgs+=(iptables)
fi
if [ ${#pkgs[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || no_node "missing ${pkgs[*]} and no apt-get to install them"
  log "installing Debian packages: ${pkgs[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}" >"$LOGS/apt.log" 2>&1; then
    log "apt-get install failed, running apt-get update once and retrying"
    apt-get update >>"$LOGS/apt.log" 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}" >>"$LOGS/apt.log" 2>&1 ||
      no_node "apt-get install ${pkgs[*]} failed (see $LOGS/apt.log)"
  fi
fi

# --- kernel / cgroup checks ----------------------------------------------------------
if [ -d /sys/fs/cgroup/memory ] && [ -d /sys/fs/cgroup/cpu ]; then
  CGV=v1
elif [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw memory /sys/fs/cgroup/cgroup.controllers; then
  CGV=v2
else
  no_node "no usable cgroup hierarchy (neither v1 cpu+memory controllers nor v2 with memory) under /sys/fs/cgroup"
fi
mkdir -p /sys/fs/cgroup/memory/sandpod-probe 2>/dev/null && rmdir /sys/fs/cgroup/memory/sandpod-probe 2>/dev/null ||
  [ "$CGV" = v2 ] || no_node "cannot create cgroups under /sys/fs/cgroup/memory (read-only cgroupfs?)"
probe="$(mktemp -d)"; mkdir -p "$probe"/{l,u,w,m}
if ! mount -t overlay overlay -o "lowerdir=$probe/l,upperdir=$probe/u,workdir=$probe/w" "$probe/m" 2>/dev/null; then
  rm -rf "$probe"; no_node "overlayfs cannot be mounted here (containerd's overlayfs snapshotter needs it)"
fi
umount "$probe/m"; rm -rf "$probe"
CONTAINERD="${CONTAINERD:-$(command -v containerd)}"
CTR="${CTR:-$(command -v ctr)}"
log "host ok: cgroup $CGV, overlayfs, containerd $("$CONTAINERD" --version | cut -d' ' -f3), runc $(runc --version | head -1 | cut -d' ' -f3)"

# --- containerd ---------------------------------------------------------------
CD="$STATE/containerd"
RUN="$STATE/run"
SOCK="$RUN/containerd/containerd.sock"
[ ${#SOCK} -lt 100 ] || no_node "containerd socket path too long for a unix socket: $SOCK (set SANDPOD_DEV_STATE to a shorter directory)"
mkdir -p "$CD" "$RUN/containerd" "$STATE/cni/net.d" "$STATE/cni/ipam" "$STATE/images"

RUNSC="$(resolve_component runsc 2>/dev/null || true)"
SHIM="$(resolve_component containerd-shim-runsc-v1 2>/dev/null || true)"
SHIM_DIR="$STATE/bin"
mkdir -p "$SHIM_DIR"
ln -sf "$CTR" "$SHIM_DIR/ctr"   # down.sh uses the same client
[ -z "$RUNC_SHIM" ] || ln -sf "$RUNC_SHIM" "$SHIM_DIR/containerd-shim-runc-v2"
# RuntimeClass gvisor needs runsc and gVisor's shim containerd-shim-runsc-v1,
# which speaks the shim protocol of containerd >= 1.7 (Debian 12 has 1.6).
# (containerd's runc shim with runsc as its binary is no substitute: it never
# sees a pod's containers exit, since they are not host processes.)
GVISOR_MODE=none
cd_ver="$("$CONTAINERD" --version | awk '{print $3}' | sed 's/^v//')"
cd_ver="${cd_ver%%[~+-]*}"
cap_eff=$((16#$(awk '/^CapEff/ {print $2}' /proc/self/status)))
if [ -z "$RUNSC" ] || [ -z "$SHIM" ]; then
  log "runsc or containerd-shim-runsc-v1 not built: no RuntimeClass gvisor (dev-cluster/build-binaries.sh runsc containerd-shim-runsc-v1)"
elif [ "$(printf '%s\n1.7\n' "$cd_ver" | sort -V | head -1)" != 1.7 ]; then
  log "containerd $cd_ver is older than 1.7: no RuntimeClass gvisor (dev-cluster/build-binaries.sh containerd ctr containerd-shim-runc-v2)"
else
  GVISOR_MODE=gvisor-shim
  ln -sf "$RUNSC" "$SHIM_DIR/runsc"
  ln -sf "$SHIM" "$SHIM_DIR/containerd-shim-runsc-v1"
  cat >"$CD/runsc.toml" <<EOF
binary_name = "$RUNSC"
root = "$RUN/runsc"
[runsc_config]
  platform = "systrap"
  # No network stack in the sandbox beyond its own loopback: a program cannot reach the pod
  # network, the node or the API server, whatever the CNI set up for the pod.
  network = "none"
EOF
  # RuntimeClass gvisor-network (dev node only): gVisor with its own network stack on the pod
  # network, for the tests that show the NetworkPolicy enforcer (pod-services.sh) fencing gVisor
  # pods as well as runc ones.
  sed -e 's|^  network = "none"$|  network = "sandbox"|' -e '/^  # No network stack/,/^  # network, the node/d' \
    "$CD/runsc.toml" >"$CD/runsc-network.toml"
fi

cat >"$CD/config.toml" <<EOF
# generated by dev-cluster/node.sh
version = 2
root = "$CD/root"
state = "$RUN/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$SOCK"

[ttrpc]
  address = "$SOCK.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$CD/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "sandpod.local/pause:3.10"
  netns_mounts_under_state_dir = true
  # Without CAP_SYS_RESOURCE (as on this project's VMs) containers cannot get
  # a negative oom_score_adj: clamp the kubelet's values to containerd's own.
  restrict_oom_score_adj = $( (( cap_eff >> 24 & 1 )) && echo false || echo true)
  enable_unprivileged_ports = false
  max_container_log_line_size = 16384
  # No registry is reachable (nor to be contacted): every pull goes to a
  # closed loopback port and fails at once. Images come from images/.
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$CD/certs.d"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN"
    conf_dir = "$STATE/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$RUN/runc"
EOF
mkdir -p "$CD/certs.d/_default"
cat >"$CD/certs.d/_default/hosts.toml" <<EOF
# generated by dev-cluster/node.sh: pulls from any registry go nowhere
server = "http://127.0.0.1:9"
[host."http://127.0.0.1:9"]
  capabilities = ["pull", "resolve"]
EOF
case "$GVISOR_MODE" in
  gvisor-shim) cat >>"$CD/config.toml" <<EOF
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc]
      runtime_type = "io.containerd.runsc.v1"
      # runsc applies a pod's seccomp profile inside the sandbox only with oci-seccomp, which a
      # pod turns on for itself with this annotation (the operator's pod.annotations): a
      # node-wide oci-seccomp would break threads in pods with containerd's RuntimeDefault
      # profile, whose clone3 errno gVisor turns into EPERM.
      pod_annotations = ["dev.gvisor.flag.oci-seccomp"]
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc.options]
        TypeUrl = "io.containerd.runsc.v1.options"
        ConfigPath = "$CD/runsc.toml"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc-network]
      runtime_type = "io.containerd.runsc.v1"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc-network.options]
        TypeUrl = "io.containerd.runsc.v1.options"
        ConfigPath = "$CD/runsc-network.toml"
EOF
  ;;
esac

# Pod network: a bridge with addresses from POD_CIDR and no gateway or default
# route, so pods reach each other on this node and nothing beyond it. With SANDPOD_DEV_INSTALL=helm
# the bridge is the pods' gateway, so that Services (kube-proxy) route; pod-services.sh keeps them
# from going beyond the node.
IS_GATEWAY=false ROUTES=""
if [ "$INSTALL_MODE" = helm ]; then
  # A route to the Service range alone (through the bridge's address), no default route.
  IS_GATEWAY=true ROUTES=", \"routes\": [{ \"dst\": \"$SERVICE_CIDR\" }]"
fi
cat >"$STATE/cni/10-sandpod.conflist.new" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "sandpod",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "sandpod0",
      "isGateway": $IS_GATEWAY,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$POD_CIDR" }]]$ROUTES,
        "dataDir": "$STATE/cni/ipam"
      }
    }
  ]
}
EOF
# containerd watches the directory: replace the file in one step, and only on change.
if cmp -s "$STATE/cni/10-sandpod.conflist.new" "$STATE/cni/net.d/10-sandpod.conflist"; then
  rm -f "$STATE/cni/10-sandpod.conflist.new"
else
  mv "$STATE/cni/10-sandpod.conflist.new" "$STATE/cni/net.d/10-sandpod.conflist"
fi

# containerd finds containerd-shim-runsc-v1 (and the shim finds runsc) on PATH.
export PATH="$SHIM_DIR:$PATH"
start containerd "$CONTAINERD" --config "$CD/config.toml" --log-level warn
WAIT_COMPONENT=containerd wait_for containerd 60 "$CTR" --address "$SOCK" version || no_node "containerd did not start (log: $LOGS/containerd.log)"

# --- images ---------------------------------------------------------------------
# Cached by content in $SANDPOD_CACHE_DIR/images; an unchanged image is not imported again.
CTR="$CTR" "$HERE/images/build-images.sh" "$SANDPOD_CACHE_DIR/images" "$SOCK" || no_node "building the local images failed"

# --- kubelet ------------------------------------------------------------------------
KL="$STATE/kubelet"
mkdir -p "$KL/root"
# The project's seccomp profile as a Localhost profile (pods name it `sandpod/seccomp.json`; the
# kubelet's seccomp root is <root-dir>/seccomp), the same file embedded mode and the chart use.
mkdir -p "$KL/root/seccomp/sandpod"
install -m 0644 "$REPO_ROOT/config/seccomp.json" "$KL/root/seccomp/sandpod/seccomp.json" ||
  no_node "cannot place the seccomp profile (config/seccomp.json)"
cat >"$KL/config.yaml" <<EOF
# generated by dev-cluster/node.sh
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $PKI/ca.crt
authorization:
  mode: Webhook
tlsCertFile: $PKI/kubelet-serving-$NODE_NAME.crt
tlsPrivateKeyFile: $PKI/kubelet-serving-$NODE_NAME.key
containerRuntimeEndpoint: unix://$SOCK
imageServiceEndpoint: unix://$SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
makeIPTablesUtilChains: false
protectKernelDefaults: false
resolvConf: ""
# No DNS server runs; pointing pods at their own loopback keeps lookups local
# and fast to fail (and spares every pod a MissingClusterDNS warning).
clusterDNS: ["127.0.0.1"]
clusterDomain: cluster.local
staticPodPath: ""
serializeImagePulls: false
maxPods: 40
podPidsLimit: 4096
evictionHard:
  memory.available: "200Mi"
  nodefs.available: "2%"
  imagefs.available: "2%"
  nodefs.inodesFree: "2%"
imageGCHighThresholdPercent: 95
imageGCLowThresholdPercent: 90
# Above the largest output a run may have (outputBytes at most 64 MiB, plus the kubelet's framing
# of each line): a log that rotates under a follower that lags behind (a client that stops
# reading holds the gateway's read back) loses what the rotated file held.
containerLogMaxSize: 128Mi
containerLogMaxFiles: 2
# pods/log?stream=Stdout|Stderr (alpha in 1.34; kube-apiserver has the same gate in up.sh): the
# operator reads a program's stdout and stderr apart.
featureGates:
  PodLogsQuerySplitStreams: true
EOF

check_ports kubelet "$KUBELET_PORT" "$KUBELET_HEALTHZ_PORT"
start kubelet "$KUBELET" \
  --config="$KL/config.yaml" \
  --kubeconfig="$STATE/kubelet.kubeconfig" \
  --root-dir="$KL/root" \
  --cert-dir="$KL/pki" \
  --hostname-override="$NODE_NAME" \
  --v=1
if ! WAIT_COMPONENT=kubelet wait_for "kubelet /healthz" 90 curl -fsS "http://127.0.0.1:$KUBELET_HEALTHZ_PORT/healthz"; then
  log "last kubelet log lines:"; tail -n 15 "$LOGS/kubelet.log" >&2 || true
  stop_component kubelet
  no_node "kubelet did not become healthy (log: $LOGS/kubelet.log)"
fi
if ! wait_for "node $NODE_NAME Ready" 120 sh -c "'$KUBECTL' --kubeconfig='$KUBECONFIG_PATH' get node '$NODE_NAME' -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"; then
  k get node "$NODE_NAME" -o yaml >&2 || true
  no_node "node $NODE_NAME did not become Ready (log: $LOGS/kubelet.log)"
fi

# --- RuntimeClass ---------------------------------------------------------------------
if [ "$GVISOR_MODE" != none ]; then
  k apply -f - >/dev/null <<EOF
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: gvisor
handler: runsc
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: gvisor-network
handler: runsc-network
EOF
  log "RuntimeClasses gvisor (handler runsc, $GVISOR_MODE) and gvisor-network (runsc-network) applied"
else
  log "no RuntimeClass gvisor (reason above)"
fi
if [ "$INSTALL_MODE" = helm ]; then
  "$HERE/pod-services.sh" || no_node "the pod network's Services did not come up (logs in $LOGS)"
fi
log "node $NODE_NAME ready; images: sandpod.local/pause:3.10, sandpod.local/runtime-{python,javascript,c,cpp,bash}:dev (use imagePullPolicy: Never or IfNotPresent)"
