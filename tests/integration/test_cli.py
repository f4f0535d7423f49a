"""The tickring CLI's read, window and bench commands against the real server binary."""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import CLI, Server  # noqa: E402

SEC = 1_000_000_000
T0 = 1_700_000_000 * SEC


@unittest.skipUnless(os.path.exists(CLI), "tickring CLI not built")
class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server().__enter__()
        body = "".join("trades,sym=AAPL price=%d,size=%di %d\n" % (100 + i, i, T0 + i * SEC) for i in range(120))
        status, _, _ = cls.srv.request("POST", "/write", body.encode())
        assert status == 204

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def cli(self, *args, ok=True):
        r = subprocess.run([CLI, "--http-port", str(self.srv.http_port), *args],
                           capture_output=True, text=True, timeout=60)
        if ok:
            self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def test_series_and_latest(self):
        self.assertIn("trades/AAPL  120 points  fields price,size", self.cli("series").stdout)
        out = self.cli("latest", "trades/AAPL").stdout.splitlines()
        self.assertEqual(out[0].split(), ["time", "price", "size"])
        self.assertEqual(out[1].split(), ["2023-11-14T22:15:19.000000000Z", "219", "119"])
        j = json.loads(self.cli("latest", "trades/AAPL", "--json").stdout)
        self.assertEqual(j["point"]["time"], T0 + 119 * SEC)

    def test_health(self):
        self.assertEqual(json.loads(self.cli("health").stdout)["status"], "ok")
        # Nobody listens on port 1: exit status 1, as a container's HEALTHCHECK needs.
        r = subprocess.run([CLI, "--http-port", "1", "health"], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)

    def test_range(self):
        j = json.loads(self.cli("range", "trades/AAPL", "--json", "--limit", "3").stdout)
        self.assertEqual([p["price"] for p in j["points"]], [100, 101, 102])
        out = self.cli("range", "trades/AAPL", "--desc", "--limit", "2", "--csv").stdout
        self.assertEqual(out, "time,price,size\n%d,219,119\n%d,218,118\n" % (T0 + 119 * SEC, T0 + 118 * SEC))
        rows = self.cli("range", "trades/AAPL", "--from", str(T0 + 10 * SEC), "--to",
                        "2023-11-14T22:13:32Z").stdout.splitlines()
        self.assertEqual(len(rows), 1 + 3)

    def test_candles(self):
        j = json.loads(self.cli("candles", "trades/AAPL", "--interval", "1m", "--json").stdout)
        self.assertEqual(j["field"], "price")
        self.assertEqual([(c["open"], c["close"], c["volume"], c["ticks"]) for c in j["candles"]],
                         [(100, 139, sum(range(40)), 40), (140, 199, sum(range(40, 100)), 60),
                          (200, 219, sum(range(100, 120)), 20)])
        table = self.cli("candles", "trades/AAPL", "--interval", "1m").stdout.splitlines()
        self.assertEqual(len(table), 4)

    def test_window(self):
        self.assertIn("value 2.5", self.cli("window", "put", "k", "2.5").stdout)
        self.assertIn("value 2.5", self.cli("window", "get", "k").stdout)
        self.assertIn("count 1", self.cli("window", "stats").stdout)
        self.cli("window", "delete", "k")
        r = self.cli("window", "get", "k", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not found", r.stderr)
        self.assertEqual(self.cli("window", "frobnicate", ok=False).returncode, 2)

    def test_errors(self):
        r = self.cli("latest", "trades/NOPE", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no series trades/NOPE", r.stderr)
        self.assertEqual(self.cli("latest", "no-slash", ok=False).returncode, 2)
        r = subprocess.run([CLI, "--http-port", "1", "series"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1)

    def test_bench_query(self):
        j = json.loads(self.cli("bench", "query", "--requests", "2000", "--connections", "2", "--json").stdout)
        self.assertEqual(j["requests"], 2000)
        self.assertEqual(j["errors"], 0)
        self.assertGreater(j["p50_us"], 0)
        self.assertGreaterEqual(j["p99_us"], j["p50_us"])
        self.assertGreater(j["requests_per_second"], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
