#!/usr/bin/env bash
# Build the dev cluster's container images from host files (no registry is reachable) and import
# them into containerd's k8s.io namespace:
#   sandpod.local/pause:3.10                static pause binary (images/pause.c)
#   sandpod.local/runtime-<name>:dev        a runtime of runtimes/catalog.yaml: the files of its
#                                           `image` packages and paths (python: Debian's python3.11
#                                           and its standard library; javascript: the host's node;
#                                           c: gcc-12, binutils, libc6-dev; cpp: c plus g++-12;
#                                           bash: bash, grep and sed)
#   sandpod.local/python:3.11               another name for runtime-python (older tests use it)
# Every runtime image has the operator's launcher at /usr/local/bin/sandpod-launch (static, from
# sandbox/launcher/sandpod-launch.c: the first process of every container), dash as /bin/sh and
# coreutils, /etc/passwd with root and sandbox (65534) only, and mount points
# /sandpod/{src,input,build}. Everything is world-readable: pods run as uid 65534. These (the
# catalog's images.base) are a first layer of the same bytes in every runtime image, which a node
# stores once; a runtime that names a layer of images.shared (the JDK of the JVM languages) has it
# next, the same bytes in each such image; the last layer holds what the language adds.
#
# Cached: an image's key is the hash of this script, pause.c, the launcher, what the catalog says of
# the images, the versions of every installed Debian package and the size and mtime of the single
# files the catalog names (such as the host's node), so a warm run needs no file listing. Tarballs
# are kept as <out-dir>/<name>-<key>.tar. The tarballs are reproducible
# (sorted, mtime 0, uid 0), so a rebuild after an unrelated package change yields the same
# manifest digest, and an image whose digest containerd already holds under its name is not
# imported again.
#
# Usage: build-images.sh [<out-dir>] [<containerd-socket>] [--no-import]
#   <out-dir> defaults to $SANDPOD_CACHE_DIR/images (~/.cache/sandpod/images)
#   SANDPOD_DEV_IMAGES="python c" limits the build to some images (pause is always built).
#   SANDPOD_RUNTIME_IMAGE_SPEC=<file> holds what `runtimes/print.ts image-spec` prints, for builds
#   without the checkout's node_modules (images/runtime.Dockerfile); by default the script runs it.
set -euo pipefail
umask 022
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
LAUNCHER_SOURCE="$REPO/sandbox/launcher/sandpod-launch.c"
CACHE_DIR="${SANDPOD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sandpod}"
NO_IMPORT=0
args=()
for a in "$@"; do
  if [ "$a" = --no-import ]; then NO_IMPORT=1; else args+=("$a"); fi
done
OUT="${args[0]:-$CACHE_DIR/images}"
SOCK="${args[1]:-}"
CTR="${CTR:-ctr}"
mkdir -p "$OUT"
log() { printf '%s [dev-cluster] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

# --- the file lists ------------------------------------------------------------------
# Each image is a list of host paths (files and symlinks, never directories), copied at the same
# place. A list is only made when its image's key has no tarball yet.

# Files of Debian packages, without documentation, man pages, translations and directories.
package_files() {
  local pkg f
  for pkg in "$@"; do
    dpkg-query -W "$pkg" >/dev/null 2>&1 || die "Debian package $pkg is not installed (apt-get install $pkg)"
    while IFS= read -r f; do
      case "$f" in
        /usr/share/*|/usr/lib/debug/*|/etc/*|/var/*|/.) continue ;;
      esac
      if [ -L "$f" ] || [ -f "$f" ]; then printf '%s\n' "$f"; fi
    done < <(dpkg -L "$pkg")
  done
}

# The shared libraries (and the loader) that the given files need, found with ldd.
shared_libraries() {
  local f
  for f in "$@"; do
    if [ ! -f "$f" ] || [ -L "$f" ]; then continue; fi
    case "$f" in *.so|*.so.*|*/bin/*|*/libexec/*|*/lib/gcc/*) ;; *) continue ;; esac
    head -c 4 "$f" 2>/dev/null | grep -q 'ELF' || continue
    ldd "$f" 2>/dev/null | grep -o '/[^ ]*' || true
  done | sort -u
}

# A path with its directories resolved (merged /usr: /lib/x -> /usr/lib/x), the file name kept so
# that a library's symlink name stays a symlink. Directories are resolved once (thousands of headers).
declare -A CANONICAL_DIR=()
canonical() {
  local dir="${1%/*}" name="${1##*/}"
  [ -n "$dir" ] || dir=/
  [ -n "${CANONICAL_DIR[$dir]:-}" ] || CANONICAL_DIR[$dir]="$(readlink -f "$dir")"
  CANONICAL="${CANONICAL_DIR[$dir]%/}/$name"
}

# Completes a list on stdin: canonical paths, symlink targets, and the libraries every ELF needs.
complete_list() {
  local f t
  local -A seen=()
  local queue=() next=()
  mapfile -t queue < <(sort -u)
  while [ ${#queue[@]} -gt 0 ]; do
    next=()
    for f in "${queue[@]}"; do
      [ -e "$f" ] || [ -L "$f" ] || continue
      canonical "$f"; f="$CANONICAL"
      [ -z "${seen[$f]:-}" ] || continue
      seen[$f]=1
      if [ -L "$f" ]; then
        t="$(readlink "$f")"
        case "$t" in /*) ;; *) t="${f%/*}/$t" ;; esac
        next+=("$t")
      fi
    done
    queue=("${next[@]}")
    [ "${#next[@]}" -gt 0 ] || break
  done
  if [ "${1:-}" != --no-libraries ]; then
    local libs=()
    mapfile -t libs < <(shared_libraries "${!seen[@]}")
    if [ ${#libs[@]} -gt 0 ]; then
      printf '%s\n' "${!seen[@]}" "${libs[@]}" | complete_list --no-libraries
      return
    fi
  fi
  printf '%s\n' "${!seen[@]}" | sort
}

# What each image holds, from runtimes/catalog.yaml: a line `<image> <key> <words...>` per key
# (packages, paths, exclude, needs, command), the image `base` for what they all share.
if [ -n "${SANDPOD_RUNTIME_IMAGE_SPEC:-}" ]; then
  IMAGE_SPEC="$(cat "$SANDPOD_RUNTIME_IMAGE_SPEC")"
else
  IMAGE_SPEC="$(cd "$REPO" && node --import=tsx runtimes/print.ts image-spec)" ||
    die "cannot read runtimes/catalog.yaml (runtimes/print.ts needs the checkout's node_modules: npm ci)"
fi
declare -A SPEC=()
RUNTIMES=()
while read -r image key rest; do
  SPEC[$image.$key]="$rest"
  if [ "$image" != base ] && [ "$key" = command ]; then RUNTIMES+=("$image"); fi
done <<<"$IMAGE_SPEC"
# spec_words IMAGE KEY... : the words of those keys, one a line.
spec_words() {
  local image="$1" key words=()
  shift
  for key in "$@"; do
    read -ra words <<<"${SPEC[$image.$key]:-}" # split on blanks, never globbed
    [ ${#words[@]} -eq 0 ] || printf '%s\n' "${words[@]}"
  done
}

# list_runtime NAME : the files of the base, of that runtime's shared layer (if any) and of its own
# packages and paths (a path ending in / is every file under it), less its and its layer's
# exclusions, completed.
list_runtime() {
  local name="$1" shared p packages=() exclude
  shared="$(spec_words "$name" shared)"
  mapfile -t packages < <(spec_words base packages; spec_words "$name" packages; [ -z "$shared" ] || spec_words "shared-$shared" packages)
  exclude="$(spec_words "$name" exclude; [ -z "$shared" ] || spec_words "shared-$shared" exclude)"
  exclude="$(paste -sd'|' - <<<"$exclude")"
  {
    package_files "${packages[@]}"
    while read -r p; do
      case "$p" in
        */) find "${p%/}" \( -type f -o -type l \) -print ;;
        *) printf '%s\n' "$p" ;;
      esac
    done < <(spec_words base paths; spec_words "$name" paths; [ -z "$shared" ] || spec_words "shared-$shared" paths)
  } | if [ -n "$exclude" ]; then grep -Ev "$exclude"; else cat; fi | complete_list
}

# list_base [IMAGE] : the files every runtime image shares (the base's packages and paths), or with
# IMAGE (shared-<name>) those and a shared layer's (less its exclusions), completed.
list_base() {
  local p packages=() exclude=""
  mapfile -t packages < <(spec_words base packages; [ -z "${1:-}" ] || spec_words "$1" packages)
  [ -z "${1:-}" ] || exclude="$(spec_words "$1" exclude | paste -sd'|' -)"
  {
    package_files "${packages[@]}"
    while read -r p; do
      case "$p" in
        */) find "${p%/}" \( -type f -o -type l \) -print ;;
        *) printf '%s\n' "$p" ;;
      esac
    done < <(spec_words base paths; [ -z "${1:-}" ] || spec_words "$1" paths)
  } | if [ -n "$exclude" ]; then grep -Ev "$exclude"; else cat; fi | complete_list
}

# --- assembling --------------------------------------------------------------------------

base_dirs() {
  local r="$1"
  chmod 755 "$r" # mktemp -d makes 0700, which locks every non-root user out of the image
  # merged-/usr layout like Debian 12, so host paths such as /lib/... copy as they are
  mkdir -p "$r"/{dev,etc,proc,sys,tmp,usr/bin,usr/sbin,usr/lib,usr/lib64,sandpod/src,sandpod/input,sandpod/build}
  ln -s usr/bin "$r/bin"; ln -s usr/sbin "$r/sbin"; ln -s usr/lib "$r/lib"; ln -s usr/lib64 "$r/lib64"
  chmod 1777 "$r/tmp"
  # The same two users as embedded mode's generated /etc: a program that reads the file learns nothing.
  printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nsandbox:x:65534:65534:sandbox:/tmp:/usr/sbin/nologin\n' >"$r/etc/passwd"
  printf 'root:x:0:\nsandbox:x:65534:\n' >"$r/etc/group"
  : >"$r/etc/hosts"; : >"$r/etc/resolv.conf"; : >"$r/etc/hostname"
}

# assemble_root ROOT < list : copies each listed path to the same place under ROOT.
assemble_root() {
  local r="$1"
  base_dirs "$r"
  # --no-dereference keeps symlinks; directories come out 0755 (umask), files keep their modes.
  tar -C / --no-recursion -cf - -T <(sed 's|^/||') | tar -C "$r" --no-same-owner -xf -
  [ -e "$r/usr/bin/sh" ] || ln -s dash "$r/usr/bin/sh"
  mkdir -p "$r/usr/local/bin"
  gcc -static -O2 -s -Wall -Wextra -Werror -o "$r/usr/local/bin/sandpod-launch" "$LAUNCHER_SOURCE"
  # No file in the image may be writable by anyone but root, nor setuid.
  chmod -R u+rwX,go+rX,go-w,ug-s "$r"
  chmod 1777 "$r/tmp"
}

# The shared base layer's root: every runtime image's first layer, the same bytes in each (a
# node stores it once); made once per run.
BASE_ROOT=""
base_root() {
  [ -z "$BASE_ROOT" ] || return 0
  BASE_ROOT="$(mktemp -d)"
  list_base | assemble_root "$BASE_ROOT"
}

# strip_base ROOT [LOWER] : removes from ROOT every file the base layer (or the root LOWER) holds
# as it is, so that the runtime's own layer holds only what the language adds.
strip_base() {
  local r="$1" lower="${2:-$BASE_ROOT}" f
  while IFS= read -r -d '' f; do
    if [ -L "$lower/$f" ]; then
      if [ -L "$r/$f" ] && [ "$(readlink "$lower/$f")" = "$(readlink "$r/$f")" ]; then rm -f "$r/$f"; fi
    elif [ -f "$r/$f" ] && [ ! -L "$r/$f" ] && cmp -s "$lower/$f" "$r/$f"; then
      rm -f "$r/$f"
    fi
  done < <(cd "$lower" && find . ! -type d -print0)
}

# A shared layer's root (images.shared of the catalog, such as the JVM languages' JDK): its files
# less the base's, the second layer of every image that names it, the same bytes in each; made
# once per run.
declare -A SHARED_ROOT=()
shared_root() {
  local name="$1"
  [ -z "${SHARED_ROOT[$name]:-}" ] || return 0
  base_root
  SHARED_ROOT[$name]="$(mktemp -d)"
  list_base "shared-$name" | assemble_root "${SHARED_ROOT[$name]}"
  strip_base "${SHARED_ROOT[$name]}"
}

# make_image REF OUT_TAR CMD_JSON ROOTFS... : an OCI image layout as a tarball, a layer per ROOTFS
# (the first at the bottom).
make_image() {
  local ref="$1" out="$2" cmd="$3" w rootfs ld diff_ids="" layers=""
  shift 3
  w="$(mktemp -d)"
  mkdir -p "$w/blobs/sha256"
  for rootfs in "$@"; do
    tar -C "$rootfs" --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 -cf "$w/layer.tar" .
    ld="$(sha "$w/layer.tar")"
    mv "$w/layer.tar" "$w/blobs/sha256/$ld"
    diff_ids+="${diff_ids:+,}\"sha256:$ld\""
    layers+="${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:$ld\",\"size\":$(size "$w/blobs/sha256/$ld")}"
  done
  printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/bin:/usr/bin:/bin","LANG=C.UTF-8"],"Cmd":%s,"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
    "$cmd" "$diff_ids" >"$w/config.json"
  local cd; cd="$(sha "$w/config.json")"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
    "$cd" "$(size "$w/config.json")" "$layers" >"$w/manifest.json"
  mv "$w/config.json" "$w/blobs/sha256/$cd"
  local md; md="$(sha "$w/manifest.json")"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$md" "$(size "$w/manifest.json")" "$ref" "${ref##*:}" >"$w/index.json"
  mv "$w/manifest.json" "$w/blobs/sha256/$md"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$w/oci-layout"
  tar -C "$w" -cf "$out.tmp" oci-layout index.json blobs
  mv "$out.tmp" "$out"
  echo "sha256:$md" >"${out%.tar}.digest"
  rm -rf "$w"
  log "built $ref -> $out ($(du -h "$out" | cut -f1))"
}

SCRIPT_HASH="$( {
  cat "${BASH_SOURCE[0]}" "$HERE/pause.c" "$LAUNCHER_SOURCE"
  printf '%s\n' "$IMAGE_SPEC"
} | sha256sum | cut -c1-16)"
HOST_HASH="$( {
  echo "$SCRIPT_HASH"
  dpkg-query -W -f '${Package}:${Architecture} ${Version}\n'
  for image in base "${RUNTIMES[@]}"; do spec_words "$image" paths; done | grep -v '/$' | sort -u |
    while read -r p; do stat -L -c '%n %s %Y' "$p" 2>/dev/null || true; done
} | sha256sum | cut -c1-16)"
BUILT=() # "ref tarball" pairs to import

build_pause() {
  command -v gcc >/dev/null || die "gcc missing: cannot build the pause image"
  local key; key="$(printf '%s pause\n' "$HOST_HASH" | sha256sum | cut -c1-16)"
  local out="$OUT/pause-$key.tar"
  if [ ! -f "$out" ]; then
    local r; r="$(mktemp -d)"
    base_dirs "$r"
    gcc -static -Os -s -o "$r/pause" "$HERE/pause.c"
    make_image sandpod.local/pause:3.10 "$out" '["/pause"]' "$r"
    rm -rf "$r"
    find "$OUT" -maxdepth 1 -name 'pause-*.*' ! -name "pause-$key.*" -delete
  fi
  BUILT+=("sandpod.local/pause:3.10 $out")
}

# build_runtime NAME CMD_JSON : sandpod.local/runtime-NAME:dev from list_NAME.
build_runtime() {
  local name="$1" cmd="$2" ref="sandpod.local/runtime-$1:dev" list key
  key="$(printf '%s %s\n' "$HOST_HASH" "$name" | sha256sum | cut -c1-16)"
  local out="$OUT/runtime-$name-$key.tar"
  if [ -f "$out" ]; then
    log "$ref: cached ($out)"
  else
    list="$(mktemp)"
    list_runtime "$name" >"$list"
    log "$ref: assembling $(wc -l <"$list") files"
    local r; r="$(mktemp -d)"
    assemble_root "$r" <"$list"
    base_root
    strip_base "$r"
    local shared layers=("$BASE_ROOT")
    shared="$(spec_words "$name" shared)"
    if [ -n "$shared" ]; then
      shared_root "$shared"
      strip_base "$r" "${SHARED_ROOT[$shared]}"
      layers+=("${SHARED_ROOT[$shared]}")
    fi
    make_image "$ref" "$out" "$cmd" "${layers[@]}" "$r"
    rm -rf "$r"
    # older tarballs of this image
    find "$OUT" -maxdepth 1 -name "runtime-$name-*.tar" ! -name "runtime-$name-$key.tar" -delete
    find "$OUT" -maxdepth 1 -name "runtime-$name-*.digest" ! -name "runtime-$name-$key.digest" -delete
    rm -f "$list"
  fi
  BUILT+=("$ref $out")
}

# missing_for NAME : what the host lacks to build that runtime image (nothing when it has it all).
missing_for() {
  local pkg p shared
  shared="$(spec_words "$1" shared)"
  while read -r pkg; do
    dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || echo "package $pkg"
  done < <(spec_words base packages; spec_words "$1" packages needs; [ -z "$shared" ] || spec_words "shared-$shared" packages)
  while read -r p; do
    [ -e "$p" ] || echo "$p"
  done < <(spec_words base paths; spec_words "$1" paths; [ -z "$shared" ] || spec_words "shared-$shared" paths)
}

trap '[ -z "$BASE_ROOT" ] || rm -rf "$BASE_ROOT" "${SHARED_ROOT[@]}"' EXIT
build_pause
for image in ${SANDPOD_DEV_IMAGES:-${RUNTIMES[*]}}; do
  [ -n "${SPEC[$image.command]:-}" ] || die "unknown image $image (${RUNTIMES[*]})"
  lacking="$(missing_for "$image" | paste -sd, -)"
  if [ -n "$lacking" ]; then
    # One missing toolchain costs its language only, not the node.
    log "WARNING: not building sandpod.local/runtime-$image:dev, the host lacks: $lacking"
    continue
  fi
  build_runtime "$image" "${SPEC[$image.command]}"
done

[ "$NO_IMPORT" = 0 ] && [ -n "$SOCK" ] || exit 0
c() { "$CTR" --address "$SOCK" -n k8s.io "$@"; }
# name -> digest of what containerd holds now
declare -A held=()
while read -r ref _ digest _; do held[$ref]="$digest"; done < <(c images ls | tail -n +2)
for pair in "${BUILT[@]}"; do
  ref="${pair%% *}" tarball="${pair#* }"
  want="$(cat "${tarball%.tar}.digest")"
  if [ "${held[$ref]:-}" = "$want" ]; then
    log "$ref: already imported ($want)"
  else
    log "$ref: importing into containerd (namespace k8s.io)"
    c images import --all-platforms "$tarball" >/dev/null
  fi
  if [ "$ref" = sandpod.local/runtime-python:dev ] && [ "${held[sandpod.local/python:3.11]:-}" != "$want" ]; then
    c images tag --force "$ref" sandpod.local/python:3.11 >/dev/null
    log "sandpod.local/python:3.11: tagged as $ref"
  fi
done
