#!/usr/bin/env bash
# Builds and runs the sanitizer configurations of CMakePresets.json:
#   asan  AddressSanitizer + UndefinedBehaviorSanitizer (with float-cast-overflow, which
#         -fsanitize=undefined leaves out), Debug; runs the `unit` tests and the `integration`
#         tests, which start this build's server and talk to it with real clients;
#   tsan  ThreadSanitizer, RelWithDebInfo; runs the `stress` tests (the ring's stress tests,
#         the linearizability runs of the real ring, and the broken-ring detection run) and
#         the `integration` tests against this build's server.
# The browser test (label `browser`) runs against the release server only. Exits non-zero on
# the first build failure, test failure or sanitizer report (-fno-sanitize-recover=all makes
# every report fatal; a server that exits non-zero fails its integration test).
#   scripts/check-sanitizers.sh             both
#   scripts/check-sanitizers.sh asan|tsan   one
# TICKRING_SANITIZER_BUILD_ROOT (default: build) puts the build trees elsewhere, e.g. to keep
# them apart from a developer's own build/asan and build/tsan. TICKRING_CMAKE_ARGS is passed
# to the configure step (scripts/test.sh sets -DTICKRING_WERROR=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keys relative to the checkout (and not to the build folder's absolute path), so a
# second clone or worktree of the repository reuses what the first one compiled.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"

root=${TICKRING_SANITIZER_BUILD_ROOT:-build}
jobs=${TICKRING_JOBS:-$(nproc)}
# Sanitizer options. No suppressions are needed: the ring's shared words are all std::atomic,
# and the epoch scheme's slots too, so TSan has no race to report on a correct build.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

run() {
  local preset=$1 label=$2
  local dir="$root/$preset"
  echo "== $preset: configure, build, ctest -L $label ($dir)"
  # shellcheck disable=SC2086  # TICKRING_CMAKE_ARGS is a list of arguments
  cmake --preset "$preset" -B "$dir" ${TICKRING_CMAKE_ARGS:-} >/dev/null
  cmake --build "$dir" -j "$jobs"
  ctest --test-dir "$dir" -L "$label" -LE browser --no-tests=error --output-on-failure -j "$jobs"
}

case "${1:-all}" in
  asan) run asan 'unit|integration' ;;
  tsan) run tsan 'stress|integration' ;;
  all)
    run asan 'unit|integration'
    run tsan 'stress|integration'
    ;;
  *)
    echo "usage: $0 [asan|tsan]" >&2
    exit 2
    ;;
esac
echo "sanitizers: clean"
