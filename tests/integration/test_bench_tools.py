"""The load tools: `bench gen-quotes`, `bench ingest --file`, `bench query`'s own HTTP client,
and bench/newest_latency (built with bench/ only: TICKRING_NEWEST_LATENCY names it).

`bench ingest --file` runs against the real server binary and the stored points are checked
through the HTTP API. `bench query`'s client (client-cli/bench_http.cc) frames answers itself,
so it also runs against a scripted HTTP server on loopback that answers in every framing a
server may use (Content-Length, chunked in pieces, close-delimited, 100 Continue first, a
closed keep-alive connection): if an answer were framed wrongly, the next one would be read
from the wrong place and the error count would differ from the number of 500 answers sent.
newest_latency's Redis side is checked the same way against a scripted RESP server.
"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import CLI, SLOW, TIMEOUT, Server  # noqa: E402

NEWEST_LATENCY = os.environ.get("TICKRING_NEWEST_LATENCY", "build/release/bench/newest_latency")
QUOTE = re.compile(r"^quotes,sym=SYM\d{4} bid=\d+\.\d\d,ask=\d+\.\d\d,bid_size=\d+i,ask_size=\d+i (\d{19})$")


def run_cli(*args, timeout=120 * SLOW):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=timeout)


class ScriptedHttp:
    """Answers GETs on one thread; answer n (from 1, over all connections) is chosen by n."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(TIMEOUT)
        self.port = self.listener.getsockname()[1]
        self.count = 0
        self.connections = 0
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def answer(self, n):
        body = json.dumps({"n": n, "pad": "x" * (n % 3000)}).encode()
        status = b"500 Internal Server Error" if n % 5 == 0 else b"200 OK"
        kind = n % 7
        head = b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
        if kind == 0:  # chunked, the chunks in separate writes, an extension and a trailer
            parts = [body[i:i + 1000] for i in range(0, len(body), 1000)]
            out = [head + b"Transfer-Encoding: chunked\r\n\r\n"]
            out += [b"%x;ext=1\r\n" % len(p) + p + b"\r\n" for p in parts]
            out.append(b"0\r\nX-Trailer: 1\r\n\r\n")
            return out, False
        if kind == 1:  # close-delimited: no length, the connection ends the body
            return [head + b"Connection: close\r\n\r\n" + body], True
        if kind == 2:  # 100 Continue first, then the answer with the header split mid-line
            whole = b"HTTP/1.1 100 Continue\r\n\r\n" + head + b"content-length: %d\r\n\r\n" % len(body) + body
            return [whole[:40], whole[40:90], whole[90:]], False
        if kind == 3:  # a kept connection the server then closes (an idle timeout)
            return [head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body], True
        return [head + b"Content-Length: %d\r\n\r\n" % len(body) + body], False

    def serve(self):
        while not self.stop:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            conn.settimeout(TIMEOUT)
            with conn:
                buf = b""
                while not self.stop:
                    while b"\r\n\r\n" not in buf:
                        try:
                            data = conn.recv(65536)
                        except OSError:
                            data = b""
                        if not data:
                            break
                        buf += data
                    if b"\r\n\r\n" not in buf:
                        break
                    buf = buf.split(b"\r\n\r\n", 1)[1]
                    self.count += 1
                    pieces, close = self.answer(self.count)
                    for p in pieces:
                        conn.sendall(p)
                    if close:
                        break

    def close(self):
        self.stop = True
        self.listener.close()


class ScriptedResp:
    """Answers each XREVRANGE (13 RESP lines) on one connection; answer n chosen by n."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(TIMEOUT)
        self.port = self.listener.getsockname()[1]
        self.count = 0
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @staticmethod
    def entry(i):
        fields = [b"bid", b"1.25", b"ask", b"1.26", b"bid_size", b"%d" % i]
        eid = b"%d-0" % i
        return (b"*2\r\n$%d\r\n%s\r\n*%d\r\n" % (len(eid), eid, len(fields))
                + b"".join(b"$%d\r\n%s\r\n" % (len(f), f) for f in fields))

    def answer(self, n):
        if n % 5 == 0:
            return [b"-ERR no such key\r\n"]
        if n % 5 == 1:
            return [b"*0\r\n"]  # an empty stream: an error for the tool
        whole = b"*100\r\n" + b"".join(self.entry(i) for i in range(100))
        if n % 5 == 2:  # in pieces that cut lengths and lines
            return [whole[k:k + 777] for k in range(0, len(whole), 777)]
        return [whole]

    def serve(self):
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.settimeout(TIMEOUT)
        with conn:
            buf = b""
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                buf += data
                while buf.count(b"\r\n") >= 13:
                    buf = buf.split(b"\r\n", 13)[13]
                    self.count += 1
                    for p in self.answer(self.count):
                        conn.sendall(p)

    def close(self):
        self.listener.close()


class BenchToolsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.file = os.path.join(cls.tmp.name, "quotes.lp")
        r = run_cli("bench", "gen-quotes", "--out", cls.file, "--quotes", "5000", "--symbols", "40")
        assert r.returncode == 0, r.stderr

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_gen_quotes_format(self):
        with open(self.file) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), 5000)
        times = []
        for line in lines:
            m = QUOTE.match(line)
            self.assertIsNotNone(m, line)
            times.append(int(m.group(1)))
        self.assertTrue(all(a < b for a, b in zip(times, times[1:])))
        self.assertEqual(len({line.split(" ")[0] for line in lines}), 40)
        # The same arguments give the same bytes.
        again = run_cli("bench", "gen-quotes", "--out", "-", "--quotes", "5000", "--symbols", "40")
        self.assertEqual(again.returncode, 0, again.stderr)
        with open(self.file) as f:
            self.assertEqual(again.stdout, f.read())

    def test_gen_quotes_usage(self):
        self.assertEqual(run_cli("bench", "gen-quotes").returncode, 2)
        self.assertEqual(run_cli("bench", "gen-quotes", "--out", "-", "--quotes", "0").returncode, 2)

    def ingest_file(self, connections):
        with Server() as srv:
            r = run_cli("--http-port", str(srv.http_port), "--ingest-port", str(srv.ingest_port),
                        "bench", "ingest", "--connections", str(connections), "--file", self.file,
                        "--json")
            self.assertEqual(r.returncode, 0, r.stderr)
            j = json.loads(r.stdout)
            self.assertEqual(j["points"], 5000)
            self.assertEqual(j["connections"], connections)
            self.assertGreater(j["quotes_per_second"], 0)
            self.assertEqual(srv.points(), 5000)
            s = srv.series("quotes", "SYM0039")
            self.assertEqual(s["count"], 125)
            # The newest point of SYM0039 is line 4999, at base + 4999.
            status, body = srv.get_json("/v1/series/quotes/SYM0039?order=desc&limit=1")
            self.assertEqual(status, 200)
            self.assertEqual(body["points"][0]["time"], 1_700_000_000_000_000_000 + 4999)
            # The same file again adds nothing: a clear error, not a hang.
            r = run_cli("--http-port", str(srv.http_port), "--ingest-port", str(srv.ingest_port),
                        "bench", "ingest", "--connections", str(connections), "--file", self.file)
            self.assertEqual(r.returncode, 1)
            self.assertIn("hold the file's points already", r.stderr)

    def test_ingest_file_one_connection(self):
        self.ingest_file(1)

    def test_ingest_file_three_connections(self):
        self.ingest_file(3)

    def test_ingest_file_usage(self):
        r = run_cli("bench", "ingest", "--file", self.file, "--points", "10")
        self.assertEqual(r.returncode, 2)
        r = run_cli("--http-port", "1", "bench", "ingest", "--file", os.path.join(self.tmp.name, "none"))
        self.assertEqual(r.returncode, 1)

    def test_bench_query_counts_error_answers(self):
        with Server() as srv:
            r = run_cli("--http-port", str(srv.http_port), "bench", "query", "--series", "quotes/NOPE",
                        "--requests", "300", "--json")
            self.assertEqual(r.returncode, 1)
            j = json.loads(r.stdout)
            self.assertEqual(j["errors"], 300)

    def test_bench_query_framing(self):
        http = ScriptedHttp()
        try:
            r = run_cli("--http-port", str(http.port), "bench", "query", "--series", "m/s",
                        "--requests", "2000", "--json")
        finally:
            http.close()
        self.assertEqual(r.returncode, 1, r.stderr)  # some answers were 500s
        j = json.loads(r.stdout)
        self.assertEqual(j["requests"], 2000)
        # 200 warm-up answers, then 2000 measured: n = 201 .. 2200, every fifth a 500.
        self.assertEqual(http.count, 2200)
        self.assertEqual(j["errors"], 400)
        self.assertGreater(http.connections, 1)  # the closed connections were reopened


class NewestLatencyTest(unittest.TestCase):
    def test_http_against_the_server(self):
        with Server() as srv:
            body = "".join("q,sym=A bid=%d.25 %d\n" % (i, 1_700_000_000_000_000_000 + i) for i in range(150))
            self.assertEqual(srv.request("POST", "/write", body.encode())[0], 204)
            r = subprocess.run([NEWEST_LATENCY, "http", "127.0.0.1", str(srv.http_port),
                                "/v1/series/q/A?order=desc&limit=100", "--requests", "300"],
                               capture_output=True, text=True, timeout=60 * SLOW)
            self.assertEqual(r.returncode, 0, r.stderr)
            j = json.loads(r.stdout)
            self.assertEqual((j["server"], j["requests"], j["errors"]), ("tickring", 300, 0))
            _, _, answer = srv.request("GET", "/v1/series/q/A?order=desc&limit=100")
            self.assertEqual(j["answer_bytes"], len(answer))
            r = subprocess.run([NEWEST_LATENCY, "http", "127.0.0.1", str(srv.http_port),
                                "/v1/series/q/NOPE?order=desc&limit=100", "--requests", "20"],
                               capture_output=True, text=True, timeout=60 * SLOW)
            self.assertEqual(r.returncode, 1)
            self.assertEqual(json.loads(r.stdout)["errors"], 20)

    def test_redis_framing(self):
        resp = ScriptedResp()
        try:
            r = subprocess.run([NEWEST_LATENCY, "redis", "127.0.0.1", str(resp.port), "k",
                                "--requests", "500", "--warmup", "0"],
                               capture_output=True, text=True, timeout=60 * SLOW)
        finally:
            resp.close()
        self.assertEqual(r.returncode, 1, r.stderr)
        j = json.loads(r.stdout)
        # Answers 1..500 on one connection: every fifth an error reply, every fifth empty.
        self.assertEqual(resp.count, 500)
        self.assertEqual((j["server"], j["requests"], j["errors"]), ("redis", 500, 200))

    def test_usage(self):
        r = subprocess.run([NEWEST_LATENCY, "ftp", "h", "1", "x"], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 2)


if NEWEST_LATENCY == "":
    # A build without bench/ (the asan and tsan presets) has no newest_latency: CMake passes an
    # empty path. Any other path must exist (the test fails otherwise).
    print("test_bench_tools: no bench/ in this build: NewestLatencyTest not run", file=sys.stderr)
    del NewestLatencyTest

if __name__ == "__main__":
    unittest.main(verbosity=2)
