// The InfluxQL subset parser (protocol/influxql.h): what Grafana and the client libraries send
// parses to the right statement; anything else is an error with a code and a position.
#include "protocol/influxql.h"

#include <gtest/gtest.h>

namespace iq = tickring::protocol::influxql;

namespace {

constexpr iq::time_ns kNow = 1'700'000'000'000'000'000;
constexpr iq::time_ns kSec = 1'000'000'000;

iq::statement one(std::string_view q) {
  const auto r = iq::parse(q, kNow);
  EXPECT_FALSE(r.error) << q << ": " << r.error.message;
  EXPECT_EQ(r.statements.size(), 1U) << q;
  return r.statements.empty() ? iq::statement{} : r.statements[0];
}

iq::parse_error error_of(std::string_view q) {
  const auto r = iq::parse(q, kNow);
  EXPECT_TRUE(r.error) << q;
  return r.error;
}

}  // namespace

TEST(InfluxQL, GrafanaTimeSeriesPanel) {
  const auto s =
      one("SELECT mean(\"bid\") FROM \"quotes\" WHERE (\"sym\" = 'EURUSD') AND time >= "
          "1700000000000ms and time <= 1700003600000ms GROUP BY time(1m) fill(null)");
  EXPECT_EQ(s.kind, iq::statement_kind::select);
  ASSERT_EQ(s.fields.size(), 1U);
  EXPECT_EQ(s.fields[0].agg, iq::aggregate::mean);
  EXPECT_EQ(s.fields[0].name, "bid");
  EXPECT_EQ(s.measurement, "quotes");
  EXPECT_EQ(s.symbol, "EURUSD");
  EXPECT_EQ(s.from, 1'700'000'000'000 * 1'000'000);
  EXPECT_EQ(s.to, 1'700'003'600'000 * 1'000'000);
  EXPECT_EQ(s.group_interval, 60 * kSec);
  EXPECT_EQ(s.fill, iq::fill_kind::null);
}

TEST(InfluxQL, RelativeTimeAndGroupBySymbol) {
  const auto s =
      one("select max(bid) AS hi, min(bid) from quotes where time > now() - 1h group by "
          "time(5m), \"sym\"::tag fill(previous) order by time desc limit 10");
  EXPECT_EQ(s.fields[0].alias, "hi");
  EXPECT_EQ(s.from, kNow - 3600 * kSec + 1);
  EXPECT_TRUE(s.group_by_symbol);
  EXPECT_EQ(s.fill, iq::fill_kind::previous);
  EXPECT_TRUE(s.descending);
  EXPECT_EQ(s.limit, 10U);
}

TEST(InfluxQL, RawSelectWithRfc3339AndQualifiedMeasurement) {
  const auto s =
      one("SELECT * FROM \"tickring\".\"autogen\".\"quotes\" WHERE sym = 'EUR\\'USD' AND time >= "
          "'2023-11-14T22:13:20Z' AND time < '2023-11-14T22:13:30Z'");
  EXPECT_EQ(s.fields[0].name, "*");
  EXPECT_EQ(s.measurement, "quotes");
  EXPECT_EQ(s.symbol, "EUR'USD");
  EXPECT_EQ(s.from, kNow);
  EXPECT_EQ(s.to, kNow + 10 * kSec - 1);
}

TEST(InfluxQL, FillNumberAndDurations) {
  EXPECT_EQ(one("SELECT count(bid) FROM q WHERE time >= 0 GROUP BY time(1s) fill(-1.5)").fill_value,
            -1.5);
  EXPECT_EQ(iq::parse_duration("2w"), 14 * 86400 * kSec);
  EXPECT_EQ(iq::parse_duration("10u"), 10'000);
  EXPECT_EQ(iq::parse_duration("100ns"), 100);
  EXPECT_FALSE(iq::parse_duration("0s"));
  EXPECT_FALSE(iq::parse_duration("5y"));
  EXPECT_FALSE(iq::parse_duration("99999999999999999d"));
}

TEST(InfluxQL, ShowStatementsGrafanaSends) {
  EXPECT_EQ(one("SHOW DATABASES").kind, iq::statement_kind::show_databases);
  EXPECT_EQ(one("SHOW RETENTION POLICIES on \"tickring\"").kind,
            iq::statement_kind::show_retention_policies);
  const auto m = one("SHOW MEASUREMENTS WITH MEASUREMENT =~ /(?i)quo\\-te/ LIMIT 100");
  EXPECT_EQ(m.kind, iq::statement_kind::show_measurements);
  EXPECT_EQ(m.measurement_filter, "quo-te");
  EXPECT_TRUE(m.filter_case_insensitive);
  EXPECT_EQ(m.limit, 100U);
  EXPECT_EQ(one("SHOW TAG KEYS FROM \"quotes\"").measurement, "quotes");
  const auto v = one("SHOW TAG VALUES FROM \"quotes\" WITH KEY = \"sym\"");
  EXPECT_EQ(v.kind, iq::statement_kind::show_tag_values);
  EXPECT_EQ(v.tag_key, "sym");
  EXPECT_EQ(one("SHOW FIELD KEYS FROM \"quotes\"").kind, iq::statement_kind::show_field_keys);
}

TEST(InfluxQL, SeveralStatements) {
  const auto r = iq::parse("SHOW TAG KEYS FROM quotes; SHOW FIELD KEYS FROM quotes;", kNow);
  ASSERT_FALSE(r.error) << r.error.message;
  EXPECT_EQ(r.statements.size(), 2U);
}

TEST(InfluxQL, UnsupportedIsNamedWithItsPosition) {
  auto e = error_of("SELECT percentile(bid, 95) FROM quotes");
  EXPECT_EQ(e.code, iq::error_code::unsupported);
  EXPECT_EQ(e.position, 7U);
  EXPECT_NE(e.message.find("percentile"), std::string::npos);
  e = error_of("SELECT bid FROM quotes WHERE sym = 'A' OR sym = 'B'");
  EXPECT_EQ(e.code, iq::error_code::unsupported);
  EXPECT_NE(e.message.find("OR"), std::string::npos);
  EXPECT_EQ(error_of("SELECT bid FROM quotes WHERE sym =~ /EUR/").code,
            iq::error_code::unsupported);
  EXPECT_EQ(error_of("SELECT bid * 2 FROM quotes").code, iq::error_code::unsupported);
  EXPECT_EQ(error_of("DROP MEASUREMENT quotes").code, iq::error_code::unsupported);
  EXPECT_EQ(error_of("SELECT mean(bid) FROM quotes GROUP BY time(1m)").code,
            iq::error_code::unsupported);  // no lower time bound
  EXPECT_EQ(error_of("SHOW SERIES").code, iq::error_code::unsupported);
  EXPECT_EQ(error_of("SELECT bid FROM q LIMIT 5 OFFSET 2").code, iq::error_code::unsupported);
  EXPECT_EQ(error_of("SELECT mean(bid) FROM q WHERE time > 0 GROUP BY time(1m) fill(linear)").code,
            iq::error_code::unsupported);
}

TEST(InfluxQL, SyntaxErrorsCarryPosition) {
  auto e = error_of("SELECT FROM quotes");
  EXPECT_EQ(e.code, iq::error_code::syntax);
  EXPECT_EQ(e.position, 7U);
  EXPECT_EQ(error_of("").code, iq::error_code::syntax);
  EXPECT_EQ(error_of("SELECT bid FROM 'quotes'").code, iq::error_code::syntax);
  EXPECT_EQ(error_of("SELECT \"bid FROM quotes").code, iq::error_code::syntax);
  // Found by the fuzzer: an empty quoted name made an empty measurement.
  EXPECT_EQ(error_of("SELECT last(bid) FROM \"db\".\"\" WHERE time >= 0").code,
            iq::error_code::syntax);
  EXPECT_EQ(error_of("SELECT bid, mean(ask) FROM quotes").code, iq::error_code::syntax);
  EXPECT_EQ(error_of("SELECT bid FROM q WHERE time > 0 GROUP BY time(1m)").code,
            iq::error_code::syntax);  // GROUP BY time needs an aggregate
  EXPECT_EQ(error_of("SELECT bid FROM q WHERE time > '2023-13-45'").code, iq::error_code::bad_time);
  EXPECT_EQ(error_of("SELECT bid FROM q WHERE time > now() - 99999999999999999999d").code,
            iq::error_code::bad_time);
}

TEST(InfluxQL, BoundsAreErrors) {
  std::string deep =
      "SELECT bid FROM q WHERE " + std::string(100, '(') + "sym = 'A'" + std::string(100, ')');
  EXPECT_EQ(error_of(deep).code, iq::error_code::too_long);
  EXPECT_EQ(error_of(std::string(iq::kMaxQueryBytes + 1, ' ')).code, iq::error_code::too_long);
  std::string many = "SELECT bid";
  for (int i = 0; i < 40; ++i)
    many += ",bid";
  EXPECT_EQ(error_of(many + " FROM q").code, iq::error_code::too_long);
}

TEST(InfluxQL, ContradictorySymbolsMatchNothing) {
  EXPECT_TRUE(one("SELECT bid FROM q WHERE sym = 'A' AND sym = 'B'").contradiction);
  EXPECT_FALSE(one("SELECT bid FROM q WHERE sym = 'A' AND sym = 'A'").contradiction);
}
