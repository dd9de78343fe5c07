#!/usr/bin/env bash
# Builds OUTDIR/asloyalty.wasm (the AssemblyScript twin of loyalty-tier, for the benchmarks).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "$here/../../../../sdk/assemblyscript/build-plugin.sh" asloyalty condition "$here" "${1:?usage: $0 OUTDIR}"
