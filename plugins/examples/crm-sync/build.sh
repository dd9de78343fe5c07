#!/usr/bin/env bash
# Builds OUTDIR/crm-sync.wasm from this folder's AssemblyScript source.
# Usage: plugins/examples/crm-sync/build.sh OUTDIR   (from any directory)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "$here/../../../sdk/assemblyscript/build-plugin.sh" crm-sync action "$here" "${1:?usage: $0 OUTDIR}"
