#!/usr/bin/env bash
# Builds every example plugin into OUTDIR (default bin/plugins), installing the Debian
# toolchains first when they are missing: clang + lld + wasi-libc + the wasm32 compiler-rt for
# C, Debian's rustc with the wasm32 standard library for Rust, Node.js for AssemblyScript.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mkdir -p "${1:-$root/bin/plugins}" && cd "${1:-$root/bin/plugins}" && pwd)

need=()
command -v clang >/dev/null || need+=(clang)
command -v wasm-ld >/dev/null || need+=(lld)
[ -d /usr/include/wasm32-wasi ] || [ -d /usr/lib/wasm32-wasi ] || need+=(wasi-libc)
ls /usr/lib/llvm-14/lib/clang/14*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1 || need+=(libclang-rt-14-dev-wasm32)
[ -x /usr/bin/rustc ] || need+=(rustc)
ls -d /usr/lib/rustlib/wasm32-* >/dev/null 2>&1 || need+=(libstd-rust-dev-wasm32)
command -v npm >/dev/null || need+=(nodejs npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "plugins: installing ${need[*]} (Debian packages)"
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The examples, and the benchmark twins of loyalty-tier in other languages (plugins/testdata/bench).
for dir in "$root"/plugins/examples/*/ "$root"/plugins/testdata/bench/*/; do
  name=$(basename "$dir")
  [ -x "$dir/build.sh" ] || continue
  echo "plugins: building $name"
  "$dir/build.sh" "$out"
done
ls -l "$out"
