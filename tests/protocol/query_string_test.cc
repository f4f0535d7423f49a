// Unit tests for protocol/query_string: times at the ends of the int64 nanosecond range
// (found by the query_string fuzz target: the largest time did not parse back from the
// RFC 3339 text it formats to).
#include "protocol/query_string.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace tickring::protocol {
namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

TEST(QueryStringTime, EndsOfTheRangeRoundTrip) {
  EXPECT_EQ(format_rfc3339(kMax), "2262-04-11T23:47:16.854775807Z");
  EXPECT_EQ(format_rfc3339(kMin), "1677-09-21T00:12:43.145224192Z");
  for (const std::int64_t ns : {kMax, kMin, kMax - 1, kMin + 1, std::int64_t{0}, std::int64_t{-1},
                                std::int64_t{-1'000'000'000}, std::int64_t{999'999'999}}) {
    const auto back = parse_time(format_rfc3339(ns));
    ASSERT_TRUE(back.has_value()) << ns;
    EXPECT_EQ(*back, ns);
    EXPECT_EQ(parse_time(std::to_string(ns)), ns);
  }
  EXPECT_EQ(parse_time("000000009223372036854775807"), kMax);
}

TEST(QueryStringTime, JustOutsideTheRangeIsRefused) {
  EXPECT_FALSE(parse_time("2262-04-11T23:47:16.854775808Z").has_value());
  EXPECT_FALSE(parse_time("2262-04-11T23:47:17Z").has_value());
  EXPECT_FALSE(parse_time("1677-09-21T00:12:43.145224191Z").has_value());
  EXPECT_FALSE(parse_time("1677-09-21T00:12:42Z").has_value());
  EXPECT_FALSE(parse_time("9999-12-31T23:59:59Z").has_value());
  EXPECT_FALSE(parse_time("9223372036854775808").has_value());
}

TEST(QueryStringTime, OffsetsAndFractions) {
  EXPECT_EQ(parse_time("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_time("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(parse_time("1969-12-31T23:59:59.5Z"), -500'000'000);
  EXPECT_EQ(parse_time("1970-01-01T00:00:00.123456789123Z"), 123'456'789);  // past 9 digits cut
  EXPECT_FALSE(parse_time("1970-01-01T00:00:00.Z").has_value());
  EXPECT_FALSE(parse_time("1970-02-30T00:00:00Z").has_value());
}

}  // namespace
}  // namespace tickring::protocol
