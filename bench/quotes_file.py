#!/usr/bin/python3
"""Writes N 4-field quote lines over S symbols (round robin) to stdout: the input of the
`tickring feed --nats` and gateway figures in the README.

  bench/quotes_file.py 2000000 1000 > /tmp/quotes-2m.lp

quotes,sym=SYM0042 bid=1.00137,ask=1.00140,bid_size=1000000i,ask_size=2000000i <ns>
Deterministic (seeded), timestamps 1 µs apart from 2023-11-14T22:13:20Z.
"""
import random
import sys

T0 = 1_700_000_000_000_000_000
CHUNK = 100_000


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
    symbols = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    rng = random.Random(1)
    out = sys.stdout
    buf = []
    for i in range(n):
        bid = 100_000 + rng.randrange(1000)  # in 1e-5 units
        ask = bid + 3
        buf.append("quotes,sym=SYM%04d bid=%d.%05d,ask=%d.%05d,bid_size=1000000i,"
                   "ask_size=2000000i %d\n" % (i % symbols, bid // 100_000, bid % 100_000,
                                               ask // 100_000, ask % 100_000, T0 + i * 1000))
        if len(buf) == CHUNK:
            out.write("".join(buf))
            buf = []
    out.write("".join(buf))


if __name__ == "__main__":
    main()
