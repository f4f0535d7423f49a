"""Start-up failures of the real server binary: each ends with a message naming the problem
and a non-zero exit code, never an abort (exit 134) or a silently wrapped value."""
import os
import signal
import socket
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import SERVER, SLOW  # noqa: E402


def run(*args, timeout=20):
    """Runs the server with `args`; returns (exit code, stderr) once it exits."""
    r = subprocess.run([SERVER, "--log-level", "warn", *args], capture_output=True, text=True,
                       timeout=timeout)
    return r.returncode, r.stderr


class AddressInUseTest(unittest.TestCase):
    def setUp(self):
        self.taken = socket.socket()
        self.taken.bind(("127.0.0.1", 0))
        self.taken.listen()
        self.port = self.taken.getsockname()[1]

    def tearDown(self):
        self.taken.close()

    def test_http_port_in_use_names_the_address_and_exits_1(self):
        code, err = run("--http", "127.0.0.1:%d" % self.port, "--ingest", "127.0.0.1:0")
        self.assertEqual(code, 1, err)
        self.assertIn("127.0.0.1:%d" % self.port, err)
        self.assertIn("--http", err)
        self.assertIn("already in use", err)
        self.assertNotIn("terminate", err)

    def test_ingest_port_in_use_names_the_address_and_exits_1(self):
        code, err = run("--http", "127.0.0.1:0", "--ingest", "127.0.0.1:%d" % self.port)
        self.assertEqual(code, 1, err)
        self.assertIn("127.0.0.1:%d" % self.port, err)
        self.assertIn("--ingest", err)
        self.assertIn("already in use", err)
        self.assertNotIn("terminate", err)


class ConfigOverflowTest(unittest.TestCase):
    def rejected(self, *args):
        code, err = run("--http", "127.0.0.1:0", "--ingest", "127.0.0.1:0", *args)
        self.assertEqual(code, 2, "%s was accepted: %s" % (args, err))
        self.assertIn(args[0], err)
        return err

    def test_durations_that_overflow_nanoseconds_are_rejected(self):
        self.assertIn("too large", self.rejected("--retention", "300000d"))
        self.assertIn("too large", self.rejected("--retention", "99999999999999999999"))
        self.rejected("--window", "300000d")
        self.rejected("--window", "9223372036s")
        self.rejected("--header-timeout", "300000d")
        self.rejected("--header-timeout", "9000000000000000000")
        self.rejected("--ws-idle-timeout", "300000d")

    def test_negative_numbers_are_rejected_not_wrapped(self):
        self.assertIn("negative", self.rejected("--max-connections", "-1"))
        self.rejected("--max-body=-5")
        self.rejected("--ws-queue-bytes", "-1024")

    def test_out_of_range_limits_are_rejected(self):
        self.assertIn("at most 1s", self.rejected("--busy-poll", "2s"))
        self.rejected("--busy-poll", "fast")
        self.assertIn("at most", self.rejected("--max-series", "5000000000"))

    def test_huge_header_limit_is_rejected(self):
        self.rejected("--max-header", str(5 * 1024 ** 3))
        self.rejected("--max-header", str(2 ** 32))


class TokenFileTest(unittest.TestCase):
    """--auth-token-file is checked at start: a file that would leave writes open or
    guessable stops the server with exit 1 and a message naming the file."""

    def setUp(self):
        import tempfile
        self.dir = tempfile.mkdtemp(prefix="tickring-auth-")
        self.path = os.path.join(self.dir, "tokens")

    def tearDown(self):
        import shutil
        shutil.rmtree(self.dir)

    def write(self, text, mode=0o600):
        with open(self.path, "w") as f:
            f.write(text)
        os.chmod(self.path, mode)

    def refused(self, why):
        code, err = run("--http", "127.0.0.1:0", "--ingest", "127.0.0.1:0",
                        "--auth-token-file", self.path)
        self.assertEqual(code, 1, err)
        self.assertIn(self.path, err)
        self.assertIn(why, err)

    def test_missing_file(self):
        self.refused("No such file")

    def test_file_writable_by_others(self):
        self.write("0123456789abcdef0123\n", mode=0o606)
        self.refused("writable by every user")

    def test_short_token(self):
        self.write("# a comment\nshort\n")
        self.refused("line 2: a token has 16 to 256 characters")

    def test_token_with_a_space(self):
        self.write("0123456789 abcdef0123\n")
        self.refused("without spaces")

    def test_no_token(self):
        self.write("# only a comment\n\n")
        self.refused("holds no token")

    def test_contradicting_flags(self):
        self.write("0123456789abcdef0123\n")
        code, err = run("--http", "127.0.0.1:0", "--ingest", "127.0.0.1:0",
                        "--auth-token-file", self.path, "--insecure-no-auth")
        self.assertEqual(code, 2, err)
        code, err = run("--http", "127.0.0.1:0", "--ingest", "127.0.0.1:0", "--auth-reads")
        self.assertEqual(code, 2, err)
        self.assertIn("--auth-reads needs --auth-token-file", err)


class ExposureTest(unittest.TestCase):
    """Listening beyond loopback without write authentication is refused at start (exit 1,
    naming the address and the ways out) unless --insecure-no-auth; ':port' is every
    interface, IPv4 and IPv6."""

    def start(self, *args):
        """Starts the server; returns (process, http port, the listening line)."""
        import re
        proc = subprocess.Popen([SERVER, "--log-level", "warn", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        m = re.search(r"http=(\S+):(\d+) ingest=", line)
        if not m:
            proc.kill()
            _, err = proc.communicate(timeout=20)
            self.fail("the server did not start: %r %s" % (line, err))
        return proc, int(m.group(2)), line

    def stop(self, proc):
        proc.terminate()
        _, err = proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 0, err)
        return err

    def health(self, family, host, port):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect((host, port))
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        return data.split(b"\r\n", 1)[0]

    def test_every_interface_without_a_token_is_refused(self):
        for http, ingest, named, flag in [("0.0.0.0:0", "127.0.0.1:0", "0.0.0.0:0", "--http"),
                                          ("127.0.0.1:0", ":0", ":0 (every interface)", "--ingest"),
                                          ("[::]:0", "127.0.0.1:0", "[::]:0", "--http")]:
            code, err = run("--http", http, "--ingest", ingest)
            self.assertEqual(code, 1, err)
            self.assertIn("refusing to listen on %s for %s" % (named, flag), err)
            self.assertIn("--auth-token-file", err)
            self.assertIn("--insecure-no-auth", err)

    def test_loopback_needs_no_token(self):
        for host in ["127.0.0.2:0", "[::1]:0"]:
            proc, _, _ = self.start("--http", host, "--ingest", "127.0.0.1:0")
            self.stop(proc)

    def test_colon_port_serves_ipv4_and_ipv6_with_insecure_no_auth(self):
        proc, port, line = self.start("--http", ":0", "--ingest", "127.0.0.1:0",
                                      "--insecure-no-auth")
        try:
            self.assertIn("http=[::]:%d" % port, line)
            self.assertEqual(self.health(socket.AF_INET, "127.0.0.1", port), b"HTTP/1.1 200 OK")
            self.assertEqual(self.health(socket.AF_INET6, "::1", port), b"HTTP/1.1 200 OK")
        finally:
            err = self.stop(proc)
        self.assertIn("--insecure-no-auth", err)  # the warning

    def test_every_interface_with_a_token_file_starts(self):
        import tempfile
        fd, path = tempfile.mkstemp()
        try:
            os.write(fd, b"0123456789abcdef0123\n")
            os.close(fd)
            proc, port, _ = self.start("--http", ":0", "--ingest", ":0",
                                       "--auth-token-file", path)
            try:
                self.assertEqual(self.health(socket.AF_INET, "127.0.0.1", port),
                                 b"HTTP/1.1 200 OK")
            finally:
                self.stop(proc)
        finally:
            os.unlink(path)


class ShutdownTest(unittest.TestCase):
    """SIGTERM with writes in flight (docs/design.md, Stopping): concurrent POST /write and
    DELETE requests and a TCP feed are running when the signal comes. Every request whose
    connection was established before the signal gets an HTTP answer (2xx, 404 or 503), never
    a reset; the server exits 0; and its last log line, which counts what the ingest thread
    applied, matches what was acknowledged: every 204 of /write is one stored line, every 200
    of DELETE one removed point, and nothing unacknowledged was applied over HTTP."""

    CLIENTS = 24
    EXTRA_FLAGS = []

    def test_sigterm_answers_every_request_and_applies_every_acknowledged_write(self):
        import http.client
        import re
        import threading
        import time

        proc = subprocess.Popen([SERVER, "--http", "127.0.0.1:0", "--ingest", "127.0.0.1:0",
                                 "--log-level", "info", "--workers", "2"] + self.EXTRA_FLAGS,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        stderr_lines = []
        threading.Thread(target=lambda: stderr_lines.extend(proc.stderr), daemon=True).start()
        try:
            m = re.search(r"http=\S+:(\d+) ingest=\S+:(\d+)", proc.stdout.readline())
            self.assertIsNotNone(m)
            http_port, ingest_port = int(m.group(1)), int(m.group(2))
            # Points for the DELETE requests to remove: series d/S<client>, times 0..N.
            body = "".join("d,sym=S%d v=1 %d\n" % (c, t)
                           for c in range(self.CLIENTS) for t in range(2000)).encode()
            conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=30)
            conn.request("POST", "/write", body)
            self.assertEqual(conn.getresponse().status, 204)
            conn.close()

            signalled = threading.Event()
            lock = threading.Lock()
            results = {"acked_lines": 0, "acked_deletes": 0, "answered": 0, "strict": 0,
                       "unanswered_strict": [], "refused_after_signal": 0}

            def client(c):
                i = 0
                while True:
                    try:
                        sock = socket.create_connection(("127.0.0.1", http_port), timeout=30)
                    except OSError:
                        return  # the listener is closed: the server is stopping
                    # A connect that returned before the signal was sent is in the server's
                    # backlog or accepted: its request must be answered.
                    strict = not signalled.is_set()
                    delete = i % 2 == 1
                    if delete:
                        req = ("DELETE /v1/series/d/S%d/at/%d HTTP/1.1\r\nHost: x\r\n"
                               "Connection: close\r\n\r\n" % (c, i // 2)).encode()
                    else:
                        line = "w,sym=C%d v=%d %d\n" % (c, i, i)
                        req = ("POST /write HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                               "Content-Length: %d\r\n\r\n%s" % (len(line), line)).encode()
                    status = None
                    try:
                        sock.sendall(req)
                        data = b""
                        while True:
                            chunk = sock.recv(65536)
                            if not chunk:
                                break
                            data += chunk
                        if data.startswith(b"HTTP/1.1 "):
                            status = int(data[9:12])
                    except OSError:
                        pass
                    finally:
                        sock.close()
                    with lock:
                        results["strict"] += strict
                        if status is None:
                            if strict:
                                results["unanswered_strict"].append((c, i))
                            else:
                                results["refused_after_signal"] += 1
                        else:
                            results["answered"] += 1
                            if status == 204 and not delete:
                                results["acked_lines"] += 1
                            if status == 200 and delete:
                                results["acked_deletes"] += 1
                            if status not in (200, 204, 404, 503):
                                results["unanswered_strict"].append((c, i, status))
                    if status is None and not strict:
                        return
                    i += 1

            def feeder():
                try:
                    s = socket.create_connection(("127.0.0.1", ingest_port), timeout=30)
                    n = 0
                    while not signalled.is_set():
                        s.sendall(b"".join(b"f,sym=F v=1 %d\n" % (n + k) for k in range(100)))
                        n += 100
                    s.close()
                except OSError:
                    pass

            threads = [threading.Thread(target=client, args=(c,)) for c in range(self.CLIENTS)]
            threads.append(threading.Thread(target=feeder))
            for t in threads:
                t.start()
            # Let every client get going (answers are arriving), then signal.
            deadline = time.monotonic() + 30
            while results["answered"] < 200 and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertGreaterEqual(results["answered"], 200, "the clients never got going")
            signalled.set()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=30)
            for t in threads:
                t.join(timeout=30)
                self.assertFalse(t.is_alive(), "a client hung after the server exited")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        log = "".join(stderr_lines)
        self.assertEqual(code, 0, log[-3000:])
        print("shutdown test: %s" % results, file=sys.stderr)
        self.assertEqual(results["unanswered_strict"], [], results)
        m = re.search(r"stopped: (\d+) lines accepted \((\d+) over HTTP\), (\d+) rejected, "
                      r"(\d+) points removed", log)
        self.assertIsNotNone(m, log[-3000:])
        http_lines = int(m.group(2)) - self.CLIENTS * 2000  # less the points written first
        self.assertEqual(http_lines, results["acked_lines"], results)
        self.assertEqual(int(m.group(4)), results["acked_deletes"], results)
        self.assertEqual(int(m.group(3)), 0, log[-3000:])
        self.assertNotIn("[error]", log)
        self.assertNotIn("AddressSanitizer", log)
        self.assertNotIn("runtime error", log)  # UBSan


class ShutdownNoBusyPollTest(ShutdownTest):
    """The same with workers that sleep as soon as they are idle (--busy-poll 0; the default
    polls 50 us first): every request still answered, and the workers stop on SIGTERM."""

    EXTRA_FLAGS = ["--busy-poll", "0"]


class DescriptorLimitTest(unittest.TestCase):
    def test_connections_are_fitted_to_the_descriptor_limit(self):
        """With ulimit -n 128, --max-connections is lowered (with a warning) so that the
        server answers 503 at its limit instead of running out of descriptors."""
        import re
        import resource
        import time

        def low_limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))

        # 128 - 64 reserved - 3 per worker (its io_context's epoll, eventfd, timerfd) - 8 feeds.
        proc = subprocess.Popen([SERVER, "--http", "127.0.0.1:0", "--ingest", "127.0.0.1:0",
                                 "--log-level", "warn", "--max-feed-connections", "8",
                                 "--workers", "2"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=low_limit)
        try:
            m = re.search(r"http=\S+:(\d+)", proc.stdout.readline())
            self.assertIsNotNone(m)
            port = int(m.group(1))
            held = []
            for _ in range(150):
                held.append(socket.create_connection(("127.0.0.1", port), timeout=10))
            time.sleep(0.5)
            last = held[-1]
            last.settimeout(10)
            self.assertTrue(last.recv(4096).startswith(b"HTTP/1.1 503"))
            for h in held:
                h.close()
            time.sleep(0.3)
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 200"))
            s.close()
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=20)
        self.assertIn("--max-connections lowered to 50", err)
        self.assertNotIn("accept: Too many open files", err)

    @unittest.skipIf(SLOW > 1, "needs the exact descriptor count of the server: a sanitizer "
                     "runtime opens descriptors of its own (this runs in the release build)")
    def test_accept_loops_back_off_when_out_of_descriptors(self):
        """With no descriptor left, accept fails with EMFILE: both loops pause instead of
        spinning on it, and serve the waiting connections once descriptors are back."""
        import re
        import resource
        import time

        proc = subprocess.Popen([SERVER, "--http", "127.0.0.1:0", "--ingest", "127.0.0.1:0",
                                 "--log-level", "warn"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            m = re.search(r"http=\S+:(\d+) ingest=\S+:(\d+)", proc.stdout.readline())
            self.assertIsNotNone(m)
            http_port, ingest_port = int(m.group(1)), int(m.group(2))
            soft, hard = resource.prlimit(proc.pid, resource.RLIMIT_NOFILE)
            used = len(os.listdir("/proc/%d/fd" % proc.pid))
            resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, (used, hard))
            web = socket.create_connection(("127.0.0.1", http_port), timeout=10)
            feed = socket.create_connection(("127.0.0.1", ingest_port), timeout=10)
            feed.sendall(b"fd,sym=A v=1 1\n")

            def cpu_seconds():
                with open("/proc/%d/stat" % proc.pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

            time.sleep(0.3)
            before = cpu_seconds()
            time.sleep(1.5)
            self.assertLess(cpu_seconds() - before, 0.5, "the accept loops spin on EMFILE")
            resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, (soft, hard))
            web.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            body = b""
            while True:
                chunk = web.recv(4096)
                if not chunk:
                    break
                body += chunk
            self.assertTrue(body.startswith(b"HTTP/1.1 200"), body)
            # The feed connection waiting in its backlog is accepted within a backoff too.
            import json
            import urllib.request
            deadline = time.monotonic() + 5
            points = 0
            while points != 1 and time.monotonic() < deadline:
                with urllib.request.urlopen("http://127.0.0.1:%d/health" % http_port,
                                            timeout=10) as r:
                    points = json.loads(r.read())["points"]
                time.sleep(0.05)
            self.assertEqual(points, 1)
            web.close()
            feed.close()
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 0, err[-2000:])
        self.assertIn("accept: Too many open files", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
