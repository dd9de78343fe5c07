#!/usr/bin/env bash
# Runs the JavaScript client's tests: unit tests, then tests against real nodes built from this
# checkout (`go build ./cmd/wayline`; set WAYLINE_BIN=path/to/wayline to use a built binary).
# Needs Node 20+ and Go. Usage: sdk/client/js/test/run.sh (from anywhere).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
if ! command -v node >/dev/null; then
  echo "sdk/client/js: node is not installed; install Node 20 or later to run the JavaScript client's tests" >&2
  exit 1
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
  echo "sdk/client/js: Node $(node -v) is too old; the tests need Node 20 or later" >&2
  exit 1
fi
exec node --test test/
