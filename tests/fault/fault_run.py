"""The fault run: every hostile thing a client can do, at once, against a live feed.

While one connection feeds quotes at a steady rate and a reader checks every answer it gets,
attackers open connections past every limit, send slow-loris headers and bodies, pipeline
requests they never read, flood the feed port, subscribe over WebSocket and never read, and
send each bad request the server has an answer for. At the end the run checks that

  * the server is up and answers /health,
  * its peak RSS (VmHWM) stayed under RSS_BOUND_MB,
  * every point the feed sent was stored, with its value,
  * the reader never got a wrong answer (a point whose value does not match its time, or
    points out of order),
  * each attack got its defined answer (503, 413, 431/400, 404, 415, an error line, a close),

and prints the figures the README quotes (connections refused, peak RSS, reads checked).
Bounded: the feed runs FEED_SECONDS, every socket has a timeout, the whole run is under ctest's
TIMEOUT. Loopback only; the server is the real binary, stopped by its PID.

  TICKRING_SERVER=build/release/server/tickring-server python3 tests/fault/fault_run.py
"""
import asyncio
import json
import os
import socket
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from harness import SLOW, Server  # noqa: E402

import websockets  # noqa: E402  (python3-websockets; a missing module fails the run)

FEED_RATE = 2000  # points per second, steady
FEED_SECONDS = 15
RSS_BOUND_MB = 256  # the server's peak resident set over the whole run (6x under a sanitizer)
MAX_CONNECTIONS = 64
MAX_FEED_CONNECTIONS = 8
T0 = 1_700_000_000_000_000_000
STEP = 1_000_000  # 1 ms between the feed's points: value i lives at T0 + i*STEP


def value_at(t):
    return (t - T0) // STEP


class Run:
    def __init__(self, server):
        self.server = server
        self.stop = threading.Event()
        self.sent = 0
        self.errors = []  # wrong answers or missing defined answers
        self.figures = {}
        self.lock = threading.Lock()
        self.idle_connected = threading.Event()

    def fail(self, what):
        with self.lock:
            self.errors.append(what)

    def count(self, key, n=1):
        with self.lock:
            self.figures[key] = self.figures.get(key, 0) + n

    # ---- the feed and the reader ----
    def feed(self):
        s = socket.create_connection(("127.0.0.1", self.server.ingest_port), timeout=10 * SLOW)
        start = time.monotonic()
        total = FEED_RATE * FEED_SECONDS
        i = 0
        while i < total:
            due = int((time.monotonic() - start) * FEED_RATE)
            batch = []
            while i < min(due, total):
                batch.append("fault,sym=F v=%di %d\n" % (i, T0 + i * STEP))
                i += 1
            if batch:
                s.sendall("".join(batch).encode())
            time.sleep(0.005)
        self.sent = i
        s.shutdown(socket.SHUT_WR)
        # The server answers bad lines only; this feed has none: EOF, no bytes.
        s.settimeout(10 * SLOW)
        rest = s.recv(4096)
        if rest:
            self.fail("the feed got an answer to good lines: %r" % rest[:200])
        s.close()

    def reader(self):
        while not self.stop.is_set():
            try:
                status, _, body = self.server.request("GET",
                                                      "/v1/series/fault/F?limit=200&order=desc")
            except OSError:
                status = None  # refused while the connection flood holds every slot
            if status in (None, 503):
                self.count("reader requests refused (503 or closed)")
                time.sleep(0.01)
                continue
            if status == 404:
                time.sleep(0.01)
                continue
            if status != 200:
                self.fail("reader got HTTP %d" % status)
                continue
            points = json.loads(body)["points"]
            last = None
            for p in points:
                if p["v"] != value_at(p["time"]):
                    self.fail("wrong value %r at %r" % (p["v"], p["time"]))
                if last is not None and p["time"] >= last:
                    self.fail("points out of order")
                last = p["time"]
            self.count("reads checked")

    # ---- attacks; each checks its defined answer ----
    def http_flood(self):
        """Connections past --max-connections: the ones over it get 503 and a close."""
        socks, refused = [], 0
        for _ in range(MAX_CONNECTIONS * 2):
            try:
                socks.append(socket.create_connection(("127.0.0.1", self.server.http_port),
                                                      timeout=5 * SLOW))
            except OSError:
                refused += 1
        for s in socks:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        for s in socks:
            try:
                head = s.recv(64)
            except OSError:
                head = b""
            if head.startswith(b"HTTP/1.1 503"):
                refused += 1
            elif not head.startswith(b"HTTP/1.1 200"):
                refused += 1  # closed without an answer: also a refusal
            s.close()
        self.count("HTTP connections refused", refused)
        if refused < MAX_CONNECTIONS // 2:
            self.fail("only %d of %d connections over the limit refused"
                      % (refused, MAX_CONNECTIONS * 2))

    def feed_flood(self):
        """Feed connections past --max-feed-connections are closed at once."""
        socks, closed = [], 0
        for _ in range(MAX_FEED_CONNECTIONS * 3):
            try:
                socks.append(socket.create_connection(("127.0.0.1", self.server.ingest_port),
                                                      timeout=5 * SLOW))
            except OSError:
                closed += 1
        for s in socks:
            # Over the limit: one error line, then the close. Within it: nothing to read.
            s.settimeout(0.5 * SLOW)
            try:
                head = s.recv(256)
                if head == b"" or head.startswith(b"error: too many feed connections"):
                    closed += 1
            except socket.timeout:
                pass
            except OSError:
                closed += 1
            s.close()
        self.count("feed connections refused", closed)
        if closed < MAX_FEED_CONNECTIONS:
            self.fail("feed flood: only %d connections refused" % closed)

    def slow_loris(self):
        """A header sent a byte at a time is dropped after --header-timeout."""
        s = socket.create_connection(("127.0.0.1", self.server.http_port), timeout=10 * SLOW)
        start = time.monotonic()
        dropped = False
        for ch in b"GET /v1/series HTTP/1.1\r\nX-Slow: " + b"a" * 200:
            try:
                s.sendall(bytes([ch]))
                s.settimeout(0.2)
                if s.recv(1) == b"":
                    dropped = True
                    break
            except socket.timeout:
                continue
            except OSError:
                dropped = True
                break
            if time.monotonic() - start > 20 * SLOW:
                break
        s.close()
        if not dropped:
            self.fail("slow-loris header was not dropped")

    def slow_body(self):
        """A body that trickles in is cut off by the same timeout; nothing of it is applied."""
        s = socket.create_connection(("127.0.0.1", self.server.http_port), timeout=10 * SLOW)
        s.sendall(b"POST /write HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        start = time.monotonic()
        dropped = False
        while time.monotonic() - start < 20 * SLOW:  # --body-timeout is 3s here
            try:
                s.sendall(b"slow,sym=S v=1i 1\n")
                s.settimeout(1.0)
                data = s.recv(256)
                if data == b"" or data.startswith(b"HTTP/1.1 4"):
                    dropped = True
                    break
            except socket.timeout:
                continue
            except OSError:
                dropped = True
                break
        s.close()
        if not dropped:
            self.fail("slow body was not cut off")

    def pipeline_never_read(self):
        """Thousands of pipelined requests never read: the server stops reading, holds a
        bounded amount, and the connection is dropped; RSS is checked at the end."""
        s = socket.create_connection(("127.0.0.1", self.server.http_port), timeout=10 * SLOW)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        req = b"GET /v1/series/fault/F?limit=1000 HTTP/1.1\r\nHost: x\r\n\r\n"
        s.setblocking(False)
        sent = 0
        deadline = time.monotonic() + 5 * SLOW
        while time.monotonic() < deadline and sent < 200_000:
            try:
                sent += s.send(req * 64) // len(req)
            except BlockingIOError:
                time.sleep(0.05)  # the server stopped reading: as it should
            except OSError:
                break
        self.count("pipelined requests sent unread", sent)
        s.close()

    def bad_requests(self):
        srv = self.server
        cases = [
            ("GET", "/no/such/route", None, {}, 404),
            ("DELETE", "/health", None, {}, 405),
            ("POST", "/write", b"x" * (2 * 1024 * 1024), {}, 413),
            ("POST", "/write", b"\x1f\x8b\x08\x00", {"Content-Encoding": "gzip"}, 415),
            ("GET", "/v1/series/fault/F?from=yesterday", None, {}, 400),
            ("GET", "/v1/series/fault/F?limit=-1", None, {}, 400),
            ("GET", "/v1/series/%zz/F", None, {}, 400),
            ("PUT", "/v1/window/k", b"{not json", {}, 400),
            ("GET", "/v1/series/fault/F?" + "&".join(["fields=v"] * 40), None, {}, 400),
        ]
        for method, path, body, headers, want in cases:
            status, _, answer = srv.request(method, path, body, headers)
            if status != want:
                self.fail("%s %s: %d, expected %d" % (method, path[:60], status, want))
            elif status >= 400:
                try:
                    err = json.loads(answer)["error"]
                    if path == "/write" and isinstance(err, str):
                        assert err  # the route's own errors: InfluxDB's shape, for its clients
                    else:
                        assert err["code"] and err["message"]
                except Exception:  # noqa: BLE001  (any shape but the documented one fails)
                    self.fail("%s %s: error body not {error:{code,message}}: %r"
                              % (method, path[:60], answer[:100]))
            self.count("bad requests answered")
        # A header over --max-header.
        s = socket.create_connection(("127.0.0.1", srv.http_port), timeout=10 * SLOW)
        s.sendall(b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n")
        try:
            head = s.recv(64)
        except OSError:
            head = b""
        if not (head.startswith(b"HTTP/1.1 4") or head == b""):
            self.fail("oversized header answered %r" % head)
        s.close()
        # Bad feed lines: one error line each (rate-limited), nothing else lost.
        s = socket.create_connection(("127.0.0.1", srv.ingest_port), timeout=10 * SLOW)
        bad = [b"no fields here\n", b"m,t=1 v=\n", b"m v=1 notatime\n", b"m,a=1,a=2 v=1\n",
               b"\xff\xfe,sym=\xc3 v=1\n", b"x" * 70000 + b"\n"]
        s.sendall(b"".join(bad))
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        s.close()
        lines = [l for l in got.decode("utf-8", "replace").splitlines() if l.startswith("error")]
        if len(lines) < len(bad) - 1:
            self.fail("bad feed lines: %d error lines for %d bad lines" % (len(lines), len(bad)))
        self.count("bad feed lines answered", len(lines))

    def websocket_abuse(self):
        asyncio.run(self._websocket_abuse())

    async def _websocket_abuse(self):
        url = "ws://127.0.0.1:%d/v1/stream" % self.server.http_port
        wait = 10 * SLOW
        # A flood of bad messages: error answers, then a close (1008).
        bad = await websockets.connect(url, open_timeout=wait)
        closed = None
        try:
            for _ in range(200):
                await bad.send("not json")
            while True:
                await asyncio.wait_for(bad.recv(), wait)
        except websockets.ConnectionClosed as e:
            closed = e.rcvd.code if e.rcvd is not None else None
        except asyncio.TimeoutError:
            pass
        if closed != 1008:
            self.fail("a flood of bad WebSocket messages: close %r, expected 1008" % closed)
        # A message over the 64 KiB limit: 1009.
        big = await websockets.connect(url, open_timeout=wait, max_size=None)
        try:
            await big.send("{" + " " * 70000 + "}")
            await asyncio.wait_for(big.recv(), wait)
            self.fail("an oversized WebSocket message was answered")
        except websockets.ConnectionClosed as e:
            if e.rcvd is None or e.rcvd.code != 1009:
                self.fail("oversized WebSocket message: close %r" % (e.rcvd,))
        except asyncio.TimeoutError:
            self.fail("an oversized WebSocket message was neither answered nor closed")

    def never_reading_subscriber(self):
        asyncio.run(self._never_reading_subscriber())

    async def _never_reading_subscriber(self):
        """Subscribes to everything and never reads: it is conflated (lagged) and slows
        neither the feed nor anyone else."""
        url = "ws://127.0.0.1:%d/v1/stream" % self.server.http_port
        # A small receive buffer, set before connecting so the window stays small: the
        # kernel's buffers would otherwise absorb this run's whole feed.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", self.server.http_port))
        idle = await websockets.connect(url, sock=sock, open_timeout=10 * SLOW, max_queue=1,
                                        read_limit=1024)
        idle.transport.pause_reading()
        await idle.send(json.dumps({"op": "subscribe", "id": 1, "series": "fault/*"}))
        self.idle_connected.set()
        # Snapshots are never conflated; asking for them again and again without reading is
        # bounded by the server not reading this client's requests while its queue is full.
        await asyncio.sleep(2)
        sub = {"op": "subscribe", "id": 2, "series": "fault/F", "snapshot": 10000}
        unsub = {"op": "unsubscribe", "id": 2}
        sent = 0
        try:
            for _ in range(2000):
                await asyncio.wait_for(idle.send(json.dumps(sub)), 2 * SLOW)
                await asyncio.wait_for(idle.send(json.dumps(unsub)), 2 * SLOW)
                sent += 1
        except asyncio.TimeoutError:
            pass  # the server stopped reading: what this checks
        self.count("snapshot requests sent never read", sent)
        while not self.stop.is_set():
            await asyncio.sleep(0.1)
        idle.transport.abort()


def rss_peak_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    args = ["--max-connections", str(MAX_CONNECTIONS),
            "--max-feed-connections", str(MAX_FEED_CONNECTIONS),
            # Scaled for a sanitizer build: a flood's connections must stay open (idle
            # keep-alive) while the slower server accepts the rest.
            "--header-timeout", "%ds" % (2 * SLOW), "--body-timeout", "%ds" % (3 * SLOW), "--max-body", "1048576", "--max-header", "16384",
            "--ws-queue-messages", "1024", "--ws-queue-bytes", "65536"]
    with Server(*args) as server:
        run = Run(server)
        feeder = threading.Thread(target=run.feed)
        reader = threading.Thread(target=run.reader)
        feeder.start()
        reader.start()
        def start(attacks):
            threads = [threading.Thread(target=a, name=a.__name__) for a in attacks]
            for t in threads:
                t.start()
            return threads

        def join(threads):
            for t in threads:
                t.join(120 * SLOW)
                if t.is_alive():
                    run.fail("attack %s did not finish" % t.name)

        # The floods first (with the slow clients beside them), then the bad requests, which
        # check exact answers and so must not be refused by a flood's full slots.
        idle = start([run.never_reading_subscriber])
        if not run.idle_connected.wait(30 * SLOW):
            run.fail("the never-reading subscriber could not connect")
        floods = start([run.http_flood, run.feed_flood])
        slow = start([run.slow_loris, run.slow_body, run.pipeline_never_read])
        join(floods)
        checks = start([run.bad_requests])
        ws = start([run.websocket_abuse])  # holds its never-reading subscriber to the end
        join(checks + slow)
        feeder.join(120 * SLOW)
        # Every point sent is stored (applied by the ingest thread in order).
        total = run.sent
        deadline = time.monotonic() + 30 * SLOW
        stored = None
        while time.monotonic() < deadline:
            stored = server.series("fault", "F")
            if stored and stored["count"] >= total:
                break
            time.sleep(0.05)
        run.stop.set()
        reader.join(30 * SLOW)
        join(ws + idle)
        if not stored or stored["count"] != total:
            run.fail("stored %s of %d points" % (stored and stored["count"], total))
        status, body = server.get_json("/v1/series/fault/F?limit=%d" % max(total, 1))
        if status != 200 or [p["v"] for p in body["points"]] != list(range(total)):
            run.fail("the stored points are not exactly the ones sent")
        status, health = server.get_json("/health")
        if status != 200:
            run.fail("/health after the run: %d" % status)
        peak = rss_peak_mb(server.proc.pid)
        run.figures["points fed and stored"] = total
        run.figures["peak RSS (MB)"] = round(peak, 1)
        if peak > RSS_BOUND_MB * SLOW:
            run.fail("peak RSS %.0f MB over the bound of %d MB" % (peak, RSS_BOUND_MB))
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % server.http_port,
                                    timeout=10 * SLOW) as r:
            metrics = r.read().decode()
        for line in metrics.splitlines():
            for key in ("tickring_http_connections_rejected_total",
                        "tickring_ws_abuse_closes_total", "tickring_ws_conflations_total",
                        "tickring_ws_read_pauses_total",
                        "tickring_lines_rejected_total"):
                if line.startswith(key + " "):
                    run.figures[key] = int(float(line.split()[1]))
    if run.figures.get("tickring_ws_read_pauses_total", 0) == 0:
        run.fail("the never-reading client's requests were read on and on")
    for k, v in run.figures.items():
        print("fault run: %-40s %s" % (k, v))
    if run.errors:
        for e in run.errors:
            print("FAULT RUN FAILURE: %s" % e)
        sys.exit(1)
    print("fault run: passed")


if __name__ == "__main__":
    main()
