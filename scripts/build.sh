#!/usr/bin/env bash
# Installs the dependencies (Debian packages) and builds the release preset.
#   scripts/build.sh [extra cmake --build args]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release ${TICKRING_CMAKE_ARGS:-} >/dev/null
cmake --build --preset release -j "$(nproc)" "$@"
