"""Write (and read) authentication with --auth-token-file (docs/auth.md), against the real
server binary on loopback: HTTP's Authorization forms and InfluxDB's u/p, the TCP feed's
`auth <token>` first line, --auth-reads, SIGHUP rotation, and the CLI's --token /
TICKRING_TOKEN."""
import asyncio
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import CLI, TIMEOUT, Server, read_lines  # noqa: E402

import websockets  # noqa: E402  (python3-websockets; a missing module fails the run)
from websockets.exceptions import InvalidStatusCode  # noqa: E402

TOKEN = "f3b1c9d2e4a5968778695a4b3c2d1e0f"
OTHER = "0123456789abcdef0123456789abcdef"
SEC = 1_000_000_000
T0 = 1_700_000_000 * SEC


def token_file(*tokens, mode=0o600):
    fd, path = tempfile.mkstemp(prefix="tickring-token-")
    with os.fdopen(fd, "w") as f:
        f.write("# tokens, one per line\n\n" + "".join(t + "\n" for t in tokens))
    os.chmod(path, mode)
    return path


def bearer(token=TOKEN):
    return {"Authorization": "Bearer " + token}


def basic(password, user="anyone"):
    raw = ("%s:%s" % (user, password)).encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def metric(srv, line_prefix):
    status, _, body = srv.request("GET", "/metrics", headers=bearer())
    assert status == 200, status
    for line in body.decode().splitlines():
        if line.startswith(line_prefix + " "):
            return int(float(line.split()[-1]))
    raise AssertionError("no metric " + line_prefix)


class AuthServerTest(unittest.TestCase):
    """One server with a token file; reads open."""

    @classmethod
    def setUpClass(cls):
        cls.path = token_file(TOKEN, OTHER)
        cls.srv = Server("--auth-token-file", cls.path).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)
        os.unlink(cls.path)

    def write(self, body, headers=None, query=""):
        return self.srv.request("POST", "/write" + query, body.encode(), headers)

    def count(self, symbol):
        s = self.srv.series("q", symbol)
        return 0 if s is None else s["count"]

    def test_write_without_token_is_401_and_stores_nothing(self):
        status, headers, body = self.write("q,sym=NONE v=1 %d\n" % T0)
        self.assertEqual(status, 401)
        self.assertIn("needs a token", json.loads(body)["error"])  # InfluxDB's shape on /write
        challenges = [v for k, v in headers.items() if k.lower() == "www-authenticate"]
        self.assertTrue(challenges, headers)
        self.assertEqual(self.count("NONE"), 0)

    def test_wrong_token_is_401_in_every_form(self):
        for headers, query in [(bearer("x" * 32), ""), ({"Authorization": "Token " + "y" * 32}, ""),
                               (basic("z" * 32), ""), (None, "?u=me&p=" + "w" * 32),
                               (bearer(TOKEN[:-1]), ""), (bearer(TOKEN + "0"), ""),
                               ({"Authorization": "Basic not-base64!"}, ""),
                               ({"Authorization": "Digest " + TOKEN}, "")]:
            status, _, body = self.write("q,sym=WRONG v=1 %d\n" % T0, headers, query)
            self.assertEqual(status, 401, (headers, query))
        self.assertEqual(self.count("WRONG"), 0)

    def test_every_form_of_the_token_is_accepted(self):
        forms = [(bearer(), ""), ({"Authorization": "Token " + TOKEN}, ""),
                 ({"Authorization": "bearer " + OTHER}, ""), (basic(TOKEN), ""),
                 (basic(OTHER, user=""), ""), (None, "?u=someone&p=" + TOKEN),
                 (None, "?db=x&p=" + OTHER)]
        for i, (headers, query) in enumerate(forms):
            status, _, body = self.write("q,sym=OK v=%d %d\n" % (i, T0 + i), headers, query)
            self.assertEqual(status, 204, (headers, query, body))
        self.assertEqual(self.count("OK"), len(forms))

    def test_influxdb_python_client_with_username_and_password(self):
        script = r"""
import sys
from influxdb import InfluxDBClient
c = InfluxDBClient(host="127.0.0.1", port=int(sys.argv[1]), database="m",
                   username="writer", password=sys.argv[2])
assert c.write_points(["q,sym=INFLUX v=1 1700000000"], time_precision="s", protocol="line")
bad = InfluxDBClient(host="127.0.0.1", port=int(sys.argv[1]), database="m",
                     username="writer", password="not-the-token-at-all")
try:
    bad.write_points(["q,sym=INFLUX v=2 1700000001"], time_precision="s", protocol="line")
    sys.exit("a wrong password was accepted")
except Exception as e:
    assert "401" in str(e) or "invalid token" in str(e), e
print("ok")
"""
        r = subprocess.run(["/usr/bin/python3", "-c", script, str(self.srv.http_port), TOKEN],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        self.assertEqual(self.count("INFLUX"), 1)

    def test_delete_and_window_writes_need_the_token_reads_do_not(self):
        self.assertEqual(self.write("q,sym=DEL v=1 %d\n" % T0, bearer())[0], 204)
        target = "/v1/series/q/DEL/at/%d" % T0
        self.assertEqual(self.srv.request("DELETE", target)[0], 401)
        self.assertEqual(self.srv.request("GET", target)[0], 200)  # reads stay open
        self.assertEqual(self.srv.request("DELETE", target, headers=bearer())[0], 200)
        self.assertEqual(self.srv.request("GET", target)[0], 404)

        self.assertEqual(self.srv.request("PUT", "/v1/window/k", b"1")[0], 401)
        self.assertEqual(self.srv.request("PUT", "/v1/window/k", b"1", bearer())[0], 200)
        self.assertEqual(self.srv.request("GET", "/v1/window/k")[0], 200)
        self.assertEqual(self.srv.request("DELETE", "/v1/window/k")[0], 401)
        self.assertEqual(self.srv.request("DELETE", "/v1/window/k", headers=bearer())[0], 200)
        for path in ["/health", "/ping", "/metrics", "/v1/series", "/v1/window", "/"]:
            self.assertIn(self.srv.request("GET", path)[0], (200, 204), path)
        # POSTs that only carry a query are reads: open too.
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        self.assertEqual(self.srv.request("POST", "/query", b"q=SHOW+DATABASES", form)[0], 200)
        self.assertEqual(self.write("q,sym=DEL v=2 %d\n" % (T0 + 1), bearer())[0], 204)
        status, _, body = self.srv.request("POST", "/v1/series/q/DEL/asof",
                                           b'[%d]' % (T0 + 1))
        self.assertEqual(status, 200, body)

    def feed(self, payload, lines_expected):
        s = self.srv.feed()
        try:
            s.sendall(payload.encode())
            s.shutdown(socket.SHUT_WR)
            return read_lines(s, lines_expected)
        finally:
            s.close()

    def test_feed_needs_an_auth_first_line(self):
        before = metric(self.srv, 'tickring_auth_failures_total{listener="feed"}')
        lines = self.feed("q,sym=FEEDNONE v=1 %d\n" % T0, 1)
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("authentication required", lines[0])
        lines = self.feed("auth %s\nq,sym=FEEDNONE v=1 %d\n" % ("n" * 32, T0), 1)
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("invalid token", lines[0])
        self.assertEqual(self.count("FEEDNONE"), 0)
        self.assertEqual(metric(self.srv, 'tickring_auth_failures_total{listener="feed"}'),
                         before + 2)

    def test_refused_feed_gets_its_error_line_even_while_it_keeps_sending(self):
        s = self.srv.feed()
        try:
            s.sendall(b"auth wrong-token-wrong-token-wrong\n")
            line = b""
            s.settimeout(TIMEOUT)
            # The client keeps writing while the server refuses it: the error line must still
            # arrive (a close with unread data would reset the connection instead).
            junk = b"q,sym=JUNK v=1\n" * 1000
            deadline = time.monotonic() + TIMEOUT
            while b"\n" not in line and time.monotonic() < deadline:
                try:
                    s.sendall(junk)
                except OSError:
                    pass
                s.setblocking(False)
                try:
                    line += s.recv(4096)
                except BlockingIOError:
                    pass
                finally:
                    s.settimeout(TIMEOUT)
            self.assertIn(b"invalid token", line)
        finally:
            s.close()
        self.assertEqual(self.count("JUNK"), 0)

    def test_feed_with_the_token_stores_and_numbers_lines_after_the_auth_line(self):
        lines = self.feed("auth %s\nq,sym=FEEDOK v=1 %d\nq,sym=FEEDOK v=oops\n"
                          "q,sym=FEEDOK v=2 %d\n" % (OTHER, T0, T0 + 1), 1)
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith("error line=2:"), lines)
        # The error line can arrive before the server has read the line after it.
        deadline = time.monotonic() + TIMEOUT
        while self.count("FEEDOK") < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(self.count("FEEDOK"), 2)

    def test_sighup_reloads_the_token_file(self):
        new = "a" * 20 + "rotated-token"
        self.assertEqual(self.write("q,sym=ROT v=1 %d\n" % T0, bearer(new))[0], 401)
        with open(self.path, "w") as f:
            f.write("%s\n%s\n%s\n" % (TOKEN, OTHER, new))
        self.srv.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + TIMEOUT
        while self.write("q,sym=ROT v=1 %d\n" % T0, bearer(new))[0] != 204:
            self.assertLess(time.monotonic(), deadline, "SIGHUP did not load the new token")
            time.sleep(0.02)
        # A broken file keeps the tokens that are valid now.
        with open(self.path, "w") as f:
            f.write("short\n")
        self.srv.proc.send_signal(signal.SIGHUP)
        with open(self.path, "w") as f:
            f.write("%s\n%s\n" % (TOKEN, OTHER))
        self.srv.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + TIMEOUT
        while self.write("q,sym=ROT v=2 %d\n" % (T0 + 1), bearer(new))[0] != 401:
            self.assertLess(time.monotonic(), deadline, "SIGHUP did not drop the old token")
            time.sleep(0.02)
        self.assertIsNone(self.srv.proc.poll())
        self.assertEqual(self.write("q,sym=ROT v=3 %d\n" % (T0 + 2), bearer())[0], 204)

    def test_http_failures_are_counted(self):
        before = metric(self.srv, 'tickring_auth_failures_total{listener="http"}')
        self.write("q,sym=C v=1\n")
        self.write("q,sym=C v=1\n", bearer("b" * 32))
        self.assertEqual(metric(self.srv, 'tickring_auth_failures_total{listener="http"}'),
                         before + 2)


class AuthReadsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.path = token_file(TOKEN)
        cls.srv = Server("--auth-token-file", cls.path, "--auth-reads").__enter__()
        assert cls.srv.request("POST", "/write", b"q,sym=R v=1 %d\n" % T0, bearer())[0] == 204

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)
        os.unlink(cls.path)

    def test_reads_need_the_token_except_health_and_ping(self):
        for path in ["/v1/series", "/v1/series/q/R", "/v1/series/q/R/latest", "/metrics",
                     "/v1/window", "/"]:
            status, headers, body = self.srv.request("GET", path)
            self.assertEqual(status, 401, path)
            self.assertEqual(json.loads(body)["error"]["code"], 401)
            self.assertEqual(self.srv.request("GET", path, headers=bearer())[0], 200, path)
            self.assertEqual(self.srv.request("GET", path, headers=basic(TOKEN))[0], 200, path)
        self.assertEqual(self.srv.request("GET", "/health")[0], 200)
        self.assertEqual(self.srv.request("GET", "/ping")[0], 204)
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        self.assertEqual(self.srv.request("POST", "/query", b"q=SHOW+DATABASES", form)[0], 401)
        form.update(bearer())
        self.assertEqual(self.srv.request("POST", "/query", b"q=SHOW+DATABASES", form)[0], 200)

    def test_websocket_upgrade_needs_the_token(self):
        url = "ws://127.0.0.1:%d/v1/stream" % self.srv.http_port

        async def run():
            with self.assertRaises(InvalidStatusCode) as ctx:
                await asyncio.wait_for(websockets.connect(url), TIMEOUT)
            self.assertEqual(ctx.exception.status_code, 401)
            ws = await asyncio.wait_for(websockets.connect(url, extra_headers=bearer()), TIMEOUT)
            await ws.send(json.dumps({"op": "subscribe", "id": 1, "series": "q/R"}))
            msg = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
            self.assertEqual(msg.get("type"), "subscribed", msg)
            await ws.close()

        asyncio.run(run())


class OpenServerTest(unittest.TestCase):
    def test_open_server_ignores_an_auth_first_line(self):
        # A client configured with a token (TICKRING_TOKEN) also works against a server
        # without --auth-token-file.
        with Server() as srv:
            s = srv.feed()
            s.sendall(("auth %s\nq,sym=OPEN v=1 %d\n" % (TOKEN, T0)).encode())
            s.shutdown(socket.SHUT_WR)
            self.assertEqual(read_lines(s, 1), [])
            s.close()
            self.assertEqual(srv.wait_points(1), 1)
            self.assertEqual(srv.series("q", "OPEN")["count"], 1)


class CliTokenTest(unittest.TestCase):
    """The README's CLI commands keep working with auth on, given --token or TICKRING_TOKEN."""

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(CLI):
            raise AssertionError("tickring CLI not built: %s" % CLI)
        cls.path = token_file(TOKEN)
        cls.srv = Server("--auth-token-file", cls.path, "--auth-reads").__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)
        os.unlink(cls.path)

    def cli(self, *args, env_token=None, stdin=None):
        env = dict(os.environ)
        env.pop("TICKRING_TOKEN", None)
        if env_token is not None:
            env["TICKRING_TOKEN"] = env_token
        return subprocess.run([CLI, "--http-port", str(self.srv.http_port), "--ingest-port",
                               str(self.srv.ingest_port), *args], input=stdin,
                              capture_output=True, text=True, timeout=60, env=env)

    def test_window_and_reads_with_token_flag(self):
        r = self.cli("--token", TOKEN, "window", "put", "k", "2.5")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.cli("window", "put", "k", "3")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("401", r.stderr + r.stdout)
        r = self.cli("window", "get", "k", env_token=TOKEN)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("2.5", r.stdout)
        self.assertNotIn(TOKEN, self.cli("--help").stdout)

    def test_feed_and_latest_with_environment_token(self):
        data = "".join("cli,sym=F v=%d %d\n" % (i, T0 + i) for i in range(50))
        r = self.cli("feed", "-", env_token=TOKEN, stdin=data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.srv.wait_points(50), 50)
        r = self.cli("latest", "cli/F", "--json", env_token=TOKEN)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["point"]["time"], T0 + 49)
        r = self.cli("latest", "cli/F")
        self.assertNotEqual(r.returncode, 0)

    def test_feed_without_token_fails(self):
        r = self.cli("feed", "-", stdin="cli,sym=NOPE v=1 %d\n" % T0)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("authentication required", r.stderr + r.stdout)
        status, _, body = self.srv.request("GET", "/v1/series", headers=bearer())
        self.assertEqual(status, 200)
        self.assertNotIn(b"NOPE", body)

    def test_tail_with_token_receives_the_stream(self):
        import select
        body = "".join("cli,sym=T v=%d %d\n" % (i, T0 + i) for i in range(5)).encode()
        self.assertEqual(self.srv.request("POST", "/write", body, bearer())[0], 204)
        r = self.cli("tail", "cli/T", "--snapshot", "2", "--count", "1")
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("401", r.stderr)
        p = subprocess.Popen([CLI, "--http-port", str(self.srv.http_port), "--token", TOKEN,
                              "tail", "cli/T", "--snapshot", "2", "--count", "1"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out = b""
            deadline = time.monotonic() + TIMEOUT
            while out.count(b"\n") < 2 and time.monotonic() < deadline:
                if select.select([p.stdout], [], [], 0.1)[0]:
                    chunk = os.read(p.stdout.fileno(), 65536)
                    if not chunk:
                        break
                    out += chunk
            self.assertEqual(out.count(b"\n"), 2, out)  # the snapshot
            self.assertEqual(self.srv.request("POST", "/write", b"cli,sym=T v=9 %d\n" % (T0 + 9),
                                              bearer())[0], 204)
            rest, err = p.communicate(timeout=TIMEOUT)
            self.assertEqual(p.returncode, 0, err)
            self.assertEqual((out + rest).count(b"\n"), 3, out + rest)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()


if __name__ == "__main__":
    unittest.main()
