"""Integration tests of the TCP line-protocol feed against the real server binary."""
import os
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import CLI, Server, read_lines, TIMEOUT  # noqa: E402


class FeedTest(unittest.TestCase):
    def test_good_lines_are_stored(self):
        with Server() as srv:
            with srv.feed() as s:
                s.sendall(b"quotes,sym=EURUSD bid=1.1,ask=1.2 1000\n"
                          b"quotes,sym=EURUSD bid=1.3,ask=1.4 2000\r\n"
                          b"# a comment\n\n"
                          b"quotes,symbol=GBPUSD,venue=x bid=2.1,ask=2.2 1500\n")
            self.assertEqual(srv.wait_points(3), 3)
            eur = srv.series("quotes", "EURUSD")
            self.assertEqual(eur["fields"], ["bid", "ask"])
            self.assertEqual((eur["count"], eur["first"], eur["last"]), (2, 1000, 2000))
            self.assertEqual(srv.series("quotes", "GBPUSD")["count"], 1)

    def test_escaped_names_survive_the_handoff_to_the_writer(self):
        # The feed thread parses and the ingest thread applies later: a name the parser had to
        # unescape must be kept with the batch, not read back from the parser's scratch (which
        # the next line overwrites). Many such lines in one read, each with different names.
        lines = b"".join(b"quo\\ tes,sym=S\\,%d bid\\ px=%d,ask=1 %d\n" % (i, i, 1000 + i)
                         for i in range(500))
        with Server() as srv:
            with srv.feed() as s:
                s.sendall(lines)
            self.assertEqual(srv.wait_points(500), 500)
            for i in (0, 1, 250, 499):
                one = srv.series("quo tes", "S,%d" % i)
                self.assertIsNotNone(one, i)
                self.assertEqual(one["fields"], ["bid px", "ask"])
                self.assertEqual((one["count"], one["first"]), (1, 1000 + i))

    def test_bad_lines_are_answered_and_good_ones_kept(self):
        with Server() as srv:
            with srv.feed() as s:
                s.sendall(b"quotes,sym=A bid=1,ask=2 100\n"
                          b"quotes,sym=A bid=oops 200\n"          # bad number
                          b"quotes,sym=A bid=1,ask=2,mid=3 300\n"  # unknown field
                          b"quotes,sym=A name=\"x\" 400\n"         # string field
                          b"quotes,sym=A bid=5,ask=6 500\n")
                lines = read_lines(s, 3)
            self.assertEqual(len(lines), 3, lines)
            self.assertTrue(lines[0].startswith("error line=2: "), lines[0])
            self.assertIn("bid", lines[0])
            self.assertTrue(lines[1].startswith("error line=3: "), lines[1])
            self.assertIn("mid", lines[1])
            self.assertTrue(lines[2].startswith("error line=4: "), lines[2])
            self.assertIn("string", lines[2])
            self.assertEqual(srv.wait_points(2), 2)
            a = srv.series("quotes", "A")
            self.assertEqual((a["count"], a["first"], a["last"]), (2, 100, 500))
            self.assertEqual(srv.get_json("/health")[1]["lines_rejected"], 3)

    def test_errors_owed_at_end_of_stream_are_delivered_before_close(self):
        with Server() as srv:
            with srv.feed() as s:
                s.sendall(b"quotes,sym=E bid=1,ask=2 10\n" + b"quotes,sym=E bid=x 20\n" * 300)
                s.shutdown(socket.SHUT_WR)
                lines = read_lines(s, 10**6, timeout=5)
            self.assertEqual(lines[0], "error line=2: " + lines[0].split(": ", 1)[1])
            self.assertEqual(sum(1 for l in lines if l.startswith("error line=")), 100)
            self.assertEqual(lines[-1], "error: 200 error lines suppressed (rate limit)")

    def test_line_split_across_reads(self):
        with Server() as srv:
            with srv.feed() as s:
                s.sendall(b"quotes,sym=S bid=1,a")
                time.sleep(0.2)
                s.sendall(b"sk=2 10\nquotes,sym=S bi")
                time.sleep(0.2)
                s.sendall(b"d=3,ask=4 20\n")
            self.assertEqual(srv.wait_points(2), 2)
            self.assertEqual(srv.series("quotes", "S")["last"], 20)

    def test_drop_mid_line_loses_only_that_line(self):
        with Server() as srv:
            with srv.feed() as s:
                s.sendall(b"quotes,sym=D bid=1,ask=2 10\nquotes,sym=D bid=3,ask=4 20\nquotes,sym=D bid=5")
            time.sleep(0.3)
            self.assertEqual(srv.wait_points(2), 2)
            self.assertEqual(srv.series("quotes", "D")["count"], 2)
            self.assertEqual(srv.get_json("/health")[1]["lines_rejected"], 0)

    def test_overlong_line_is_rejected_and_stream_resynchronises(self):
        with Server() as srv:
            with srv.feed() as s:
                s.sendall(b"quotes,sym=L bid=1,ask=2 10\n")
                s.sendall(b"quotes,sym=L " + b"x" * (70 * 1024) + b"=1 20\n")
                s.sendall(b"quotes,sym=L bid=3,ask=4 30\n")
                lines = read_lines(s, 1)
            self.assertEqual(len(lines), 1)
            self.assertIn("line=2", lines[0])
            self.assertIn("65536", lines[0])
            self.assertEqual(srv.wait_points(2), 2)
            self.assertEqual(srv.series("quotes", "L")["last"], 30)

    def test_many_connections_at_once(self):
        conns, per_conn = 20, 500
        with Server() as srv:
            def feed(i):
                with srv.feed() as s:
                    body = b"".join(b"quotes,sym=C%d bid=%d,ask=%d %d\n" % (i, n, n + 1, n + 1)
                                    for n in range(per_conn))
                    s.sendall(body)
            threads = [threading.Thread(target=feed, args=(i,)) for i in range(conns)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(TIMEOUT)
            self.assertEqual(srv.wait_points(conns * per_conn), conns * per_conn)
            self.assertEqual(srv.get_json("/health")[1]["series"], conns)

    def test_client_that_never_reads_cannot_stall_ingest(self):
        with Server() as srv:
            deaf = socket.socket()
            deaf.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            deaf.connect(("127.0.0.1", srv.ingest_port))
            deaf.settimeout(TIMEOUT)
            # 100k bad lines: their error answers would be megabytes; this client never reads.
            bad = b"quotes,sym=Z bid=notanumber\n" * 100000
            sender = threading.Thread(target=deaf.sendall, args=(bad,))
            sender.start()
            sender.join(TIMEOUT)
            self.assertFalse(sender.is_alive(), "server stopped reading the deaf client")
            with srv.feed() as s:
                s.sendall(b"quotes,sym=OK bid=1,ask=2 10\n")
            self.assertEqual(srv.wait_points(1, timeout=5), 1)
            deadline = time.monotonic() + TIMEOUT
            while srv.get_json("/health")[1]["lines_rejected"] < 100000 and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertEqual(srv.get_json("/health")[1]["lines_rejected"], 100000)
            deaf.close()

    def test_shutdown_under_load_applies_received_lines_and_exits_zero(self):
        with Server() as srv:
            stop = threading.Event()
            sent = [0]

            def pump():
                try:
                    with srv.feed() as s:
                        n = 0
                        while not stop.is_set() and n < 2_000_000:
                            batch = b"".join(b"quotes,sym=P bid=1,ask=2 %d\n" % (n + k) for k in range(1000))
                            s.sendall(batch)
                            n += 1000
                            sent[0] = n
                except OSError:
                    pass  # the server closed the connection while shutting down

            t = threading.Thread(target=pump)
            t.start()
            time.sleep(0.5)
            code, _ = srv.stop()
            stop.set()
            t.join(TIMEOUT)
            # Exit 0 within the harness's stop bound (past it the server is killed: -9).
            self.assertEqual(code, 0)
            self.assertGreater(sent[0], 0)


class FeedLimitsTest(unittest.TestCase):
    def test_connections_past_the_limit_are_refused_with_a_reason(self):
        with Server("--max-feed-connections", "2") as srv:
            a, b = srv.feed(), srv.feed()
            a.sendall(b"l,sym=A v=1 1\n")
            self.assertEqual(srv.wait_points(1), 1)  # both accepted by now
            c = srv.feed()
            self.assertIn("--max-feed-connections", read_lines(c, 1)[0])
            self.assertEqual(c.recv(100), b"")
            c.close()
            b.sendall(b"l,sym=A v=2 2\n")
            self.assertEqual(srv.wait_points(2), 2)
            a.close()
            b.close()
            time.sleep(0.3)
            with srv.feed() as d:
                d.sendall(b"l,sym=A v=3 3\n")
            self.assertEqual(srv.wait_points(3), 3)

    def test_idle_connection_is_closed(self):
        with Server("--feed-idle-timeout", "1s") as srv:
            with srv.feed() as s:
                s.sendall(b"l,sym=A v=1 1\n")
                time.sleep(0.6)
                s.sendall(b"l,sym=A v=2 2\n")  # activity postpones the timeout
                start = time.monotonic()
                s.settimeout(TIMEOUT)
                self.assertEqual(s.recv(100), b"")
                self.assertGreater(time.monotonic() - start, 0.5)
                self.assertLess(time.monotonic() - start, 5)
            self.assertEqual(srv.points(), 2)


class CliFeedTest(unittest.TestCase):
    @unittest.skipUnless(os.path.exists(CLI), "tickring CLI not built")
    def test_tickring_feed_file(self):
        import tempfile
        with Server() as srv, tempfile.NamedTemporaryFile("wb", suffix=".lp") as f:
            for n in range(10000):
                f.write(b"quotes,sym=F%d bid=%d,ask=%d %d\n" % (n % 10, n, n + 1, n + 1))
            f.write(b"quotes,sym=F0 bid=bad 1\n")
            f.flush()
            r = subprocess.run([CLI, "--ingest-port", str(srv.ingest_port), "--http-port",
                                str(srv.http_port), "feed", f.name],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(srv.wait_points(10000), 10000)
            self.assertIn("error line=10001", r.stderr + r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
