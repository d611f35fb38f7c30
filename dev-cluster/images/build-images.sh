#!/usr/bin/env bash
# Build the dev cluster's container images locally (no registry is reachable):
#   sandpod.local/pause:3.10      static pause binary (images/pause.c)
#   sandpod.local/python:3.11     the host's Debian python3.11 + its libraries + /bin/sh
# Each is written as an OCI image-layout tarball to <out-dir>/<name>.tar
# (one uncompressed layer) and, unless --no-import, imported with
#   ctr --address <sock> -n k8s.io images import
# Usage: build-images.sh <out-dir> [<containerd-socket>] [--no-import]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:?usage: build-images.sh <out-dir> [<containerd-socket>]}"
SOCK="${2:-}"
NO_IMPORT=0; [ "${3:-${2:-}}" = "--no-import" ] && NO_IMPORT=1 && [ "$SOCK" = "--no-import" ] && SOCK=""
mkdir -p "$OUT"
log() { printf '%s [dev-cluster] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

# make_image REF ROOTFS OUT_TAR CMD_JSON
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
  rm -rf "$w"
  log "image $ref -> $out ($(du -h "$out" | cut -f1))"
}

# copy_with_libs ROOTFS FILE... : copies files and the shared libraries they need.
copy_with_libs() {
  local root="$1"; shift
  local f lib
  for f in "$@"; do
    cp -a --parents "$f" "$root/"
    [ -L "$f" ] && cp -a --parents "$(readlink -f "$f")" "$root/"
    for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*' | sort -u); do
      [ -e "$root$lib" ] || cp -aL --parents "$lib" "$root/" 2>/dev/null || true
    done
  done
}

base_dirs() {
  local r="$1"
  # merged-/usr layout like Debian 12, so host paths such as /lib/... copy as they are
  mkdir -p "$r"/{dev,etc,proc,sys,tmp,work,usr/bin,usr/sbin,usr/lib,usr/lib64}
  ln -s usr/bin "$r/bin"; ln -s usr/sbin "$r/sbin"; ln -s usr/lib "$r/lib"; ln -s usr/lib64 "$r/lib64"
  chmod 1777 "$r/tmp"
  echo 'root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/sh' >"$r/etc/passwd"
  echo 'root:x:0:
nogroup:x:65534:' >"$r/etc/group"
  : >"$r/etc/hosts"; : >"$r/etc/resolv.conf"; : >"$r/etc/hostname"
}

build_pause() {
  local out="$OUT/pause.tar"
  [ -f "$out" ] && return 0
  command -v gcc >/dev/null || { log "gcc missing: cannot build the pause image"; return 1; }
  local r; r="$(mktemp -d)"
  base_dirs "$r"
  gcc -static -Os -s -o "$r/pause" "$HERE/pause.c"
  make_image sandpod.local/pause:3.10 "$r" "$out" '["/pause"]'
  rm -rf "$r"
}

build_python() {
  local out="$OUT/python.tar"
  [ -f "$out" ] && return 0
  [ -x /usr/bin/python3.11 ] || { log "/usr/bin/python3.11 missing (apt-get install python3)"; return 1; }
  local r; r="$(mktemp -d)"
  base_dirs "$r"
  # Debian's python3.11 and its standard library (without the test suite).
  copy_with_libs "$r" /usr/bin/python3.11 /usr/bin/dash
  ln -sf python3.11 "$r/usr/bin/python3"
  ln -sf python3 "$r/usr/bin/python"
  ln -sf dash "$r/usr/bin/sh"
  cp -a --parents /usr/lib/python3.11 "$r/"
  rm -rf "$r/usr/lib/python3.11/test" "$r/usr/lib/python3.11/idlelib" "$r/usr/lib/python3.11/tkinter" \
         "$r/usr/lib/python3.11/lib2to3/tests" "$r/usr/lib/python3.11/config-3.11-x86_64-linux-gnu"
  rm -rf "$r/usr/lib/python3.11/dist-packages" "$r/usr/lib/python3.11/site-packages"
  local so
  for so in /usr/lib/python3.11/lib-dynload/*.so; do copy_with_libs "$r" "$so"; done
  if [ -d /usr/lib/python3/dist-packages ]; then mkdir -p "$r/usr/lib/python3/dist-packages"; fi
  make_image sandpod.local/python:3.11 "$r" "$out" '["python3"]'
  rm -rf "$r"
}

build_pause
build_python

if [ "$NO_IMPORT" = 0 ] && [ -n "$SOCK" ]; then
  for t in pause python; do
    log "importing $t.tar into containerd (namespace k8s.io)"
    "${CTR:-ctr}" --address "$SOCK" -n k8s.io images import --all-platforms "$OUT/$t.tar" >/dev/null
  done
  "${CTR:-ctr}" --address "$SOCK" -n k8s.io images ls -q | grep '^sandpod.local/' >&2
fi
