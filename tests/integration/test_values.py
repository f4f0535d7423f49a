"""Every value reads back exactly as it was written, whatever the server stores it in: short
decimals and small integers in 4-byte slots, anything else in 8 bytes, and a series whose later
values stop fitting its slots re-laid out (docs/design.md, "Points in memory"). Written over
/write and over the TCP feed, read back over HTTP, compared bit for bit."""
import json
import os
import random
import re
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server  # noqa: E402

POINTS = 3000
SERIES = 8


def float_bits(text):
    return struct.pack("<d", float(text))


def price(rng, i):
    """Mostly prices a feed writes (2 to 6 decimals); now and then a value that is not a
    short decimal (a computed double, -0.0, an extreme), so series widen at random moments."""
    r = rng.random()
    if r < 0.002:
        return repr(rng.random() * 1000)
    if r < 0.003:
        return rng.choice(["-0.0", "1e300", "5e-324", "2147483648.5", "0.30000000000000004"])
    decimals = rng.choice([2, 2, 2, 5, 6])
    return "%.*f" % (decimals, 100 + rng.randrange(0, 10 ** 6) / 10 ** 4)


def size(rng):
    return rng.choice([rng.randrange(1, 10 ** 6)] * 300 + [rng.randrange(-2 ** 62, 2 ** 62)])


def unsigned(rng):
    return rng.choice([rng.randrange(0, 10 ** 5)] * 300 + [rng.randrange(2 ** 32, 2 ** 64)])


class ValuesReadBackExactly(unittest.TestCase):
    def test_every_value_reads_back_bit_for_bit(self):
        rng = random.Random(20261130)
        written = {}  # (symbol, time) -> (bid text, ask text, size, flags)
        lines_http, lines_feed = [], []
        for i in range(POINTS):
            for k in range(SERIES):
                sym = "S%d" % k
                t = 1_700_000_000_000_000_000 + i * 1000 + k
                v = (price(rng, i), price(rng, i), size(rng), unsigned(rng), rng.random() < 0.5)
                written[(sym, t)] = v
                line = "q,sym=%s bid=%s,ask=%s,size=%di,flags=%du,ok=%s %d\n" % (
                    sym, v[0], v[1], v[2], v[3], "true" if v[4] else "false", t)
                (lines_http if k % 2 == 0 else lines_feed).append(line)
        with Server() as srv:
            for start in range(0, len(lines_http), 1000):
                status, _, body = srv.request(
                    "POST", "/write", "".join(lines_http[start:start + 1000]).encode())
                self.assertEqual(status, 204, body)
            sock = srv.feed()
            sock.sendall("".join(lines_feed).encode())
            self.assertEqual(srv.wait_points(len(written)), len(written))
            sock.close()
            for k in range(SERIES):
                sym = "S%d" % k
                status, _, body = srv.request(
                    "GET", "/v1/series/q/%s?order=asc&limit=%d" % (sym, POINTS))
                self.assertEqual(status, 200)
                # Numbers as their text: json's float() of it is the double the server wrote.
                points = json.loads(body, parse_float=str, parse_int=str)["points"]
                self.assertEqual(len(points), POINTS, sym)
                for p in points:
                    v = written[(sym, int(p["time"]))]
                    where = "%s at %s" % (sym, p["time"])
                    self.assertEqual(float_bits(p["bid"]), float_bits(v[0]), where)
                    self.assertEqual(float_bits(p["ask"]), float_bits(v[1]), where)
                    self.assertEqual(int(p["size"]), v[2], where)
                    self.assertEqual(int(p["flags"]), v[3], where)
                    self.assertEqual(p["ok"], v[4], where)
            status, _, body = srv.request("GET", "/metrics")
            m = re.search(rb"^tickring_series_relayouts_total (\d+)$", body, re.M)
            self.assertIsNotNone(m)
            relayouts = int(m.group(1))
            # Every series met values too wide for 4 bytes; each field widens at most once.
            self.assertGreaterEqual(relayouts, SERIES)
            self.assertLessEqual(relayouts, SERIES * 4)
            print("values test: %d points, %d re-layouts" % (len(written), relayouts))


if __name__ == "__main__":
    unittest.main(verbosity=2)
