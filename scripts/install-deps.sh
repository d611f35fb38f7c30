#!/usr/bin/env bash
# Installs what sandpod needs on Debian and is missing: the OCI runtime, the toolchains of the
# runtime catalog (the host packages of each runtime in runtimes/catalog.yaml whose version command
# is not there), and (with --test) the browser and the terminal multiplexer the end-to-end tests
# drive and what boots the cgroup v2 test guest (test/cgroup2/run.sh): qemu, a static busybox and
# Debian's kernel.
# Prints what it installs; does nothing when all is present. Needs node and the checkout's
# node_modules (make deps installs them first) to read the catalog.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

want_test=false
[[ "${1:-}" == "--test" ]] && want_test=true

# command → Debian package that provides it
declare -A needed=(
  [runc]=runc
  [make]=make
  [gcc]=gcc # builds the process spawner (make build)
)
$want_test && needed[chromium]=chromium
# the sandpod command's terminal tests type into it through tmux
$want_test && needed[tmux]=tmux
$want_test && needed[qemu-system-x86_64]=qemu-system-x86

missing=()
for cmd in "${!needed[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${needed[$cmd]}")
done
# The catalog names the system toolchains by path (/usr/bin/python3), not a user-local build on PATH.
catalog_missing="$(cd "$root" && node --import=tsx runtimes/print.ts host-missing)"
[[ -z "$catalog_missing" ]] || mapfile -t -O "${#missing[@]}" missing <<<"$catalog_missing"
if $want_test; then
  # The guest's initramfs has no C library, so its busybox must be the static one.
  [[ $(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null) == *" installed" ]] || missing+=(busybox-static)
  # Debian's own kernel, whose 9p modules mount this machine's root in the guest. On a Debian
  # host that boots Debian's kernel it is already there.
  compgen -G '/lib/modules/*/kernel/fs/9p/9p.ko*' >/dev/null || missing+=(linux-image-amd64)
fi

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "sandpod needs these Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "sandpod needs: ${missing[*]} (no apt-get here; install them with your package manager)" >&2
  exit 1
fi
echo "Installing ${missing[*]} from Debian packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
