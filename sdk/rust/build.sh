#!/usr/bin/env bash
# Builds a Wayline plugin written in Rust into a WebAssembly module, without cargo or crates:
#
#   sdk/rust/build.sh path/to/plugin.rs out/my-plugin.wasm
#
# The plugin source is the root of a `cdylib` crate that uses `wayline::...` (this SDK, built
# here as an rlib next to the output). Needs Debian's rustc with the wasm32 standard library
# and lld:  apt-get install rustc libstd-rust-dev-wasm32 lld
# RUSTC overrides the compiler (it must have a wasm32-wasi std; rustup's usually has not).
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 PLUGIN.rs OUT.wasm" >&2
	exit 2
fi
src=$1
out=$2
sdk=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rustc=${RUSTC:-/usr/bin/rustc}

missing() {
	echo "wayline: $1 not found; install it with: apt-get install $2" >&2
	exit 1
}
[ -x "$rustc" ] || command -v "$rustc" >/dev/null 2>&1 || missing "rustc ($rustc)" rustc
# Debian names the target wasm32-wasi; newer toolchains call it wasm32-wasip1.
target=
for t in wasm32-wasi wasm32-wasip1; do
	if [ -d "$("$rustc" --print sysroot)/lib/rustlib/$t/lib" ]; then
		target=$t
		break
	fi
done
if [ -z "$target" ]; then
	echo "wayline: $rustc has no standard library for wasm32-wasi; install it with: apt-get install libstd-rust-dev-wasm32" >&2
	echo "         (for a rustup toolchain: rustup target add wasm32-wasip1)" >&2
	exit 1
fi
command -v wasm-ld >/dev/null 2>&1 || missing "wasm-ld (the WebAssembly linker)" lld
[ -f "$src" ] || { echo "wayline: no plugin source at $src" >&2; exit 1; }

mkdir -p "$(dirname "$out")"
deps=$(mktemp -d)
trap 'rm -rf "$deps"' EXIT

# -C panic=abort: a panic traps the instance (the host reports plugin_trapped) instead of
# pulling in unwinding. A 64 KiB stack keeps a fresh instance at two pages of memory; the SDK's
# JSON parser does not recurse, so deep inputs cannot overflow it.
flags=(--edition 2021 --target "$target" -C opt-level=3 -C panic=abort -C codegen-units=1)
"$rustc" "${flags[@]}" --crate-type rlib --crate-name wayline "$sdk/src/lib.rs" -o "$deps/libwayline.rlib"
"$rustc" "${flags[@]}" --crate-type cdylib --crate-name "$(basename "$out" .wasm | tr -- '-.' '__')" \
	-C strip=symbols -C link-arg=-zstack-size=65536 \
	--extern wayline="$deps/libwayline.rlib" -L "$deps" "$src" -o "$out"
echo "built $out ($(wc -c <"$out") bytes)"
