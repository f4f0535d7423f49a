"""The WebSocket stream (/v1/stream, docs/stream.md) against the real server binary, with a
real WebSocket client (Debian's python3-websockets). Loopback only; every wait is bounded."""
import asyncio
import json
import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import SLOW, Server  # noqa: E402

import websockets  # noqa: E402  (python3-websockets; a missing module fails the run)

T0 = 1_700_000_000_000_000_000
# Seconds for any single receive: a hang fails the test instead of CI. A sanitizer build of the
# server is several times slower (harness.SLOW).
WAIT = 30.0 * SLOW


def line(sym, t, bid, m="quotes"):
    return "%s,sym=%s bid=%s,ask=%s,bid_size=%di %d\n" % (m, sym, bid, bid + 0.0001, 100, t)


async def feed(server, lines):
    reader, writer = await asyncio.open_connection("127.0.0.1", server.ingest_port)
    writer.write("".join(lines).encode())
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def connect(server, **kw):
    return await websockets.connect("ws://127.0.0.1:%d/v1/stream" % server.http_port,
                                    open_timeout=WAIT, **kw)


async def recv(ws, timeout=WAIT):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_until(ws, pred, timeout=WAIT):
    """Receives messages until pred(msg); returns every message received, the last matching."""
    got = []
    while True:
        m = await recv(ws, timeout)
        got.append(m)
        if pred(m):
            return got


class Follower:
    """Applies one series' stream to a local copy and checks the sequence contract: after each
    snapshot at S the live messages are S+1, S+2, ...; a `lagged` is followed by a snapshot
    that starts a new run."""

    def __init__(self, test):
        self.test = test
        self.state = {}
        self.seq = None
        self.lagged = 0
        self.live = 0
        self.expect_snapshot = True

    def apply(self, m):
        t = m["type"]
        if t == "snapshot":
            self.test.assertTrue(self.expect_snapshot, "snapshot without lagged/subscribe")
            self.expect_snapshot = False
            if self.seq is not None:
                self.test.assertGreaterEqual(m["seq"], self.seq)
            self.state = {p["time"]: p["bid"] for p in m["points"]}
            self.seq = m["seq"]
        elif t == "lagged":
            self.lagged += 1
            self.expect_snapshot = True
        elif t in ("point", "delete"):
            self.test.assertFalse(self.expect_snapshot, "live message before the snapshot")
            self.test.assertEqual(m["seq"], self.seq + 1, "gap or duplicate")
            self.seq = m["seq"]
            self.live += 1
            if t == "point":
                self.state[m["time"]] = m["bid"]
            else:
                self.state.pop(m["time"], None)

    async def follow(self, ws, until_seq):
        while self.seq is None or self.seq < until_seq or self.expect_snapshot:
            self.apply(await recv(ws))


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 240 * SLOW))


class StreamTest(unittest.TestCase):
    def test_snapshot_then_live_without_gap_while_feed_runs_flat_out(self):
        """Subscribers join while one connection writes flat out into the very series (with
        overwrites); each sees snapshot S then S+1, S+2, ... and ends with the stored state."""
        n_points = 60_000

        async def body(server):
            await feed(server, [line("X", T0 + i, 1.0 + i) for i in range(100)])
            lines = []
            for i in range(100, n_points):
                t = T0 + i if i % 10 else T0 + i - 5  # every tenth line overwrites
                lines.append(line("X", t, 1.0 + i))
            writer_task = asyncio.create_task(feed(server, lines))
            results = []

            async def subscriber(k):
                await asyncio.sleep(0.002 * k)
                ws = await connect(server, max_size=None)
                await ws.send(json.dumps({"op": "subscribe", "id": k, "series": "quotes/X",
                                          "snapshot": 50}))
                sub = await recv(ws)
                f = Follower(self)
                f.apply(await recv(ws))
                self.assertEqual(sub["seq"], f.seq)
                # Every line is one change of X: the last one is change n_points. (Waiting
                # for "the feed is done" instead raced a subscriber that was already there.)
                while f.seq < n_points or f.expect_snapshot:
                    f.apply(await recv(ws))
                await ws.close()
                results.append(f)

            subs = [asyncio.create_task(subscriber(k)) for k in range(6)]
            await writer_task
            # Wait until everything is applied; the change sequence of X is then n_points.
            while server.series("quotes", "X")["count"] < n_points - (n_points - 100) // 10:
                await asyncio.sleep(0.05)
            await asyncio.gather(*subs)
            status, stored = server.get_json("/v1/series/quotes/X?limit=100000")
            stored = {p["time"]: p["bid"] for p in stored["points"]}
            for f in results:
                # The local copy holds exactly the stored values from its snapshot's reach up.
                for t, bid in f.state.items():
                    self.assertEqual(stored[t], bid)
                for t in stored:
                    if t >= min(f.state):
                        self.assertEqual(f.state.get(t), stored[t])
            self.assertGreater(sum(f.live for f in results), 0)

        # A short queue: the Python subscribers fall behind and are conflated often, which
        # checks the resync path too and keeps the run short.
        with Server("--ws-queue-messages", "4096") as s:
            run(body(s))

    def test_full_inbox_resyncs_after_the_feed_stops(self):
        """With a tiny inbox (ingest thread -> session) the hub drops records for the session;
        the subscriber must still end consistent with the store, even though no change
        follows the last drop (the session asks for the resync when it drains)."""
        n_points = 20_000

        async def body(server):
            await feed(server, [line("Z", T0, 1.0)])
            while server.series("quotes", "Z") is None:
                await asyncio.sleep(0.02)
            ws = await connect(server, max_size=None)
            await ws.send(json.dumps({"op": "subscribe", "id": 1, "series": "quotes/Z",
                                      "snapshot": 10}))
            await recv(ws)
            f = Follower(self)
            f.apply(await recv(ws))
            await feed(server, [line("Z", T0 + i, 1.0 + i) for i in range(1, n_points)])
            while f.seq < n_points or f.expect_snapshot:
                f.apply(await recv(ws))
            metrics = server.request("GET", "/metrics")[2].decode()
            drops = [l for l in metrics.splitlines()
                     if l.startswith("tickring_stream_inbox_drops_total ")]
            self.assertGreater(int(drops[0].split()[1]), 0, "the inbox never overflowed")
            self.assertGreater(f.lagged, 0)
            status, stored = server.get_json("/v1/series/quotes/Z?limit=100000")
            stored = {p["time"]: p["bid"] for p in stored["points"]}
            for t, bid in f.state.items():
                self.assertEqual(stored[t], bid)
            await ws.close()

        with Server("--ws-inbox", "4") as s:
            run(body(s))

    def test_resume_with_since_seq_and_reset_when_too_old(self):
        async def body(server):
            await feed(server, [line("R", T0 + i, 1.0 + i) for i in range(10)])
            while (server.series("quotes", "R") or {}).get("count", 0) < 10:
                await asyncio.sleep(0.02)
            ws = await connect(server)
            await ws.send(json.dumps({"op": "subscribe", "id": 1, "series": "quotes/R"}))
            self.assertEqual((await recv(ws))["seq"], 10)
            self.assertEqual((await recv(ws))["type"], "snapshot")
            await feed(server, [line("R", T0 + 10 + i, 2.0) for i in range(5)])
            got = [await recv(ws) for _ in range(5)]
            self.assertEqual([m["seq"] for m in got], [11, 12, 13, 14, 15])
            await ws.close()
            # Changes while disconnected, then resume after 12: exactly 13..20, no snapshot.
            await feed(server, [line("R", T0 + 15 + i, 3.0) for i in range(5)])
            ws = await connect(server)
            await ws.send(json.dumps({"op": "subscribe", "id": 1, "series": "quotes/R",
                                      "since_seq": 12, "snapshot": 3}))
            sub = await recv(ws)
            self.assertEqual((sub["type"], sub["seq"]), ("subscribed", 12))
            got = [await recv(ws) for _ in range(8)]
            self.assertEqual([(m["type"], m["seq"]) for m in got],
                             [("point", k) for k in range(13, 21)])
            # Far in the past (the server keeps 8 changes here): reset + a fresh snapshot.
            await ws.send(json.dumps({"op": "subscribe", "id": 2, "series": "quotes/R",
                                      "since_seq": 1, "snapshot": 3}))
            msgs = await recv_until(ws, lambda m: m["type"] == "snapshot")
            types = [m["type"] for m in msgs]
            self.assertEqual(types, ["subscribed", "reset", "snapshot"])
            self.assertIn("older", msgs[1]["reason"])
            self.assertEqual(msgs[2]["seq"], 20)
            self.assertEqual(len(msgs[2]["points"]), 3)
            # Ahead of the series (a server restarted without a journal): reset too.
            await ws.send(json.dumps({"op": "subscribe", "id": 3, "series": "quotes/R",
                                      "since_seq": 999}))
            msgs = await recv_until(ws, lambda m: m["type"] == "snapshot")
            self.assertEqual([m["type"] for m in msgs], ["subscribed", "reset", "snapshot"])
            await ws.close()

        with Server("--ws-replay", "8") as s:
            run(body(s))

    def test_replay_logs_stay_within_their_byte_budget(self):
        async def body(server):
            # Never read: closing it must not wait for the server's queue to drain.
            ws = await connect(server, max_size=None, close_timeout=1)
            for k in range(20):
                await ws.send(json.dumps({"op": "subscribe", "id": k, "series": "quotes/B%d" % k}))
            await feed(server, [line("B%d" % (i % 20), T0 + i, 1.0) for i in range(20_000)])
            while server.points() < 20_000:
                await asyncio.sleep(0.05)
            metrics = server.request("GET", "/metrics")[2].decode()
            held = [int(l.split()[1]) for l in metrics.splitlines()
                    if l.startswith("tickring_stream_replay_bytes ")][0]
            self.assertGreater(held, 0)
            self.assertLessEqual(held, 200_000)
            # Each log still keeps its newest changes: resuming 10 back works, 900 back resets.
            ws2 = await connect(server)
            await ws2.send(json.dumps({"op": "subscribe", "id": 1, "series": "quotes/B3",
                                       "since_seq": 990}))
            self.assertEqual((await recv(ws2))["seq"], 990)
            got = [await recv(ws2) for _ in range(10)]
            self.assertEqual([m["seq"] for m in got], list(range(991, 1001)))
            await ws2.send(json.dumps({"op": "subscribe", "id": 2, "series": "quotes/B3",
                                       "since_seq": 100}))
            msgs = await recv_until(ws2, lambda m: m["type"] == "snapshot")
            self.assertEqual([m["type"] for m in msgs], ["subscribed", "reset", "snapshot"])
            await ws.close()
            await ws2.close()

        with Server("--ws-replay-bytes", "200000") as s:
            run(body(s))

    def test_wildcard_sees_new_series_and_deletes_and_evictions_keep_the_count(self):
        async def body(server):
            await feed(server, [line("A", T0 + i, 1.0) for i in range(3)])
            while server.series("quotes", "A") is None:
                await asyncio.sleep(0.02)
            ws = await connect(server)
            await ws.send(json.dumps({"op": "subscribe", "id": 7, "series": "quotes/*"}))
            await ws.send(json.dumps({"op": "subscribe", "id": 8, "series": "quotes/LATER",
                                      "fields": ["bid"]}))
            first = await recv_until(ws, lambda m: m.get("id") == 8 and m["type"] == "snapshot")
            self.assertIn({"type": "subscribed", "id": 7, "series": "quotes/*"}, first)
            a_snap = [m for m in first if m["type"] == "snapshot" and m["id"] == 7]
            self.assertEqual(a_snap[0]["series"], "quotes/A")
            self.assertEqual(a_snap[0]["seq"], 3)
            self.assertEqual(first[-1]["seq"], 0)  # LATER does not exist yet
            # A new series; retention keeps 4 points, so most inserts evict one.
            await feed(server, [line("LATER", T0 + i, 5.0 + i) for i in range(10)])
            msgs = await recv_until(
                ws, lambda m: m.get("id") == 7 and m["type"] == "point" and m["seq"] == 10)
            later7 = [m for m in msgs if m.get("id") == 7 and m.get("series") == "quotes/LATER"]
            later8 = [m for m in msgs if m.get("id") == 8]
            self.assertEqual(later7[0]["type"], "snapshot")
            live7 = [m["seq"] for m in later7 if m["type"] == "point"]
            self.assertEqual(live7, list(range(later7[0]["seq"] + 1, 11)))
            live8 = later8 + await recv_until(ws, lambda m: m.get("id") == 8 and m["seq"] == 10) \
                if not any(m["seq"] == 10 for m in later8) else later8
            self.assertEqual([m["seq"] for m in live8 if m["type"] == "point"],
                             list(range(1, 11)))
            self.assertEqual(set(live8[0]) - {"type", "id", "series", "seq", "time"}, {"bid"})
            # DELETE reaches subscribers as `delete` with the next sequence number.
            status, _, _ = server.request("DELETE", "/v1/series/quotes/LATER/at/%d" % (T0 + 9))
            self.assertEqual(status, 200)
            msgs = await recv_until(ws, lambda m: m["type"] == "delete" and m["id"] == 8)
            dels = [m for m in msgs if m["type"] == "delete"]
            self.assertTrue(all(m["seq"] == 11 and m["time"] == T0 + 9 for m in dels))
            await ws.close()

        with Server("--max-points-per-series", "4") as s:
            run(body(s))

    def test_candles_update_the_open_bar_and_close_it(self):
        sec = 1_000_000_000

        async def body(server):
            base = T0 - T0 % sec
            await feed(server, [line("C", base + 100, 1.0), line("C", base + 200, 3.0)])
            while (server.series("quotes", "C") or {}).get("count", 0) < 2:
                await asyncio.sleep(0.02)
            ws = await connect(server)
            await ws.send(json.dumps({"op": "subscribe", "id": 1, "series": "quotes/C",
                                      "candles": "1s", "snapshot": 10}))
            await recv(ws)
            snap = await recv(ws)
            self.assertEqual(snap["interval"], "1s")
            bar = snap["bars"][-1]
            self.assertEqual(bar["time"], base // sec)
            self.assertAlmostEqual(bar["open"], 1.00005)
            self.assertAlmostEqual(bar["close"], 3.00005)
            self.assertEqual(bar["ticks"], 2)
            # Out of order inside the open bar, then a tick of the next bar closes it.
            await feed(server, [line("C", base + 150, 0.5)])
            m = await recv(ws)
            self.assertEqual((m["type"], m["final"]), ("bar", False))
            self.assertAlmostEqual(m["bar"]["low"], 0.50005)
            self.assertAlmostEqual(m["bar"]["close"], 3.00005)
            await feed(server, [line("C", base + sec + 1, 4.0)])
            closed, opened = await recv(ws), await recv(ws)
            self.assertEqual((closed["bar"]["time"], closed["final"]), (base // sec, True))
            self.assertEqual(closed["bar"]["ticks"], 3)
            self.assertEqual((opened["bar"]["time"], opened["final"]), (base // sec + 1, False))
            # A late tick of the closed bar: the bar again, final.
            await feed(server, [line("C", base + 300, 9.0)])
            late = await recv(ws)
            self.assertEqual((late["bar"]["time"], late["final"]), (base // sec, True))
            self.assertAlmostEqual(late["bar"]["high"], 9.00005)
            await ws.close()

        with Server() as s:
            run(body(s))

    def test_a_client_that_never_reads_is_conflated_and_others_keep_up(self):
        async def body(server):
            await feed(server, [line("S", T0, 1.0)])
            while server.series("quotes", "S") is None:
                await asyncio.sleep(0.02)
            slow = await connect(server, max_queue=1, read_limit=1024)
            await slow.send(json.dumps({"op": "subscribe", "id": 1, "series": "quotes/S"}))
            fast = await connect(server, max_size=None)
            await fast.send(json.dumps({"op": "subscribe", "id": 1, "series": "quotes/S"}))
            await recv(fast)
            snap = await recv(fast)
            total = 150_000

            async def paced():
                # About 20,000 quotes/s, so that a client that reads keeps up.
                _, writer = await asyncio.open_connection("127.0.0.1", server.ingest_port)
                for b in range(0, total, 200):
                    writer.write("".join(line("S", T0 + 1 + i, 1.5 + i)
                                         for i in range(b, b + 200)).encode())
                    await writer.drain()
                    await asyncio.sleep(0.01)
                writer.close()
                await writer.wait_closed()

            feeder = asyncio.create_task(paced())
            f = Follower(self)
            f.apply(snap)
            await f.follow(fast, total + 1)
            await feeder
            status, stored = server.get_json("/v1/series/quotes/S/latest")
            self.assertEqual(f.state[stored["point"]["time"]], stored["point"]["bid"])
            metrics = server.request("GET", "/metrics")[2].decode()
            conflations = [l for l in metrics.splitlines()
                           if l.startswith("tickring_ws_conflations_total ")]
            self.assertGreater(int(conflations[0].split()[1]), 0)
            # The slow client reads again: it is told it lagged and gets a fresh snapshot.
            msgs = await recv_until(slow, lambda m: m["type"] == "lagged", timeout=30)
            self.assertGreater(msgs[-1]["dropped"], 0)
            nxt = await recv_until(slow, lambda m: m["type"] == "snapshot", timeout=30)
            self.assertGreaterEqual(nxt[-1]["seq"], msgs[-1]["seq"])
            await slow.close()
            await fast.close()

        with Server("--ws-queue-messages", "2048") as s:
            run(body(s))

    def test_batch_sends_points_frames_in_order(self):
        async def body(server):
            ws = await connect(server, max_size=None)
            await ws.send(json.dumps({"op": "subscribe", "id": 5, "series": "b/*",
                                      "batch": 64}))
            await recv(ws)
            await feed(server, ["b,sym=S%d v=%d %d\n" % (i % 7, i, T0 + i) for i in range(5000)])
            last, frames, n = {}, 0, 0
            while n < 5000:
                m = await recv(ws)
                if m["type"] == "snapshot":
                    last[m["series"]] = m["seq"]
                    continue
                items = m["points"] if m["type"] == "points" else [m]
                if m["type"] == "points":
                    frames += 1
                    self.assertLessEqual(len(items), 64)
                    self.assertEqual(m["id"], 5)
                for p in items:
                    self.assertEqual(p["seq"], last[p["series"]] + 1)
                    last[p["series"]] = p["seq"]
                    n += 1
            self.assertGreater(frames, 0)
            await ws.send('{"op":"subscribe","id":6,"series":"b/S1","batch":"yes"}')
            self.assertEqual((await recv_until(ws, lambda m: m["type"] == "error"))[-1]["code"],
                             "bad_request")
            await ws.close()

        with Server() as s:
            run(body(s))

    def test_slow_policy_close(self):
        async def body(server):
            await feed(server, [line("Q", T0, 1.0)])
            while server.series("quotes", "Q") is None:
                await asyncio.sleep(0.02)
            slow = await connect(server, max_queue=1, read_limit=1024)
            await slow.send(json.dumps({"op": "subscribe", "id": 1, "series": "quotes/Q"}))
            await feed(server, [line("Q", T0 + 1 + i, 1.5) for i in range(150_000)])
            # Read only once everything is applied (a sanitizer build applies slowly).
            while server.series("quotes", "Q")["count"] < 150_001:
                await asyncio.sleep(0.05)
            with self.assertRaises(websockets.ConnectionClosed) as cm:
                while True:
                    await asyncio.wait_for(slow.recv(), 30)
            self.assertEqual(cm.exception.rcvd.code, 1008)

        with Server("--ws-queue-messages", "64", "--ws-slow-policy", "close") as s:
            run(body(s))

    def test_bad_input_gets_errors_and_abuse_closes(self):
        async def body(server):
            ws = await connect(server)
            cases = [
                ("not json", "invalid_json"),
                ('{"op":"dance"}', "unknown_op"),
                ('[1,2]', "bad_request"),
                ('{"op":"subscribe","id":1,"series":"noslash"}', "bad_series"),
                ('{"op":"subscribe","id":1,"series":"a/b","candles":"7x"}', "bad_interval"),
                ('{"op":"subscribe","id":1,"series":"a/b","candles":"2d"}', "bad_interval"),
                ('{"op":"subscribe","id":1,"series":"a/b","snapshot":10001}',
                 "snapshot_too_large"),
                ('{"op":"subscribe","series":"a/b"}', "bad_request"),
                ('{"op":"unsubscribe","id":42}', "unknown_id"),
            ]
            for text, code in cases:
                await ws.send(text)
                m = await recv(ws)
                self.assertEqual((m["type"], m["code"]), ("error", code), text)
            await ws.send(b"\x01\x02")
            self.assertEqual((await recv(ws))["code"], "binary_frame")
            await ws.send('{"op":"subscribe","id":1,"series":"a/b"}')
            await ws.send('{"op":"subscribe","id":1,"series":"a/c"}')
            msgs = await recv_until(ws, lambda m: m["type"] == "error")
            self.assertEqual(msgs[-1]["code"], "duplicate_id")
            await ws.send('{"op":"subscribe","id":2,"series":"a/c"}')
            await ws.send('{"op":"subscribe","id":3,"series":"a/d"}')
            msgs = await recv_until(ws, lambda m: m["type"] == "error")
            self.assertEqual(msgs[-1]["code"], "too_many_subscriptions")
            await ws.send('{"op":"unsubscribe","id":2}')
            msgs = await recv_until(ws, lambda m: m["type"] == "unsubscribed")
            self.assertEqual(msgs[-1]["id"], 2)
            await ws.send('{"op":"ping"}')
            self.assertEqual((await recv_until(ws, lambda m: m["type"] == "pong"))[-1],
                             {"type": "pong"})
            # Over 64 KiB: closed with 1009.
            await ws.send('{"op":"ping","pad":"%s"}' % ("x" * 70_000))
            with self.assertRaises(websockets.ConnectionClosed) as cm:
                while True:
                    await asyncio.wait_for(ws.recv(), WAIT)
            self.assertEqual(cm.exception.rcvd.code, 1009)
            # A flood of bad messages: closed with 1008 after 100.
            ws = await connect(server)
            for _ in range(100):
                await ws.send("{")
            with self.assertRaises(websockets.ConnectionClosed) as cm:
                while True:
                    await asyncio.wait_for(ws.recv(), WAIT)
            self.assertEqual(cm.exception.rcvd.code, 1008)
            # The server is fine.
            self.assertEqual(server.request("GET", "/health")[0], 200)

        with Server("--ws-max-subscriptions", "2") as s:
            run(body(s))

    def test_idle_client_that_never_answers_pings_is_closed(self):
        """A raw client completes the handshake and then never reads or answers: the server
        pings it after half the idle timeout and closes it after all of it."""
        import base64
        import socket as sk
        import time
        with Server("--ws-idle-timeout", "2s") as server:
            s = sk.create_connection(("127.0.0.1", server.http_port), timeout=WAIT)
            key = base64.b64encode(os.urandom(16)).decode()
            s.sendall(("GET /v1/stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                       "Sec-WebSocket-Version: 13\r\n\r\n" % key).encode())
            start = time.monotonic()
            data = b""
            while b"\r\n\r\n" not in data:
                data += s.recv(4096)
            self.assertIn(b" 101 ", data.split(b"\r\n")[0])
            rest = data.split(b"\r\n\r\n", 1)[1]
            while True:  # until the server closes the TCP connection (bounded by WAIT)
                chunk = s.recv(4096)
                if not chunk:
                    break
                rest += chunk
            self.assertLess(time.monotonic() - start, WAIT)
            self.assertEqual(rest[0] & 0x0F, 0x9, "the first frame is a ping")
            s.close()
            self.assertEqual(server.request("GET", "/health")[0], 200)

    def test_shutdown_closes_streams_with_1001(self):
        async def body(server):
            clients = []
            for k in range(3):
                ws = await connect(server)
                await ws.send(json.dumps({"op": "subscribe", "id": 1, "series": "quotes/*"}))
                await recv(ws)
                clients.append(ws)
            server.proc.send_signal(signal.SIGTERM)
            for ws in clients:
                with self.assertRaises(websockets.ConnectionClosed) as cm:
                    while True:
                        await asyncio.wait_for(ws.recv(), WAIT)
                self.assertEqual(cm.exception.rcvd.code, 1001)
            self.assertEqual(await asyncio.to_thread(server.proc.wait, 15), 0)

        with Server("--demo") as s:
            run(body(s))


if __name__ == "__main__":
    unittest.main(verbosity=2)
