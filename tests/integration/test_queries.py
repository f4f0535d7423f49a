"""As-of, latest-of-every-symbol and sample (downsampling) against the real server, checked
against a reference computed here from the points the test wrote, while a writer thread keeps
writing newer points through /write."""
import bisect
import csv
import datetime
import io
import json
import os
import random
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server  # noqa: E402

T0 = 1_700_000_000_000_000_000
MS = 1_000_000
SEC = 1_000_000_000
SYMS = ["EURUSD", "GBPUSD", "USDJPY"]
HISTORY = 400  # points per symbol, every 250 ms, with gaps
FEED_START = T0 + 200 * SEC  # the writer thread's points come after the history


def history_times():
    # Gaps: k % 37 in 5..10 is left out, so as-of and sample meet empty stretches.
    return [T0 + k * 250 * MS for k in range(HISTORY) if not 5 <= k % 37 <= 10]


def value(sym, t):
    """bid of symbol `sym` at time t: any reference can recompute it."""
    return (t - T0) // MS / 1000.0 + SYMS.index(sym) * 1000 if sym in SYMS else (t - T0) // MS


def rfc3339(t):
    day = datetime.datetime.fromtimestamp(t // SEC, datetime.timezone.utc)
    return day.strftime("%Y-%m-%dT%H:%M:%S") + ".%09dZ" % (t % SEC)


def line(sym, t):
    b = value(sym, t)
    return "quotes,sym=%s bid=%r,ask=%r,size=%di %d\n" % (sym, b, b + 0.5, (t - T0) // MS, t)


class Writer(threading.Thread):
    """Writes batches of newer points for every symbol (and a new one) through /write; after
    each acknowledged batch, `acked[sym]` is the newest time stored for sure."""

    def __init__(self, srv):
        super().__init__(daemon=True)
        self.srv = srv
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked = {}
        self.error = None
        self.batches = 0
        self.running = threading.Event()  # set once a few batches are stored

    def run(self):
        j = 0
        try:
            while not self.stop.is_set() and j < 200_000:
                body = ""
                for _ in range(20):
                    t = FEED_START + j * 10 * MS
                    for sym in SYMS + ["AUDUSD"]:
                        body += line(sym, t)
                    j += 1
                status, _, text = self.srv.request("POST", "/write?db=x", body.encode())
                if status != 204:
                    raise RuntimeError("write answered %d: %r" % (status, text))
                with self.lock:
                    for sym in SYMS + ["AUDUSD"]:
                        self.acked[sym] = t
                self.batches += 1
                if self.batches == 5:
                    self.running.set()
        except Exception as e:  # reported by tearDown
            self.error = e
            self.running.set()

    def snapshot(self):
        with self.lock:
            return dict(self.acked)


class TickQueriesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server().__enter__()
        cls.times = history_times()
        body = "".join(line(sym, t) for sym in SYMS for t in cls.times)
        status, _, text = cls.srv.request("POST", "/write?db=x", body.encode())
        assert status == 204, text
        cls.writer = Writer(cls.srv)
        cls.writer.start()
        # Queries run while the writer writes: wait until it is well under way.
        assert cls.writer.running.wait(timeout=30), "the writer made no progress"

    @classmethod
    def tearDownClass(cls):
        cls.writer.stop.set()
        cls.writer.join(timeout=30)
        cls.srv.__exit__(None, None, None)

    def tearDown(self):
        self.assertIsNone(self.writer.error)

    def get(self, path):
        status, body = self.srv.get_json(path)
        self.assertEqual(status, 200, body)
        return body

    def asof_ref(self, t):
        i = bisect.bisect_right(self.times, t)
        return self.times[i - 1] if i > 0 else None

    # ---- as-of ----
    def test_asof_one_time(self):
        rnd = random.Random(1)
        base = "/v1/series/quotes/GBPUSD/asof/"
        for _ in range(50):
            t = rnd.randrange(T0 - SEC, T0 + 100 * SEC)
            want = self.asof_ref(t)
            status, body = self.srv.get_json(base + str(t))
            if want is None:
                self.assertEqual(status, 404, body)
                self.assertIn("no point at or before", body["error"]["message"])
                continue
            self.assertEqual(status, 200, body)
            self.assertEqual(body["point"]["time"], want)
            self.assertEqual(body["point"]["bid"], value("GBPUSD", want))
        # RFC 3339 and exact hits
        p = self.get(base + "2023-11-14T22:13:21Z")["point"]
        self.assertEqual(p["time"], T0 + SEC)

    def test_asof_many_times_in_url_and_post(self):
        rnd = random.Random(2)
        ts = [rnd.randrange(T0 - SEC, T0 + 110 * SEC) for _ in range(100)]
        got = self.get("/v1/series/quotes/EURUSD/asof?times=" + ",".join(map(str, ts)))["asof"]
        self.assertEqual([g["at"] for g in got], ts)  # in the order asked
        for g, t in zip(got, ts):
            want = self.asof_ref(t)
            self.assertEqual(g["point"] and g["point"]["time"], want)
        # POST: a thousand times, mixing RFC 3339 strings, far apart and close together
        ts = sorted(rnd.randrange(T0 - SEC, T0 + 110 * SEC) for _ in range(1000))
        rnd.shuffle(ts)
        body = [t if i % 3 else rfc3339(t) for i, t in enumerate(ts) if t >= T0] + [T0 - 5]
        ts = [t for t in ts if t >= T0] + [T0 - 5]
        status, _, text = self.srv.request("POST", "/v1/series/quotes/EURUSD/asof?fields=bid",
                                           json.dumps(body).encode(),
                                           {"Content-Type": "application/json"})
        self.assertEqual(status, 200, text)
        got = json.loads(text)["asof"]
        self.assertEqual(len(got), len(ts))
        for g, t in zip(got, ts):
            want = self.asof_ref(t)
            if want is None:
                self.assertIsNone(g["point"])
            else:
                self.assertEqual(g["point"], {"time": want, "seq": g["point"]["seq"],
                                              "bid": value("EURUSD", want)})

    def test_asof_csv(self):
        ts = [T0 - 1, T0 + 1234 * MS, T0 + 50 * SEC]
        status, headers, body = self.srv.request(
            "GET", "/v1/series/quotes/USDJPY/asof?format=csv&fields=bid&times=" + ",".join(map(str, ts)))
        self.assertEqual(status, 200)
        rows = list(csv.reader(io.StringIO(body.decode())))
        self.assertEqual(rows[0], ["asof", "time", "bid"])
        self.assertEqual(rows[1], [str(T0 - 1), "", ""])
        want = self.asof_ref(T0 + 1234 * MS)
        self.assertEqual(rows[2][:2], [str(T0 + 1234 * MS), str(want)])
        self.assertEqual(float(rows[2][2]), value("USDJPY", want))

    def test_asof_errors(self):
        base = "/v1/series/quotes/EURUSD/asof"
        for path in [base, base + "?times=", base + "?times=1,x", base + "/notatime",
                     base + "?times=" + ",".join(["1"] * 101)]:
            status, body = self.srv.get_json(path)
            self.assertEqual(status, 400, path)
            self.assertEqual(body["error"]["code"], 400)
        for payload in [b"{", b"[]", b'{"x":1}', b"[1, true]"]:
            status, _, _ = self.srv.request("POST", base, payload)
            self.assertEqual(status, 400, payload)
        self.assertEqual(self.srv.request("DELETE", base)[0], 405)
        self.assertEqual(self.srv.request("POST", base + "/5")[0], 405)
        self.assertEqual(self.srv.request("GET", "/v1/series/quotes/NOPE/asof/5")[0], 404)

    # ---- latest of every symbol ----
    def test_latest_of_every_symbol_while_writing(self):
        for _ in range(20):
            before = self.writer.snapshot()
            body = self.get("/v1/latest?measurement=quotes")
            self.assertEqual(body["measurement"], "quotes")
            got = {s["symbol"]: s["point"] for s in body["series"]}
            self.assertTrue(set(SYMS) <= set(got))
            for sym, p in got.items():
                self.assertGreaterEqual(p["time"], before.get(sym, self.times[-1]))
                self.assertEqual(p["bid"], value(sym, p["time"]))
                self.assertEqual(p["ask"], value(sym, p["time"]) + 0.5)
        status, headers, text = self.srv.request("GET", "/v1/latest?measurement=quotes&format=csv&fields=bid")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/csv"))
        rows = list(csv.reader(io.StringIO(text.decode())))
        self.assertEqual(rows[0], ["symbol", "time", "bid"])
        for sym, t, bid in rows[1:]:
            self.assertEqual(float(bid), value(sym, int(t)))
        self.assertEqual(self.get("/v1/latest?measurement=nothing")["series"], [])
        self.assertEqual(self.srv.request("GET", "/v1/latest")[0], 400)
        self.assertEqual(self.srv.request("POST", "/v1/latest?measurement=quotes")[0], 405)

    # ---- sample ----
    def sample_ref(self, sym, interval, agg, lo, hi):
        buckets = {}
        for t in self.times:
            if lo <= t <= hi:
                buckets.setdefault(t - t % interval, []).append(value(sym, t))
        f = {"last": lambda v: v[-1], "first": lambda v: v[0], "mean": lambda v: sum(v) / len(v),
             "min": min, "max": max}[agg]
        return [(b, f(v)) for b, v in sorted(buckets.items())]

    def test_sample_matches_reference(self):
        lo, hi = T0 + 3 * SEC + 100 * MS, T0 + 90 * SEC
        for interval, text in [(SEC, "1s"), (5 * SEC, "5s"), (60 * SEC, "1m")]:
            for agg in ["last", "first", "mean", "min", "max"]:
                body = self.get("/v1/series/quotes/GBPUSD/sample?interval=%s&agg=%s&fields=bid&from=%d&to=%d"
                                % (text, agg, lo, hi))
                got = [(p["time"], p["bid"]) for p in body["points"]]
                want = self.sample_ref("GBPUSD", interval, agg, lo, hi)
                self.assertEqual(len(got), len(want), (text, agg))
                for (gt, gv), (wt, wv) in zip(got, want):
                    self.assertEqual(gt, wt)
                    self.assertAlmostEqual(gv, wv, places=9)
        # limit keeps the newest buckets; CSV
        body = self.get("/v1/series/quotes/GBPUSD/sample?interval=1s&limit=3&to=%d" % hi)
        self.assertEqual([p["time"] for p in body["points"]],
                         [b for b, _ in self.sample_ref("GBPUSD", SEC, "last", 0, hi)[-3:]])
        status, _, text = self.srv.request(
            "GET", "/v1/series/quotes/GBPUSD/sample?interval=5s&agg=max&fields=bid&format=csv&to=%d" % hi)
        rows = list(csv.reader(io.StringIO(text.decode())))
        self.assertEqual(rows[0], ["time", "bid"])
        self.assertEqual([(int(t), float(v)) for t, v in rows[1:]],
                         self.sample_ref("GBPUSD", 5 * SEC, "max", 0, hi))

    def test_sample_of_a_series_being_written(self):
        # The writer's points are 10 ms apart from a whole second, written in time order: the
        # first point of every bucket is the bucket's start, even in the bucket being written.
        for _ in range(10):
            before = self.writer.snapshot().get("AUDUSD", FEED_START)
            body = self.get("/v1/series/quotes/AUDUSD/sample?interval=1s&agg=first&fields=bid&from=%d"
                            % FEED_START)
            starts = [p["time"] for p in body["points"]]
            self.assertEqual(starts[:1], [FEED_START])
            self.assertEqual(starts, list(range(FEED_START, starts[-1] + 1, SEC)))
            self.assertGreaterEqual(starts[-1], before - before % SEC)
            for p in body["points"]:
                self.assertEqual(p["bid"], value("AUDUSD", p["time"]))

    def test_sample_errors(self):
        base = "/v1/series/quotes/EURUSD/sample"
        for q in ["?agg=median", "?interval=0s", "?interval=2w", "?fields=nope", "?from=x"]:
            status, body = self.srv.get_json(base + q)
            self.assertEqual(status, 400, q)


class AnswerBoundTest(unittest.TestCase):
    def test_answers_past_max_answer_bytes_are_413(self):
        with Server("--max-answer-bytes", "2000") as srv:
            body = "".join(line(sym, T0 + k * SEC) for sym in SYMS + ["AUDUSD"] for k in range(200))
            self.assertEqual(srv.request("POST", "/write?db=x", body.encode())[0], 204)
            base = "/v1/series/quotes/EURUSD"
            status, _, text = srv.request("POST", base + "/asof",
                                          json.dumps([T0 + k * SEC for k in range(200)]).encode())
            self.assertEqual(status, 413, text)
            self.assertIn("--max-answer-bytes", json.loads(text)["error"]["message"])
            self.assertEqual(srv.request("GET", base + "/sample?interval=1s")[0], 413)
            self.assertEqual(srv.request("GET", base + "/sample?interval=1s&format=csv")[0], 413)
            # small answers still pass
            self.assertEqual(srv.request("GET", base + "/sample?interval=1m")[0], 200)
            self.assertEqual(srv.request("GET", "/v1/latest?measurement=quotes")[0], 200)
            body = "".join(line("S%03d" % i, T0) for i in range(100))
            self.assertEqual(srv.request("POST", "/write?db=x", body.encode())[0], 204)
            self.assertEqual(srv.request("GET", "/v1/latest?measurement=quotes")[0], 413)


if __name__ == "__main__":
    unittest.main()
