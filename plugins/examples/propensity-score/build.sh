#!/usr/bin/env bash
# Builds OUTDIR/propensity-score.wasm: ./build.sh OUTDIR (from any directory).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec "$here/../../../sdk/c/build.sh" "$1/propensity-score.wasm" "$here/propensity.c"
