#!/usr/bin/env bash
# Builds a Wayline plugin written in C into a WebAssembly module (a WASI reactor):
#
#   sdk/c/build.sh out/my-plugin.wasm plugin.c [more.c ...] [-- extra clang flags]
#
# wayline.c is compiled in; the plugin's sources include "wayline.h". Needs Debian's clang,
# lld, wasi-libc and the wasm32 compiler runtime:
#   apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32
# CC overrides the compiler (any clang that targets wasm32-wasi with a WASI sysroot).
set -euo pipefail

if [ $# -lt 2 ]; then
	echo "usage: $0 OUT.wasm SOURCE.c [SOURCE.c ...] [-- CLANG_FLAGS ...]" >&2
	exit 2
fi
out=$1
shift
srcs=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
	srcs+=("$1")
	shift
done
[ "${1:-}" = "--" ] && shift
sdk=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cc=${CC:-clang}

missing() {
	echo "wayline: $1 not found; install it with: apt-get install $2" >&2
	exit 1
}
command -v "$cc" >/dev/null 2>&1 || missing "clang ($cc)" clang
command -v wasm-ld >/dev/null 2>&1 || missing "wasm-ld (the WebAssembly linker)" lld
libc=$("$cc" --target=wasm32-wasi -print-file-name=libc.a)
[ -f "$libc" ] || missing "the WASI C library (libc.a for wasm32-wasi)" wasi-libc
rt=$("$cc" --target=wasm32-wasi -print-libgcc-file-name)
[ -f "$rt" ] || missing "the wasm32 compiler runtime ($(basename "$rt"))" libclang-rt-14-dev-wasm32
for s in "${srcs[@]}"; do
	[ -f "$s" ] || { echo "wayline: no source at $s" >&2; exit 1; }
done

mkdir -p "$(dirname "$out")"
# A reactor: no main; _initialize runs the C constructors once at load. A 64 KiB stack keeps
# a fresh instance small; the SDK's JSON parser does not recurse, so deep inputs cannot
# overflow it.
"$cc" --target=wasm32-wasi -mexec-model=reactor -O2 -std=c11 -Wall -Wextra \
	-I "$sdk" -Wl,-z,stack-size=65536 \
	"$@" "${srcs[@]}" "$sdk/wayline.c" -o "$out"
echo "built $out ($(wc -c <"$out") bytes)"
