#!/usr/bin/env bash
# Builds docker/Dockerfile and runs tickring-server --demo from the image: GET /health, the
# demo's series, one line-protocol write over TCP read back over HTTP, the chart page at / (and
# the library the build embeds from node_modules), the image's HEALTHCHECK command, a clean stop
# on SIGTERM, and the image's settings (user, ports, volume, entrypoint, health check) and size.
# scripts/test.sh runs it after the other tests.
#
# No Docker engine is needed: podman builds the Dockerfile (chroot isolation, the host's
# network) and `buildah run` runs the image's files; a server started that way listens on this
# machine's loopback, on ports the kernel picks. `FROM debian:bookworm-slim` is taken from local
# storage; when it is not there, a stand-in is made with debootstrap, trimmed like the official
# slim image so that the measured size compares with what users pull. Needs root, podman,
# buildah, debootstrap, curl and python3-yaml (scripts/install-deps.sh installs them).
#
# docker/compose.yaml's feeder command is run from the image too (compose itself is not).
#
# Fails, never skips, when the image cannot be built. Every step is bounded in time; only the
# processes and containers this script started are stopped, by their id.
#
# Environment:
#   TICKRING_IMAGE          the tag to build (default localhost/tickring:test)
#   TICKRING_IMAGE_MAX_MB   the largest acceptable image, MB of 10^6 bytes (default 120)
set -euo pipefail
cd "$(dirname "$0")/../.."

IMAGE=${TICKRING_IMAGE:-localhost/tickring:test}
MAX_MB=${TICKRING_IMAGE_MAX_MB:-120}
BASE=debian:bookworm-slim
# A cold build (packages + compiling the server on two cores) takes about 10 minutes; a hung
# mirror or compiler must fail CI well within its 90 minutes.
BUILD_TIMEOUT_S=2400
BASE_TIMEOUT_S=600
START_TIMEOUT_S=30
REQUEST_TIMEOUT_S=10

PODMAN=(podman --cgroup-manager=cgroupfs)  # systemd's cgroup manager is unusable in CI sandboxes

fail() { echo "test_image: FAIL: $*" >&2; exit 1; }
say() { echo "test_image: $*"; }

for tool in podman buildah debootstrap curl; do
  command -v "$tool" >/dev/null || fail "$tool is missing (run scripts/install-deps.sh)"
done
# Debian's interpreter, with python3-yaml (as the integration tests: not another python3 on PATH).
PYTHON=/usr/bin/python3
"$PYTHON" -c 'import yaml' 2>/dev/null || fail "$PYTHON with python3-yaml is missing (run scripts/install-deps.sh)"

work=$(mktemp -d "${TMPDIR:-/tmp}/tickring-image-test.XXXXXX")
container=""
runner_pid=""  # `buildah run`, started by this script
server_pid=""  # tickring-server, its descendant
# The processes below a PID, children first (read from /proc: no process is matched by name).
descendants() {
  local child
  for child in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}
cleanup() {
  local pid
  if [ -n "$runner_pid" ]; then
    # What buildah started first: killing buildah alone could leave the server running.
    for pid in $server_pid $(descendants "$runner_pid") "$runner_pid"; do
      kill -KILL "$pid" 2>/dev/null || true
    done
    wait "$runner_pid" 2>/dev/null || true
  fi
  if [ -n "$container" ]; then buildah rm "$container" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# ---- the base image ----
if ! "${PODMAN[@]}" image exists "$BASE"; then
  say "no $BASE in local storage: making one with debootstrap"
  root="$work/rootfs"
  timeout "$BASE_TIMEOUT_S" debootstrap --variant=minbase bookworm "$root" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap failed"; }
  # What the official slim image leaves out: docs, man pages, locales, apt's lists and debs.
  rm -rf "$root"/usr/share/{doc,man,info,locale}/* "$root"/var/lib/apt/lists/* \
         "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/log/*
  tar -C "$root" -c . | "${PODMAN[@]}" import --quiet - "$BASE" >/dev/null || fail "podman import failed"
  rm -rf "$root"
fi

# ---- the build ----
old_id=$("${PODMAN[@]}" image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
build_args=(--pull=never --isolation=chroot --network=host --format docker
            -f docker/Dockerfile -t "$IMAGE")
# npm in the build stage trusts what this machine trusts (a TLS-intercepting proxy's CA too).
ca_bundle=/etc/ssl/certs/ca-certificates.crt
[ -s "$ca_bundle" ] && build_args+=(--secret "id=ca,src=$ca_bundle")
say "building $IMAGE (log: podman's output below on failure)"
start=$SECONDS
if ! timeout "$BUILD_TIMEOUT_S" "${PODMAN[@]}" build "${build_args[@]}" . >"$work/build.log" 2>&1; then
  tail -40 "$work/build.log" >&2
  fail "the image did not build (within ${BUILD_TIMEOUT_S}s)"
fi
say "built in $((SECONDS - start)) s"
new_id=$("${PODMAN[@]}" image inspect --format '{{.Id}}' "$IMAGE")
# The image this tag named before is now unnamed: remove it (only it) so runs do not pile up.
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
  "${PODMAN[@]}" rmi "$old_id" >/dev/null 2>&1 || true
fi

# ---- the image's settings and size ----
"${PODMAN[@]}" image inspect "$IMAGE" >"$work/inspect.json"
"$PYTHON" - "$work/inspect.json" "$MAX_MB" <<'EOF' || fail "the image's settings or size are wrong"
import json, sys
image = json.load(open(sys.argv[1]))[0]
config, max_mb = image["Config"], float(sys.argv[2])
checks = [
    ("user", config.get("User"), "tickring"),
    ("entrypoint", config.get("Entrypoint"), ["tickring-entrypoint"]),
    ("exposed ports", sorted(config.get("ExposedPorts") or {}), ["8080/tcp", "9009/tcp"]),
    ("volumes", sorted(config.get("Volumes") or {}), ["/var/lib/tickring"]),
    # Docker's image format keeps the HEALTHCHECK (the OCI format drops it).
    ("healthcheck", (config.get("Healthcheck") or image.get("Healthcheck") or {}).get("Test"),
     ["CMD", "tickring", "health"]),
]
ok = True
for name, got, want in checks:
    if got != want:
        print("test_image: %s is %r, expected %r" % (name, got, want), file=sys.stderr)
        ok = False
mb = image["Size"] / 1e6
print("test_image: image size %.1f MB (at most %.0f)" % (mb, max_mb))
if mb > max_mb:
    print("test_image: the image is larger than %.0f MB" % max_mb, file=sys.stderr)
    ok = False
sys.exit(0 if ok else 1)
EOF

# ---- run the server from the image ----
container=$(buildah from --pull-never "$IMAGE")
run=(buildah run --isolation=chroot "$container" --)
# The image's user, not root (USER in the Dockerfile).
user=$("${run[@]}" id -un) || fail "cannot run a command in the image"
[ "$user" = tickring ] || fail "commands in the image run as '$user', expected tickring"

# The entrypoint listens on every interface, so it must refuse to start without a token (the
# check comes before binding: no port is taken), and it must hand TICKRING_TOKEN to the server
# as a token file (a token too short to accept proves the file reached the server's check).
refusal=$("${run[@]}" tickring-entrypoint 2>&1) && fail "the entrypoint started without a token"
[[ $refusal == *"--insecure-no-auth"* ]] || fail "the entrypoint's refusal says: $refusal"
refusal=$("${run[@]}" env TICKRING_TOKEN=short tickring-entrypoint 2>&1) &&
  fail "the entrypoint started with a 5-character token"
[[ $refusal == *"--auth-token-file"*"a token has 16 to 256 characters"* ]] ||
  fail "the entrypoint with TICKRING_TOKEN=short says: $refusal"

# The journal where the entrypoint keeps it (docker/entrypoint.sh), in the image's volume.
DATA_DIR=/var/lib/tickring/journal
"${run[@]}" grep -q "TICKRING_DATA_DIR-$DATA_DIR" /usr/local/bin/tickring-entrypoint ||
  fail "the entrypoint does not keep the journal in $DATA_DIR"

# Loopback and kernel-picked ports: the host's network is shared, so the image's :8080 and
# :9009 may be taken; the server prints the ports it bound on its first line.
start_server() {
  "${run[@]}" tickring-server --http 127.0.0.1:0 --ingest 127.0.0.1:0 --log-level warn \
    --data-dir "$DATA_DIR" "$@" >"$work/server.out" 2>"$work/server.err" &
  runner_pid=$!
  http_port="" ingest_port="" server_pid=""
  local deadline=$((SECONDS + START_TIMEOUT_S)) pid
  while [ -z "$http_port" ]; do
    if [[ $(head -1 "$work/server.out" 2>/dev/null) =~ http=[^[:space:]]+:([0-9]+)\ ingest=[^[:space:]]+:([0-9]+) ]]; then
      http_port=${BASH_REMATCH[1]} ingest_port=${BASH_REMATCH[2]}
    elif ! kill -0 "$runner_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      cat "$work/server.out" "$work/server.err" >&2
      fail "tickring-server from the image did not start"
    else
      sleep 0.2
    fi
  done
  # buildah runs the server as its descendant: find it so it can be stopped by its id.
  for pid in $(descendants "$runner_pid"); do
    [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = tickring-server ] && server_pid=$pid
  done
  [ -n "$server_pid" ] || fail "cannot find tickring-server among the processes buildah started"
  url="http://127.0.0.1:$http_port"
  say "tickring-server from the image: pid $server_pid, http $http_port, ingest $ingest_port"
}

# SIGTERM, as `docker stop` sends: the server exits 0 and buildah run with it.
stop_server() {
  kill -TERM "$server_pid"
  local deadline=$((SECONDS + 10)) status=0
  while kill -0 "$runner_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  kill -0 "$runner_pid" 2>/dev/null && fail "tickring-server did not stop within 10 s of SIGTERM"
  wait "$runner_pid" || status=$?
  runner_pid="" server_pid=""
  [ "$status" -eq 0 ] || { cat "$work/server.err" >&2; fail "tickring-server exited with $status"; }
}

# --demo, as the README's `docker run` example.
start_server --demo

get() { curl -sS --max-time "$REQUEST_TIMEOUT_S" "$@"; }

health=$(get -f "$url/health") || fail "GET /health failed"
[[ $health == *'"status":"ok"'* ]] || fail "GET /health answered $health"

deadline=$((SECONDS + REQUEST_TIMEOUT_S))
until [[ $(get "$url/v1/series") == *'"measurement":"quotes","symbol":"EURUSD"'* ]]; do
  [ $SECONDS -lt $deadline ] || fail "the demo feed's quotes/EURUSD never appeared"
  sleep 0.1
done

# One point over the TCP feed, then read back over HTTP.
printf 'docker_test,sym=IMAGE price=101.25,size=7i 1700000000000000000\n' \
  >/dev/tcp/127.0.0.1/"$ingest_port" || fail "cannot write to the ingest port"
deadline=$((SECONDS + REQUEST_TIMEOUT_S))
until latest=$(get -f "$url/v1/series/docker_test/IMAGE/latest" 2>/dev/null); do
  [ $SECONDS -lt $deadline ] || fail "the point written over TCP never became readable"
  sleep 0.1
done
[[ $latest == *'"time":1700000000000000000'* && $latest == *'"price":101.25'* && $latest == *'"size":7'* ]] ||
  fail "read back $latest"

# The chart page and the library embedded from server/web/node_modules.
page=$(get -f "$url/") || fail "GET / failed"
[[ $page == *'<html'* && $page == *'chart.js'* ]] || fail "GET / is not the chart page"
lib_bytes=$(get -f -o /dev/null -w '%{size_download}' "$url/ui/lightweight-charts.mjs") ||
  fail "GET /ui/lightweight-charts.mjs failed"
[ "$lib_bytes" -gt 10000 ] || fail "the embedded chart library is $lib_bytes bytes"

# docker/compose.yaml's feeder, from the image, pointed at this server instead of the compose
# service: a few seconds of its trades must arrive.
feeder=$("$PYTHON" - "$ingest_port" <<'EOF'
import sys, yaml
command = yaml.safe_load(open("docker/compose.yaml"))["services"]["feeder"]["command"][0]
target = "--host tickring"
if target not in command:
    sys.exit("compose.yaml's feeder no longer says " + target)
print(command.replace(target, "--host 127.0.0.1 --ingest-port " + sys.argv[1]))
EOF
) || fail "cannot read the feeder's command from docker/compose.yaml"
feeder_status=0
"${run[@]}" timeout 3 sh -c "$feeder" >"$work/feeder.out" 2>&1 || feeder_status=$?
# timeout's 124 is the expected end: the feeder runs until stopped.
[ "$feeder_status" -eq 124 ] || { cat "$work/feeder.out" >&2; fail "the feeder exited with $feeder_status"; }
acme=$(get -f "$url/v1/series/trades/ACME?limit=100") || fail "the feeder's trades/ACME is missing"
acme_points=$(grep -o '"time":' <<<"$acme" | wc -l)
[ "$acme_points" -ge 5 ] || fail "the feeder sent $acme_points trades in 3 s, expected about 15"

# The HEALTHCHECK's command, from the image, against this server; and against nothing.
"${run[@]}" tickring --http-port "$http_port" health >/dev/null ||
  fail "tickring health failed against a healthy server"
if "${run[@]}" tickring --http-port 1 health >/dev/null 2>&1; then
  fail "tickring health succeeded with nobody listening"
fi

stop_server

# A restart keeps what was written: the journal in the image's data directory is replayed.
start_server
latest=$(get -f "$url/v1/series/docker_test/IMAGE/latest") ||
  fail "the point written before the restart is gone (journal in $DATA_DIR)"
[[ $latest == *'"price":101.25'* ]] || fail "after the restart read back $latest"
stop_server

say "ok: /health, the demo feed, TCP write read back, chart page, compose's feeder ($acme_points trades), tickring health, clean stop, the journal kept the write across a restart"
