#!/usr/bin/env bash
# Builds one AssemblyScript plugin: sdk/assemblyscript/build-plugin.sh NAME KIND PLUGIN_DIR OUTDIR
# writes OUTDIR/NAME.wasm from PLUGIN_DIR/assembly/index.ts (with PLUGIN_DIR's asconfig.json and
# package-lock.json) and refuses a module the host would refuse (stray imports, missing exports).
# Needs Node.js 20+ with npm; installs the pinned compiler with npm ci when needed.
set -euo pipefail

if [ $# -ne 4 ] || [ -z "$4" ]; then
  echo "usage: $0 NAME KIND PLUGIN_DIR OUTDIR" >&2
  exit 2
fi
name=$1 kind=$2
dir="$(cd "$3" && pwd)"
mkdir -p "$4"
out="$(cd "$4" && pwd)"

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "$name: npm/node not found: install Node.js 20 or later (with npm) to build this AssemblyScript plugin" >&2
  exit 1
fi

cd "$dir"
# Install exactly what the lockfile pins when node_modules is missing or older than the lockfile.
if [ ! -e node_modules/.bin/asc ] || [ ! -e node_modules/@wayline/plugin-sdk/package.json ] ||
   [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node node_modules/assemblyscript/bin/asc.js assembly/index.ts --config asconfig.json --outFile "$out/$name.wasm"
node node_modules/@wayline/plugin-sdk/bin/check-wasm.mjs "$out/$name.wasm" "$kind"
echo "built $out/$name.wasm"
