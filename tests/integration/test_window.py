"""Integration tests of the sliding-window store's HTTP endpoints against the real server."""
import json
import os
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server  # noqa: E402

SEC = 1_000_000_000
T = 1_700_000_000 * SEC  # an explicit clock (--test-clock), so the test does not depend on the wall clock


def at(path, t):
    return "%s%stime=%d" % (path, "&" if "?" in path else "?", t)


class WindowTest(unittest.TestCase):
    # A server per test: the store's clock only moves forward, so tests must not share it.
    def setUp(self):
        self.srv = Server("--window", "10s", "--test-clock").__enter__()

    def tearDown(self):
        self.srv.__exit__(None, None, None)

    def call(self, method, path, body=None):
        status, _, data = self.srv.request(method, path, body.encode() if body is not None else None)
        return status, json.loads(data) if data else None

    def test_put_get_delete_and_average(self):
        self.assertEqual(self.call("PUT", at("/v1/window/a", T), '{"value": 12.5}'),
                         (200, {"key": "a", "value": 12.5}))
        self.assertEqual(self.call("PUT", at("/v1/window/b", T), "7.5")[0], 200)
        self.assertEqual(self.call("GET", at("/v1/window/a", T + SEC)), (200, {"key": "a", "value": 12.5}))
        self.assertEqual(self.call("GET", at("/v1/window", T + SEC)),
                         (200, {"average": 10, "count": 2, "window_seconds": 10}))
        self.assertEqual(self.call("DELETE", at("/v1/window/a", T + SEC)), (200, {"key": "a", "value": 12.5}))
        self.assertEqual(self.call("GET", at("/v1/window/a", T + SEC))[0], 404)
        self.assertEqual(self.call("DELETE", at("/v1/window/a", T + SEC))[0], 404)
        self.assertEqual(self.call("GET", at("/v1/window", T + SEC))[1]["average"], 7.5)
        self.call("DELETE", at("/v1/window/b", T + SEC))

    def test_entries_expire_after_the_window_from_their_latest_put(self):
        self.call("PUT", at("/v1/window/x", T), "1")
        self.call("PUT", at("/v1/window/y", T), "3")
        self.call("PUT", at("/v1/window/x", T + 5 * SEC), "1")  # put again: lives until T+15s
        self.assertEqual(self.call("GET", at("/v1/window", T + 11 * SEC))[1], {"average": 1, "count": 1, "window_seconds": 10})
        self.assertEqual(self.call("GET", at("/v1/window/y", T + 11 * SEC))[0], 404)
        self.assertEqual(self.call("GET", at("/v1/window/x", T + 14 * SEC))[0], 200)
        self.assertEqual(self.call("GET", at("/v1/window", T + 16 * SEC))[1]["count"], 0)
        self.assertEqual(self.call("GET", at("/v1/window", T + 16 * SEC))[1]["average"], 0)

    def test_bad_input(self):
        for body in ["NaN", "inf", '{"value":"x"}', "{}", "", "[1]", '{"value": 1e400}']:
            status, err = self.call("PUT", at("/v1/window/bad", T), body)
            self.assertEqual(status, 400, body)
            self.assertEqual(err["error"]["code"], 400)
        # A body past what a number needs never reaches the JSON parser.
        status, err = self.call("PUT", at("/v1/window/big", T), '{"value": 1, "x": "%s"}' % ("a" * 5000))
        self.assertEqual(status, 413)
        self.assertIn("1024", err["error"]["message"])
        status, err = self.call("PUT", at("/v1/window/" + "k" * 300, T), "1")
        self.assertEqual(status, 400)
        self.assertIn("256", err["error"]["message"])
        self.assertEqual(self.call("GET", "/v1/window?time=soon")[0], 400)
        self.assertEqual(self.call("POST", "/v1/window/a", "1")[0], 405)
        self.assertEqual(self.call("PUT", "/v1/window", "1")[0], 405)
        self.assertEqual(self.call("GET", "/v1/window/a/b")[0], 404)

    def test_server_clock_is_used_without_time(self):
        self.assertEqual(self.call("PUT", "/v1/window/now", "4")[0], 200)
        self.assertEqual(self.call("GET", "/v1/window/now"), (200, {"key": "now", "value": 4}))
        self.call("DELETE", "/v1/window/now")

    def test_without_test_clock_a_client_cannot_move_the_clock(self):
        with Server("--window", "10s") as srv:
            def call(method, path, body=None):
                status, _, data = srv.request(method, path, body.encode() if body else None)
                return status, json.loads(data) if data else None
            self.assertEqual(call("PUT", "/v1/window/k", "1")[0], 200)
            far = 9_000_000_000 * SEC  # the year 2255
            status, err = call("PUT", at("/v1/window/k2", far), "2")
            self.assertEqual(status, 400)
            self.assertIn("'time'", err["error"]["message"])
            self.assertEqual(call("GET", at("/v1/window", far))[0], 400)
            self.assertEqual(call("GET", "/v1/window/k"), (200, {"key": "k", "value": 1}))
            self.assertEqual(call("GET", "/v1/window")[1]["count"], 1)
            self.assertNotIn("test-clock", subprocess.run([srv.args[0], "--help"], capture_output=True,
                                                          text=True).stdout)

    def test_concurrent_clients(self):
        errors = []

        def worker(i):
            try:
                for n in range(50):
                    s, _ = self.call("PUT", at("/v1/window/c%d" % i, T + n), str(i))
                    if s != 200:
                        errors.append(s)
                    s, body = self.call("GET", at("/v1/window", T + n))
                    if s != 200 or not 0 <= body["average"] <= 7:
                        errors.append(body)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(self.call("GET", at("/v1/window", T + 100))[1]["count"], 8)
        for i in range(8):
            self.call("DELETE", at("/v1/window/c%d" % i, T + 100))


if __name__ == "__main__":
    unittest.main(verbosity=2)
