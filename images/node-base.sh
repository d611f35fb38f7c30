#!/usr/bin/env bash
# Makes the base image of images/sandpod.Dockerfile (Node 20 on Debian 12) from this Debian 12
# host's own files, for machines that cannot pull from a registry:
#   sandpod.local/node-base:20-bookworm
# It holds the files of the Debian packages below (documentation left out), the host's npm, the CA
# bundle, /etc/passwd with root and nonroot (65532, the image's USER) and a 1777 /tmp. The layer is
# reproducible (sorted, mtime 0, uid 0), so the same host packages give the same manifest digest,
# which images/base-images.env pins.
#
# Usage: images/node-base.sh <out-dir>
# Writes <out-dir>/node-base-<key>.tar (an OCI image layout) and prints its manifest digest
# (sha256:...). The key hashes this script and the versions of the packages it copies, so a run on an
# unchanged host reuses the tarball.
set -euo pipefail
umask 022
OUT="${1:?usage: images/node-base.sh <out-dir>}"
PACKAGES=(base-files dash coreutils libc6 libgcc-s1 libstdc++6 nodejs)
NPM_DIR=/usr/lib/node_modules/npm
log() { printf '%s [images] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || die "Debian package $p is not installed"
done
[ -f "$NPM_DIR/package.json" ] || die "npm not found in $NPM_DIR"
node_version="$(node --version)"
case "$node_version" in v20.*) ;; *) die "the host's node is $node_version, the base must be Node 20" ;; esac

key="$( {
  cat "${BASH_SOURCE[0]}"
  dpkg-query -W -f '${Package} ${Version}\n' "${PACKAGES[@]}"
  sed -n 's/^  "version": "\(.*\)",$/\1/p' "$NPM_DIR/package.json"
  sha256sum /etc/ssl/certs/ca-certificates.crt
} | sha256sum | cut -c1-16)"
mkdir -p "$OUT"
tarball="$OUT/node-base-$key.tar"
if [ -f "$tarball" ] && [ -f "${tarball%.tar}.digest" ]; then
  cat "${tarball%.tar}.digest"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root"/{dev,etc/ssl/certs,proc,sys,tmp,root,usr/bin,usr/sbin,usr/lib,usr/lib64,usr/local/bin}
chmod 755 "$root"
ln -s usr/bin "$root/bin"; ln -s usr/sbin "$root/sbin"; ln -s usr/lib "$root/lib"; ln -s usr/lib64 "$root/lib64"
chmod 1777 "$root/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nnonroot:x:65532:65532:nonroot:/home/nonroot:/usr/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
cp /etc/os-release "$root/etc/os-release" 2>/dev/null || true

# Files (and symlinks) of the packages, through merged /usr, without docs and man pages.
for p in "${PACKAGES[@]}"; do
  dpkg -L "$p"
done | while IFS= read -r f; do
  case "$f" in /usr/share/doc/*|/usr/share/man/*|/usr/share/locale/*|/usr/share/lintian/*|/etc/*|/var/*|/.) continue ;; esac
  if [ -L "$f" ] || [ -f "$f" ]; then
    d="$(readlink -f "$(dirname "$f")")"
    printf '%s/%s\n' "$d" "$(basename "$f")"
  fi
done | sort -u >"$work/list"
find "$NPM_DIR" \( -type f -o -type l \) >>"$work/list"
tar -C / --no-recursion -cf - -T <(sed 's|^/||' "$work/list") | tar -C "$root" --no-same-owner -xf -
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/bin/npx"
[ -e "$root/usr/bin/sh" ] || ln -s dash "$root/usr/bin/sh"
chmod -R u+rwX,go+rX,go-w,ug-s "$root"
chmod 1777 "$root/tmp"
mkdir -p "$root/home/nonroot"
chown 65532:65532 "$root/home/nonroot"

# One-layer OCI image layout.
sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
mkdir -p "$work/oci/blobs/sha256"
tar -C "$root" --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 --exclude=./home/nonroot -cf "$work/layer.tar" .
tar -C "$root" --sort=name --numeric-owner --owner=65532 --group=65532 --mtime=@0 --no-recursion -rf "$work/layer.tar" ./home/nonroot
ld="$(sha "$work/layer.tar")"
mv "$work/layer.tar" "$work/oci/blobs/sha256/$ld"
printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Env":["PATH=/usr/local/bin:/usr/bin:/bin","NODE_VERSION=%s","LANG=C.UTF-8","NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt"],"Cmd":["node"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"images/node-base.sh"}]}' \
  "${node_version#v}" "$ld" >"$work/config.json"
cd_="$(sha "$work/config.json")"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
  "$cd_" "$(size "$work/config.json")" "$ld" "$(size "$work/oci/blobs/sha256/$ld")" >"$work/manifest.json"
mv "$work/config.json" "$work/oci/blobs/sha256/$cd_"
md="$(sha "$work/manifest.json")"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"sandpod.local/node-base:20-bookworm"}}]}' \
  "$md" "$(size "$work/manifest.json")" >"$work/oci/index.json"
mv "$work/manifest.json" "$work/oci/blobs/sha256/$md"
printf '{"imageLayoutVersion":"1.0.0"}' >"$work/oci/oci-layout"
tar -C "$work/oci" --sort=name --mtime=@0 --owner=0 --group=0 -cf "$tarball.tmp" oci-layout index.json blobs
mv "$tarball.tmp" "$tarball"
echo "sha256:$md" >"${tarball%.tar}.digest"
find "$OUT" -maxdepth 1 -name 'node-base-*' ! -name "node-base-$key.*" -delete
log "built sandpod.local/node-base:20-bookworm -> $tarball ($(du -h "$tarball" | cut -f1), sha256:$md)"
echo "sha256:$md"
