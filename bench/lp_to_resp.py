#!/usr/bin/python3
"""Line protocol on stdin -> Redis XADD commands (RESP) on stdout, for `redis-cli --pipe`.

One stream per series: `quotes,sym=SYM0042 bid=1084.21,...,bid_size=1000000i,... T` becomes
XADD quotes:SYM0042 <T // 10^6>-<T % 10^6> bid 1084.21 ... bid_size 1000000 ...
The entry ID is the nanosecond time split into milliseconds and a sequence, so it rises
exactly when the time does (XADD refuses an ID not above the stream's last). Integer fields
lose their `i` suffix (a Redis value is a string; the number is the same). Only the simple
lines `bench gen-quotes` writes are understood: one tag, no escapes, no quotes.
Usage: bench/lp_to_resp.py < quotes.lp > quotes.resp
"""
import sys


def main():
    out = sys.stdout.buffer
    write = out.write
    for n, line in enumerate(sys.stdin.buffer, 1):
        line = line.rstrip(b"\r\n")
        if not line or line.startswith(b"#"):
            continue
        try:
            series, fields, ts = line.split(b" ")
            measurement, tag = series.split(b",")
            key = measurement + b":" + tag.split(b"=", 1)[1]
            t = int(ts)
            args = [b"XADD", key, b"%d-%d" % (t // 1_000_000, t % 1_000_000)]
            for kv in fields.split(b","):
                k, v = kv.split(b"=", 1)
                args.append(k)
                args.append(v[:-1] if v.endswith(b"i") else v)
        except ValueError:
            sys.exit("lp_to_resp.py: line %d is not a simple quote line: %r" % (n, line[:200]))
        write(b"*%d\r\n" % len(args))
        write(b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))


if __name__ == "__main__":
    main()
