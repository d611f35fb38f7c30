#!/usr/bin/env bash
# Build the dev cluster's container images from host files (no registry is reachable) and import
# them into containerd's k8s.io namespace:
#   sandpod.local/pause:3.10                static pause binary (images/pause.c)
#   sandpod.local/runtime-python:dev        Debian's python3.11 and its standard library
#   sandpod.local/runtime-javascript:dev    the host's node
#   sandpod.local/runtime-c:dev             gcc-12, binutils, libc6-dev headers and libraries
#   sandpod.local/runtime-cpp:dev           the C image plus g++-12 and libstdc++-12-dev
#   sandpod.local/runtime-bash:dev          bash, grep and sed
#   sandpod.local/python:3.11               another name for runtime-python (older tests use it)
# Every runtime image has the operator's launcher at /usr/local/bin/sandpod-launch (static, from
# sandbox/launcher/sandpod-launch.c: the first process of every container), dash as /bin/sh and
# coreutils, /etc/passwd with root and sandbox (65534) only, and mount points
# /sandpod/{src,input,build}. Everything is world-readable: pods run as uid 65534.
#
# Cached: an image's key is the hash of this script, pause.c, the versions of every installed
# Debian package and the size and mtime of the host's node and python3.11, so a warm run needs no
# file listing. Tarballs are kept as <out-dir>/<name>-<key>.tar. The tarballs are reproducible
# (sorted, mtime 0, uid 0), so a rebuild after an unrelated package change yields the same
# manifest digest, and an image whose digest containerd already holds under its name is not
# imported again.
#
# Usage: build-images.sh [<out-dir>] [<containerd-socket>] [--no-import]
#   <out-dir> defaults to $SANDPOD_CACHE_DIR/images (~/.cache/sandpod/images)
#   SANDPOD_DEV_IMAGES="python c" limits the build to some images (pause is always built).
set -euo pipefail
umask 022
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LAUNCHER_SOURCE="$HERE/../../sandbox/launcher/sandpod-launch.c"
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

BASE_PACKAGES=(dash coreutils)

list_python() {
  {
    package_files "${BASE_PACKAGES[@]}"
    printf '%s\n' /usr/bin/python3.11 /usr/bin/python3
    find /usr/lib/python3.11 \( -path /usr/lib/python3.11/test -o -path /usr/lib/python3.11/idlelib \
      -o -path /usr/lib/python3.11/tkinter -o -path /usr/lib/python3.11/turtledemo \
      -o -path /usr/lib/python3.11/lib2to3/tests -o -path /usr/lib/python3.11/ensurepip \
      -o -name 'config-3.11-*' -o -path /usr/lib/python3.11/dist-packages \
      -o -path /usr/lib/python3.11/site-packages \) -prune -o \( -type f -o -type l \) -print
  } | complete_list
}
list_javascript() { { package_files "${BASE_PACKAGES[@]}"; echo /usr/bin/node; } | complete_list; }
# A shell runtime is for shell scripts: grep and sed belong to it as much as coreutils do.
BASH_PACKAGES=(bash grep sed)
list_bash() { { package_files "${BASE_PACKAGES[@]}" "${BASH_PACKAGES[@]}"; } | complete_list; }
C_PACKAGES=(gcc gcc-12 cpp cpp-12 libgcc-12-dev binutils binutils-common binutils-x86-64-linux-gnu libc6-dev
  linux-libc-dev libcrypt-dev libnsl-dev rpcsvc-proto)
# Left out of the compilers (about 100 MB): -flto (lto1, lto-dump), the sanitizers, gold, dwp, gprofng.
COMPILER_SKIP='/(lto1|[a-z0-9_-]*lto-dump[a-z0-9-]*|lib(a|hwa|l|t|ub)san[^/]*|[a-z0-9_-]*(ld\.gold|dwp|gprofng|gp-[a-z-]+)|libgprofng[^/]*)$'
list_c() { { package_files "${BASE_PACKAGES[@]}" "${C_PACKAGES[@]}"; } | grep -Ev "$COMPILER_SKIP" | complete_list; }
list_cpp() {
  { package_files "${BASE_PACKAGES[@]}" "${C_PACKAGES[@]}" g++ g++-12 libstdc++-12-dev; } |
    grep -Ev "$COMPILER_SKIP" | complete_list
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

# make_image REF ROOTFS OUT_TAR CMD_JSON : one-layer OCI image layout as a tarball.
make_image() {
  local ref="$1" rootfs="$2" out="$3" cmd="$4" w
  w="$(mktemp -d)"
  mkdir -p "$w/blobs/sha256"
  tar -C "$rootfs" --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 -cf "$w/layer.tar" .
  local ld; ld="$(sha "$w/layer.tar")"
  mv "$w/layer.tar" "$w/blobs/sha256/$ld"
  printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/bin:/usr/bin:/bin","LANG=C.UTF-8"],"Cmd":%s,"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$cmd" "$ld" >"$w/config.json"
  local cd; cd="$(sha "$w/config.json")"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$cd" "$(size "$w/config.json")" "$ld" "$(size "$w/blobs/sha256/$ld")" >"$w/manifest.json"
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

SCRIPT_HASH="$(cat "${BASH_SOURCE[0]}" "$HERE/pause.c" "$LAUNCHER_SOURCE" | sha256sum | cut -c1-16)"
HOST_HASH="$( {
  echo "$SCRIPT_HASH"
  dpkg-query -W -f '${Package}:${Architecture} ${Version}\n'
  stat -L -c '%n %s %Y' /usr/bin/node /usr/bin/python3.11 2>/dev/null || true
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
    make_image sandpod.local/pause:3.10 "$r" "$out" '["/pause"]'
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
    "list_$name" >"$list"
    log "$ref: assembling $(wc -l <"$list") files"
    local r; r="$(mktemp -d)"
    assemble_root "$r" <"$list"
    make_image "$ref" "$r" "$out" "$cmd"
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
  local pkgs=("${BASE_PACKAGES[@]}") pkg
  case "$1" in
    python) [ -x /usr/bin/python3.11 ] || echo "/usr/bin/python3.11 (apt-get install python3.11)" ;;
    javascript) [ -x /usr/bin/node ] || echo "/usr/bin/node (apt-get install nodejs)" ;;
    c) pkgs+=("${C_PACKAGES[@]}") ;;
    cpp) pkgs+=("${C_PACKAGES[@]}" g++ g++-12 libstdc++-12-dev) ;;
    bash) pkgs+=("${BASH_PACKAGES[@]}") ;;
  esac
  for pkg in "${pkgs[@]}"; do
    dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || echo "package $pkg"
  done
}

build_pause
for image in ${SANDPOD_DEV_IMAGES:-python javascript c cpp bash}; do
  case "$image" in python|javascript|c|cpp|bash) ;; *) die "unknown image $image (python javascript c cpp bash)" ;; esac
  lacking="$(missing_for "$image" | paste -sd, -)"
  if [ -n "$lacking" ]; then
    # One missing toolchain costs its language only, not the node.
    log "WARNING: not building sandpod.local/runtime-$image:dev, the host lacks: $lacking"
    continue
  fi
  case "$image" in
    python) build_runtime python '["python3"]' ;;
    javascript) build_runtime javascript '["node"]' ;;
    c) build_runtime c '["gcc","--version"]' ;;
    cpp) build_runtime cpp '["g++","--version"]' ;;
    bash) build_runtime bash '["bash"]' ;;
  esac
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
