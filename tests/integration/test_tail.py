"""tickring tail and bench ws against the real server's WebSocket stream (/v1/stream).

Every tail runs with --count, so it ends by itself; each is also bounded by a timeout and
stopped by its own PID if it overruns. The reconnect test puts a TCP proxy (in this process)
between tail and the server and cuts its connections: the server keeps running, so tail must
resume after the last seq it printed without a gap or a repeat.
"""
import json
import os
import re
import select
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import CLI, TIMEOUT, Server  # noqa: E402

SEC = 1_000_000_000
T0 = 1_700_000_000 * SEC
SEQ = re.compile(r" seq=(\d+) ")


class Proxy:
    """Forwards 127.0.0.1:<port> to the server's HTTP port; cut() breaks every connection."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.sockets = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=TIMEOUT)
            upstream.settimeout(None)
            with self.lock:
                self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        with self.lock:
            sockets, self.sockets = self.sockets, []
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.listener.close()
        self.cut()


class Tail:
    """A running `tickring tail`, read line by line with a deadline."""

    def __init__(self, port, *args):
        self.proc = subprocess.Popen([CLI, "--http-port", str(port), "tail", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.pending = b""  # read from stdout, not yet returned by lines()

    def lines(self, n, timeout=TIMEOUT):
        """The next n lines of stdout, or fewer if they do not come within `timeout`."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while self.pending.count(b"\n") < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                break
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            self.pending += chunk
        out = []
        while len(out) < n and b"\n" in self.pending:
            line, self.pending = self.pending.split(b"\n", 1)
            out.append(line.decode())
        return out

    def finish(self, timeout=TIMEOUT):
        """Waits for the exit; returns (status, rest of stdout, stderr)."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        return self.proc.returncode, (self.pending + out).decode(), err.decode()


@unittest.skipUnless(os.path.exists(CLI), "tickring CLI not built")
class TailTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def write(self, series, first, count):
        """Points first..first+count-1 of `series`, one second apart; each is one change."""
        m, sym = series.split("/")
        body = "".join("%s,sym=%s price=%d,size=%di %d\n" % (m, sym, 100 + i, i, T0 + i * SEC)
                       for i in range(first, first + count))
        status, _, _ = self.srv.request("POST", "/write", body.encode())
        self.assertEqual(status, 204)

    def test_snapshot_then_live(self):
        self.write("trades/SNAP", 0, 10)  # seq 1..10
        tail = Tail(self.srv.http_port, "trades/SNAP", "--snapshot", "3", "--count", "4")
        snapshot = tail.lines(3)
        if len(snapshot) != 3:
            self.fail("no snapshot: %r %r" % (snapshot, tail.finish()))
        self.assertEqual(snapshot[0].split(),
                         ["2023-11-14T22:13:27.000000000Z", "trades/SNAP", "seq<=10", "price=107",
                          "size=7"])
        self.assertTrue(all("seq<=10" in line for line in snapshot))
        self.write("trades/SNAP", 10, 4)  # seq 11..14
        status, out, err = tail.finish()
        self.assertEqual(status, 0, err)
        live = out.splitlines()
        self.assertEqual([int(SEQ.search(line + " ").group(1)) for line in live], [11, 12, 13, 14])
        self.assertEqual(live[0].split()[3:], ["price=110", "size=10"])
        self.assertEqual(err, "")

    def test_since_seq_prints_exactly_what_follows(self):
        # The server keeps changes for replay only for series that have (had) a subscriber.
        tail = Tail(self.srv.http_port, "trades/RESUME", "--json", "--count", "3")
        first = json.loads(tail.lines(1)[0])
        self.assertEqual(first["type"], "subscribed")
        self.write("trades/RESUME", 0, 3)  # seq 1..3
        self.assertEqual(tail.finish()[0], 0)
        self.write("trades/RESUME", 3, 5)  # seq 4..8, nobody listening
        tail = Tail(self.srv.http_port, "trades/RESUME", "--since-seq", "3", "--count", "5")
        status, out, err = tail.finish()
        self.assertEqual(status, 0, err)
        self.assertEqual([int(SEQ.search(line + " ").group(1)) for line in out.splitlines()],
                         [4, 5, 6, 7, 8])
        self.assertNotIn("reset", err)

    def test_reconnect_resumes_without_gap(self):
        proxy = Proxy(self.srv.http_port)
        try:
            tail = Tail(proxy.port, "trades/CUT", "--json", "--count", "9")
            self.assertEqual(json.loads(tail.lines(1)[0])["type"], "subscribed")
            self.write("trades/CUT", 0, 3)  # seq 1..3
            got = tail.lines(4)  # the empty snapshot, then 3 points
            self.assertEqual([json.loads(line)["type"] for line in got],
                             ["snapshot", "point", "point", "point"])
            proxy.cut()
            self.write("trades/CUT", 3, 3)  # seq 4..6, while tail is away
            got = tail.lines(1)  # the `subscribed` of the resumed subscription
            self.assertEqual(json.loads(got[0])["seq"], 3, got)
            self.write("trades/CUT", 6, 3)  # seq 7..9
            status, out, err = tail.finish()
            self.assertEqual(status, 0, err)
            points = [json.loads(line) for line in out.splitlines()]
            self.assertEqual([p["seq"] for p in points if p["type"] == "point"],
                             [4, 5, 6, 7, 8, 9])
            self.assertIn("resumed after seq 3", err)
            self.assertNotIn("warning", err)
        finally:
            proxy.close()

    def test_wildcard(self):
        tail = Tail(self.srv.http_port, "ticks/*", "--snapshot", "0", "--count", "4")
        time.sleep(0.5)  # a wildcard has no snapshot to wait for when nothing exists yet
        self.write("ticks/A", 0, 2)
        self.write("ticks/B", 0, 2)
        status, out, err = tail.finish()
        self.assertEqual(status, 0, err)
        self.assertEqual(sorted(line.split()[1] for line in out.splitlines()),
                         ["ticks/A", "ticks/A", "ticks/B", "ticks/B"])

    def test_errors(self):
        r = subprocess.run([CLI, "--http-port", "1", "tail", "trades/X"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot connect", r.stderr)
        r = subprocess.run([CLI, "tail", "no-slash"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        tail = Tail(self.srv.http_port, "trades/X", "--candles", "7x")
        status, _, err = tail.finish()
        self.assertEqual(status, 2, err)
        self.assertIn("bad_interval", err)

    def test_bench_ws(self):
        r = subprocess.run([CLI, "--http-port", str(self.srv.http_port), "--ingest-port",
                            str(self.srv.ingest_port), "bench", "ws", "--subscribers", "20",
                            "--symbols", "10", "--wildcards", "2", "--rate", "2000",
                            "--duration", "1", "--json"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        j = json.loads(r.stdout)
        self.assertEqual(j["connections"], 22)
        self.assertEqual(j["lagged"], 0)
        self.assertEqual(j["gaps"] + j["repeats"] + j["errors"], 0)
        self.assertEqual(j["delivered"], j["expected"])
        self.assertGreater(j["messages_per_second"], 0)
        self.assertGreater(j["p50_us"], 0)


if __name__ == "__main__":
    unittest.main()
