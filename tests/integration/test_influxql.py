"""InfluxQL /query against the real server: the InfluxDB Python client (python3-influxdb) runs
query() unchanged and gets the ResultSet InfluxDB 1.x gives for the same data; each request
Grafana's InfluxDB data source sends (its query editor's SHOW calls and a time-series panel
with GROUP BY time($__interval) fill(null)) gets the right answer shape; anything outside the
subset gets InfluxDB's error shape naming what is not supported."""
import json
import os
import sys
import unittest
import urllib.parse

from influxdb import InfluxDBClient
from influxdb.exceptions import InfluxDBClientError

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server  # noqa: E402

T0 = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z
SEC = 1_000_000_000
T0_MS = T0 // 1_000_000


def seed(srv):
    """quotes/EURUSD and quotes/GBPUSD every 2 s for 60 s (EURUSD misses 20..29 s), bid = i
    and i + 100; trades/BTCUSD: 3 points."""
    lines = []
    for i in range(0, 60, 2):
        if not 20 <= i < 30:
            lines.append("quotes,sym=EURUSD bid=%d.25,ask=%d.75,size=%di %d" % (i, i, i, T0 + i * SEC))
        lines.append("quotes,sym=GBPUSD bid=%d.5,ask=%d.5,size=%di %d" % (i + 100, i + 101, i, T0 + i * SEC))
    for i in range(3):
        lines.append("trades,sym=BTCUSD price=%d,buy=true %d" % (40000 + i, T0 + i * SEC))
    status, _, body = srv.request("POST", "/write?db=x", ("\n".join(lines) + "\n").encode())
    assert status == 204, body


def eur(i):
    return {"bid": i + 0.25, "ask": i + 0.75, "size": i}


EUR_SECONDS = [i for i in range(0, 60, 2) if not 20 <= i < 30]


class InfluxClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server().__enter__()
        seed(cls.srv)
        cls.client = InfluxDBClient("127.0.0.1", cls.srv.http_port, database="marketdata", timeout=10)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.srv.__exit__(None, None, None)

    def test_ping_and_databases(self):
        self.assertIn("1.8", self.client.ping())
        self.assertEqual(self.client.get_list_database(), [{"name": "marketdata"}])
        self.assertEqual(self.client.get_list_measurements(), [{"name": "quotes"}, {"name": "trades"}])

    def test_raw_select_one_symbol(self):
        rs = self.client.query("SELECT bid, ask FROM quotes WHERE sym = 'EURUSD' AND time >= %d AND "
                               "time <= %d" % (T0 + 10 * SEC, T0 + 40 * SEC))
        self.assertEqual(rs.raw["series"], [{
            "name": "quotes", "columns": ["time", "bid", "ask"],
            "values": [["2023-11-14T22:13:%02dZ" % (20 + i) if i < 40 else "2023-11-14T22:14:00Z",
                        eur(i)["bid"], eur(i)["ask"]] for i in EUR_SECONDS if 10 <= i <= 40]}])
        pts = list(rs.get_points())
        self.assertEqual(pts[0], {"time": "2023-11-14T22:13:30Z", "bid": 10.25, "ask": 10.75})

    def test_raw_select_star_desc_limit_epoch(self):
        rs = self.client.query("SELECT * FROM \"quotes\" WHERE \"sym\" = 'EURUSD' ORDER BY time DESC LIMIT 3",
                               epoch="ms")
        self.assertEqual(rs.raw["series"][0]["columns"], ["time", "ask", "bid", "size", "sym"])
        self.assertEqual(rs.raw["series"][0]["values"],
                         [[T0_MS + i * 1000, eur(i)["ask"], eur(i)["bid"], i, "EURUSD"] for i in (58, 56, 54)])

    def test_raw_select_oldest_with_limit(self):
        rs = self.client.query("SELECT bid FROM quotes WHERE sym = 'EURUSD' LIMIT 2", epoch="s")
        self.assertEqual(rs.raw["series"][0]["values"], [[T0 // SEC, 0.25], [T0 // SEC + 2, 2.25]])
        rs = self.client.query("SELECT bid FROM quotes WHERE time >= %d LIMIT 3" % (T0 + 18 * SEC), epoch="s")
        self.assertEqual(rs.raw["series"][0]["values"],
                         [[T0 // SEC + 18, 18.25], [T0 // SEC + 18, 118.5], [T0 // SEC + 20, 120.5]])

    def test_bounds_are_statement_errors(self):
        # Buckets of one second since 1970: past the bucket bound, InfluxDB's statement error.
        with self.assertRaises(InfluxDBClientError) as cm:
            self.client.query("SELECT mean(bid) FROM quotes WHERE time >= 0 GROUP BY time(1s)")
        self.assertIn("buckets", str(cm.exception))
        status, _, body = self.srv.request("GET", "/query?" + urllib.parse.urlencode(
            {"q": "SHOW DATABASES; SELECT mean(bid) FROM quotes WHERE time >= 0 GROUP BY time(1s)"}))
        doc = json.loads(body)
        self.assertEqual(status, 200)
        self.assertEqual(doc["results"][0]["series"][0]["values"], [["tickring"]])
        self.assertIn("more than", doc["results"][1]["error"])

    def test_raw_select_all_symbols_merged_by_time(self):
        rs = self.client.query("SELECT bid, sym FROM quotes WHERE time <= %d" % (T0 + 2 * SEC), epoch="s")
        self.assertEqual(rs.raw["series"][0]["values"], [
            [T0 // SEC, 0.25, "EURUSD"], [T0 // SEC, 100.5, "GBPUSD"],
            [T0 // SEC + 2, 2.25, "EURUSD"], [T0 // SEC + 2, 102.5, "GBPUSD"]])

    def test_aggregates_group_by_time_and_sym(self):
        q = ("SELECT mean(bid), max(bid), count(bid) AS n FROM quotes WHERE time >= '2023-11-14T22:13:20Z' "
             "AND time < '2023-11-14T22:14:20Z' GROUP BY time(20s), sym fill(none)")
        rs = self.client.query(q, epoch="s")
        eur_rows = list(rs.get_points(measurement="quotes", tags={"sym": "EURUSD"}))
        want = []
        for b in (0, 20, 40):
            vals = [eur(i)["bid"] for i in EUR_SECONDS if b <= i < b + 20]
            if vals:
                want.append({"time": T0 // SEC + b, "mean": sum(vals) / len(vals), "max": max(vals), "n": len(vals)})
        self.assertEqual(eur_rows, want)
        self.assertEqual([s["tags"] for s in rs.raw["series"]], [{"sym": "EURUSD"}, {"sym": "GBPUSD"}])

    def test_fill_variants(self):
        base = ("SELECT last(bid) FROM quotes WHERE sym = 'EURUSD' AND time >= %d AND time <= %d "
                "GROUP BY time(5s) " % (T0 + 15 * SEC, T0 + 34 * SEC))
        def values(fill):
            return self.client.query(base + fill, epoch="s").raw["series"][0]["values"]
        t = T0 // SEC
        self.assertEqual(values("fill(null)"), [[t + 15, 18.25], [t + 20, None], [t + 25, None], [t + 30, 34.25]])
        self.assertEqual(values("fill(none)"), [[t + 15, 18.25], [t + 30, 34.25]])
        self.assertEqual(values("fill(previous)"), [[t + 15, 18.25], [t + 20, 18.25], [t + 25, 18.25], [t + 30, 34.25]])
        self.assertEqual(values("fill(-1)"), [[t + 15, 18.25], [t + 20, -1], [t + 25, -1], [t + 30, 34.25]])

    def test_selector_without_group_by_answers_the_point_time(self):
        rs = self.client.query("SELECT last(bid) FROM quotes WHERE sym = 'GBPUSD'", epoch="s")
        self.assertEqual(rs.raw["series"][0]["values"], [[T0 // SEC + 58, 158.5]])
        rs = self.client.query("SELECT sum(size), count(size), min(bid) FROM quotes WHERE time >= %d" % T0, epoch="s")
        sizes = list(range(0, 60, 2)) + EUR_SECONDS
        self.assertEqual(rs.raw["series"][0]["values"], [[T0 // SEC, sum(sizes), len(sizes), 0.25]])

    def test_show_statements_through_the_client(self):
        self.assertEqual(list(self.client.query('SHOW TAG VALUES FROM "quotes" WITH KEY = "sym"').get_points()),
                         [{"key": "sym", "value": "EURUSD"}, {"key": "sym", "value": "GBPUSD"}])
        self.assertEqual(list(self.client.query('SHOW FIELD KEYS FROM "trades"').get_points()),
                         [{"fieldKey": "buy", "fieldType": "boolean"}, {"fieldKey": "price", "fieldType": "float"}])

    def test_no_data_is_an_empty_result(self):
        rs = self.client.query("SELECT bid FROM nothing")
        self.assertEqual(rs.raw, {"statement_id": 0})
        rs = self.client.query("SELECT bid FROM quotes WHERE sym = 'NOPE'")
        self.assertEqual(list(rs.get_points()), [])

    def test_unsupported_is_an_influxdb_error(self):
        for q, word in [("SELECT percentile(bid, 90) FROM quotes", "percentile"),
                        ("SELECT bid FROM quotes WHERE sym = 'A' OR sym = 'B'", "OR"),
                        ("DROP MEASUREMENT quotes", "DROP"),
                        ("SELECT bid FROM quotes WHERE bid > 3", "bid"),
                        ("SELECT mean(bid) FROM quotes WHERE time > 0 GROUP BY time(1m) fill(linear)", "linear")]:
            with self.assertRaises(InfluxDBClientError) as cm:
                self.client.query(q)
            self.assertEqual(cm.exception.code, 400)
            self.assertIn(word, cm.exception.content)
            self.assertIn("not supported", cm.exception.content)
        with self.assertRaises(InfluxDBClientError) as cm:
            self.client.query("SELECT FROM quotes")
        self.assertIn("error parsing query: found FROM", cm.exception.content)

    def test_answer_past_max_answer_bytes_is_a_statement_error(self):
        with Server("--max-answer-bytes", "2000") as srv:
            seed(srv)
            client = InfluxDBClient("127.0.0.1", srv.http_port, database="x", timeout=10)
            with self.assertRaises(InfluxDBClientError) as cm:
                client.query("SELECT * FROM quotes")
            self.assertIn("--max-answer-bytes", str(cm.exception))
            self.assertEqual(len(list(client.query("SELECT * FROM quotes LIMIT 2").get_points())), 2)
            client.close()


class GrafanaRequestsTest(unittest.TestCase):
    """The exact requests of Grafana's InfluxDB (InfluxQL) data source: GET /query with db, q
    and epoch=ms (its default), and the POST mode with a form body."""

    @classmethod
    def setUpClass(cls):
        cls.srv = Server().__enter__()
        seed(cls.srv)

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def grafana(self, q, method="GET"):
        params = urllib.parse.urlencode({"db": "tickring", "q": q, "epoch": "ms"})
        if method == "GET":
            status, headers, body = self.srv.request("GET", "/query?" + params)
        else:
            status, headers, body = self.srv.request(
                "POST", "/query", params.encode(), {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200, body)
        self.assertTrue(headers["X-Influxdb-Version"].startswith("1."))
        doc = json.loads(body)
        self.assertEqual(len(doc["results"]), 1)
        self.assertEqual(doc["results"][0]["statement_id"], 0)
        return doc["results"][0].get("series")

    def test_show_measurements_limit_100(self):
        self.assertEqual(self.grafana("SHOW MEASUREMENTS LIMIT 100"),
                         [{"name": "measurements", "columns": ["name"], "values": [["quotes"], ["trades"]]}])

    def test_show_measurements_with_filter(self):
        self.assertEqual(self.grafana("SHOW MEASUREMENTS WITH MEASUREMENT =~ /(?i)QUO/ LIMIT 100"),
                         [{"name": "measurements", "columns": ["name"], "values": [["quotes"]]}])

    def test_show_retention_policies(self):
        s = self.grafana('SHOW RETENTION POLICIES on "tickring"')
        self.assertEqual(s[0]["columns"][0], "name")
        self.assertEqual(s[0]["values"][0][0], "autogen")

    def test_show_tag_keys(self):
        self.assertEqual(self.grafana('SHOW TAG KEYS FROM "quotes"'),
                         [{"name": "quotes", "columns": ["tagKey"], "values": [["sym"]]}])

    def test_show_tag_values(self):
        self.assertEqual(self.grafana('SHOW TAG VALUES FROM "quotes" WITH KEY = "sym"'),
                         [{"name": "quotes", "columns": ["key", "value"],
                           "values": [["sym", "EURUSD"], ["sym", "GBPUSD"]]}])

    def test_show_field_keys(self):
        self.assertEqual(self.grafana('SHOW FIELD KEYS FROM "quotes"'),
                         [{"name": "quotes", "columns": ["fieldKey", "fieldType"],
                           "values": [["ask", "float"], ["bid", "float"], ["size", "integer"]]}])

    def test_show_field_keys_of_every_measurement(self):
        self.assertEqual([s["name"] for s in self.grafana("SHOW FIELD KEYS")], ["quotes", "trades"])

    def panel(self, group_by_sym, method="GET"):
        # $timeFilter -> time >= <from>ms and time <= <to>ms ; $__interval -> 10s
        q = ('SELECT mean("bid") FROM "quotes" WHERE ("sym" = \'EURUSD\') AND time >= %dms and '
             'time <= %dms GROUP BY time(10s) fill(null)' % (T0_MS, T0_MS + 59_999))
        if group_by_sym:
            q = ('SELECT mean("bid") FROM "quotes" WHERE time >= %dms and time <= %dms '
                 'GROUP BY time(10s), "sym" fill(null)' % (T0_MS, T0_MS + 59_999))
        return self.grafana(q, method)

    def test_time_series_panel(self):
        s = self.panel(False)
        want = []
        for b in range(0, 60, 10):
            vals = [i + 0.25 for i in EUR_SECONDS if b <= i < b + 10]
            want.append([T0_MS + b * 1000, sum(vals) / len(vals) if vals else None])
        self.assertEqual(s, [{"name": "quotes", "columns": ["time", "mean"], "values": want}])

    def test_time_series_panel_post_mode(self):
        self.assertEqual(self.panel(False, "POST"), self.panel(False, "GET"))

    def test_time_series_panel_grouped_by_sym(self):
        s = self.panel(True)
        self.assertEqual([x["tags"] for x in s], [{"sym": "EURUSD"}, {"sym": "GBPUSD"}])
        self.assertEqual(s[1]["values"][0], [T0_MS, sum(i + 100.5 for i in range(0, 10, 2)) / 5])

    def test_raw_query_editor_default(self):
        s = self.grafana('SELECT "bid" FROM "autogen"."quotes" WHERE ("sym"::tag = \'GBPUSD\') AND '
                         'time >= now() - 100000d ORDER BY time DESC LIMIT 2')
        self.assertEqual(s[0]["values"], [[T0_MS + 58_000, 158.5], [T0_MS + 56_000, 156.5]])

    def test_errors_have_influxdb_shape(self):
        status, _, body = self.srv.request("GET", "/query?db=x")
        self.assertEqual((status, json.loads(body)), (400, {"error": "missing required parameter \"q\""}))
        status, _, body = self.srv.request("GET", "/query?" + urllib.parse.urlencode({"q": "SHOW SERIES"}))
        self.assertEqual(status, 400)
        self.assertIn("SHOW SERIES is not supported", json.loads(body)["error"])
        status, _, body = self.srv.request("PUT", "/query?q=x")
        self.assertEqual(status, 405)


if __name__ == "__main__":
    unittest.main()
