#!/usr/bin/env bash
# Start the sandpod dev cluster on loopback: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, then (unless SANDPOD_DEV_NODE=0)
# one real node (containerd + kubelet, see node.sh).
# State: <repo>/.sandpod/ ; kubeconfig: <repo>/.sandpod/kubeconfig
# Idempotent: components already running (by recorded pid) are reused.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=cluster-lib.sh
. "$HERE/cluster-lib.sh"

mkdir -p "$STATE" "$PKI" "$LOGS" "$PIDS"

# --- binaries ----------------------------------------------------------------
need=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl)
missing=()
for c in "${need[@]}"; do resolve_component "$c" >/dev/null || missing+=("$c"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "not built yet: ${missing[*]} -> running build-binaries.sh (cold k8s builds take long, see dev-cluster/README.md)"
  "$HERE/build-binaries.sh" "${missing[@]}"
fi
ETCD="$(resolve_component etcd)"
APISERVER="$(resolve_component kube-apiserver)"
KCM="$(resolve_component kube-controller-manager)"
SCHED="$(resolve_component kube-scheduler)"
KUBECTL="$(resolve_component kubectl)"
write_env_file

# --- PKI (openssl), generated once ----------------------------------------------
gen_pki() {
  command -v openssl >/dev/null || die "openssl not found"
  local d="$PKI"
  ca() { # name CN
    [ -f "$d/$1.crt" ] && return 0
    log "generating $1 ($2) in $d"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/$1.key" -out "$d/$1.crt" -days 3650 \
      -subj "/CN=$2" 2>/dev/null
  }
  issue() { # ca name subject extensions
    local ca="$1" name="$2" subj="$3" ext="$4"
    [ -f "$d/$name.crt" ] && return 0
    openssl req -newkey rsa:2048 -nodes -keyout "$d/$name.key" -out "$d/$name.csr" -subj "$subj" 2>/dev/null
    printf '%s\n' "$ext" >"$d/$name.ext"
    openssl x509 -req -in "$d/$name.csr" -CA "$d/$ca.crt" -CAkey "$d/$ca.key" -CAcreateserial \
      -days 3650 -out "$d/$name.crt.tmp" -extfile "$d/$name.ext" 2>/dev/null
    mv "$d/$name.crt.tmp" "$d/$name.crt"
    rm -f "$d/$name.csr" "$d/$name.ext"
  }
  ca ca sandpod-dev-ca
  ca front-proxy-ca sandpod-dev-front-proxy-ca
  # service-account signing key pair
  if [ ! -f "$d/sa.pub" ]; then
    openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
    openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
  fi
  local client="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
  local server="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth"
  issue ca apiserver "/CN=kube-apiserver" "$server
subjectAltName=IP:127.0.0.1,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  issue ca admin "/O=system:masters/CN=sandpod-dev-admin" "$client"
  issue ca controller-manager "/CN=system:kube-controller-manager" "$client"
  issue ca scheduler "/CN=system:kube-scheduler" "$client"
  issue ca kube-proxy "/CN=system:kube-proxy" "$client"
  issue ca sandpod-netpol "/CN=sandpod:netpol" "$client"
  issue ca apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$client"
  issue ca "node-$NODE_NAME" "/O=system:nodes/CN=system:node:$NODE_NAME" "$client"
  issue ca "kubelet-serving-$NODE_NAME" "/CN=$NODE_NAME" "$server
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:$NODE_NAME"
  # aggregation layer (requestheader) client
  issue front-proxy-ca front-proxy-client "/CN=front-proxy-client" "$client"
  chmod 600 "$d"/*.key
}

kubeconfig() { # file user cert
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: sandpod-dev
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: $2
  user:
    client-certificate: $PKI/$3.crt
    client-key: $PKI/$3.key
contexts:
- name: sandpod-dev
  context:
    cluster: sandpod-dev
    user: $2
current-context: sandpod-dev
EOF
  chmod 600 "$1"
}

gen_pki
kubeconfig "$KUBECONFIG_PATH" sandpod-dev-admin admin
kubeconfig "$STATE/controller-manager.kubeconfig" system:kube-controller-manager controller-manager
kubeconfig "$STATE/scheduler.kubeconfig" system:kube-scheduler scheduler
kubeconfig "$STATE/kube-proxy.kubeconfig" system:kube-proxy kube-proxy
kubeconfig "$STATE/sandpod-netpol.kubeconfig" sandpod:netpol sandpod-netpol
kubeconfig "$STATE/kubelet.kubeconfig" "system:node:$NODE_NAME" "node-$NODE_NAME"

# --- components ----------------------------------------------------------------
# The control plane listens on 127.0.0.1 only.
check_ports etcd "$ETCD_PORT" "$ETCD_PEER_PORT"
start etcd "$ETCD" \
  --name=sandpod-dev \
  --data-dir="$STATE/etcd" \
  --listen-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster="sandpod-dev=http://127.0.0.1:$ETCD_PEER_PORT" \
  --listen-metrics-urls="" \
  --unsafe-no-fsync=true \
  --quota-backend-bytes=$((2 * 1024 * 1024 * 1024)) \
  --log-level=warn
WAIT_COMPONENT=etcd wait_for "etcd" 60 curl -fsS "http://127.0.0.1:$ETCD_PORT/health" ||
  die "etcd did not start (log: $LOGS/etcd.log)"

# Audit: one line per pod create (who, which pod, the answer's code) in $LOGS/audit.log, so that
# bench/chaos.ts can count the pods ever created per Execution; nothing else is recorded.
cat >"$STATE/audit-policy.yaml" <<EOF
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    verbs: [create]
    resources: [{group: "", resources: [pods]}]
  - level: None
EOF

check_ports kube-apiserver "$APISERVER_PORT"
start kube-apiserver "$APISERVER" \
  --advertise-address=127.0.0.1 \
  --bind-address=127.0.0.1 \
  --secure-port="$APISERVER_PORT" \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --cert-dir="$PKI" \
  --tls-cert-file="$PKI/apiserver.crt" \
  --tls-private-key-file="$PKI/apiserver.key" \
  --client-ca-file="$PKI/ca.crt" \
  --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types=Hostname,InternalIP \
  --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
  --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User \
  --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --proxy-client-cert-file="$PKI/front-proxy-client.crt" \
  --proxy-client-key-file="$PKI/front-proxy-client.key" \
  --service-account-key-file="$PKI/sa.pub" \
  --service-account-signing-key-file="$PKI/sa.key" \
  --service-account-issuer="https://kubernetes.default.svc.cluster.local" \
  --api-audiences="https://kubernetes.default.svc.cluster.local" \
  --authorization-mode=Node,RBAC \
  --enable-admission-plugins=NodeRestriction \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --service-node-port-range="$NODE_PORT_RANGE" \
  --allow-privileged=true \
  --anonymous-auth=false \
  --profiling=false \
  --endpoint-reconciler-type=none \
  --enable-priority-and-fairness=false \
  --feature-gates=PodLogsQuerySplitStreams=true \
  --audit-policy-file="$STATE/audit-policy.yaml" \
  --audit-log-path="$LOGS/audit.log" \
  --audit-log-maxsize=100 \
  --audit-log-maxbackup=3 \
  --v=1
WAIT_COMPONENT=kube-apiserver wait_for "kube-apiserver /readyz" 180 "$KUBECTL" --kubeconfig="$KUBECONFIG_PATH" get --raw=/readyz ||
  die "kube-apiserver did not become ready (log: $LOGS/kube-apiserver.log)"

check_ports kube-controller-manager "$KCM_PORT"
check_ports kube-scheduler "$SCHED_PORT"
start kube-controller-manager "$KCM" \
  --kubeconfig="$STATE/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$STATE/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$STATE/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 \
  --secure-port="$KCM_PORT" \
  --leader-elect=false \
  --controllers="$KCM_CONTROLLERS" \
  --use-service-account-credentials=true \
  --service-account-private-key-file="$PKI/sa.key" \
  --root-ca-file="$PKI/ca.crt" \
  --cluster-name=sandpod-dev \
  --concurrent-gc-syncs=5 \
  --v=1
start kube-scheduler "$SCHED" \
  --kubeconfig="$STATE/scheduler.kubeconfig" \
  --authentication-kubeconfig="$STATE/scheduler.kubeconfig" \
  --authorization-kubeconfig="$STATE/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 \
  --secure-port="$SCHED_PORT" \
  --leader-elect=false \
  --v=1
WAIT_COMPONENT=kube-controller-manager wait_for "kube-controller-manager /healthz" 60 curl -fsSk "https://127.0.0.1:$KCM_PORT/healthz" ||
  die "kube-controller-manager did not start (log: $LOGS/kube-controller-manager.log)"
WAIT_COMPONENT=kube-scheduler wait_for "kube-scheduler /healthz" 60 curl -fsSk "https://127.0.0.1:$SCHED_PORT/healthz" ||
  die "kube-scheduler did not start (log: $LOGS/kube-scheduler.log)"
# The default service account appears once the controllers run.
wait_for "default service account" 60 "$KUBECTL" --kubeconfig="$KUBECONFIG_PATH" -n default get serviceaccount default ||
  die "the controllers did not create the default service account (log: $LOGS/kube-controller-manager.log)"
log "control plane ready: export KUBECONFIG=$KUBECONFIG_PATH"

# --- node ----------------------------------------------------------------------
if [ "${SANDPOD_DEV_NODE:-1}" = 0 ]; then
  log "SANDPOD_DEV_NODE=0: no node started (control plane only)"
elif ! "$HERE/node.sh"; then
  log "the node did not start (reason above; logs in $LOGS); the control plane is up without a node"
  log "set SANDPOD_DEV_NODE=0 to skip the node"
fi

# --- optional fake nodes (kwok) ----------------------------------------------------
# SANDPOD_DEV_KWOK_NODES=N adds N simulated nodes kwok-node-<i> (label
# type=kwok, taint kwok.x-k8s.io/node=fake:NoSchedule), whose pods kwok marks
# Running without running anything: for scheduling and controller scale tests.
KWOK_NODES="${SANDPOD_DEV_KWOK_NODES:-0}"
if [ "$KWOK_NODES" -gt 0 ]; then
  KWOK="$(resolve_component kwok)" || { "$HERE/build-binaries.sh" kwok; KWOK="$(resolve_component kwok)"; }
  # kwok simulates nothing without Stage objects; use the "fast" node/pod
  # stages and the lease heartbeat that ship in the pinned kwok module. They
  # go in as Stage objects (kwok --enable-crds=Stage) rather than --config
  # files, so a benchmark or test can add a stage of its own with kubectl
  # while kwok runs (bench/kwok-pod-complete.yaml).
  kwok_dir="$(cd "$STATE" && go mod download -json "sigs.k8s.io/kwok@$SANDPOD_KWOK_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$kwok_dir/kustomize/stage" ] || die "cannot find kwok's stage files (go mod download sigs.k8s.io/kwok@$SANDPOD_KWOK_VERSION)"
  "$KUBECTL" --kubeconfig="$KUBECONFIG_PATH" apply -f "$kwok_dir/kustomize/crd/bases/kwok.x-k8s.io_stages.yaml" >/dev/null
  "$KUBECTL" --kubeconfig="$KUBECONFIG_PATH" wait --for=condition=Established --timeout=60s crd/stages.kwok.x-k8s.io >/dev/null
  for f in "$kwok_dir"/kustomize/stage/node/fast/*.yaml "$kwok_dir"/kustomize/stage/node/heartbeat-with-lease/*.yaml \
           "$kwok_dir"/kustomize/stage/pod/fast/*.yaml; do
    case "$f" in */kustomization.yaml) ;; *) "$KUBECTL" --kubeconfig="$KUBECONFIG_PATH" apply -f "$f" >/dev/null ;; esac
  done
  start kwok "$KWOK" \
    --enable-crds=Stage \
    --kubeconfig="$KUBECONFIG_PATH" \
    --manage-all-nodes=false \
    --manage-nodes-with-label-selector=type=kwok \
    --cidr=10.89.0.0/16 \
    --node-ip=10.89.0.1 \
    --node-lease-duration-seconds=40
  for i in $(seq 1 "$KWOK_NODES"); do
    "$KUBECTL" --kubeconfig="$KUBECONFIG_PATH" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  labels: {type: kwok, kubernetes.io/hostname: kwok-node-$i}
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
spec:
  taints: [{key: kwok.x-k8s.io/node, value: fake, effect: NoSchedule}]
EOF
    # kwok's node-initialize stage keeps an allocatable it finds and otherwise sets cpu, memory
    # and pods only; sandpod's pods request ephemeral-storage (their log), so say all four.
    "$KUBECTL" --kubeconfig="$KUBECONFIG_PATH" patch node "kwok-node-$i" --subresource=status --type=merge -p \
      '{"status":{"capacity":{"cpu":"1k","memory":"1Ti","pods":"1M","ephemeral-storage":"1Ti"},"allocatable":{"cpu":"1k","memory":"1Ti","pods":"1M","ephemeral-storage":"1Ti"}}}' >/dev/null
  done
  WAIT_COMPONENT=kwok wait_for "kwok nodes Ready" 60 sh -c "! '$KUBECTL' --kubeconfig='$KUBECONFIG_PATH' get nodes -l type=kwok --no-headers | grep -v ' Ready '"
fi

# --- sandpod itself: CRDs, Runtimes, the operator and the gateway on 8081 --------------
if [ "${SANDPOD_DEV_SANDPOD:-1}" != 0 ]; then
  if [ "$INSTALL_MODE" = helm ]; then
    "$HERE/helm-install.sh"
  else
    "$HERE/sandpod.sh"
  fi
fi

cat <<USAGE
export KUBECONFIG=$KUBECONFIG_PATH
kubectl: $KUBECTL   (kubectl get ex, kubectl get nodes)
USAGE
if [ "${SANDPOD_DEV_SANDPOD:-1}" != 0 ]; then
  cat <<USAGE
gateway (Kubernetes mode): http://127.0.0.1:${SANDPOD_DEV_GATEWAY_PORT:-8081}/  token: \$(cat $STATE/token)
  curl -H "Authorization: Bearer \$(cat $STATE/token)" -H 'content-type: application/json' \\
    -d '{"runtime":"python","source":"print(42)"}' 'http://127.0.0.1:${SANDPOD_DEV_GATEWAY_PORT:-8081}/api/v1/executions?wait=true'
USAGE
fi
