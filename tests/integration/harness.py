"""Starts the real tickring-server on loopback for a test and talks to it.

Every server is started on ephemeral ports (127.0.0.1:0); the ports are read from the
server's first stdout line. Servers are stopped by their own PID (SIGTERM, then SIGKILL after
a bound). Every network call has a timeout, so a hung server fails a test instead of CI.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

SERVER = os.environ.get("TICKRING_SERVER", "build/release/server/tickring-server")
CLI = os.environ.get("TICKRING_CLI", "build/release/client-cli/tickring")
# A sanitizer build of the server is several times slower: TICKRING_TEST_SLOW=1 (set by the
# test command for the asan and tsan builds) makes every bound 6x longer.
SLOW = 6.0 if os.environ.get("TICKRING_TEST_SLOW") else 1.0
TIMEOUT = 10.0 * SLOW  # seconds for any single network operation


class Server:
    def __init__(self, *args):
        self.args = [SERVER, "--http", "127.0.0.1:0", "--ingest", "127.0.0.1:0",
                     "--log-level", "warn", *args]
        self.proc = None
        self.http_port = None
        self.ingest_port = None

    def __enter__(self):
        # stderr goes to the test's own stderr: a server log stays visible in a failure.
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"http=\S+:(\d+) ingest=\S+:(\d+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError("server did not start: %r" % line)
        self.http_port, self.ingest_port = int(m.group(1)), int(m.group(2))
        return self

    def __exit__(self, exc_type, exc, tb):
        code, _ = self.stop()
        self.proc.stdout.close()
        # A server that did not end cleanly fails the test (a crash, an abort, or a sanitizer
        # report, which exits non-zero), unless the test already failed for another reason.
        if exc_type is None and code != 0:
            raise AssertionError("server exited with code %s (see its log above)" % code)

    def stop(self, timeout=10 * SLOW):
        """SIGTERM, wait; returns (exit code, seconds taken)."""
        if self.proc is None or self.proc.poll() is not None:
            return (self.proc.returncode if self.proc else None, 0.0)
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode, time.monotonic() - start

    # ---- HTTP ----
    def request(self, method, path, body=None, headers=None):
        """Returns (status, headers, body bytes); never raises for HTTP errors."""
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.http_port, path),
                                     data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def get_json(self, path):
        status, _, body = self.request("GET", path)
        return status, json.loads(body) if body else None

    def points(self):
        return self.get_json("/health")[1]["points"]

    def wait_points(self, n, timeout=TIMEOUT):
        """Waits until /health reports at least n points; returns the last count."""
        deadline = time.monotonic() + timeout
        while True:
            p = self.points()
            if p >= n or time.monotonic() > deadline:
                return p
            time.sleep(0.01)

    def series(self, measurement, symbol):
        for s in self.get_json("/v1/series")[1]["series"]:
            if s["measurement"] == measurement and s["symbol"] == symbol:
                return s
        return None

    # ---- TCP feed ----
    def feed(self):
        s = socket.create_connection(("127.0.0.1", self.ingest_port), timeout=TIMEOUT)
        return s



class LoggedServer(Server):
    """A server whose log (at info) goes to a file in `log_dir`, shown when the test fails, and
    that a test may end with kill -9 (kill9: its exit code then says nothing)."""

    def __init__(self, *args, log_dir):
        super().__init__(*args)
        self.args[self.args.index("--log-level") + 1] = "info"
        self.log_dir = log_dir
        self.killed = False

    def __enter__(self):
        os.makedirs(self.log_dir, exist_ok=True)
        self.log_path = os.path.join(self.log_dir, "server-%d.log" % time.monotonic_ns())
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self.log,
                                     text=True)
        first = self.proc.stdout.readline()
        m = re.search(r"http=\S+:(\d+) ingest=\S+:(\d+)", first)
        if not m:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("server did not start: %r\n%s" % (first, self.log_text()))
        self.http_port, self.ingest_port = int(m.group(1)), int(m.group(2))
        return self

    def __exit__(self, *exc):
        try:
            if self.killed:  # ended by kill -9 on purpose: its exit code says nothing
                self.proc.stdout.close()
            else:
                super().__exit__(*exc)
        except AssertionError:
            sys.stderr.write(self.log_text())  # the harness points at the log: show it
            raise
        finally:
            self.log.close()

    def log_text(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def wait_log(self, text, timeout=30.0 * SLOW):
        """The log as soon as it holds `text` (the server logs asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.log_text()
            if text in log or time.monotonic() > deadline:
                return log
            time.sleep(0.02)

    def kill9(self):
        self.killed = True
        self.proc.kill()
        self.proc.wait()

def read_lines(sock, count, timeout=TIMEOUT):
    """Reads until `count` newline-terminated lines arrived (or timeout); returns them."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while data.count(b"\n") < count and time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    return data.decode().splitlines()
