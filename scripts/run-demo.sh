#!/usr/bin/env bash
# Quick start: builds tickring and runs the server with its built-in demo feed.
# Open http://127.0.0.1:8080/ for the live chart; Ctrl-C stops it.
#   scripts/run-demo.sh [more tickring-server flags]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh --target tickring-server tickring
exec build/release/server/tickring-server --demo "$@"
