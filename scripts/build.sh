#!/usr/bin/env bash
# Installs the dependencies (Debian packages) and builds the release preset.
#   scripts/build.sh [extra cmake --build args]
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keys relative to the checkout (and not to the build folder's absolute path), so a
# second clone or worktree of the repository reuses what the first one compiled.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
scripts/install-deps.sh
cmake --preset release ${TICKRING_CMAKE_ARGS:-} >/dev/null
cmake --build --preset release -j "$(nproc)" "$@"
