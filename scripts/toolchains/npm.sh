#!/usr/bin/env bash
# Installs npm packages at exact versions for a runtime of runtimes/catalog.yaml (TypeScript has no
# current Debian package) under /usr/local/lib/sandpod/<NAME>, which embedded mode shows read-only
# with the rest of /usr and the runtime image copies as it is.
# Usage: npm.sh NAME PACKAGE@VERSION...
set -euo pipefail
name="$1"
shift
dest="/usr/local/lib/sandpod/$name"
for spec in "$@"; do
  [[ "$spec" == *@[0-9]* ]] || { echo "npm.sh: $spec has no exact version" >&2; exit 2; }
done
echo "$name: installing $* with npm"
rm -rf "$dest.new"
mkdir -p "$dest.new"
echo '{"private":true}' >"$dest.new/package.json"
npm install --prefix "$dest.new" --save-exact --no-audit --no-fund --omit=dev --loglevel=error "$@"
rm -rf "$dest"
mv "$dest.new" "$dest"
chmod -R go-w,a+rX "$dest"
