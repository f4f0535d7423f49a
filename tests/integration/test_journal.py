"""The journal (--data-dir), with the real binary and real files, after Redis's own AOF tests:
a torn last record, a corrupt record in the middle, kill -9 during a feed, acknowledged writes
under --fsync always, a stream resumed across a restart, a locked or unwritable directory, and
a full disk."""
import asyncio
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import SERVER, SLOW, TIMEOUT, LoggedServer  # noqa: E402

import websockets  # noqa: E402  (python3-websockets; a missing module fails the run)

T0 = 1_700_000_000_000_000_000
WAIT = 30.0 * SLOW  # a sanitizer build is slower (TICKRING_TEST_SLOW=1)


def line(sym, i, m="quotes"):
    # The bid is the line's index: a stored point says which line it came from.
    return "%s,sym=%s bid=%d,ask=%d.5 %d\n" % (m, sym, i, i, T0 + i)


class FlatOutFeed:
    """One feed connection sending lines of `sym` (times T0, T0+1, ...) as fast as it can on a
    thread until stop(), or until the server dies under it; `sent` counts the lines sent."""

    def __init__(self, server, sym):
        self.sent = 0
        self._stop = threading.Event()
        self._sock = server.feed()
        self._sym = sym
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def _run(self):
        i = 0
        try:
            while not self._stop.is_set():
                self._sock.sendall("".join(line(self._sym, j)
                                           for j in range(i, i + 1000)).encode())
                i += 1000
                self.sent = i
        except OSError:
            pass  # the server died under the feed: that is the test
        finally:
            self._sock.close()

    def stop(self):
        self._stop.set()
        self._thread.join(TIMEOUT)


class JournalServer(LoggedServer):
    """A server on a data directory whose log goes to a file the test can read."""

    def __init__(self, data_dir, *args):
        super().__init__("--data-dir", data_dir, *args, log_dir=data_dir + ".logs")

    def wait_log(self, text):
        return super().wait_log(text, WAIT)

    def write(self, body):
        return self.request("POST", "/write", body.encode())[0]

    def info(self, sym, m="quotes"):
        return self.series(m, sym)

    def bids(self, sym, limit=100000):
        status, body = self.get_json("/v1/series/quotes/%s?limit=%d" % (sym, limit))
        assert status == 200, body
        return [int(p["bid"]) for p in body["points"]]

    def metric(self, name):
        text = self.request("GET", "/metrics")[2].decode()
        m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
        return float(m.group(1)) if m else None


async def change_seq(s, series):
    """The series' change sequence, as a stream subscription reports it."""
    ws = await websockets.connect("ws://127.0.0.1:%d/v1/stream" % s.http_port, open_timeout=WAIT)
    await ws.send(json.dumps({"op": "subscribe", "id": 1, "series": series}))
    m = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
    await ws.close()
    assert m["type"] == "subscribed", m
    return m["seq"]


def start_fails(*args):
    r = subprocess.run([SERVER, "--http", "127.0.0.1:0", "--ingest", "127.0.0.1:0",
                        "--log-level", "warn", *args], capture_output=True, text=True,
                       timeout=60 * SLOW)
    return r.returncode, r.stderr


def segments(d):
    return sorted(glob.glob(os.path.join(d, "seg-*.tjl")))


class JournalTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tickring-journal-")
        self.dir = os.path.join(self.tmp, "data")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def assert_contiguous_prefix(self, s, sym):
        """The series holds exactly lines 0..n-1 of what was sent for it; returns n."""
        info = s.info(sym)
        if info is None:
            return 0
        n = info["count"]
        # Unique times T0+i, count n, first T0 and last T0+n-1: exactly 0..n-1 are there.
        self.assertEqual(info["first"], T0, info)
        self.assertEqual(info["last"], T0 + n - 1, info)
        return n

    def test_torn_last_record_is_dropped_then_a_later_write_survives_too(self):
        with JournalServer(self.dir) as s:
            self.assertEqual(s.write("".join(line("T", i) for i in range(10))), 204)
        last = segments(self.dir)[-1]
        os.truncate(last, os.path.getsize(last) - 1)  # the last record cut by one byte
        with JournalServer(self.dir) as s:
            self.assertEqual(s.bids("T"), list(range(9)))
            log = s.wait_log("torn last record")
            self.assertIn("torn last record", log)
            self.assertIn(last, log)
            self.assertEqual(s.write(line("T", 9)), 204)
        with JournalServer(self.dir) as s:
            self.assertEqual(s.bids("T"), list(range(10)))
            self.assertNotIn("torn", s.wait_log("journal: replayed"))

    def test_flipped_byte_in_the_middle_is_refused_and_repair_keeps_the_prefix(self):
        with JournalServer(self.dir) as s:
            for i in range(100):  # one request per point: the records follow one another
                self.assertEqual(s.write(line("F", i)), 204)
        seg = segments(self.dir)[-1]
        size = os.path.getsize(seg)
        with open(seg, "r+b") as f:
            f.seek(size // 2)
            b = f.read(1)
            f.seek(size // 2)
            f.write(bytes([b[0] ^ 0x10]))
        code, err = start_fails("--data-dir", self.dir)
        self.assertEqual(code, 1, err)
        self.assertIn("corrupt record in %s at offset" % seg, err)
        self.assertIn("--journal-repair", err)
        offset = int(re.search(r"at offset (\d+)", err).group(1))
        self.assertLessEqual(offset, size // 2)
        self.assertGreater(offset, 0)
        with JournalServer(self.dir, "--journal-repair") as s:
            n = self.assert_contiguous_prefix(s, "F")
            self.assertGreater(n, 10)
            self.assertLess(n, 100)
            self.assertEqual(s.bids("F"), list(range(n)))
            self.assertIn("--journal-repair", s.wait_log("--journal-repair"))
        # Repaired for good: a plain start now works and keeps the same prefix.
        with JournalServer(self.dir) as s:
            self.assertEqual(self.assert_contiguous_prefix(s, "F"), n)

    def test_kill_9_during_a_flat_out_feed_keeps_a_prefix_of_each_connection(self):
        kept = {}
        for round_ in range(4):
            sym = "K%d" % round_
            with JournalServer(self.dir, "--journal-segment-bytes", "1048576") as s:
                for old, n in kept.items():  # what earlier rounds kept is still all there
                    self.assertEqual(self.assert_contiguous_prefix(s, old), n, old)
                feed = FlatOutFeed(s, sym)
                # Kill once a good part has been applied (and some of it journaled).
                s.wait_points(sum(kept.values()) + 50_000 * (round_ + 1), timeout=WAIT)
                s.kill9()
                feed.stop()
            with JournalServer(self.dir) as s:
                n = self.assert_contiguous_prefix(s, sym)
                self.assertLessEqual(n, feed.sent)
                kept[sym] = n
        self.assertGreater(sum(kept.values()), 0)
        print("kill -9 rounds kept %s points" % sorted(kept.items()), file=sys.stderr)

    def test_fsync_always_keeps_every_acknowledged_write_after_kill_9(self):
        acked = {}
        with JournalServer(self.dir, "--fsync", "always") as s:
            stop = threading.Event()

            def writer(sym):
                i = 0
                while not stop.is_set():
                    body = "".join(line(sym, j) for j in range(i, i + 10))
                    try:
                        status = s.write(body)
                    except OSError:
                        return  # killed mid-request: not acknowledged
                    if status != 204:
                        return
                    i += 10
                    acked[sym] = i

            threads = [threading.Thread(target=writer, args=("A%d" % k,)) for k in range(4)]
            for t in threads:
                t.start()
            s.wait_points(2000, timeout=WAIT)
            s.kill9()
            stop.set()
            for t in threads:
                t.join(TIMEOUT)
        self.assertEqual(len(acked), 4)
        print("fsync always: acknowledged before kill -9: %s" % sorted(acked.items()),
              file=sys.stderr)
        with JournalServer(self.dir) as s:
            for sym, n in acked.items():
                self.assertGreaterEqual(self.assert_contiguous_prefix(s, sym), n, sym)

    def test_a_stream_client_resumes_across_a_restart_with_since_seq(self):
        async def subscribe(s, **kw):
            ws = await websockets.connect("ws://127.0.0.1:%d/v1/stream" % s.http_port,
                                          open_timeout=WAIT)
            await ws.send(json.dumps({"op": "subscribe", "id": 1, "series": "quotes/S", **kw}))
            return ws

        async def recv(ws):
            return json.loads(await asyncio.wait_for(ws.recv(), WAIT))

        async def before(s):
            ws = await subscribe(s)
            self.assertEqual((await recv(ws))["type"], "subscribed")
            self.assertEqual((await recv(ws))["type"], "snapshot")
            self.assertEqual(s.write("".join(line("S", i) for i in range(20))), 204)
            got = [await recv(ws) for _ in range(20)]
            self.assertEqual([m["seq"] for m in got], list(range(1, 21)))
            await ws.close()
            return got[-1]["seq"]

        async def after(s, last):
            ws = await subscribe(s, since_seq=last)
            sub = await recv(ws)
            self.assertEqual((sub["type"], sub["seq"]), ("subscribed", last))
            self.assertEqual(s.write("".join(line("S", i) for i in range(20, 25))), 204)
            got = [await recv(ws) for _ in range(5)]
            # No reset, no gap: exactly the changes after the last one seen before the restart.
            self.assertEqual([(m["type"], m["seq"]) for m in got],
                             [("point", k) for k in range(last + 1, last + 6)])
            await ws.close()

        with JournalServer(self.dir) as s:
            last = asyncio.run(asyncio.wait_for(before(s), 120))
        with JournalServer(self.dir) as s:
            asyncio.run(asyncio.wait_for(after(s, last), 120))
        # Across kill -9 too (fsync always: every acknowledged write is on disk).
        with JournalServer(self.dir, "--fsync", "always") as s:
            self.assertEqual(s.write(line("S", 25)), 204)
            s.kill9()
        with JournalServer(self.dir) as s:
            asyncio.run(asyncio.wait_for(after(s, last + 6), 120))

    def test_deletes_and_overwrites_replay(self):
        with JournalServer(self.dir) as s:
            self.assertEqual(s.write("".join(line("D", i) for i in range(5))), 204)
            self.assertEqual(s.request("DELETE", "/v1/series/quotes/D/at/%d" % (T0 + 2))[0], 200)
            self.assertEqual(s.write("quotes,sym=D bid=42,ask=1 %d\n" % (T0 + 4)), 204)
            seq = s.get_json("/v1/series/quotes/D/latest")[1]
        with JournalServer(self.dir) as s:
            self.assertEqual(s.bids("D"), [0, 1, 3, 42])
            self.assertEqual(s.get_json("/v1/series/quotes/D/latest")[1], seq)
            # A write that adds no record is answered at once after a replay too.
            self.assertEqual(s.request("POST", "/write", b"not line protocol")[0], 400)
            self.assertEqual(s.request("POST", "/write", b"")[0], 204)

    def test_rotation_to_many_segments_replays_them_all(self):
        with JournalServer(self.dir, "--journal-segment-bytes", "65536") as s:
            for k in range(10):
                self.assertEqual(s.write("".join(line("R", i)
                                                 for i in range(k * 1000, k * 1000 + 1000))), 204)
            disk = s.metric("tickring_journal_disk_bytes")
        self.assertGreater(len(segments(self.dir)), 5)
        self.assertEqual(disk, sum(os.path.getsize(p) for p in segments(self.dir)))
        with JournalServer(self.dir, "--journal-segment-bytes", "65536") as s:
            self.assertEqual(self.assert_contiguous_prefix(s, "R"), 10000)
            self.assertEqual(s.metric("tickring_journal_replayed_records") >= 10000, True)

    def test_segments_that_retention_emptied_are_deleted_and_replay_is_unchanged(self):
        args = ("--journal-segment-bytes", "65536", "--max-points-per-series", "500")
        with JournalServer(self.dir, *args) as s:
            for k in range(20):  # 20,000 points, ~1.4 MB of journal: ~21 segments
                self.assertEqual(s.write("".join(line("E", i)
                                                 for i in range(k * 1000, k * 1000 + 1000))), 204)
            # Retention keeps the newest 500: every segment but the last one or two is dead.
            deadline = time.monotonic() + WAIT
            while s.metric("tickring_journal_segments_removed_total") < 15:
                self.assertLess(time.monotonic(), deadline, "no dead segment was deleted")
                time.sleep(0.05)
            self.assertLessEqual(len(segments(self.dir)), 6)
            before = s.get_json("/v1/series/quotes/E?limit=1000")[1]["points"]
            self.assertEqual(s.metric("tickring_journal_disk_bytes"),
                             sum(os.path.getsize(p) for p in segments(self.dir)))
        with JournalServer(self.dir, *args) as s:
            after = s.get_json("/v1/series/quotes/E?limit=1000")[1]["points"]
            # The same points (a point's `seq` is its ring's own, which replay does not keep).
            strip = [[(p["time"], p["bid"], p["ask"]) for p in ps] for ps in (before, after)]
            self.assertEqual(strip[1], strip[0])
            self.assertEqual([int(p["bid"]) for p in after], list(range(19500, 20000)))
            self.assertEqual(asyncio.run(asyncio.wait_for(change_seq(s, "quotes/E"), WAIT)), 20000)

    def test_metrics_and_health_describe_the_journal(self):
        with JournalServer(self.dir, "--fsync", "always") as s:
            self.assertEqual(s.write(line("M", 0)), 204)
            self.assertGreaterEqual(s.metric("tickring_journal_records_total"), 2)
            self.assertGreaterEqual(s.metric("tickring_journal_fsyncs_total"), 1)
            self.assertGreater(s.metric("tickring_journal_last_fsync_seconds"), 1.6e9)
            self.assertEqual(s.metric("tickring_journal_write_errors_total"), 0)
            self.assertGreater(s.metric("tickring_journal_disk_bytes"), 0)
            health = s.get_json("/health")[1]
            self.assertEqual(health["status"], "ok")
            self.assertTrue(health["journal"]["writing"])

    def test_a_second_server_on_the_same_directory_is_refused(self):
        with JournalServer(self.dir):
            code, err = start_fails("--data-dir", self.dir)
            self.assertEqual(code, 1, err)
            self.assertIn("--data-dir %s is locked by another tickring-server" % self.dir, err)

    def test_an_unwritable_directory_is_refused(self):
        blocker = os.path.join(self.tmp, "a-file")
        open(blocker, "w").close()
        code, err = start_fails("--data-dir", os.path.join(blocker, "data"))
        self.assertEqual(code, 1, err)
        self.assertIn(os.path.join(blocker, "data"), err)
        if os.geteuid() != 0:  # root writes through permission bits
            os.makedirs(self.dir)
            os.chmod(self.dir, 0o500)
            code, err = start_fails("--data-dir", self.dir)
            self.assertEqual(code, 1, err)
            self.assertIn("cannot write --data-dir %s" % self.dir, err)

    def test_bad_flags_are_refused(self):
        code, err = start_fails("--data-dir", self.dir, "--fsync", "sometimes")
        self.assertEqual(code, 2, err)
        self.assertIn("--fsync", err)
        code, err = start_fails("--data-dir", self.dir, "--journal-segment-bytes", "10")
        self.assertEqual(code, 2, err)
        self.assertIn("--journal-segment-bytes", err)


def mount_tmpfs(path, size):
    """A small tmpfs (root only); returns an error text when it cannot be had."""
    if os.geteuid() != 0:
        return "needs root to mount a tmpfs"
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", path],
                       capture_output=True, text=True, timeout=30)
    return None if r.returncode == 0 else "mount failed: " + r.stderr.strip()


class DiskFullTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tickring-journal-full-")
        self.mnt = os.path.join(self.tmp, "mnt")
        os.makedirs(self.mnt)
        why = mount_tmpfs(self.mnt, "2m")
        if why is not None:
            # A full disk needs a small filesystem: without one this test fails rather than
            # passing untested (the test command runs as root, which can mount it).
            self.fail("cannot mount a 2 MiB tmpfs for the disk-full test: " + why)

    def tearDown(self):
        subprocess.run(["umount", "-l", self.mnt], timeout=30)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_a_full_disk_refuses_writes_keeps_reads_and_recovers(self):
        data = os.path.join(self.mnt, "data")
        ballast = os.path.join(self.mnt, "ballast")
        with JournalServer(data, "--journal-segment-bytes", "65536") as s:
            self.assertEqual(s.write("".join(line("F", i) for i in range(100))), 204)
            with open(ballast, "wb") as f:  # fill the file system
                try:
                    while True:
                        f.write(b"\0" * 65536)
                        f.flush()
                except OSError:
                    pass
            acked = 100
            status, body = 204, b""
            while status == 204:  # the first write past the free bytes is refused
                status, _, body = s.request(
                    "POST", "/write", "".join(line("F", i) for i in range(acked, acked + 500)
                                              ).encode())
                if status == 204:
                    acked += 500
                self.assertIn(status, (204, 507), body)
            self.assertIn(b"No space left on device", body)
            # Refused while full, with the reason; reads keep serving.
            status, _, body = s.request("POST", "/write", line("F", 10**6).encode())
            self.assertEqual(status, 507, body)
            self.assertIn(b"refused", body)
            self.assertEqual(s.get_json("/v1/series/quotes/F/latest")[0], 200)
            self.assertGreaterEqual(s.metric("tickring_journal_write_errors_total"), 1)
            self.assertEqual(s.metric("tickring_journal_failing"), 1)
            self.assertEqual(s.get_json("/health")[1]["status"], "degraded")
            os.remove(ballast)  # space returns: writes are taken again
            deadline = time.monotonic() + WAIT
            while s.metric("tickring_journal_failing") != 0:
                self.assertLess(time.monotonic(), deadline, "the journal never recovered")
                time.sleep(0.05)
            self.assertEqual(s.write(line("F", 10**6)), 204)
            stored = s.info("F")["count"]
        with JournalServer(data) as s:
            info = s.info("F")
            self.assertEqual(info["count"], stored)
            self.assertGreaterEqual(info["count"], acked + 1)
            self.assertEqual(info["last"], T0 + 10**6)


if __name__ == "__main__":
    unittest.main()
