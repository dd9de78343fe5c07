#!/usr/bin/env bash
# Builds OUTDIR/weather.wasm with the Go toolchain (GOOS=wasip1, a reactor).
set -euo pipefail
out=${1:?usage: build.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")"
GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o "$out/weather.wasm" .
