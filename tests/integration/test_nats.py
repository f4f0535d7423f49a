"""tickring past one machine: real nats-server (JetStream) on loopback, real tickring-server
instances consuming disjoint partitions, the real `tickring feed --nats` as the publisher.

What would reveal a message applied twice: every line of these feeds has its own series and
time, so a second application of a message overwrites its points with equal values — the
count stays, but each overwrite takes a change sequence: the series' change sequence (which
the journal restores across restarts) exceeds its point count. Every test asserts seq == count
for every series and that every point is present exactly on its owner; without a journal
replay, also that tickring_points_overwritten_total is 0."""
import asyncio
import glob
import json
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import CLI, SLOW  # noqa: E402
from nats_harness import NatsCluster, NatsServer, Tickring, free_port, partition_of  # noqa: E402

import websockets  # noqa: E402  (python3-websockets; a missing module fails the run)

T0 = 1_700_000_000_000_000_000
SYMBOLS = 1000
WAIT = 60.0 * SLOW


def quotes(first, count):
    """Lines first..first+count-1 over SYMBOLS symbols, each its own time; bid = index."""
    return "".join("quotes,sym=S%04d bid=%d,ask=%d.5,size=%di %d\n"
                   % (i % SYMBOLS, i, i, i % 7, T0 + i * 1000)
                   for i in range(first, first + count))


def expected_counts(first, count):
    c = {}
    for i in range(first, first + count):
        s = "S%04d" % (i % SYMBOLS)
        c[s] = c.get(s, 0) + 1
    return c


def feed(url, path, *args, check=True):
    """`tickring feed --nats` of a file; returns its stdout (the summary)."""
    r = subprocess.run([CLI, "feed", "--nats", url, *args, path], capture_output=True,
                       text=True, timeout=WAIT)
    if check:
        assert r.returncode == 0, "feed failed (%d):\n%s\n%s" % (r.returncode, r.stdout, r.stderr)
    return r


def write_file(directory, text, name="quotes.lp"):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def wait_for(what, predicate, timeout=WAIT):
    """Until predicate() is truthy; fails naming `what` and the last value otherwise."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


async def change_seqs(t, symbols):
    """{symbol: the series' change sequence}, from the stream's `subscribed` messages."""
    ws = await websockets.connect("ws://127.0.0.1:%d/v1/stream" % t.http_port, open_timeout=WAIT)
    out = {}
    try:
        for i, sym in enumerate(symbols):
            await ws.send(json.dumps({"op": "subscribe", "id": i, "series": "quotes/" + sym}))
            while True:
                m = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
                if m.get("type") == "subscribed" and m.get("id") == i:
                    out[sym] = m["seq"]
                    break
            await ws.send(json.dumps({"op": "unsubscribe", "id": i}))
    finally:
        await ws.close()
    return out


class NatsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="tickring-nats-test-")
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def assert_exactly_once(self, instances, owned_by, expected, partitions, replayed=False):
        """Every series on its owner with exactly its points, absent elsewhere, and nothing
        applied twice: each series' change sequence (its newest point's `seq`, from
        /v1/latest) equals its point count, which any second application would raise; and,
        unless the instance replayed a journal (whose overlap with a snapshot is applied again
        with the recorded sequences, and counted), no overwrite at all."""
        for idx, t in enumerate(instances):
            have = t.counts()
            mine = {s: n for s, n in expected.items()
                    if partition_of("quotes", s, partitions) in owned_by[idx]}
            self.assertEqual(have, mine, "instance %d holds other series or counts" % idx)
            if replayed:
                # After a snapshot load a point's own `seq` is not its original one (the file
                # keeps the series' sequence only): ask the stream for each series' sequence.
                seqs = asyncio.run(change_seqs(t, sorted(mine)))
            else:
                status, latest = t.get_json("/v1/latest?measurement=quotes")
                self.assertEqual(status, 200, latest)
                seqs = {e["symbol"]: e["point"]["seq"] for e in latest["series"]}
            if seqs != mine:
                twice = {s: (seqs.get(s), n) for s, n in mine.items() if seqs.get(s) != n}
                self.fail("instance %d applied lines twice: %d series (seq, count): %s; "
                          "consumer: %s" % (idx, len(twice), sorted(twice.items())[:5],
                                            t.get_json("/health")[1].get("nats")))
            if not replayed:
                self.assertEqual(t.metric_sum("tickring_points_overwritten_total"), 0,
                                 "instance %d applied a line twice" % idx)

    def test_two_instances_own_disjoint_partitions(self):
        """N quotes over 1,000 symbols, two instances with a cluster file: each point once on
        its owner; 421 naming the owner for the other's series; a third instance without a
        journal replays the stream from its start."""
        n = 20_000
        path = write_file(self.dir, quotes(0, n))
        ports = [free_port(), free_port()]
        cluster_file = write_file(self.dir, "partitions 4\ninstance 0-1 http://127.0.0.1:%d\n"
                                  "instance 2-3 http://127.0.0.1:%d\n" % tuple(ports),
                                  "cluster.txt")
        owned = [{0, 1}, {2, 3}]
        with NatsServer() as nats, \
                Tickring(nats.url, "--cluster", cluster_file, "--partitions", "0-1",
                         http_port=ports[0]) as a, \
                Tickring(nats.url, "--cluster", cluster_file, "--partitions", "2-3",
                         http_port=ports[1]) as b:
            wait_for("both subscribed", lambda: all(
                all(p["subscribed"] for p in t.get_json("/health")[1]["nats"]["partitions"])
                for t in (a, b)))
            feed(nats.url, path, "--partition-count", "4")
            wait_for("every point", lambda: a.points() + b.points() == n)
            self.assert_exactly_once([a, b], owned, expected_counts(0, n), 4)
            self.assertEqual(a.metric_sum("tickring_nats_lines_accepted_total")
                             + b.metric_sum("tickring_nats_lines_accepted_total"), n)
            # Ownership in /v1/series, and 421 naming the owner for the other's series.
            body = a.get_json("/v1/series")[1]
            self.assertEqual((body["partition_count"], body["partitions"]), (4, "0-1"))
            other = next(s for s in expected_counts(0, n)
                         if partition_of("quotes", s, 4) in owned[1])
            status, headers, raw = a.request("GET", "/v1/series/quotes/%s/latest" % other)
            self.assertEqual(status, 421, raw)
            err = json.loads(raw)["error"]
            self.assertEqual(err["code"], 421)
            self.assertIn("http://127.0.0.1:%d" % ports[1], err["message"])
            self.assertEqual(b.request("GET", "/v1/series/quotes/%s/latest" % other)[0], 200)
            # Lag and health.
            h = a.get_json("/health")[1]
            self.assertEqual(h["nats"]["state"], "connected")
            self.assertTrue(all(p["pending"] == 0 and p["lag_seconds"] == 0
                                for p in h["nats"]["partitions"]), h)
            self.assertIn('tickring_nats_pending_messages{partition="0"} 0',
                          a.request("GET", "/metrics")[2].decode())
            # No journal: a new instance replays the whole stream, and says so.
            with Tickring(nats.url, "--partition-count", "4") as c:
                wait_for("the replay", lambda: c.points() == n)
                self.assert_exactly_once([c], [{0, 1, 2, 3}], expected_counts(0, n), 4)
                self.assertIn("no journal", c.log_text())
            # Without a cluster file a series of another partition is a 404 naming it.
            with Tickring(nats.url, "--partition-count", "4", "--partitions", "0") as d:
                status, _, raw = d.request("GET", "/v1/series/quotes/%s" % other)
                self.assertEqual(status, 404)
                self.assertIn("partition %d of 4" % partition_of("quotes", other, 4), raw.decode())

    def test_message_cut_short_at_the_end_of_the_journal_is_dropped_whole(self):
        """A kill -9 can stop the journal's write() between pages, leaving the first records
        of a message without its position record. Replay must drop them (the message is
        consumed again from NATS), not keep them and then apply the message a second time:
        the journal is cut by hand right inside its last message, at a record boundary."""
        n = 20_000
        path = write_file(self.dir, quotes(0, n))
        data = os.path.join(self.dir, "data")
        args = ("--partition-count", "1", "--data-dir", data, "--snapshot-interval", "0",
                "--snapshot-bytes", "0")
        with NatsServer() as nats:
            feed(nats.url, path, "--partition-count", "1")
            with Tickring(nats.url, *args) as t:
                wait_for("the feed", lambda: t.points() == n)
            segs = sorted(glob.glob(os.path.join(data, "seg-*.tjl")))
            with open(segs[-1], "rb") as f:
                raw = f.read()
            starts, at = [], 16
            while at + 8 <= len(raw):
                (length,) = struct.unpack_from("<I", raw, at)
                starts.append((at, raw[at + 8]))
                at += 8 + length
            batches = [i for i, (_, kind) in enumerate(starts) if kind == 6]
            self.assertTrue(batches, "no log batch record in %s" % segs[-1])
            last = batches[-1]
            # Keep the batch record and three of the message's records after it.
            self.assertGreater(len(starts), last + 4)
            self.assertNotEqual(starts[last + 3][1], 5, "the message is too short to cut")
            with open(segs[-1], "r+b") as f:
                f.truncate(starts[last + 4][0])
            with Tickring(nats.url, *args) as t2:
                wait_for("the catch-up", lambda: t2.points() == n)
                self.assert_exactly_once([t2], [{0}], expected_counts(0, n), 1, replayed=True)
                self.assertIn("cut short", t2.log_text())

    def test_kill9_mid_stream_resumes_after_its_position(self):
        """kill -9 while the feed runs, restart on the same journal: nothing lost (every
        point), nothing applied twice (no overwrite, each series' change sequence = its
        count), also after a second crash right after the restart's catch-up."""
        n = 200_000
        path = write_file(self.dir, quotes(0, n))
        data = os.path.join(self.dir, "data")
        with NatsServer() as nats:
            # Small segments and frequent snapshots: the positions must survive both (a new
            # segment repeats them, a snapshot carries them, old segments are deleted).
            args = ("--partition-count", "2", "--data-dir", data, "--journal-segment-bytes",
                    "1000000", "--snapshot-bytes", "3000000")
            t = Tickring(nats.url, *args)
            with t:
                publisher = threading.Thread(
                    target=feed, args=(nats.url, path, "--partition-count", "2",
                                       "--max-pending", "8"))
                publisher.start()
                wait_for("a quarter of the feed", lambda: t.points() >= n // 4)
                t.kill9()
            publisher.join(WAIT)
            self.assertFalse(publisher.is_alive())
            with Tickring(nats.url, *args) as t2:
                wait_for("the catch-up", lambda: t2.points() == n)
                self.assertIn("from sequence", t2.log_text())
                self.assert_exactly_once([t2], [{0, 1}], expected_counts(0, n), 2, replayed=True)
                self.assertEqual(t2.metric_sum("tickring_nats_duplicates_total"), 0)
                seqs = [p["applied_seq"] for p in t2.get_json("/health")[1]["nats"]["partitions"]]
                state = nats.stream_state()
                self.assertEqual(max(seqs), state["last_seq"])
                wait_for("a snapshot", lambda: t2.metric_sum("tickring_journal_snapshots_total"))
                # Segments are closed between messages too (18 MB of journal, 1 MB segments).
                self.assertGreater(t2.metric_sum("tickring_journal_segments_removed_total")
                                   + t2.metric_sum("tickring_journal_segments"), 3)
            # Restarted again with nothing new: the journal's positions are the stream's end.
            with Tickring(nats.url, *args) as t3:
                self.assertEqual(t3.points(), n)
                self.assertIn("loading snapshot", t3.log_text())  # positions from it too
                h = t3.get_json("/health")[1]["nats"]["partitions"]
                self.assertEqual(sorted(p["applied_seq"] for p in h), sorted(seqs))
                self.assertEqual(t3.metric_sum("tickring_nats_messages_total"), 0)
                self.assert_exactly_once([t3], [{0, 1}], expected_counts(0, n), 2, replayed=True)

    def test_jetstream_cluster_survives_a_dead_server(self):
        """Three NATS servers, replicas 3: one killed mid-way, publishing and consuming go on."""
        n = 10_000
        first = write_file(self.dir, quotes(0, n), "first.lp")
        second = write_file(self.dir, quotes(n, n), "second.lp")
        with NatsCluster() as cluster:
            urls = cluster.urls
            with Tickring(urls, "--partition-count", "2", "--replicas", "3") as t:
                # The publisher is given one server: the feed's part is its own test.
                feed(cluster.servers[2].url, first, "--partition-count", "2", "--replicas", "3")
                wait_for("the first half", lambda: t.points() == n)
                # Kill the server tickring is connected to: it must reconnect elsewhere and
                # its consumers be made again on the survivors.
                victim = wait_for("tickring's server", lambda: next(
                    (s for s in cluster.servers
                     if any(c.get("name") == "tickring-server"
                            for c in (s.monitor("/connz") or {}).get("connections") or [])),
                    None))
                victim.kill()
                survivor = next(s for s in cluster.servers if s is not victim)
                # Until the stream has a leader among the survivors, a publish may fail.
                wait_for("the second half published", lambda: feed(
                    survivor.url, second, "--partition-count", "2",
                    "--publisher-id", "second-half", check=False).returncode == 0)
                wait_for("every point", lambda: t.points() == 2 * n)
                self.assert_exactly_once([t], [{0, 1}], expected_counts(0, 2 * n), 2)

    def test_retried_publish_is_stored_once(self):
        """The same file published twice with one --publisher-id: JetStream's duplicate
        window stores it once, tickring applies it once."""
        n = 5_000
        path = write_file(self.dir, quotes(0, n))
        marker = write_file(self.dir, quotes(n, 1), "marker.lp")
        with NatsServer() as nats, Tickring(nats.url) as t:
            feed(nats.url, path, "--publisher-id", "retry-test")
            msgs = nats.stream_state()["messages"]
            feed(nats.url, path, "--publisher-id", "retry-test")
            self.assertEqual(nats.stream_state()["messages"], msgs)
            feed(nats.url, marker)  # another id: stored; once applied, all before it is too
            wait_for("the marker", lambda: t.points() == n + 1)
            self.assertEqual(t.metric_sum("tickring_nats_messages_total"), msgs + 1)
            self.assert_exactly_once([t], [{0}], expected_counts(0, n + 1), 1)

    def test_serves_reads_while_nats_is_down_and_connects_later(self):
        """No NATS at start: the server starts, answers reads and /health (degraded), and
        consumes once a NATS server appears on the address."""
        port = free_port()
        url = "nats://127.0.0.1:%d" % port
        with Tickring(url) as t:
            h = t.get_json("/health")
            self.assertEqual(h[0], 200)
            self.assertEqual(h[1]["status"], "degraded")
            self.assertNotEqual(h[1]["nats"]["state"], "connected")
            self.assertEqual(t.get_json("/v1/series")[0], 200)
            with NatsServer(port=port) as nats:
                wait_for("connected", lambda: t.get_json("/health")[1]["nats"]["state"]
                         == "connected")
                feed(nats.url, write_file(self.dir, quotes(0, 100)))
                wait_for("the points", lambda: t.points() == 100)
                self.assertEqual(t.get_json("/health")[1]["status"], "ok")

    def test_bad_flags_are_refused(self):
        """Each mistake is refused at start (exit 2) with a message naming the flag."""
        from harness import SERVER
        cluster = write_file(self.dir, "partitions 4\ninstance 0-1 http://127.0.0.1:1\n"
                             "instance 2-3 http://127.0.0.1:2\n", "cluster.txt")
        cases = [
            (["--partitions", "0-1"], "--partitions needs --nats or --cluster"),
            (["--nats", "nats://127.0.0.1:1", "--partition-count", "4", "--partitions", "4"],
             "--partitions"),
            (["--nats", "127.0.0.1:4222"], "is not a NATS URL"),
            (["--cluster", cluster], "say which is this one with --partitions"),
            (["--cluster", cluster, "--partitions", "0"], "has no instance with partitions 0"),
            (["--cluster", cluster, "--partition-count", "8", "--partitions", "0-1"],
             "disagrees with --cluster"),
            (["--nats", "nats://127.0.0.1:1", "--replicas", "6"], "--replicas"),
            (["--nats", "nats://127.0.0.1:1", "--nats-start-time", "soon"], "--nats-start-time"),
        ]
        for args, message in cases:
            r = subprocess.run([SERVER, "--http", "127.0.0.1:0", "--ingest", "127.0.0.1:0", *args],
                               capture_output=True, text=True, timeout=WAIT)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(message, r.stderr, args)


if __name__ == "__main__":
    unittest.main(verbosity=2)
