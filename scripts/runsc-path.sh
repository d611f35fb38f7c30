#!/usr/bin/env bash
# Prints the path of gVisor's runsc for the embedded sandbox's strong option, building it from Go
# modules into the cache the first time (about a minute and a half on two cores).
# $SANDPOD_RUNSC, when set, names a runsc to use instead.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../dev-cluster/lib.sh
. "$here/dev-cluster/lib.sh"
if [[ -n "${SANDPOD_RUNSC:-}" ]]; then
  echo "$SANDPOD_RUNSC"
  exit 0
fi
path="$(component_cache_path runsc)"
[[ -x "$path" ]] || "$here/dev-cluster/build-binaries.sh" runsc >&2
echo "$path"
