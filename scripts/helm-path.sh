#!/usr/bin/env bash
# Prints the path of helm for the chart tests, building it from Go modules into the cache the first
# time (a few minutes on two cores). Order as for every dev-cluster binary: $SANDPOD_HELM, the
# cache, a helm on PATH reporting the pinned version (dev-cluster/lib.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../dev-cluster/lib.sh
. "$here/dev-cluster/lib.sh"
if path="$(resolve_component helm)"; then
  echo "$path"
  exit 0
fi
"$here/dev-cluster/build-binaries.sh" helm >&2
resolve_component helm
