#!/usr/bin/env bash
# Prints the path of a pinned dev-cluster tool (helm, kubectl, runsc, ...), building it from Go
# modules into the cache the first time. Order as for every dev-cluster binary: $SANDPOD_<NAME>,
# the cache, the same tool on PATH reporting the pinned version (dev-cluster/lib.sh).
# Usage: scripts/tool-path.sh <component>
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../dev-cluster/lib.sh
. "$here/dev-cluster/lib.sh"
component="${1:?usage: scripts/tool-path.sh <component>}"
if path="$(resolve_component "$component")"; then
  echo "$path"
  exit 0
fi
"$here/dev-cluster/build-binaries.sh" "$component" >&2
resolve_component "$component"
