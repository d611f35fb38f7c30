#!/usr/bin/env bash
# Builds the images the chart installs with a container builder (docker, podman or buildah):
#   <REGISTRY>/sandpod:<TAG>                the gateway and the operator (images/sandpod.Dockerfile)
#   <REGISTRY>/runtime-<language>:<TAG>     each runtime of runtimes/catalog.yaml (images/runtime.Dockerfile)
# REGISTRY (default sandpod.local), TAG (dev), PUSH=1 pushes them, BUILDER names the builder,
# LANGUAGES="python c" builds only some runtimes. Then install the chart with
#   --set images.registry=$REGISTRY --set images.tag=$TAG
# The dev cluster needs none of this: dev-cluster/images/build-images.sh assembles the same runtime
# images from host files, since our machines have no container builder.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REGISTRY="${REGISTRY:-sandpod.local}"
TAG="${TAG:-dev}"
# The catalog's languages; runtimes/print.ts needs the checkout's node_modules (make images has them).
LANGUAGES="${LANGUAGES:-$(cd "$root" && node --import=tsx runtimes/print.ts names | paste -sd' ' -)}"
# shellcheck source=base-images.env
. "$root/images/base-images.env"
if [[ "$NODE_BASE" == *@sha256:0000000000000000000000000000000000000000000000000000000000000000 ]]; then
  echo "images/base-images.env: NODE_BASE still has the placeholder digest; pin it first (the file says how)" >&2
  exit 1
fi
builder="${BUILDER:-$(command -v docker || command -v podman || command -v buildah || true)}"
if [[ -z "$builder" ]]; then
  echo "no container builder (docker, podman or buildah) on PATH; set BUILDER" >&2
  exit 1
fi
build() { # tag dockerfile build-args...
  local tag="$1" file="$2"
  shift 2
  if [[ "$(basename "$builder")" == buildah ]]; then
    "$builder" bud -f "$file" --build-arg NODE_BASE="$NODE_BASE" "$@" -t "$tag" "$root"
  else
    "$builder" build -f "$file" --build-arg NODE_BASE="$NODE_BASE" "$@" -t "$tag" "$root"
  fi
  [[ "${PUSH:-0}" != 1 ]] || "$builder" push "$tag"
}
build "$REGISTRY/sandpod:$TAG" "$root/images/sandpod.Dockerfile"
for language in $LANGUAGES; do
  build "$REGISTRY/runtime-$language:$TAG" "$root/images/runtime.Dockerfile" --build-arg LANGUAGE="$language"
done
