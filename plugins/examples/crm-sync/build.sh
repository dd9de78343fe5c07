#!/usr/bin/env bash
# Builds OUTDIR/crm-sync.wasm from this folder's AssemblyScript source.
# Usage: plugins/examples/crm-sync/build.sh OUTDIR   (from any directory)
# Needs Node.js 20+ with npm; installs the pinned compiler from package-lock.json (npm ci).
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$1"
out="$(cd "$1" && pwd)"

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "crm-sync: npm/node not found: install Node.js 20 or later (with npm) to build this AssemblyScript plugin" >&2
  exit 1
fi

cd "$here"
# Install exactly what the lockfile pins when node_modules is missing or older than the lockfile.
if [ ! -e node_modules/.bin/asc ] || [ ! -e node_modules/@wayline/plugin-sdk/package.json ] ||
   [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node node_modules/assemblyscript/bin/asc.js assembly/index.ts --config asconfig.json --outFile "$out/crm-sync.wasm"
# Refuse a module the host would refuse (stray imports, missing exports).
node node_modules/@wayline/plugin-sdk/bin/check-wasm.mjs "$out/crm-sync.wasm" action
echo "built $out/crm-sync.wasm"
