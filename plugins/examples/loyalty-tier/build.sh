#!/usr/bin/env bash
# Builds OUTDIR/loyalty-tier.wasm: ./build.sh OUTDIR (from any directory).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec "$here/../../../sdk/rust/build.sh" "$here/lib.rs" "$1/loyalty-tier.wasm"
