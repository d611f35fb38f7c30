#!/usr/bin/env bash
# Makes a changed gateway/operator image for upgrade tests: the image the dev cluster's helm install
# runs (sandpod.local/sandpod:dev in images/build.sh's buildah storage) with one more label, so its
# digest differs while its files do not. Imports it into the dev node's containerd and prints its
# digest (sha256:...), as the chart's images.digest takes it.
# Usage: dev-cluster/images/relabel-sandpod.sh <label-value>
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"
# shellcheck source=../cluster-lib.sh
. "$HERE/../cluster-lib.sh"
value="${1:?usage: relabel-sandpod.sh <label-value>}"
b() {
  buildah --root "${BUILDAH_ROOT:-$SANDPOD_CACHE_DIR/containers/storage}" --runroot "${BUILDAH_RUNROOT:-/run/sandpod-buildah}" \
    --storage-driver "${BUILDAH_STORAGE_DRIVER:-vfs}" "$@"
}
CTR="$STATE/bin/ctr"; [ -x "$CTR" ] || CTR="$(resolve_component ctr)"
SOCK="$STATE/run/containerd/containerd.sock"
ref="sandpod.local/sandpod:relabel-$value"
work="$(mktemp -d)"
trap 'rm -rf "$work"; b rm sandpod-relabel-$$ >/dev/null 2>&1 || true' EXIT
b from --pull=false --name "sandpod-relabel-$$" sandpod.local/sandpod:dev >/dev/null
b config --label "dev.sandpod.relabel=$value" "sandpod-relabel-$$"
b commit -q --rm "sandpod-relabel-$$" "$ref" >/dev/null
b push -q "$ref" "oci-archive:$work/image.tar:$ref" >/dev/null
b rmi "$ref" >/dev/null
digest="$(tar -xOf "$work/image.tar" index.json | sed -n 's/.*"digest":"\(sha256:[0-9a-f]*\)".*/\1/p')"
"$CTR" --address "$SOCK" -n k8s.io images import --all-platforms "$work/image.tar" >/dev/null
"$CTR" --address "$SOCK" -n k8s.io images tag --force "$ref" "sandpod.local/sandpod@$digest" >/dev/null
echo "$digest"
