#!/usr/bin/env bash
# Builds the images the chart installs with a container builder (buildah, docker or podman):
#   <REGISTRY>/sandpod:<TAG>                the gateway and the operator (images/sandpod.Dockerfile)
#   <REGISTRY>/runtime-<language>:<TAG>     each runtime of runtimes/catalog.yaml (images/runtime.Dockerfile)
# REGISTRY (default sandpod.local), TAG (dev), PUSH=1 pushes them, BUILDER names the builder,
# LANGUAGES="python c" builds only some runtimes (LANGUAGES=" " none), NODE_BASE_OVERRIDE replaces
# the pinned base (name@sha256:digest). Then install the chart with
#   --set images.registry=$REGISTRY --set images.tag=$TAG
#
# buildah (the default when found) needs no daemon: it runs with chroot isolation and the vfs storage
# driver (both work inside a container or a VM without overlay-on-overlay), its storage in
# $SANDPOD_CACHE_DIR/containers (BUILDAH_ROOT overrides). A NODE_BASE of sandpod.local/node-base is
# made here by images/node-base.sh from the host's Debian packages and must have the digest pinned
# in images/base-images.env.
#
# Cached: each image's key hashes the Dockerfile, the base digest and every file the build copies
# (git ls-files of those paths, with the working tree's content); an image whose key the builder
# already holds (tag <name>:key-<key>) is not built again.
# EXPORT_DIR=<dir> also writes <dir>/<name>-<key>.tar (an OCI archive for `ctr images import`) and
# <dir>/<name>-<key>.digest, as the dev cluster's helm install uses them.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REGISTRY="${REGISTRY:-sandpod.local}"
TAG="${TAG:-dev}"
CACHE_DIR="${SANDPOD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sandpod}"
log() { printf '%s [images] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=base-images.env
. "$root/images/base-images.env"
NODE_BASE="${NODE_BASE_OVERRIDE:-$NODE_BASE}"
# The catalog's languages; runtimes/print.ts needs the checkout's node_modules (make images has them).
# The runtime images' build stage runs apt-get, which the locally made base lacks: with it, no
# runtime image unless asked for (and then a clear refusal).
if [[ -z "${LANGUAGES+x}" ]]; then
  if [[ "$NODE_BASE" == sandpod.local/node-base:* ]]; then
    log "NODE_BASE is the locally made base: building the gateway/operator image only (the runtime images need a base with apt-get, such as node:20-bookworm-slim; the dev cluster makes them with dev-cluster/images/build-images.sh)"
    LANGUAGES=""
  else
    LANGUAGES="$(cd "$root" && node --import=tsx runtimes/print.ts names | paste -sd' ' -)"
  fi
elif [[ -n "${LANGUAGES// /}" && "$NODE_BASE" == sandpod.local/node-base:* ]]; then
  die "LANGUAGES=$LANGUAGES: the runtime images need a base with apt-get (pin node:20-bookworm-slim in images/base-images.env or set NODE_BASE_OVERRIDE); the locally made base has none"
fi
if [[ "$NODE_BASE" == *@sha256:0000000000000000000000000000000000000000000000000000000000000000 ]]; then
  die "images/base-images.env: NODE_BASE still has the placeholder digest; pin it first (the file says how)"
fi
builder="${BUILDER:-$(command -v buildah || command -v docker || command -v podman || true)}"
[[ -n "$builder" ]] || die "no container builder (buildah, docker or podman) on PATH; set BUILDER (Debian: apt-get install buildah)"
is_buildah=0
[[ "$(basename "$builder")" != buildah ]] || is_buildah=1
b() {
  if [[ $is_buildah = 1 ]]; then
    "$builder" --root "${BUILDAH_ROOT:-$CACHE_DIR/containers/storage}" --runroot "${BUILDAH_RUNROOT:-/run/sandpod-buildah}" \
      --storage-driver "${BUILDAH_STORAGE_DRIVER:-vfs}" "$@"
  else
    "$builder" "$@"
  fi
}
export BUILDAH_ISOLATION="${BUILDAH_ISOLATION:-chroot}"

# The locally made base: built (cached) and loaded into the builder, its digest checked against the pin.
if [[ "$NODE_BASE" == sandpod.local/node-base:* ]]; then
  want="${NODE_BASE##*@}"
  base_dir="$CACHE_DIR/images"
  got="$("$root/images/node-base.sh" "$base_dir")"
  if [[ "$got" != "$want" ]]; then
    die "the base made from this host's packages has digest $got, images/base-images.env pins $want: the host's Debian packages (or npm, or the CA bundle) changed; check them and pin $got"
  fi
  # (the list is read whole first: grep -q stopping early would fail the pipe under pipefail)
  held="$(b images --digests --format '{{.Name}}:{{.Tag}} {{.Digest}}' | awk '{print $1 " " $2}')"
  if ! grep -qx "sandpod.local/node-base:20-bookworm $want" <<<"$held"; then
    log "loading sandpod.local/node-base:20-bookworm ($want) into $(basename "$builder")"
    b pull -q "oci-archive:$(ls "$base_dir"/node-base-*.tar)" >/dev/null
  fi
fi

# inputs_key DOCKERFILE PATHS... : a hash of the Dockerfile, the base and the files under PATHS.
inputs_key() {
  local file="$1"
  shift
  {
    sha256sum "$file"
    echo "$NODE_BASE $*"
    (cd "$root" && git ls-files -z --cached --others --exclude-standard -- "$@" | sort -z | xargs -0 sha256sum 2>/dev/null)
  } | sha256sum | cut -c1-16
}

build() { # name dockerfile key build-args...
  local name="$1" file="$2" key="$3"
  shift 3
  local tag="$REGISTRY/$name:$TAG" started=$SECONDS
  local tags
  tags="$(b images --format '{{.Name}}:{{.Tag}}' | awk '{print $1}')"
  if grep -qx "$REGISTRY/$name:key-$key" <<<"$tags"; then
    log "$tag: cached (inputs unchanged, key $key)"
    b tag "$REGISTRY/$name:key-$key" "$tag" >/dev/null
  else
    log "$tag: building (key $key)"
    if [[ $is_buildah = 1 ]]; then
      nice -n "${SANDPOD_BUILD_NICE:-10}" "$builder" --root "${BUILDAH_ROOT:-$CACHE_DIR/containers/storage}" \
        --runroot "${BUILDAH_RUNROOT:-/run/sandpod-buildah}" --storage-driver "${BUILDAH_STORAGE_DRIVER:-vfs}" \
        bud --pull=false -f "$file" --build-arg NODE_BASE="$NODE_BASE" "$@" -t "$tag" -t "$REGISTRY/$name:key-$key" "$root"
      # vfs copies the whole root for each step: drop the build stage's leftovers.
      b rmi --prune >/dev/null 2>&1 || true
    else
      b build -f "$file" --build-arg NODE_BASE="$NODE_BASE" "$@" -t "$tag" -t "$REGISTRY/$name:key-$key" "$root"
    fi
    log "$tag: built in $((SECONDS - started)) s"
  fi
  [[ "${PUSH:-0}" != 1 ]] || b push "$tag"
  if [[ -n "${EXPORT_DIR:-}" ]]; then
    [[ $is_buildah = 1 ]] || die "EXPORT_DIR needs buildah"
    local out="$EXPORT_DIR/$name-$key.tar"
    if [[ ! -f "$out" ]]; then
      mkdir -p "$EXPORT_DIR"
      b push -q "$tag" "oci-archive:$out.tmp:$tag" >/dev/null
      tar -xOf "$out.tmp" index.json | sed -n 's/.*"digest":"\(sha256:[0-9a-f]*\)".*/\1/p' >"${out%.tar}.digest"
      mv "$out.tmp" "$out"
      find "$EXPORT_DIR" -maxdepth 1 -name "$name-*" ! -name "$name-$key.*" -delete
    fi
    echo "$out"
  fi
}

sandpod_key="$(inputs_key images/sandpod.Dockerfile package.json package-lock.json tsconfig.json tsconfig.build.json \
  contract sandbox kube observability gateway operator client cli kubectl-plugin web config runtimes/catalog.yaml)"
build sandpod images/sandpod.Dockerfile "$sandpod_key"
for language in $LANGUAGES; do
  key="$(inputs_key images/runtime.Dockerfile "$language" package.json package-lock.json contract runtimes \
    scripts/toolchains dev-cluster/images sandbox/launcher)"
  build "runtime-$language" images/runtime.Dockerfile "$key" --build-arg LANGUAGE="$language"
done
