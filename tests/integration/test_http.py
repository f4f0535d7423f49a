"""Integration tests of the HTTP API against the real server binary: every route and every
error, limits, keep-alive, and reads racing a full-speed feed."""
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server, TIMEOUT, read_lines  # noqa: E402

T0 = 1_700_000_000_000_000_000
SEC = 1_000_000_000


def write(srv, body, precision=None):
    path = "/write?db=ignored" + ("&precision=" + precision if precision else "")
    return srv.request("POST", path, body.encode())


def seeded():
    """A server with quotes/EURUSD at T0 + i s (bid = i, ask = i + 0.5, size = i) for i < 100."""
    srv = Server().__enter__()
    lines = "".join("quotes,sym=EURUSD bid=%d,ask=%d.5,size=%di %d\n" % (i, i, i, T0 + i * SEC)
                    for i in range(100))
    status, _, body = write(srv, lines)
    assert status == 204, body
    return srv


class QueryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = seeded()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def get(self, path):
        return self.srv.get_json(path)

    def error(self, method, path, code):
        status, _, body = self.srv.request(method, path)
        self.assertEqual(status, code, body)
        err = json.loads(body)["error"]
        self.assertEqual(err["code"], code)
        return err["message"]

    def test_health_and_series_list(self):
        status, h = self.get("/health")
        self.assertEqual((status, h["status"], h["series"], h["points"]), (200, "ok", 1, 100))
        s = self.get("/v1/series")[1]["series"][0]
        self.assertEqual(s["fields"], ["bid", "ask", "size"])
        self.assertEqual(s["types"], ["float", "float", "integer"])
        self.assertEqual((s["count"], s["first"], s["last"]), (100, T0, T0 + 99 * SEC))

    def test_points_default_is_ascending(self):
        pts = self.get("/v1/series/quotes/EURUSD")[1]["points"]
        self.assertEqual(len(pts), 100)
        self.assertEqual([p["time"] for p in pts], [T0 + i * SEC for i in range(100)])
        self.assertEqual(pts[3], {"time": T0 + 3 * SEC, "seq": 4, "bid": 3, "ask": 3.5, "size": 3})

    def test_points_desc_limit_from_to(self):
        pts = self.get("/v1/series/quotes/EURUSD?order=desc&limit=5")[1]["points"]
        self.assertEqual([p["bid"] for p in pts], [99, 98, 97, 96, 95])
        pts = self.get("/v1/series/quotes/EURUSD?from=%d&to=%d" % (T0 + 10 * SEC, T0 + 20 * SEC))[1]["points"]
        self.assertEqual([p["bid"] for p in pts], list(range(10, 21)))
        pts = self.get("/v1/series/quotes/EURUSD?from=%d&limit=3" % (T0 + 10 * SEC))[1]["points"]
        self.assertEqual([p["bid"] for p in pts], [10, 11, 12])
        pts = self.get("/v1/series/quotes/EURUSD?to=%d&limit=2&order=desc" % (T0 + 10 * SEC))[1]["points"]
        self.assertEqual([p["bid"] for p in pts], [10, 9])

    def test_rfc3339_times_in_and_out(self):
        # T0 = 2023-11-14T22:13:20Z
        pts = self.get("/v1/series/quotes/EURUSD?from=2023-11-14T22:13:21Z&to=2023-11-14T23:13:22%2B01:00"
                       "&epoch=rfc3339")[1]["points"]
        self.assertEqual([p["time"] for p in pts],
                         ["2023-11-14T22:13:21.000000000Z", "2023-11-14T22:13:22.000000000Z"])
        pts = self.get("/v1/series/quotes/EURUSD?limit=1&epoch=ms")[1]["points"]
        self.assertEqual(pts[0]["time"], T0 // 1_000_000)

    def test_fields_subset_and_csv(self):
        pts = self.get("/v1/series/quotes/EURUSD?limit=1&fields=ask")[1]["points"]
        self.assertEqual(pts, [{"time": T0, "seq": 1, "ask": 0.5}])
        status, headers, body = self.srv.request("GET", "/v1/series/quotes/EURUSD?limit=2&format=csv&fields=bid,size")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/csv"))
        self.assertEqual(body.decode(), "time,bid,size\n%d,0,0\n%d,1,1\n" % (T0, T0 + SEC))

    def test_repeated_fields_are_one_column(self):
        status, _, body = self.srv.request(
            "GET", "/v1/series/quotes/EURUSD?limit=1&format=csv&fields=bid,bid,ask,bid")
        self.assertEqual(status, 200)
        self.assertEqual(body.decode(), "time,bid,ask\n%d,0,0.5\n" % T0)
        # A list as long as the header allows is still one column, and a quick answer.
        many = ",".join(["bid"] * 3000)
        status, _, body = self.srv.request(
            "GET", "/v1/series/quotes/EURUSD?limit=100000&format=csv&fields=" + many)
        self.assertEqual(status, 200)
        self.assertEqual(body.decode().splitlines()[0], "time,bid")
        msg = self.error("GET", "/v1/series/quotes/EURUSD?fields=bid," + "x" * 5000, 400)
        self.assertLess(len(msg), 200)

    def test_latest_and_at(self):
        p = self.get("/v1/series/quotes/EURUSD/latest")[1]["point"]
        self.assertEqual((p["time"], p["bid"]), (T0 + 99 * SEC, 99))
        p = self.get("/v1/series/quotes/EURUSD/at/%d" % (T0 + 7 * SEC))[1]["point"]
        self.assertEqual(p["bid"], 7)
        p = self.get("/v1/series/quotes/EURUSD/at/2023-11-14T22:13:28Z")[1]["point"]
        self.assertEqual(p["bid"], 8)
        self.assertIn("no point", self.error("GET", "/v1/series/quotes/EURUSD/at/%d" % (T0 + 1), 404))

    def test_candles(self):
        c = self.get("/v1/series/quotes/EURUSD/candles?interval=10s")[1]
        self.assertEqual(c["field"], "mid")
        self.assertEqual(c["interval_seconds"], 10)
        bars = c["candles"]
        self.assertEqual(len(bars), 10)
        self.assertEqual(bars[0], {"time": T0 // SEC, "open": 0.25, "high": 9.25, "low": 0.25,
                                   "close": 9.25, "volume": 45, "ticks": 10})
        bars = self.get("/v1/series/quotes/EURUSD/candles?interval=1m&field=bid&limit=1")[1]["candles"]
        self.assertEqual(len(bars), 1)
        self.assertEqual((bars[0]["open"], bars[0]["close"]), (40, 99))  # bar starting at 22:14:00

    def test_bad_parameters_are_named(self):
        base = "/v1/series/quotes/EURUSD"
        self.assertIn("'limit'", self.error("GET", base + "?limit=0", 400))
        self.assertIn("'limit'", self.error("GET", base + "?limit=abc", 400))
        self.assertIn("'limit'", self.error("GET", base + "?limit=100001", 400))
        self.assertIn("'from'", self.error("GET", base + "?from=yesterday", 400))
        self.assertIn("'to'", self.error("GET", base + "?to=2023-13-01T00:00:00Z", 400))
        self.assertIn("'order'", self.error("GET", base + "?order=sideways", 400))
        self.assertIn("'format'", self.error("GET", base + "?format=xml", 400))
        self.assertIn("'epoch'", self.error("GET", base + "?epoch=h", 400))
        self.assertIn("'fields'", self.error("GET", base + "?fields=bid,nope", 400))
        self.assertIn("'interval'", self.error("GET", base + "/candles?interval=2w", 400))
        self.assertIn("'interval'", self.error("GET", base + "/candles?interval=500ms", 400))
        self.assertIn("'field'", self.error("GET", base + "/candles?field=nope", 400))
        self.error("GET", base + "/at/notatime", 400)
        self.error("GET", "/v1/series/quotes/EURUSD?x=%zz", 400)

    def test_unknown_routes_and_methods(self):
        self.error("GET", "/nope", 404)
        self.error("GET", "/v1/series/quotes/GBPUSD", 404)
        self.error("GET", "/v1/series/quotes", 404)
        self.error("GET", "/v1/series/quotes/EURUSD/nope", 404)
        self.error("POST", "/health", 405)
        self.error("PUT", "/v1/series/quotes/EURUSD", 405)
        self.error("POST", "/v1/series/quotes/EURUSD/at/%d" % T0, 405)
        status, headers, _ = self.srv.request("GET", "/write")
        self.assertEqual(status, 405)

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.srv.http_port, timeout=TIMEOUT)
        for _ in range(50):
            conn.request("GET", "/v1/series/quotes/EURUSD?order=desc&limit=100")
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            self.assertEqual(len(json.loads(r.read())["points"]), 100)
        conn.close()

    def test_metrics(self):
        self.srv.request("GET", "/nope")
        status, headers, body = self.srv.request("GET", "/metrics")
        self.assertEqual(status, 200)
        text = body.decode()
        self.assertIn("tickring_points 100", text)
        self.assertIn("tickring_series 1", text)
        self.assertIn('tickring_http_requests_total{route="not_found",status="404"}', text)
        self.assertIn('tickring_http_request_duration_seconds_bucket{route="health",le="+Inf"}', text)
        self.assertIn('tickring_lines_rejected_total{reason="parse_error"}', text)
        self.assertRegex(text, r"tickring_resident_memory_bytes [1-9]")


class WriteTest(unittest.TestCase):
    def test_write_precisions_and_partial_write(self):
        with Server() as srv:
            status, headers, _ = srv.request("GET", "/ping")
            self.assertEqual(status, 204)
            self.assertIn("X-Influxdb-Version", headers)
            self.assertEqual(write(srv, "t,sym=A v=1 1700000000", "s")[0], 204)
            self.assertEqual(write(srv, "t,sym=A v=2 1700000001000", "ms")[0], 204)
            self.assertEqual(write(srv, "t,sym=A v=3 1700000002000000", "u")[0], 204)
            self.assertEqual(write(srv, "t,sym=A v=4 1700000003000000000", "n")[0], 204)
            status, _, body = write(srv, "t,sym=A v=5 1700000004\nt,sym=A v=x 1700000005\n"
                                         "t,sym=A w=1 1700000006\nt,sym=A v=6 1700000007\n", "s")
            self.assertEqual(status, 400)
            msg = json.loads(body)["error"]
            self.assertTrue(msg.startswith("partial write:"), msg)
            self.assertIn("line 2", msg)
            self.assertIn("line 3", msg)
            self.assertTrue(msg.endswith("dropped=2"), msg)
            pts = srv.get_json("/v1/series/t/A")[1]["points"]
            self.assertEqual([p["v"] for p in pts], [1, 2, 3, 4, 5, 6])
            self.assertEqual(pts[1]["time"], 1700000001 * SEC)
            status, _, body = srv.request("POST", "/write?precision=h", b"t,sym=A v=1 1")
            self.assertEqual(status, 400)
            self.assertIn("precision", json.loads(body)["error"])

    def test_line_without_timestamp_gets_server_time(self):
        with Server() as srv:
            before = time.time_ns()
            self.assertEqual(write(srv, "t,sym=B v=1")[0], 204)
            t = srv.get_json("/v1/series/t/B/latest")[1]["point"]["time"]
            self.assertGreaterEqual(t, before)
            self.assertLess(t, time.time_ns() + 1)

    def test_far_future_timestamp_is_rejected_with_retention(self):
        with Server("--retention", "1h", "--max-future-skew", "1m") as srv:
            now = time.time_ns()
            status, _, body = write(srv, "f,sym=A v=1 %d\nf,sym=A v=2 %d\n"
                                         % (now + 365 * 86400 * SEC, now + 2 * 60 * SEC))
            self.assertEqual(status, 400)
            msg = json.loads(body)["error"]
            self.assertIn("--max-future-skew", msg)
            self.assertTrue(msg.endswith("dropped=2"), msg)
            self.assertEqual(write(srv, "f,sym=A v=3 %d\nf,sym=A v=4 %d\n" % (now, now + 30 * SEC))[0], 204)
            self.assertEqual(write(srv, "f,sym=A v=5 %d\n" % (now + SEC))[0], 204)
            self.assertEqual([p["v"] for p in srv.get_json("/v1/series/f/A")[1]["points"]], [3, 5, 4])
            with srv.feed() as s:  # the TCP feed too
                s.sendall(b"f,sym=A v=6 %d\n" % (now + 86400 * SEC))
                self.assertIn("--max-future-skew", read_lines(s, 1)[0])
            text = srv.request("GET", "/metrics")[2].decode()
            self.assertIn('tickring_lines_rejected_total{reason="future_timestamp"} 3', text)
        with Server() as srv:  # without retention a future time harms nothing: accepted
            self.assertEqual(write(srv, "f,sym=A v=1 %d\n" % (time.time_ns() + 365 * 86400 * SEC))[0], 204)

    def test_gzip_body_gets_415_and_is_never_parsed(self):
        import gzip
        with Server() as srv:
            body = gzip.compress(b"g,sym=A v=1 1\n")
            status, _, data = srv.request("POST", "/write", body, {"Content-Encoding": "gzip"})
            self.assertEqual(status, 415, data)
            self.assertIn("Content-Encoding", json.loads(data)["error"])
            status, _, _ = srv.request("POST", "/write", b"g,sym=A v=1 1\n", {"Content-Encoding": "GZIP"})
            self.assertEqual(status, 415)
            self.assertEqual(srv.get_json("/health")[1]["lines_rejected"], 0)
            self.assertEqual(srv.request("POST", "/write", b"g,sym=A v=1 1\n",
                                         {"Content-Encoding": "identity"})[0], 204)

    def test_body_over_limit_gets_413_before_the_body_is_sent(self):
        with Server("--max-body", "1000") as srv:
            s = socket.create_connection(("127.0.0.1", srv.http_port), timeout=TIMEOUT)
            s.sendall(b"POST /write HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n")
            head = s.recv(4096).decode()
            self.assertTrue(head.startswith("HTTP/1.1 413"), head)
            s.close()
            status, _, _ = srv.request("POST", "/write", b"t,sym=A v=1 1\n" * 100)
            self.assertEqual(status, 413)
            self.assertEqual(srv.request("POST", "/write", b"t,sym=A v=1 1\n")[0], 204)

    def test_client_still_sending_its_body_reads_the_413(self):
        """A client that sends the whole oversized body before reading gets the 413, not a
        reset: the server reads and discards what follows its answer before closing."""
        with Server("--max-body", "1000") as srv:
            for _ in range(5):
                s = socket.create_connection(("127.0.0.1", srv.http_port), timeout=TIMEOUT)
                body = b"x" * 3_000_000
                s.sendall(b"POST /write HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                          % len(body))
                try:
                    s.sendall(body)
                except OSError:
                    pass  # the server may close its side once done discarding
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                self.assertTrue(data.startswith(b"HTTP/1.1 413"), data[:100])
                s.close()

    def test_connection_over_the_limit_gets_a_whole_503(self):
        with Server("--max-connections", "1") as srv:
            held = socket.create_connection(("127.0.0.1", srv.http_port), timeout=TIMEOUT)
            held.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertTrue(held.recv(4096).startswith(b"HTTP/1.1 200"))
            c = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=TIMEOUT)
            c.request("GET", "/health")
            r = c.getresponse()
            self.assertEqual(r.status, 503)
            self.assertEqual(json.loads(r.read())["error"]["code"], 503)  # all of its bytes
            held.close()

    def test_writes_past_the_queue_budget_get_503_and_nothing_of_them_is_stored(self):
        """With --max-queued-write-bytes below two bodies, concurrent /write requests find the
        writer's queue full: 503 with Retry-After, and exactly the 204'd bodies are stored
        (each body is its own series, so a refused one must leave no trace)."""
        lines_per_body = 20_000
        answers = []
        lock = threading.Lock()

        def client(srv, k):
            for j in range(6):
                sym = "W%d_%d" % (k, j)
                body = "".join("q,sym=%s v=%di %d\n" % (sym, i, i + 1)
                               for i in range(lines_per_body)).encode()
                status, headers, _ = srv.request("POST", "/write", body)
                with lock:
                    answers.append((sym, status, headers.get("Retry-After")))

        with Server("--max-queued-write-bytes", "100000") as srv:
            threads = [threading.Thread(target=client, args=(srv, k)) for k in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            self.assertEqual(len(answers), 36)
            busy = [a for a in answers if a[1] == 503]
            self.assertGreater(len(busy), 0, "no /write found the queue full")
            self.assertTrue(all(a[2] == "1" for a in busy))
            for sym, status, _ in answers:
                self.assertIn(status, (204, 503))
                s = srv.series("q", sym)
                if status == 204:
                    self.assertEqual(s["count"], lines_per_body)
                else:
                    self.assertIsNone(s, "a refused body left points")
            metrics = srv.request("GET", "/metrics")[2].decode()
            self.assertIn("tickring_writes_refused_busy_total %d" % len(busy), metrics)

    def test_answers_held_for_readers_that_do_not_read_are_bounded(self):
        """An answer that cannot be written (its client does not read) stays counted against
        --max-response-bytes: past it other requests get 503 + Retry-After, and once that
        client is gone they are served again."""
        with Server("--max-response-bytes", "100000") as srv:
            # An answer well past what the kernel buffers of both ends hold (~15 MB).
            fields = ",".join("f%d=%d.123456789012345" % (k, k) for k in range(6))
            write(srv, "".join("big,sym=B %s %d\n" % (fields, i + 1) for i in range(100_000)))
            self.assertEqual(srv.get_json("/health")[0], 200)
            deaf = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            deaf.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            deaf.connect(("127.0.0.1", srv.http_port))
            deaf.sendall(b"GET /v1/series/big/B?limit=100000 HTTP/1.1\r\nHost: x\r\n\r\n")
            deadline = time.monotonic() + TIMEOUT
            status, headers = None, {}
            while time.monotonic() < deadline:
                status, headers, _ = srv.request("GET", "/health")
                if status == 503:
                    break
                time.sleep(0.02)
            self.assertEqual(status, 503)
            self.assertEqual(headers.get("Retry-After"), "1")
            deaf.close()
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline and srv.request("GET", "/health")[0] != 200:
                time.sleep(0.05)
            self.assertEqual(srv.request("GET", "/health")[0], 200)

    def test_delete_point_is_applied_by_the_writer(self):
        with Server() as srv:
            write(srv, "t,sym=D v=1 10\nt,sym=D v=2 20\n")
            status, body = srv.get_json("/v1/series/t/D/at/10")
            self.assertEqual(status, 200)
            status, _, body = srv.request("DELETE", "/v1/series/t/D/at/10")
            self.assertEqual(status, 200)
            self.assertTrue(json.loads(body)["deleted"])
            self.assertEqual(srv.request("GET", "/v1/series/t/D/at/10")[0], 404)
            self.assertEqual(srv.request("DELETE", "/v1/series/t/D/at/10")[0], 404)
            self.assertEqual(srv.get_json("/health")[1]["points"], 1)

    def test_influxdb_python_client_writes_unchanged(self):
        script = r"""
import sys
from influxdb import InfluxDBClient
c = InfluxDBClient(host="127.0.0.1", port=int(sys.argv[1]), database="market")
assert c.ping()
ok = c.write_points([{"measurement": "quotes", "tags": {"sym": "EURUSD", "venue": "x"},
                      "time": 1700000000000000000, "fields": {"bid": 1.1, "ask": 1.2}}],
                    time_precision="n")
assert ok
c.write_points(["quotes,sym=EURUSD bid=1.3,ask=1.4 1700000001"], time_precision="s", protocol="line")
try:
    c.write_points(["quotes,sym=EURUSD bid=oops 1700000002"], time_precision="s", protocol="line")
    sys.exit("partial write was not reported")
except Exception as e:
    assert "partial write" in str(e), e
print("ok")
"""
        py = "/usr/bin/python3"
        if subprocess.run([py, "-c", "import influxdb"], capture_output=True).returncode != 0:
            self.fail("python3-influxdb is not installed (scripts/install-deps.sh installs it)")
        with Server() as srv:
            r = subprocess.run([py, "-c", script, str(srv.http_port)], capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
            pts = srv.get_json("/v1/series/quotes/EURUSD")[1]["points"]
            self.assertEqual([(p["time"], p["bid"]) for p in pts],
                             [(1700000000 * SEC, 1.1), (1700000001 * SEC, 1.3)])


class LimitsTest(unittest.TestCase):
    def test_oversized_header_gets_400(self):
        with Server("--max-header", "2048") as srv:
            s = socket.create_connection(("127.0.0.1", srv.http_port), timeout=TIMEOUT)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 4096 + b"\r\n\r\n")
            self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 400"))
            s.close()

    def test_slow_loris_is_dropped(self):
        with Server("--header-timeout", "1s") as srv:
            s = socket.create_connection(("127.0.0.1", srv.http_port), timeout=TIMEOUT)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            start = time.monotonic()
            data = s.recv(4096)  # the server closes: recv returns b"" (or an error)
            self.assertEqual(data, b"")
            self.assertLess(time.monotonic() - start, 5)
            self.assertEqual(srv.request("GET", "/health")[0], 200)

    def test_connection_limit_gives_503(self):
        with Server("--max-connections", "2") as srv:
            held = [socket.create_connection(("127.0.0.1", srv.http_port), timeout=TIMEOUT) for _ in range(2)]
            time.sleep(0.2)
            s = socket.create_connection(("127.0.0.1", srv.http_port), timeout=TIMEOUT)
            data = s.recv(4096).decode()
            self.assertTrue(data.startswith("HTTP/1.1 503"), data)
            self.assertIn('"code":503', data)
            for h in held + [s]:
                h.close()
            time.sleep(0.2)
            self.assertEqual(srv.request("GET", "/health")[0], 200)


    def test_answer_over_the_byte_limit_gets_413_and_the_server_stays(self):
        with Server("--max-answer-bytes", "2000") as srv:
            write(srv, "".join("q,sym=A v=%d %d\n" % (i, T0 + i) for i in range(200)))
            status, _, body = srv.request("GET", "/v1/series/q/A?limit=100000")
            self.assertEqual(status, 413, body)
            self.assertIn("--max-answer-bytes", json.loads(body)["error"]["message"])
            self.assertEqual(srv.request("GET", "/v1/series/q/A?format=csv&limit=1000")[0], 413)
            self.assertEqual(len(srv.get_json("/v1/series/q/A?limit=5")[1]["points"]), 5)
            self.assertEqual(srv.request("GET", "/health")[0], 200)


class AscendingSeekTest(unittest.TestCase):
    """order=asc answers the oldest `limit` points of a range by walking about `limit` points
    per probe of a bisection, not the whole range (tickring_query_points_scanned_total)."""

    N = 200_000

    def scanned(self, srv):
        text = srv.request("GET", "/metrics")[2].decode()
        for line in text.splitlines():
            if line.startswith("tickring_query_points_scanned_total "):
                return int(line.split()[1])
        self.fail("no tickring_query_points_scanned_total in /metrics")

    def test_ascending_query_walks_about_limit_points(self):
        with Server() as srv:
            with srv.feed() as s:
                for a in range(0, self.N, 20_000):
                    s.sendall(b"".join(b"q,sym=S v=%di %d\n" % (i, T0 + 10 * i)
                                       for i in range(a, a + 20_000)))
            self.assertEqual(srv.wait_points(self.N, timeout=60), self.N)
            cases = [  # (query, expected v of the answer)
                ("limit=10", list(range(10))),
                ("from=%d&limit=5" % (T0 + 10 * 100_000), list(range(100_000, 100_005))),
                ("from=%d&limit=3" % (T0 + 10 * 100_000 - 3), list(range(100_000, 100_003))),
                ("from=%d&to=%d&limit=1000" % (T0 + 10 * 150_000, T0 + 10 * 150_002 + 5),
                 [150_000, 150_001, 150_002]),
                ("from=%d&limit=4" % (T0 + 10 * (self.N - 2)), [self.N - 2, self.N - 1]),
                ("from=%d" % (T0 + 10 * self.N), []),
                ("from=%d&to=%d" % (T0 + 30, T0 + 10), []),
            ]
            for query, want in cases:
                before = self.scanned(srv)
                status, body = srv.get_json("/v1/series/q/S?" + query)
                self.assertEqual(status, 200, body)
                self.assertEqual([p["v"] for p in body["points"]], want, query)
                walked = self.scanned(srv) - before
                self.assertLess(walked, 80 * (len(want) + 2) + 200, query)
            # Every point comes back once, in order, when limit covers the range.
            pts = srv.get_json("/v1/series/q/S?limit=100000&from=%d" % (T0 + 10 * 50_000))[1]["points"]
            self.assertEqual([p["v"] for p in pts], list(range(50_000, 150_000)))


class RaceTest(unittest.TestCase):
    def test_range_reads_racing_a_full_speed_feed(self):
        """Every answer is in order, whole (ask = bid + 0.5, bid = the point's index), and holds
        every point that was stored before the query began."""
        with Server() as srv:
            stop = threading.Event()
            stored = [0]

            def feed():
                with srv.feed() as s:
                    n = 0
                    while not stop.is_set() and n < 3_000_000:
                        s.sendall(b"".join(b"q,sym=R bid=%d,ask=%d.5 %d\n" % (i, i, T0 + i) for i in range(n, n + 2000)))
                        n += 2000
                stored[0] = n

            t = threading.Thread(target=feed)
            t.start()
            conn = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=TIMEOUT)

            def query(path):
                conn.request("GET", path)
                r = conn.getresponse()
                body = r.read()
                return r.status, json.loads(body)["points"] if r.status == 200 else None

            def check_whole(pts, reverse):
                times = [p["time"] for p in pts]
                self.assertEqual(times, sorted(times, reverse=reverse))
                self.assertEqual(len(set(times)), len(times))
                for p in pts:
                    i = p["time"] - T0
                    self.assertEqual((p["bid"], p["ask"]), (i, i + 0.5))

            checks = 0
            deadline = time.monotonic() + 30
            while checks < 10 and time.monotonic() < deadline:
                before = srv.get_json("/health")[1]["points"]
                if before == 0:
                    time.sleep(0.01)
                    continue
                # The newest points, walked while the writer appends right above them.
                status, pts = query("/v1/series/q/R?order=desc&limit=20000")
                self.assertEqual(status, 200)
                check_whole(pts, True)
                self.assertGreaterEqual(len(pts), min(before, 20000))
                # A range fully stored before the query began comes back complete.
                n = min(before, 50000)
                status, pts = query("/v1/series/q/R?from=%d&to=%d&limit=100000" % (T0, T0 + n - 1))
                self.assertEqual(status, 200)
                check_whole(pts, False)
                self.assertEqual(len(pts), n)
                checks += 1
            stop.set()
            t.join(TIMEOUT)
            conn.close()
            self.assertGreaterEqual(checks, 3)


if __name__ == "__main__":
    unittest.main(verbosity=2)
