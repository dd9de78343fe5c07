#!/usr/bin/env bash
# Runs the Rust SDK's unit tests natively (host calls are stubbed): sdk/rust/test.sh
set -euo pipefail
sdk=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rustc=${RUSTC:-/usr/bin/rustc}
command -v "$rustc" >/dev/null 2>&1 || { echo "wayline: rustc not found; install it with: apt-get install rustc" >&2; exit 1; }
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
"$rustc" --edition 2021 --test -C opt-level=1 -C debug-assertions=on --crate-name wayline "$sdk/src/lib.rs" -o "$bin/wayline_test"
"$bin/wayline_test" -q
