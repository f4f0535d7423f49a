"""Starts real NATS servers (Debian's nats-server, JetStream on) on loopback for a test.

`NatsServer` is one server with a temporary store; `NatsCluster` three of them in one
JetStream cluster (each on its own client, route and monitoring ports). Every server is
stopped by its own PID; every wait has a bound, so a server that never becomes ready fails
the test instead of hanging it. The helpers for tickring instances fed from NATS
(`partition_of`, `Tickring`) live here too, shared by the server's and the CLI's tests.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from harness import SLOW, LoggedServer

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
READY_TIMEOUT = 30.0 * SLOW


def free_port():
    """A port that was free a moment ago (the kernel's choice for 127.0.0.1:0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def partition_of(measurement, symbol, partitions):
    """protocol/partition.h: FNV-1a 64 of measurement, '\\n', symbol, mod partitions."""
    h = 0xcbf29ce484222325
    for b in measurement.encode() + b"\n" + symbol.encode():
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h % partitions


class NatsServer:
    """One nats-server -js on 127.0.0.1 with its own store; `cluster` joins it to routes."""

    def __init__(self, name="n1", port=None, cluster=None):
        self.name = name
        self.port = port or free_port()
        self.monitor_port = free_port()
        self.cluster = cluster  # (cluster name, own route port, [route ports of the others])
        self.dir = tempfile.mkdtemp(prefix="tickring-nats-")
        self.proc = None

    @property
    def url(self):
        return "nats://127.0.0.1:%d" % self.port

    def start(self):
        args = [NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(self.port),
                "-m", str(self.monitor_port), "-sd", os.path.join(self.dir, "store"),
                "-n", self.name]
        if self.cluster:
            cname, route, others = self.cluster
            args += ["--cluster_name", cname, "--cluster", "nats://127.0.0.1:%d" % route,
                     "--routes", ",".join("nats://127.0.0.1:%d" % p for p in others)]
        self.log = open(os.path.join(self.dir, "nats.log"), "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def monitor(self, path):
        """JSON of the monitoring endpoint, or None while it does not answer."""
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.monitor_port, path),
                                        timeout=2) as r:
                return json.loads(r.read())
        except (OSError, ValueError, urllib.error.URLError):
            return None

    def wait_ready(self):
        """Until /healthz says JetStream is ready (in a cluster: a meta leader is known)."""
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nats-server %s exited:\n%s" % (self.name, self.log_text()))
            h = self.monitor("/healthz")
            if h and h.get("status") == "ok":
                js = self.monitor("/jsz") or {}
                if not self.cluster or (js.get("meta_cluster") or {}).get("leader"):
                    return self
            time.sleep(0.05)
        raise RuntimeError("nats-server %s not ready:\n%s" % (self.name, self.log_text()))

    def log_text(self):
        self.log.flush()
        with open(os.path.join(self.dir, "nats.log")) as f:
            return f.read()

    def stream_state(self, stream="TICKRING"):
        """The stream's state (messages, last_seq, ...) as this server reports it."""
        js = self.monitor("/jsz?streams=true") or {}
        for acc in js.get("account_details") or []:
            for s in acc.get("stream_detail") or []:
                if s.get("name") == stream:
                    return s.get("state")
        return None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start().wait_ready()

    def __exit__(self, *exc):
        self.stop()


class NatsCluster:
    """Three nats-servers in one JetStream cluster; `urls` lists all their client URLs."""

    def __init__(self, size=3):
        routes = [free_port() for _ in range(size)]
        self.servers = [
            NatsServer("n%d" % (i + 1),
                       cluster=("tickring", routes[i], [p for j, p in enumerate(routes) if j != i]))
            for i in range(size)]

    @property
    def urls(self):
        return ",".join(s.url for s in self.servers)

    def __enter__(self):
        for s in self.servers:
            s.start()
        try:
            for s in self.servers:
                s.wait_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for s in self.servers:
            s.stop()


class Tickring(LoggedServer):
    """tickring-server consuming from NATS; `http_port` fixed up front when a cluster file
    must name it. Its log goes to a file (shown when it fails)."""

    def __init__(self, nats_url, *args, http_port=0, log_dir=None):
        super().__init__("--nats", nats_url, *args,
                         log_dir=log_dir or tempfile.mkdtemp(prefix="tickring-log-"))
        self.args[self.args.index("--http") + 1] = "127.0.0.1:%d" % http_port

    def metric_sum(self, name):
        """Sum of every sample of a metric family (all labels)."""
        text = self.request("GET", "/metrics")[2].decode()
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def counts(self):
        """{symbol: point count} of measurement quotes."""
        status, body = self.get_json("/v1/series")
        assert status == 200, body
        return {s["symbol"]: s["count"] for s in body["series"] if s["measurement"] == "quotes"}
