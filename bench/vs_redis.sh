#!/usr/bin/env bash
# tickring side by side with Redis (streams) on the same quotes, same machine, loopback only.
# Not part of CI. Needs a release build (tickring-server, tickring, bench/newest_latency) and
# Debian's redis-server and redis-tools (scripts/install-deps.sh installs them).
#
#   bench/vs_redis.sh                       # 2,000,000 quotes over 1,000 symbols
#   QUOTES=500000 REQUESTS=5000 bench/vs_redis.sh
#
# 1. `tickring bench gen-quotes` writes the quotes once (4 fields: two prices with two
#    decimals, two integers; 19-digit ns times, strictly increasing); bench/lp_to_resp.py turns
#    the same file into XADD commands (a stream per symbol, entry ID <ms>-<ns rest>).
# 2. Each server runs alone (never both at once: two cores), started fresh on free ports:
#    tickring-server with its defaults (and once more with --busy-poll $BUSY_POLL, default 0,
#    i.e. workers that sleep at once, for the latency rows marked so); `redis-server --save ''
#    --appendonly no`.
# 3. Ingest until queryable: tickring, `tickring bench ingest --connections 1 --file`
#    (first byte -> /health counts every point; the file is read into memory first). Redis,
#    `redis-cli --pipe` of the XADD file (it exits when every reply is in), then an XREVRANGE
#    of the last symbol must return the file's last entry; the clock covers both.
# 4. Peak resident memory: VmHWM of the server process (/proc/PID/status) right after the
#    ingest, divided by the quotes.
# 5. Newest 100 of one symbol over one keep-alive connection: bench/newest_latency, the same
#    client and socket code for both (HTTP GET ...?order=desc&limit=100 vs XREVRANGE key + -
#    COUNT 100), REQUESTS measured requests after a warm-up.
# Prints a table with tickring/Redis ratios and the targets of docs (README, Performance);
# the figures swing with whatever else runs on the machine: run it twice.
set -euo pipefail
cd "$(dirname "$0")/.."

QUOTES=${QUOTES:-2000000}
SYMBOLS=${SYMBOLS:-1000}
REQUESTS=${REQUESTS:-20000}
BUSY_POLL=${BUSY_POLL:-0}
BUILD=${BUILD:-build/release}
# How long a server gets to start listening, and the ingest to finish, before we give up.
START_TIMEOUT_S=10
INGEST_TIMEOUT_S=300

server_bin=$BUILD/server/tickring-server
cli=$BUILD/client-cli/tickring
latency=$BUILD/bench/newest_latency
for f in "$server_bin" "$cli" "$latency"; do
  [ -x "$f" ] || { echo "vs_redis.sh: $f is missing: cmake --preset release && cmake --build build/release" >&2; exit 1; }
done
for f in redis-server redis-cli; do
  command -v "$f" >/dev/null || { echo "vs_redis.sh: $f is missing: scripts/install-deps.sh" >&2; exit 1; }
done

tmp=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

stop() {  # stop PID: SIGTERM, wait for it
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

vmhwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

json_field() {  # json_field FIELD < json
  /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

now() { echo "$EPOCHREALTIME"; }

echo "generating $QUOTES quotes over $SYMBOLS symbols ..." >&2
"$cli" bench gen-quotes --out "$tmp/quotes.lp" --quotes "$QUOTES" --symbols "$SYMBOLS"
/usr/bin/python3 bench/lp_to_resp.py < "$tmp/quotes.lp" > "$tmp/quotes.resp"
last_line=$(tail -n 1 "$tmp/quotes.lp")
last_key=$(sed -E 's/^([^,]+),sym=([^ ]+) .*/\1:\2/' <<< "$last_line")
last_ts=${last_line##* }
last_id="$((last_ts / 1000000))-$((last_ts % 1000000))"
first_line=$(head -n 1 "$tmp/quotes.lp")
symbol=$(sed -E 's/^[^,]+,sym=([^ ]+) .*/\1/' <<< "$first_line")

# ---- tickring ----
# run_tickring NAME [server flags]: ingest, VmHWM and newest-100 latency into $tmp/NAME_*.
run_tickring() {
  local name=$1
  shift
  echo "tickring ($name): starting the server ..." >&2
  "$server_bin" --http 127.0.0.1:0 --ingest 127.0.0.1:0 --log-level warn "$@" > "$tmp/$name.out" &
  local tpid=$!
  pids+=("$tpid")
  local deadline=$((SECONDS + START_TIMEOUT_S))
  until grep -q 'http=' "$tmp/$name.out"; do
    [ $SECONDS -lt $deadline ] || { echo "vs_redis.sh: tickring-server did not start" >&2; exit 1; }
    sleep 0.05
  done
  local http_port ingest_port
  http_port=$(sed -nE 's/.*http=[^ ]*:([0-9]+) .*/\1/p' "$tmp/$name.out" | head -n 1)
  ingest_port=$(sed -nE 's/.*ingest=[^ ]*:([0-9]+).*/\1/p' "$tmp/$name.out" | head -n 1)
  "$cli" --http-port "$http_port" --ingest-port "$ingest_port" bench ingest --connections 1 \
    --file "$tmp/quotes.lp" --timeout "$INGEST_TIMEOUT_S" --json > "$tmp/${name}_ingest.json"
  vmhwm_kb "$tpid" > "$tmp/${name}_hwm"
  echo "tickring ($name): newest 100 of $symbol ..." >&2
  "$latency" http 127.0.0.1 "$http_port" "/v1/series/quotes/$symbol?order=desc&limit=100" \
    --requests "$REQUESTS" > "$tmp/${name}_lat.json"
  stop "$tpid"
}
run_tickring t
t_rate=$(json_field quotes_per_second < "$tmp/t_ingest.json")
t_hwm=$(cat "$tmp/t_hwm")
# The same with HTTP workers that poll for $BUSY_POLL (0: not at all) before they sleep.
run_tickring tb --busy-poll "$BUSY_POLL"

# ---- Redis ----
echo "redis: starting redis-server ..." >&2
redis_port=$(free_port)
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
  --daemonize no --loglevel warning > "$tmp/redis.log" 2>&1 &
rpid=$!
pids+=("$rpid")
deadline=$((SECONDS + START_TIMEOUT_S))
until [ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = PONG ]; do
  [ $SECONDS -lt $deadline ] || { echo "vs_redis.sh: redis-server did not start" >&2; cat "$tmp/redis.log" >&2; exit 1; }
  sleep 0.05
done
start=$(now)
redis-cli -p "$redis_port" --pipe < "$tmp/quotes.resp" > "$tmp/r_pipe.txt"
got=$(redis-cli -p "$redis_port" XREVRANGE "$last_key" + - COUNT 1 | head -n 1)
end=$(now)
grep -q "errors: 0, replies: $QUOTES" "$tmp/r_pipe.txt" || { echo "vs_redis.sh: redis-cli --pipe:" >&2; cat "$tmp/r_pipe.txt" >&2; exit 1; }
[ "$got" = "$last_id" ] || { echo "vs_redis.sh: Redis's last entry of $last_key is '$got', not $last_id" >&2; exit 1; }
r_rate=$(/usr/bin/python3 -c "print(int($QUOTES / ($end - $start)))")
r_hwm=$(vmhwm_kb "$rpid")
echo "redis: newest 100 of $symbol ..." >&2
"$latency" redis 127.0.0.1 "$redis_port" "quotes:$symbol" --count 100 --requests "$REQUESTS" \
  > "$tmp/r_lat.json"
stop "$rpid"

# ---- the table ----
/usr/bin/python3 - "$QUOTES" "$SYMBOLS" "$t_rate" "$r_rate" "$t_hwm" "$r_hwm" "$tmp/t_lat.json" "$tmp/r_lat.json" "$tmp/tb_lat.json" "$BUSY_POLL" <<'EOF'
import json, sys
quotes, symbols, t_rate, r_rate, t_hwm, r_hwm = (int(x) for x in sys.argv[1:7])
t_lat = json.load(open(sys.argv[7]))
r_lat = json.load(open(sys.argv[8]))
tb_lat = json.load(open(sys.argv[9]))
busy_poll = sys.argv[10]
for lat in (t_lat, r_lat, tb_lat):
    if lat["errors"]:
        sys.exit("vs_redis.sh: %d of the %s requests failed" % (lat["errors"], lat["server"]))
t_bpq = t_hwm * 1024 / quotes
r_bpq = r_hwm * 1024 / quotes
rows = [
    ("ingest over 1 connection until queryable (quotes/s)", "%.2f M" % (t_rate / 1e6), "%.2f M" % (r_rate / 1e6),
     t_rate / r_rate, ">= 3.5 M/s", t_rate >= 3.5e6),
    ("newest 100, 1 connection, p50 (us)", "%.1f" % t_lat["p50_us"], "%.1f" % r_lat["p50_us"],
     t_lat["p50_us"] / r_lat["p50_us"], "<= 0.5x Redis", t_lat["p50_us"] <= 0.5 * r_lat["p50_us"]),
    ("newest 100, 1 connection, p99 (us)", "%.1f" % t_lat["p99_us"], "%.1f" % r_lat["p99_us"],
     t_lat["p99_us"] / r_lat["p99_us"], "", None),
    ("  the same, tickring --busy-poll %s, p50 (us)" % busy_poll, "%.1f" % tb_lat["p50_us"],
     "%.1f" % r_lat["p50_us"], tb_lat["p50_us"] / r_lat["p50_us"], "", None),
    ("  the same, tickring --busy-poll %s, p99 (us)" % busy_poll, "%.1f" % tb_lat["p99_us"],
     "%.1f" % r_lat["p99_us"], tb_lat["p99_us"] / r_lat["p99_us"], "", None),
    ("peak RSS per quote after ingest (bytes)", "%.1f" % t_bpq, "%.1f" % r_bpq, t_bpq / r_bpq, "<= 48 B",
     t_bpq <= 48),
]
print("%s quotes over %s symbols; newest-100 answers: tickring %d bytes (JSON), Redis %d bytes (RESP)"
      % (format(quotes, ","), format(symbols, ","), t_lat["answer_bytes"], r_lat["answer_bytes"]))
print("%-52s %12s %12s %16s  %s" % ("figure", "tickring", "redis", "tickring/redis", "target"))
for name, t, r, ratio, target, met in rows:
    verdict = "" if met is None else (" met" if met else " MISSED")
    print("%-52s %12s %12s %16.2f  %s%s" % (name, t, r, ratio, target, verdict))
print("peak RSS: tickring %.1f MiB, redis %.1f MiB" % (t_hwm / 1024, r_hwm / 1024))
EOF
