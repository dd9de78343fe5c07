#!/usr/bin/env bash
# Runs the C SDK's native unit tests under AddressSanitizer and UBSan: sdk/c/test.sh
set -euo pipefail
sdk=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v clang >/dev/null 2>&1 || { echo "wayline: clang not found; install it with: apt-get install clang" >&2; exit 1; }
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
clang -std=c11 -g -O1 -Wall -Wextra -Werror -fsanitize=address,undefined -fno-sanitize-recover=all \
	-I "$sdk" "$sdk/wayline_test.c" "$sdk/wayline.c" -lm -o "$bin/wayline_test"
"$bin/wayline_test"
