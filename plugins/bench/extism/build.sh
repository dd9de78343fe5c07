#!/bin/sh
# Builds the Extism guest plugin into testdata/plugin.wasm (git-ignored).
# Standard Go toolchain, WASI reactor (-buildmode=c-shared exports _initialize,
# which the Extism SDK calls before the first call).
set -eu
cd "$(dirname "$0")"
mkdir -p testdata
GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o testdata/plugin.wasm ./plugin
ls -l testdata/plugin.wasm
