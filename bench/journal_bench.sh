#!/usr/bin/env bash
# The journal's cost (README, "Durability"): TCP ingest with --data-dir at each --fsync policy
# against the in-memory server, in the same run and interleaved round by round (the machine's
# load drifts); then replay speed and bytes on disk per quote.
#
#   bench/journal_bench.sh [build_dir]            # default build/release
#   POINTS=4000000 ROUNDS=5 bench/journal_bench.sh
#
# Prints quotes/s per policy and round, their averages as a share of the in-memory rate,
# acknowledged /write requests/s per policy, bytes on disk per quote, and the replay rate.
# Each measurement starts a fresh server (and a fresh journal directory under $TMPDIR) and runs
# `tickring bench ingest` against it: quotes/s from the first byte sent until /health counts
# every point. The replay figure restarts the last everysec server on its directory and reads
# the server's own "journal: replayed ... points/s" log line.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$repo/build/release}"
server="$build/server/tickring-server"
cli="$build/client-cli/tickring"
points="${POINTS:-2000000}"
symbols="${SYMBOLS:-1000}"
rounds="${ROUNDS:-3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/tickring-journal-bench.XXXXXX")"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Starts the server with "$@", sets pid, http_port, ingest_port (from its first stdout line).
start() {
  local out="$work/stdout.$RANDOM"
  mkfifo "$out"
  "$server" --http 127.0.0.1:0 --ingest 127.0.0.1:0 --workers 1 \
    --max-points-per-series $((points / symbols * rounds + 1000)) "$@" >"$out" 2>"$work/log" &
  pid=$!
  local first
  read -r first <"$out"
  rm -f "$out"
  http_port="$(sed -E 's/.*http=[^ ]*:([0-9]+).*/\1/' <<<"$first")"
  ingest_port="$(sed -E 's/.*ingest=[^ ]*:([0-9]+).*/\1/' <<<"$first")"
}
stop() {
  kill "$pid"
  wait "$pid" || true
  pid=""
}
rate() {
  "$cli" --host 127.0.0.1 --http-port "$http_port" --ingest-port "$ingest_port" bench ingest \
    --points "$points" --symbols "$symbols" --json |
    sed -E 's/.*"quotes_per_second":([0-9]+).*/\1/'
}

declare -A sum
modes=(memory always everysec no)
for ((r = 1; r <= rounds; ++r)); do
  line="round $r:"
  for m in "${modes[@]}"; do
    if [ "$m" = memory ]; then
      start
    else
      rm -rf "$work/data-$m"
      start --data-dir "$work/data-$m" --fsync "$m"
    fi
    q="$(rate)"
    stop
    sum[$m]=$(( ${sum[$m]:-0} + q ))
    line+=" $m $q"
  done
  echo "$line quotes/s"
done
mem=$(( sum[memory] / rounds ))
echo
printf "%-10s %12s %8s\n" policy "quotes/s" "% of mem"
for m in "${modes[@]}"; do
  avg=$(( sum[$m] / rounds ))
  printf "%-10s %12d %7d%%\n" "$m" "$avg" $(( avg * 100 / mem ))
done

# Acknowledged writes: /write requests of 10 lines from 8 keep-alive clients for 3 s; with
# `always` each answer waits for an fdatasync that the requests in flight share.
write_rate() {
  /usr/bin/python3 - "$http_port" <<'PY'
import http.client, sys, threading, time
port, clients, seconds = int(sys.argv[1]), 8, 3.0
done = [0] * clients
def run(k):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    i, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        body = "".join("w,sym=C%d bid=%d,ask=1 %d\n" % (k, i + j, 1 + i + j) for j in range(10))
        c.request("POST", "/write", body)
        r = c.getresponse(); r.read()
        assert r.status == 204, r.status
        i += 10
        done[k] += 1
t = [threading.Thread(target=run, args=(k,)) for k in range(clients)]
[x.start() for x in t]; [x.join() for x in t]
print(int(sum(done) / seconds))
PY
}
echo
printf "%-10s %16s\n" policy "/write requests/s (10 lines, 8 clients)"
for m in "${modes[@]}"; do
  if [ "$m" = memory ]; then start; else rm -rf "$work/w-$m"; start --data-dir "$work/w-$m" --fsync "$m"; fi
  printf "%-10s %16s\n" "$m" "$(write_rate)"
  stop
done

# Bytes per quote and replay speed, on the last everysec journal (one run's points).
bytes=$(cat "$work"/data-everysec/seg-*.tjl | wc -c)
echo
echo "journal on disk: $bytes bytes for $points quotes over $symbols symbols:" \
  "$(awk -v b="$bytes" -v n="$points" 'BEGIN { printf "%.1f", b / n }') bytes/quote"
start --data-dir "$work/data-everysec"
stop
grep -o 'journal: replayed.*' "$work/log" || { cat "$work/log"; exit 1; }
