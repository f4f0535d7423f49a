"""The CLI's side of running past one machine: `tickring feed --nats`, `tickring gateway` and
`tickring --cluster FILE <read>`, against a real nats-server -js and real tickring-server
instances, all on loopback.

What is checked in the stream is read back over the NATS protocol itself (a few lines of
Python below: CONNECT, SUB, PUB to $JS.API.STREAM.MSG.GET.<stream>), so every stored message's
subject, id header and lines are compared with what the publisher was given; the expected
partition of each line comes from nats_harness.partition_of, a re-implementation of the
documented hash in Python (FNV-1a 64 of measurement, newline, symbol, mod P), which also shows
the hash can be computed elsewhere. nats-server is started by nats_harness.NatsServer.
Message totals come from the monitoring endpoint (/jsz?streams=true).
"""
import base64
import collections
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import CLI, SLOW, TIMEOUT, Server  # noqa: E402
from nats_harness import NATS_SERVER, NatsServer, free_port, partition_of  # noqa: E402

SEC = 1_000_000_000
T0 = 1_700_000_000 * SEC
SYMBOLS = ["S%04d" % i for i in range(1000)]
PARTITIONS = 8


def stream_messages(nats, stream, first=1):
    """Every message of `stream` from sequence `first` on, read over the NATS protocol from
    `nats` (a nats_harness.NatsServer): a list of (seq, subject, headers, data)."""
    total = nats.stream_state(stream)["last_seq"]
    sock = socket.create_connection(("127.0.0.1", nats.port), timeout=TIMEOUT)
    f = sock.makefile("rb")
    f.readline()  # INFO
    sock.sendall(b'CONNECT {"verbose":false,"headers":true,"no_responders":true}\r\n'
                 b"SUB _INBOX.get 1\r\n")
    out = []
    try:
        for seq in range(first, total + 1):
            req = json.dumps({"seq": seq}).encode()
            sock.sendall(b"PUB $JS.API.STREAM.MSG.GET.%s _INBOX.get %d\r\n%s\r\n"
                         % (stream.encode(), len(req), req))
            while True:
                head = f.readline().split()
                if head[0] == b"PING":
                    sock.sendall(b"PONG\r\n")
                    continue
                if head[0] in (b"MSG", b"HMSG"):
                    body = f.read(int(head[-1]) + 2)[:-2]
                    if head[0] == b"HMSG":
                        body = body[int(head[-2]):]
                    break
            msg = json.loads(body)["message"]
            headers = base64.b64decode(msg.get("hdrs", "")).decode()
            out.append((msg["seq"], msg["subject"], headers,
                        base64.b64decode(msg.get("data", "")).decode()))
    finally:
        f.close()
        sock.close()
    return out


def quotes(n, start=0):
    return "".join("quotes,sym=%s bid=%d.5,ask=%d.75 %d\n"
                   % (SYMBOLS[i % len(SYMBOLS)], i, i, T0 + (start + i) * SEC) for i in range(n))


def run_cli(*args, stdin=None):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=120 * SLOW,
                          input=stdin)


class FeedNatsTest(unittest.TestCase):
    def setUp(self):
        self.assertTrue(os.path.exists(CLI), "tickring CLI not built: %s" % CLI)
        self.assertTrue(os.path.exists(NATS_SERVER), "nats-server not installed")
        self.tmp = tempfile.mkdtemp(prefix="tickring-nats-cli-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def check_stored(self, nats, stream, prefix, expected_lines, first=1):
        """Every stored message: its subject is its lines' partition, its id is unique, and the
        lines together are exactly `expected_lines` (each once)."""
        msgs = stream_messages(nats, stream, first)
        ids, got = set(), collections.Counter()
        per_subject = collections.Counter()
        for _, subject, headers, data in msgs:
            self.assertTrue(data.endswith("\n"), "a message ends with a complete line")
            self.assertLessEqual(len(data), 1 << 20)
            msg_id = [h.split(":", 1)[1].strip() for h in headers.split("\r\n")
                      if h.lower().startswith("nats-msg-id:")]
            self.assertEqual(len(msg_id), 1, headers)
            self.assertNotIn(msg_id[0], ids)
            ids.add(msg_id[0])
            for line in data.splitlines():
                sym = line.split(",", 1)[1].split(" ", 1)[0].split("=", 1)[1]
                self.assertEqual(subject, "%s.%d" % (prefix, partition_of("quotes", sym, PARTITIONS)))
                got[line] += 1
                per_subject[subject] += 1
        expected = collections.Counter(expected_lines)
        self.assertEqual(got, expected)
        want_subject = collections.Counter()
        for line in expected_lines:
            sym = line.split(",", 1)[1].split(" ", 1)[0].split("=", 1)[1]
            want_subject["%s.%d" % (prefix, partition_of("quotes", sym, PARTITIONS))] += 1
        self.assertEqual(per_subject, want_subject)
        return msgs

    def test_publish_partitions_and_duplicates(self):
        n = 200_000  # ~12 MB: more than 1 MiB per partition, so partitions span messages
        body = quotes(n)
        bad = "quotes,sym=BAD bid=oops 1\nno_symbol_tag bid=1 2\n"
        path = self.write("q.lp", body + bad)
        with NatsServer() as nats:
            args = ["feed", "--nats", nats.url, "--partition-count", str(PARTITIONS),
                    "--publisher-id", "test-run-1", "--no-progress", path]
            r = run_cli(*args)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("published 200,000 lines", r.stdout)
            self.assertIn("rejected 2 lines", r.stdout)
            self.assertIn("line 200001, byte 19: invalid value", r.stderr)
            self.assertIn("line 200002", r.stderr)
            state = nats.stream_state("TICKRING")
            msgs = self.check_stored(nats, "TICKRING", "tickring", body.splitlines())
            self.assertEqual(state["messages"], len(msgs))
            self.assertEqual(len({m[1] for m in msgs}), PARTITIONS)
            self.assertGreater(len(msgs), PARTITIONS)
            self.assertIn("acknowledged %d messages: %d stored, 0 duplicates" % (len(msgs), len(msgs)),
                          r.stdout)

            # The same input and publisher id within the duplicate window: nothing new.
            r = run_cli(*args)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("acknowledged %d messages: 0 stored, %d duplicates" % (len(msgs), len(msgs)),
                          r.stdout)
            self.assertEqual(nats.stream_state("TICKRING")["messages"], len(msgs))

            # Another publisher id stores a second copy: the ids, not the bytes, deduplicate.
            r = run_cli("feed", "--nats", nats.url, "--partition-count", str(PARTITIONS),
                        "--no-progress", "-", stdin=quotes(100, start=n))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.check_stored(nats, "TICKRING", "tickring", quotes(100, start=n).splitlines(),
                              first=len(msgs) + 1)

    def test_unacknowledged_publish_is_retried_with_the_same_id(self):
        body = quotes(3_000)
        with NatsServer() as nats:
            feed = subprocess.Popen(
                [CLI, "feed", "--nats", nats.url, "--partition-count", str(PARTITIONS),
                 "--no-progress", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True)
            errors = queue.Queue()
            def read_errors():
                with feed.stderr:
                    for line in feed.stderr:
                        errors.put(line)
            threading.Thread(target=read_errors, daemon=True).start()
            stopped = False
            try:
                deadline = time.monotonic() + TIMEOUT
                while nats.stream_state("TICKRING") is None:  # the feed has ensured the stream
                    self.assertLess(time.monotonic(), deadline, "stream not created")
                    time.sleep(0.02)
                # NATS frozen: the publishes reach its socket, no ack comes back.
                os.kill(nats.proc.pid, signal.SIGSTOP)
                stopped = True
                feed.stdin.write(body)
                feed.stdin.close()
                line = errors.get(timeout=60 * SLOW)
                self.assertRegex(line, r"message \S+:\d+ \(subject tickring\.\d\) will be sent "
                                       r"again: ")
            finally:
                if stopped:
                    os.kill(nats.proc.pid, signal.SIGCONT)
            # Thawed: NATS reads the first sends and the retries; each id is stored once.
            out = feed.stdout.read()
            feed.stdout.close()
            self.assertEqual(feed.wait(timeout=120 * SLOW), 0, out)
            self.assertRegex(out, r"; [1-9][0-9,]* retries;")
            self.check_stored(nats, "TICKRING", "tickring", body.splitlines())

    def test_existing_stream_with_other_subjects_is_refused(self):
        with NatsServer() as nats:
            # A list of servers: the one that is not there is passed over.
            servers = "nats://127.0.0.1:%d, %s" % (free_port(), nats.url)
            r = run_cli("feed", "--nats", servers, "--stream", "S1", "--subject-prefix", "a",
                        "-", stdin=quotes(10))
            self.assertEqual(r.returncode, 0, r.stderr)
            r = run_cli("feed", "--nats", nats.url, "--stream", "S1", "--subject-prefix", "b",
                        "-", stdin=quotes(10))
            self.assertEqual(r.returncode, 1)
            self.assertIn("stream S1 exists but its subjects do not cover b.*", r.stderr)

    def test_nats_unreachable(self):
        path = self.write("q.lp", quotes(10))
        port = free_port()
        r = run_cli("feed", "--nats", "nats://127.0.0.1:%d" % port, path)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot connect to NATS at nats://127.0.0.1:%d" % port, r.stderr)
        self.assertIn("is nats-server running?", r.stderr)
        r = run_cli("gateway", "--listen", "127.0.0.1:%d" % free_port(), "--nats",
                    "nats://127.0.0.1:%d" % port)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot connect to NATS", r.stderr)

    def test_gateway_bridges_the_tcp_feed(self):
        n = 5_000
        body = quotes(n)
        path = self.write("g.lp", body + "garbage\n")
        with NatsServer() as nats:
            port = free_port()
            gw = subprocess.Popen(
                [CLI, "gateway", "--listen", "127.0.0.1:%d" % port, "--nats", nats.url,
                 "--stream", "GW", "--subject-prefix", "gw", "--partition-count", str(PARTITIONS)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                line = gw.stderr.readline()
                self.assertIn("listening on 127.0.0.1:%d" % port, line)
                # Two feeders, the existing TCP feed command, one with a token line.
                r = run_cli("feed", "--ingest-port", str(port), "--no-progress", path)
                self.assertEqual(r.returncode, 0, r.stderr)
                r = run_cli("feed", "--ingest-port", str(port), "--token", "secret",
                            "--no-progress", "-", stdin=quotes(100, start=n))
                self.assertEqual(r.returncode, 0, r.stderr)
                # Published after the linger with the feeders gone and the gateway still up.
                expected = body.splitlines() + quotes(100, start=n).splitlines()
                deadline = time.monotonic() + TIMEOUT
                while True:
                    state = nats.stream_state("GW")
                    msgs = stream_messages(nats, "GW") if state else []
                    if sum(len(m[3].splitlines()) for m in msgs) >= len(expected):
                        break
                    self.assertLess(time.monotonic(), deadline, "gateway did not publish")
                    time.sleep(0.05)
                self.check_stored(nats, "GW", "gw", expected)
            finally:
                gw.send_signal(signal.SIGTERM)
                out, err = gw.communicate(timeout=30 * SLOW)
            self.assertEqual(gw.returncode, 0, err)
            self.assertIn("2 connections, 5,101 lines received, 1 rejected; published 5,100 lines",
                          out)
            self.assertIn("line 5001, byte 7: missing field set", err)


class ClusterRoutingTest(unittest.TestCase):
    def test_reads_go_to_the_owner(self):
        self.assertTrue(os.path.exists(CLI), "tickring CLI not built: %s" % CLI)
        sample = SYMBOLS[:60]
        with Server() as a, Server() as b, tempfile.TemporaryDirectory() as tmp:
            owners = {0: a, 1: a, 2: b, 3: b}
            for i, sym in enumerate(sample):
                srv = owners[partition_of("quotes", sym, 4)]
                status, _, _ = srv.request("POST", "/write",
                                           ("quotes,sym=%s bid=%d 1700000000\n" % (sym, i)).encode()
                                           + b"", headers={})
                self.assertEqual(status, 204)
            on_a = sum(1 for s in sample if partition_of("quotes", s, 4) < 2)
            self.assertTrue(0 < on_a < len(sample))
            cluster = os.path.join(tmp, "cluster.conf")
            with open(cluster, "w") as f:
                f.write("# two instances\npartitions 4\ninstance 0-1 http://127.0.0.1:%d\n"
                        "instance 2-3 http://127.0.0.1:%d/\n" % (a.http_port, b.http_port))
            for i, sym in enumerate(sample):
                r = run_cli("--cluster", cluster, "latest", "--json", "quotes/" + sym)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(json.loads(r.stdout)["point"]["bid"], i)
            # The option among the command's own options, and range/candles routed the same.
            r = run_cli("range", "quotes/" + sample[-1], "--cluster", cluster, "--json")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(len(json.loads(r.stdout)["points"]), 1)
            # Without the cluster file one instance lacks the other's series.
            misses = sum(run_cli("--http-port", str(a.http_port), "latest", "quotes/" + s)
                         .returncode != 0 for s in sample)
            self.assertEqual(misses, len(sample) - on_a)
            # `series` asks every instance.
            r = run_cli("--cluster", cluster, "series")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(sorted(l.split()[0] for l in r.stdout.splitlines()),
                             sorted("quotes/" + s for s in sample))
            # A bad cluster file: the parser's message with its line.
            with open(cluster, "w") as f:
                f.write("partitions 4\ninstance 0-1 http://127.0.0.1:1\n"
                        "instance 1-3 http://127.0.0.1:2\n")
            r = run_cli("--cluster", cluster, "latest", "quotes/S0001")
            self.assertEqual(r.returncode, 1)
            self.assertRegex(r.stderr, r"cluster file .*cluster.conf: line 3: ")
            with open(cluster, "w") as f:
                f.write("partitions 1\ninstance 0 https://127.0.0.1:1\n")
            r = run_cli("--cluster", cluster, "latest", "quotes/S0001")
            self.assertEqual(r.returncode, 1)
            self.assertIn("line 2: instance URL must be http://HOST:PORT", r.stderr)


if __name__ == "__main__":
    unittest.main()
