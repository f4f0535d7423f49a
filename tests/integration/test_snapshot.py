"""Journal snapshots (--snapshot-interval), with the real binary and real files: a snapshot
lets the segments before it go and a restart gives the very same points and change sequences;
kill -9 during a flat-out feed while snapshots are taken keeps a prefix of each connection; a
corrupt newest snapshot falls back to the previous one (and says so); none usable is refused."""
import asyncio
import glob
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import TIMEOUT  # noqa: E402
from test_journal import (WAIT, T0, FlatOutFeed, JournalServer, change_seq, line, segments,  # noqa: E402
                          start_fails)

SNAP = ("--snapshot-interval", "1s", "--journal-segment-bytes", "65536")


def snapshots(d):
    return sorted(glob.glob(os.path.join(d, "snap-*.tsn")))


def wait_metric(s, name, at_least):
    deadline = time.monotonic() + WAIT
    while True:
        v = s.metric(name)
        if v is not None and v >= at_least:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("%s stayed at %r (wanted >= %r)" % (name, v, at_least))
        time.sleep(0.05)


def eventually(check, what):
    """Waits until check() is true (a deletion queued to the flusher lands a little later)."""
    deadline = time.monotonic() + WAIT
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(what)
        time.sleep(0.05)


def state(s, syms):
    """Every point (time and values, not the ring's own seq) and change sequence of `syms`."""
    out = {}
    for sym in syms:
        status, body = s.get_json("/v1/series/quotes/%s?limit=100000" % sym)
        pts = [(p["time"], p["bid"], p["ask"]) for p in body["points"]] if status == 200 else None
        seq = asyncio.run(asyncio.wait_for(change_seq(s, "quotes/" + sym), WAIT))
        out[sym] = (pts, seq)
    return out


class SnapshotTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tickring-snapshot-")
        self.dir = os.path.join(self.tmp, "data")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def fill(self, s, sym, start, n):
        for k in range(start, start + n, 1000):
            self.assertEqual(s.write("".join(line(sym, i) for i in range(k, k + 1000))), 204)

    def wait_covered(self, s):
        """Until a snapshot holds every record written so far (a fresh journal's writer
        sequence starts at 1, so the position after N records is N + 1)."""
        records = s.metric("tickring_journal_records_total")
        wait_metric(s, "tickring_journal_snapshot_position", records + 1)

    def two_snapshots(self, s):
        """Writes, waits for a snapshot, writes more, waits for the next: the segments before
        the first one's position may then go."""
        self.fill(s, "R", 0, 10000)  # ~10 segments of 64 KiB
        # Overwrites, a delete, and a series whose only point was deleted (it stays, with its
        # change sequence).
        self.assertEqual(s.write("".join(line("D", i) for i in range(5))), 204)
        self.assertEqual(s.request("DELETE", "/v1/series/quotes/D/at/%d" % (T0 + 2))[0], 200)
        self.assertEqual(s.write("quotes,sym=D bid=42,ask=1 %d\n" % (T0 + 4)), 204)
        self.assertEqual(s.write(line("E", 7)), 204)
        self.assertEqual(s.request("DELETE", "/v1/series/quotes/E/at/%d" % (T0 + 7))[0], 200)
        self.wait_covered(s)
        self.fill(s, "R", 10000, 5000)
        self.assertEqual(s.write("quotes,sym=D bid=43,ask=1 %d\n" % (T0 + 1)), 204)
        self.wait_covered(s)

    def test_a_snapshot_drops_old_segments_and_a_restart_is_identical(self):
        with JournalServer(self.dir, *SNAP) as s:
            written = s.metric("tickring_journal_records_total")
            self.two_snapshots(s)
            # The ingest thread deletes the segments wholly before the older kept snapshot.
            wait_metric(s, "tickring_journal_segments_removed_total", 5)
            self.assertGreater(s.metric("tickring_journal_last_snapshot_seconds"), 1.6e9)
            self.assertGreater(s.metric("tickring_journal_last_snapshot_points"), 10000)
            eventually(lambda: s.metric("tickring_journal_snapshot_disk_bytes") ==
                       sum(os.path.getsize(p) for p in snapshots(self.dir)),
                       "snapshot bytes on disk differ from the metric")
            eventually(lambda: s.metric("tickring_journal_disk_bytes") ==
                       sum(os.path.getsize(p) for p in segments(self.dir)),
                       "segment bytes on disk differ from the metric")
            self.assertEqual(len(snapshots(self.dir)), 2)
            # ~15 segments of 64 KiB were written; those before the older snapshot are gone.
            self.assertLessEqual(len(segments(self.dir)), 8)
            before = state(s, ["R", "D", "E"])
            written = s.metric("tickring_journal_records_total")
        self.assertEqual([int(p[1]) for p in before["R"][0]], list(range(15000)))
        self.assertEqual([int(p[1]) for p in before["D"][0]], [0, 43, 3, 42])
        self.assertEqual(before["E"][0], [])
        # A snapshot a crash interrupted is a .tmp file: removed at start, never read.
        tmp = os.path.join(self.dir, "snap-00000000ffffffff.tmp")
        with open(tmp, "wb") as f:
            f.write(b"TICKRSNP half a snapshot")
        with JournalServer(self.dir, *SNAP) as s:
            log = s.wait_log("journal: replayed")
            self.assertIn("loading snapshot", log)
            self.assertIn("removed %s" % tmp, log)
            self.assertFalse(os.path.exists(tmp))
            self.assertEqual(state(s, ["R", "D", "E"]), before)
            # Replay read the snapshot and fewer records than were ever written.
            self.assertGreater(s.metric("tickring_journal_snapshot_loaded_points"), 10000)
            self.assertLess(s.metric("tickring_journal_replayed_records"), written)
            # Writing goes on after the snapshot's position, and survives the next restart.
            self.assertEqual(s.write(line("R", 15000)), 204)
        with JournalServer(self.dir, *SNAP) as s:
            self.assertEqual(s.bids("R")[-2:], [14999, 15000])
            self.assertEqual(state(s, ["D", "E"]), {k: before[k] for k in ("D", "E")})

    def test_a_corrupt_newest_snapshot_falls_back_to_the_previous_one(self):
        with JournalServer(self.dir, *SNAP) as s:
            self.two_snapshots(s)
            before = state(s, ["R", "D", "E"])
        snaps = snapshots(self.dir)
        self.assertEqual(len(snaps), 2)
        with open(snaps[-1], "r+b") as f:  # the newest: flip a byte in its middle
            f.seek(os.path.getsize(snaps[-1]) // 2)
            b = f.read(1)
            f.seek(-1, 1)
            f.write(bytes([b[0] ^ 0x20]))
        with JournalServer(self.dir, *SNAP) as s:
            log = s.wait_log("journal: replayed")
            self.assertIn("snapshot %s cannot be used" % snaps[-1], log)
            self.assertIn("loading snapshot %s" % snaps[0], log)
            self.assertEqual(state(s, ["R", "D", "E"]), before)
        self.assertTrue(os.path.exists(snaps[-1] + ".corrupt"))

    def test_no_usable_snapshot_is_refused_unless_repair(self):
        with JournalServer(self.dir, *SNAP) as s:
            self.two_snapshots(s)
            wait_metric(s, "tickring_journal_segments_removed_total", 1)
        for p in snapshots(self.dir):
            with open(p, "r+b") as f:  # cut short: torn
                f.truncate(os.path.getsize(p) - 3)
        rc, err = start_fails("--data-dir", self.dir)
        self.assertNotEqual(rc, 0)
        self.assertIn("no usable snapshot in %s" % self.dir, err)
        # --journal-repair replays the segments that are left (what was before them is lost).
        with JournalServer(self.dir, "--journal-repair") as s:
            log = s.wait_log("journal: replayed")
            self.assertIn("cannot be used", log)
            self.assertIn("trying the segments alone", log)
            self.assertGreater(s.info("R")["count"], 0)

    def test_snapshots_taken_under_a_feed_of_overwrites_and_deletes_restart_exactly(self):
        """The snapshot thread walks the rings while changes land; replaying the records from
        its position over it must give exactly the store at the stop (docs/design.md)."""
        syms = ["F%d" % k for k in range(8)]
        with JournalServer(self.dir, "--snapshot-interval", "1s") as s:
            stop = threading.Event()

            def deleter():  # deletes land between feed lines, during the walks
                i = 0
                while not stop.is_set():
                    s.request("DELETE", "/v1/series/quotes/%s/at/%d" % (syms[i % 8], T0 + i * 13))
                    i += 1

            d = threading.Thread(target=deleter)
            d.start()
            sock = s.feed()
            for k in range(0, 300_000, 3000):
                chunk = []
                for i in range(k, k + 3000):
                    chunk.append(line(syms[i % 8], i // 8))
                    if i % 5 == 0 and i > 4000:  # an overwrite of an earlier time
                        sym, j = syms[(i // 3) % 8], (i - 4000) // 8
                        chunk.append("quotes,sym=%s bid=%d,ask=0.5 %d\n" % (sym, 10**6 + i, T0 + j))
                chunk_bytes = "".join(chunk).encode()
                sock.sendall(chunk_bytes)
                if k == 150_000:  # a snapshot lands while the rest is fed
                    wait_metric(s, "tickring_journal_snapshots_total", 1)
            sock.sendall(b"quotes,sym=END bid=1,ask=1 %d\n" % T0)
            stop.set()
            d.join(TIMEOUT)
            eventually(lambda: s.info("END") is not None, "the feed's last line never landed")
            sock.close()
            self.assertGreaterEqual(s.metric("tickring_journal_snapshots_total"), 1)
            before = state(s, syms)
        with JournalServer(self.dir, "--snapshot-interval", "1s") as s:
            self.assertIn("loading snapshot", s.wait_log("journal: replayed"))
            self.assertEqual(state(s, syms), before)

    def test_bad_snapshot_flags_are_refused(self):
        for args, text in ((("--snapshot-interval", "soon"), "--snapshot-interval"),
                           (("--snapshot-interval", "500ms"), "at least 1s"),
                           (("--snapshot-bytes", "lots"), "snapshot-bytes")):
            rc, err = start_fails("--data-dir", self.dir, *args)
            self.assertNotEqual(rc, 0)
            self.assertIn(text, err)

    def test_kill_9_during_a_flat_out_feed_with_snapshots_keeps_a_prefix(self):
        kept = {}
        args = ("--snapshot-interval", "1s", "--journal-segment-bytes", "1048576")
        for round_ in range(3):
            sym = "K%d" % round_
            with JournalServer(self.dir, *args) as s:
                for old, n in kept.items():
                    self.assertEqual(s.info(old)["count"], n, old)
                    self.assertEqual(s.info(old)["last"], T0 + n - 1, old)
                feed = FlatOutFeed(s, sym)
                # Kill while the feed runs, after a snapshot taken during it.
                wait_metric(s, "tickring_journal_snapshots_total", 1)
                s.wait_points(sum(kept.values()) + 20_000, timeout=WAIT)
                s.kill9()
                feed.stop()
            with JournalServer(self.dir, *args) as s:
                # The restart starts from a snapshot, then the journal after it.
                self.assertIn("loading snapshot", s.wait_log("journal: replayed"))
                info = s.info(sym)
                n = 0 if info is None else info["count"]
                if n:
                    self.assertEqual((info["first"], info["last"]), (T0, T0 + n - 1), info)
                self.assertLessEqual(n, feed.sent)
                kept[sym] = n
        self.assertGreater(sum(kept.values()), 0)
        print("kill -9 rounds with snapshots kept %s points" % sorted(kept.items()),
              file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
