#!/usr/bin/env bash
# tickring past one machine (docs/scale-out.md), measured on this machine, loopback only:
#   1. end to end: `tickring feed --nats` of POINTS quotes over SYMBOLS symbols into a fresh
#      stream, until every point is queryable (/health of the instances) — with 1 instance
#      owning both partitions, then 2 instances owning one each;
#   2. catch-up: a fresh instance (no journal) replays the whole stream from NATS;
#   3. lag under a steady feed: `tickring feed --rate RATE` into `tickring gateway` (ILP over
#      TCP -> JetStream) for SECONDS, sampling tickring_nats_pending_messages and
#      tickring_nats_lag_seconds every 100 ms; prints the largest of each.
# Not in CI. Starts its own nats-server (temporary store) and servers; kills them by PID.
#
#   bench/nats_bench.sh [build_dir]                    # default build/release
#   POINTS=1000000 RATE=100000 SECONDS_STEADY=10 bench/nats_bench.sh
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$repo/build/release}"
server="$build/server/tickring-server"
cli="$build/client-cli/tickring"
points="${POINTS:-1000000}"
symbols="${SYMBOLS:-1000}"
rate="${RATE:-100000}"
steady="${SECONDS_STEADY:-10}"
work="$(mktemp -d "${TMPDIR:-/tmp}/tickring-nats-bench.XXXXXX")"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }

nats_port="$(free_port)"
nats_url="nats://127.0.0.1:$nats_port"
start_nats() {
  rm -rf "$work/js"
  nats-server -js -a 127.0.0.1 -p "$nats_port" -sd "$work/js" >"$work/nats.log" 2>&1 &
  nats_pid=$!
  pids+=("$nats_pid")
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nats-server did not start" >&2
  exit 1
}
stop_nats() { kill "$nats_pid"; wait "$nats_pid" 2>/dev/null || true; }

# start_server NAME ARGS...: sets port_NAME.
start_server() {
  local name=$1
  shift
  local out="$work/stdout.$name"
  mkfifo "$out"
  "$server" --http 127.0.0.1:0 --ingest 127.0.0.1:0 --log-level warn \
    --max-points-per-series $((points / symbols * 4 + 1000)) --nats "$nats_url" "$@" \
    >"$out" 2>"$work/log.$name" &
  pids+=("$!")
  eval "pid_$name=$!"
  local first
  read -r first <"$out"
  rm -f "$out"
  eval "port_$name=$(sed -E 's/.*http=[^ ]*:([0-9]+).*/\1/' <<<"$first")"
}
stop_server() {
  local p
  eval "p=\$pid_$1"
  kill "$p"
  wait "$p" 2>/dev/null || true
}
points_of() {
  curl -s "http://127.0.0.1:$1/health" | sed -E 's/.*"points":([0-9]+).*/\1/'
}
# Waits until the instances on ports "$@" hold $points points together.
wait_all() {
  while :; do
    local sum=0 p
    for p in "$@"; do sum=$((sum + $(points_of "$p"))); done
    [ "$sum" -ge "$points" ] && return 0
    sleep 0.01
  done
}

python3 - "$points" "$symbols" >"$work/quotes.lp" <<'EOF'
import sys
n, k = int(sys.argv[1]), int(sys.argv[2])
t0 = 1_700_000_000_000_000_000
out = sys.stdout
for i in range(n):
    out.write("quotes,sym=S%04d bid=%d.25,ask=%d.75,bid_size=%di,ask_size=%di %d\n"
              % (i % k, i, i, i % 100, i % 50, t0 + i * 1000))
EOF
echo "data: $points quotes over $symbols symbols ($(du -h "$work/quotes.lp" | cut -f1))"

# 1. End to end, 1 and 2 instances.
for instances in 1 2; do
  start_nats
  if [ "$instances" = 1 ]; then
    start_server a --partition-count 2
    ports=("$port_a")
  else
    start_server a --partition-count 2 --partitions 0
    start_server b --partition-count 2 --partitions 1
    ports=("$port_a" "$port_b")
  fi
  t0="$(now)"
  "$cli" feed --no-progress --nats "$nats_url" --partition-count 2 "$work/quotes.lp" >"$work/feed.out"
  t1="$(now)"
  wait_all "${ports[@]}"
  t2="$(now)"
  python3 -c "import sys; n,a,b,c=int(sys.argv[1]),*map(float,sys.argv[2:5]); print('end to end, %s instance(s): %.0f quotes/s queryable (publish alone %.0f quotes/s; %.2f s until all queryable)' % (sys.argv[5], n/(c-a), n/(b-a), c-a))" "$points" "$t0" "$t1" "$t2" "$instances"
  if [ "$instances" = 1 ]; then
    # 2. Catch-up: a second instance with no journal replays the stream.
    t0="$(now)"
    start_server c --partition-count 2
    wait_all "$port_c"
    t1="$(now)"
    python3 -c "import sys; n,a,b=int(sys.argv[1]),*map(float,sys.argv[2:]); print('catch-up (replay of the stream, no journal, 1 instance): %.0f quotes/s' % (n/(b-a)))" "$points" "$t0" "$t1"
    stop_server c
  fi
  for p in a b; do
    eval "[ -n \"\${pid_$p:-}\" ]" && stop_server "$p" || true
    eval "pid_$p="
  done
  stop_nats
done

# 3. Lag under a steady feed through the gateway.
start_nats
start_server a --partition-count 2
gw_port="$(free_port)"
"$cli" gateway --listen "127.0.0.1:$gw_port" --nats "$nats_url" --partition-count 2 \
  >"$work/gateway.log" 2>&1 &
gw_pid=$!
pids+=("$gw_pid")
for _ in $(seq 200); do
  (exec 3<>"/dev/tcp/127.0.0.1/$gw_port") 2>/dev/null && break
  sleep 0.05
done
lines=$((rate * steady < points ? rate * steady : points))
head -n "$lines" "$work/quotes.lp" >"$work/steady.lp"
"$cli" --ingest-port "$gw_port" feed --no-progress --rate "$rate" "$work/steady.lp" >"$work/steady.out" &
feed_pid=$!
max_pending=0
max_lag=0
ages=()
sleep 0.5  # past the first batches
while kill -0 "$feed_pid" 2>/dev/null; do
  m="$(curl -s "http://127.0.0.1:$port_a/metrics")"
  p="$(awk '/^tickring_nats_pending_messages\{/ {s += $2} END {print s + 0}' <<<"$m")"
  l="$(awk '/^tickring_nats_lag_seconds\{/ {if ($2 > x) x = $2} END {print x + 0}' <<<"$m")"
  # How old the newest applied message is (publish -> applied, plus the gateway's batching).
  ages+=("$(awk -v now="$(date +%s.%N)" '/^tickring_nats_applied_timestamp_seconds\{/ {if ($2 > x) x = $2} END {printf "%.4f", now - x}' <<<"$m")")
  max_pending="$(python3 -c "print(max($max_pending, $p))")"
  max_lag="$(python3 -c "print(max($max_lag, $l))")"
  sleep 0.1
done
wait "$feed_pid" || true
points=$lines
wait_all "$port_a"
echo "steady feed: $(head -n1 "$work/steady.out"); all $lines queryable"
echo "steady feed $rate quotes/s, $lines quotes, through the gateway: largest pending $max_pending messages, largest lag $max_lag s"
python3 -c "import sys,statistics as st; a=sorted(map(float,sys.argv[1:])); print('age of the newest applied message while the feed ran (%d samples): median %.1f ms, max %.1f ms' % (len(a), 1000*st.median(a), 1000*a[-1]))" "${ages[@]}"
