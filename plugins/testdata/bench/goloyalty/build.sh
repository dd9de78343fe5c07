#!/usr/bin/env bash
# Builds OUTDIR/goloyalty.wasm (the Go twin of loyalty-tier, for the benchmarks).
set -euo pipefail
out=${1:?usage: build.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")"
GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o "$out/goloyalty.wasm" .
