#!/usr/bin/env bash
# Installs what sandpod needs on Debian and is missing: the OCI runtime, the toolchains of the
# runtime catalog (the host packages of each runtime in runtimes/catalog.yaml whose version command
# is not there), and (with --test) the browser and the terminal multiplexer the end-to-end tests
# drive and what boots the cgroup v2 test guest (test/cgroup2/run.sh): qemu, a static busybox and
# Debian's kernel.
# Prints what it installs; does nothing when all is present. Needs node and the checkout's
# node_modules (make deps installs them first) to read the catalog.
# SANDPOD_LANGUAGES=python,c,java (names or aliases of runtimes/catalog.yaml) installs only those
# languages' toolchains; the gateway lists only the runtimes whose toolchain is there.
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
print_catalog() { (cd "$root" && node --import=tsx runtimes/print.ts "$1"); }
lacking="$(print_catalog host-lacking)"
catalog_missing="$(print_catalog host-missing)"
catalog_installs="$(print_catalog host-installs)"
# A lacking runtime's package may be there already (the JDK of a JVM language whose compiler jars
# are not): apt-get would upgrade it in passing, so only those not installed are asked for.
while read -r pkg; do
  [[ -z "$pkg" || $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) == *" installed" ]] || missing+=("$pkg")
done <<<"$catalog_missing"
[[ -z "$lacking" ]] || echo "Languages to install: $(paste -sd' ' <<<"$lacking")"
if $want_test; then
  # The guest's initramfs has no C library, so its busybox must be the static one.
  [[ $(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null) == *" installed" ]] || missing+=(busybox-static)
  # Debian's own kernel, whose 9p modules mount this machine's root in the guest. On a Debian
  # host that boots Debian's kernel it is already there.
  compgen -G '/lib/modules/*/kernel/fs/9p/9p.ko*' >/dev/null || missing+=(linux-image-amd64)
fi

if [[ ${#missing[@]} -eq 0 && -z "$catalog_installs" ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  [[ ${#missing[@]} -eq 0 ]] || echo "sandpod needs these Debian packages: ${missing[*]}" >&2
  [[ ${#missing[@]} -eq 0 ]] || echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
  [[ -z "$catalog_installs" ]] || echo "and run, as root, from $root: $(paste -sd';' <<<"$catalog_installs")" >&2
  exit 1
fi
if [[ ${#missing[@]} -gt 0 ]]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "sandpod needs: ${missing[*]} (no apt-get here; install them with your package manager)" >&2
    exit 1
  fi
  echo "Installing ${#missing[@]} Debian packages and what they depend on: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # Progress: apt-get prints each package as it is fetched, unpacked and set up.
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Toolchains from elsewhere (the Go module proxy, npm), each by a script of this repository.
while read -r script args; do
  [[ -n "$script" ]] || continue
  echo "Running $script $args"
  # shellcheck disable=SC2086 # the arguments are words of the catalog, split on purpose
  "$root/$script" $args
done <<<"$catalog_installs"
