#!/usr/bin/env bash
# Installs what sandpod needs on Debian and is missing: the OCI runtime, the toolchains of the
# default runtime catalog, and (with --test) the browser and the terminal multiplexer the
# end-to-end tests drive.
# Prints what it installs; does nothing when all is present.
set -euo pipefail

want_test=false
[[ "${1:-}" == "--test" ]] && want_test=true

# command → Debian package that provides it
declare -A needed=(
  [runc]=runc
  [gcc]=gcc
  [g++]=g++
  [python3]=python3
  [bash]=bash
  [node]=nodejs
  [make]=make
)
$want_test && needed[chromium]=chromium
# the sandpod command's terminal tests type into it through tmux
$want_test && needed[tmux]=tmux

missing=()
for cmd in "${!needed[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${needed[$cmd]}")
done
# The catalog runs the system interpreters, not a user-local build that may shadow them.
[[ -x /usr/bin/python3 ]] || missing+=(python3)

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
