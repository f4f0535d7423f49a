#!/usr/bin/env bash
# Builds and runs every test: the release build with all ctest labels (unit, stress,
# integration, model, fuzz), then the unit tests under AddressSanitizer + UBSan and the
# stress tests under ThreadSanitizer, then the Docker image (built and run with podman; run
# alone, after the rest, because its build takes both cores for minutes). Exits non-zero on
# the first failure.
#   scripts/test.sh            everything
#   scripts/test.sh --quick    release build, unit + integration only
set -euo pipefail
cd "$(dirname "$0")/.."
export TICKRING_CMAKE_ARGS="${TICKRING_CMAKE_ARGS:-} -DTICKRING_WERROR=ON"
scripts/build.sh
if [ "${1:-}" = "--quick" ]; then
  ctest --preset release -L 'unit|integration' -j 2
  exit 0
fi
ctest --preset release -j 2
scripts/check-sanitizers.sh
tests/docker/test_image.sh
echo "all tests passed"
