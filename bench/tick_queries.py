#!/usr/bin/python3
"""Latency of the tick queries and /query over one series of 1,000,000 points (10 ms apart),
best of 5 requests each, against a fresh server on loopback (tests/integration/harness.py).

    TICKRING_SERVER=build/release/server/tickring-server /usr/bin/python3 bench/tick_queries.py
"""
import json
import os
import random
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from harness import Server  # noqa: E402

T0 = 1_700_000_000_000_000_000
N = 1_000_000
STEP = 10_000_000  # 10 ms


def main():
    with Server("--max-answer-bytes", str(256 << 20)) as srv:
        for b in range(10):
            body = "".join("quotes,sym=EURUSD bid=%d.5,ask=%d.75 %d\n" % (i, i, T0 + i * STEP)
                           for i in range(b * N // 10, (b + 1) * N // 10))
            status, _, text = srv.request("POST", "/write?db=x", body.encode())
            assert status == 204, text
        assert srv.wait_points(N, timeout=60) >= N
        base = "http://127.0.0.1:%d" % srv.http_port

        def timed(label, path, data=None, reps=5):
            best = float("inf")
            for _ in range(reps):
                req = urllib.request.Request(base + path, data=data)
                start = time.perf_counter()
                with urllib.request.urlopen(req, timeout=60) as r:
                    answer = r.read()
                best = min(best, time.perf_counter() - start)
            print("%-52s %8.2f ms  %9d bytes" % (label, best * 1e3, len(answer)))

        span = N * STEP
        timed("asof one time", "/v1/series/quotes/EURUSD/asof/%d" % (T0 + span // 2 + 5))
        rnd = random.Random(1)
        times = [T0 + rnd.randrange(span) for _ in range(10000)]
        timed("asof POST 10000 random times", "/v1/series/quotes/EURUSD/asof?fields=bid",
              json.dumps(times).encode())
        times = [T0 + span // 2 + i * STEP for i in range(10000)]
        timed("asof POST 10000 consecutive times", "/v1/series/quotes/EURUSD/asof?fields=bid",
              json.dumps(times).encode())
        timed("sample interval=1m agg=mean (all 1M points)",
              "/v1/series/quotes/EURUSD/sample?interval=1m&agg=mean")
        timed("sample interval=1m agg=last (all 1M points)",
              "/v1/series/quotes/EURUSD/sample?interval=1m&agg=last")
        q = ("SELECT mean(\"bid\") FROM \"quotes\" WHERE (\"sym\" = 'EURUSD') AND time >= %dms and "
             "time <= %dms GROUP BY time(1m) fill(null)" % (T0 // 10**6, (T0 + span) // 10**6))
        timed("/query mean GROUP BY time(1m) (all 1M points)",
              "/query?" + urllib.parse.urlencode({"q": q, "epoch": "ms"}))
        timed("/v1/latest?measurement=quotes", "/v1/latest?measurement=quotes")


if __name__ == "__main__":
    main()
