#!/usr/bin/env bash
# Installs the Go toolchain VERSION from the Go module proxy, where it is the module
# golang.org/toolchain (Debian 12's Go is 1.19), under /usr/local/lib/sandpod/go<VERSION>, and next
# to it a build cache of the packages programs use most (go<VERSION>-cache): Go ships no compiled
# standard library, so a first build with an empty cache compiles it (about 10 s of CPU). The
# compile step of runtimes/catalog.yaml copies this cache into its scratch, where Go may write it.
# Usage: go.sh VERSION SHA256 (of the module zip, so that what is installed is what was reviewed).
set -euo pipefail
version="$1" sha256="$2"
dest="/usr/local/lib/sandpod/go$version"
[[ -x "$dest/bin/go" && -d "$dest-cache" ]] && exit 0
proxy="${GOPROXY:-https://proxy.golang.org}"
proxy="${proxy%%[,|]*}"
[[ "$proxy" == direct || "$proxy" == off ]] && proxy=https://proxy.golang.org
module="golang.org/toolchain@v0.0.1-go$version.linux-amd64"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "Go $version: downloading $module from $proxy"
curl -fsSL --retry 3 -o "$work/go.zip" "$proxy/golang.org/toolchain/@v/v0.0.1-go$version.linux-amd64.zip"
echo "$sha256  $work/go.zip" | sha256sum --check --quiet -
unzip -q "$work/go.zip" -d "$work/unpacked"
rm -rf "$dest" "$dest-cache"
mkdir -p "$(dirname "$dest")"
mv "$work/unpacked/$module" "$dest"
chmod -R go-w,a+rX "$dest"
echo "Go $version: building the standard library's common packages into $dest-cache"
cat >"$work/warm.go" <<'GO'
package main

import (
	_ "bufio"
	_ "bytes"
	_ "container/heap"
	_ "container/list"
	_ "errors"
	_ "fmt"
	_ "io"
	_ "maps"
	_ "math"
	_ "math/big"
	_ "math/bits"
	_ "math/rand"
	_ "os"
	_ "regexp"
	_ "slices"
	_ "sort"
	_ "strconv"
	_ "strings"
	_ "sync"
	_ "time"
	_ "unicode"
)

func main() {}
GO
# The same settings as the catalog's compile step, so that its builds find these entries.
(cd "$work" && env -i PATH=/usr/bin:/bin HOME="$work" GOCACHE="$dest-cache" GOPATH="$work/gopath" \
  GOTOOLCHAIN=local GOENV=off GOTELEMETRY=off CGO_ENABLED=0 GOFLAGS=-trimpath \
  "$dest/bin/go" build -o "$work/warm" warm.go)
chmod -R go-w,a+rX "$dest-cache"
