#!/usr/bin/env bash
# Installs the Debian 12 packages tickring needs to build, test and benchmark.
# This is the one list of dependencies: the README, .ci/run and docker/Dockerfile all call it.
#
#   scripts/install-deps.sh            build + test + bench dependencies, then the npm packages
#   scripts/install-deps.sh --build    build dependencies and server/web's npm package only
#                                      (docker/Dockerfile's build stage)
#   scripts/install-deps.sh --runtime  only what tickring-server and tickring need at run time
#                                      (docker/Dockerfile's runtime stage)
#
# npm packages (pinned by their package-lock.json; `npm ci`, no browser download):
#   server/web      lightweight-charts, embedded in the server by the build (the chart page)
#   tests/browser   playwright-core, which drives Debian's chromium in the browser test
set -euo pipefail
cd "$(dirname "$0")/.."

# Build: compiler, CMake, Ninja, ccache (used when present), and the libraries (docs/design.md).
build_packages=(
  g++ cmake ninja-build ccache pkg-config ca-certificates
  libboost1.81-dev libboost-program-options1.81-dev
  nlohmann-json3-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev libnats-dev
)
# Test: fuzzing (clang + its sanitizer runtime), model checking, real clients for the
# integration tests, a real InfluxDB 1.x server (influxd, which the InfluxQL test compares
# tickring's answers with; the test starts its own, the package's service is not used), a
# load tool for cross-checks, a browser for the chart page's test, and a
# daemonless Docker stand-in (podman, buildah; debootstrap makes the base image) for the
# image's test (tests/docker/test_image.sh, which reads docker/compose.yaml with python3-yaml).
test_packages=(
  clang libclang-rt-14-dev spin curl python3 python3-influxdb python3-websockets influxdb wrk chromium
  podman buildah debootstrap python3-yaml nats-server
)
# Bench: what bench/vs_redis.sh compares tickring with (Redis 7 streams; the script starts its
# own redis-server on loopback without persistence; the package's service is not used) and
# redis-cli, which loads Redis with `--pipe`. Not needed to build or test.
bench_packages=(
  redis-server redis-tools
)
# What `ldd` lists for both binaries beyond libc, libstdc++ and libgcc_s (which every Debian
# system has). No TLS anywhere at run time, so no ca-certificates (npm needs it at build time).
runtime_packages=(
  libboost-program-options1.81.0 libspdlog1.10 libfmt9 libnats3.4
)

mode=${1:-all}
case "$mode" in
  --runtime) packages=("${runtime_packages[@]}") ;;
  --build) packages=("${build_packages[@]}") ;;
  all|--all) packages=("${build_packages[@]}" "${test_packages[@]}" "${bench_packages[@]}") ;;
  *) echo "usage: $0 [--build|--runtime]" >&2; exit 2 ;;
esac
# The npm folders this mode installs: the page for a build, the browser test's too for all.
case "$mode" in
  --runtime) npm_dirs=() ;;
  --build) npm_dirs=(server/web) ;;
  *) npm_dirs=(server/web tests/browser) ;;
esac

# npm ci in each folder whose lockfile changed since the last install (npm ci always
# empties node_modules first, so skipping an unchanged one saves time on every build).
npm_install() {
  local dir
  for dir in "${npm_dirs[@]}"; do
    if cmp -s "$dir/package-lock.json" "$dir/node_modules/.tickring-installed-lock" 2>/dev/null; then
      continue
    fi
    echo "install-deps: npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts)
    cp "$dir/package-lock.json" "$dir/node_modules/.tickring-installed-lock"
  done
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js + npm (Debian 12: Node 18) run `npm ci` for the chart page and the browser test.
# Asked for by command, not by package: a Node.js installed otherwise (NodeSource's nodejs
# bundles npm and conflicts with Debian's npm package) serves as well.
if [ "$mode" != --runtime ] && ! { command -v node && command -v npm; } >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages and Node.js present"
  npm_install
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
  else
    echo "install-deps: these Debian packages are missing and I am not root:" >&2
    echo "  apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
else
  SUDO=
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
npm_install
