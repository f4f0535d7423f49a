// Unit tests for row_codec: what is stored narrow, that every value reads back bit for bit,
// and the word layout.
#include "core/row_codec.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <vector>

namespace tickring::core {
namespace {

std::uint64_t bits(double v) {
  return std::bit_cast<std::uint64_t>(v);
}

// Encodes `v` into a one-float-field codec planned from `first`; returns whether it fit and
// checks that a fitting value decodes to the same bits.
bool round_trips(double first, double v) {
  const field_kind kinds[] = {field_kind::float64};
  const std::uint64_t f = bits(first);
  const row_codec c = row_codec::plan(kinds, &f);
  std::uint64_t packed[1] = {};
  const std::uint64_t in = bits(v);
  if (!c.encode(&in, packed)) return false;
  std::uint64_t out = 0;
  c.decode(packed, &out);
  EXPECT_EQ(out, in) << v;
  return true;
}

TEST(RowCodec, ShortDecimalsAreNarrowWithHeadroom) {
  const field_kind kinds[] = {field_kind::float64};
  const std::uint64_t first = bits(123.45);
  const row_codec c = row_codec::plan(kinds, &first);
  ASSERT_TRUE(c.narrow(0));
  EXPECT_EQ(c.scale(0), 6);  // 123.45 x 10^6 x 16 < 2^31 <= 123.45 x 10^7 x 16
  EXPECT_TRUE(round_trips(123.45, 123.45));
  EXPECT_TRUE(round_trips(123.45, 1975.123456));  // more decimals than the first, more size
  EXPECT_TRUE(round_trips(123.45, -0.000001));
  EXPECT_FALSE(round_trips(123.45, 2148.0));     // beyond 2^31 / 10^6
  EXPECT_FALSE(round_trips(123.45, 1.0000001));  // a seventh decimal
}

// The decimal a feed sent, parsed as strtod parses it, is stored narrow at any scale that
// holds its digits, and always reads back as the very same double.
TEST(RowCodec, ParsedDecimalsReadBackBitForBit) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200000; ++i) {
    const int k = static_cast<int>(rng() % 7);                    // decimals
    const auto m = static_cast<std::int64_t>(rng() % 200000000);  // < 2^31 / 10
    const bool negative = (rng() & 1) != 0;
    char text[64];
    std::snprintf(text, sizeof text, "%s%lld.%0*lld", negative ? "-" : "",
                  static_cast<long long>(m / 1000000), 6, static_cast<long long>(m % 1000000));
    // Keep k decimals only.
    std::string s(text);
    s.resize(s.size() - static_cast<std::size_t>(6 - k));
    if (s.back() == '.') s.pop_back();
    const double v = std::strtod(s.c_str(), nullptr);
    const field_kind kinds[] = {field_kind::float64};
    const std::uint64_t f = bits(v);
    const row_codec c = row_codec::plan(kinds, &f);
    std::uint64_t packed = 0;
    std::uint64_t out = 0;
    if (c.narrow(0)) {
      ASSERT_TRUE(c.encode(&f, &packed)) << s;
      c.decode(&packed, &out);
      ASSERT_EQ(out, f) << s;
    } else {
      // Only -0 and a first value without headroom are planned wide.
      if (v == 0 && std::signbit(v)) continue;
      ASSERT_GT(std::fabs(v) * 16, 2147483647.0 / std::pow(10.0, k)) << s;
    }
  }
}

// Whatever the bits, a value either does not fit or reads back exactly: nothing is rounded.
TEST(RowCodec, ArbitraryDoublesNeverRound) {
  std::mt19937_64 rng(11);
  int fit = 0;
  for (int i = 0; i < 200000; ++i) {
    const double v = std::bit_cast<double>(rng());
    if (round_trips(1.5, v)) ++fit;
    // Values near short decimals: one ulp off must not fit.
    const double d = static_cast<double>(rng() % 10000) / 100.0;  // fits 1.5's scale 7
    const double off = std::nextafter(d, 1e9);
    EXPECT_FALSE(round_trips(1.5, off)) << off;
    EXPECT_TRUE(round_trips(1.5, d)) << d;
  }
  EXPECT_LT(fit, 100);  // random bit patterns are almost never short decimals
}

TEST(RowCodec, SpecialValuesStayWide) {
  const double specials[] = {-0.0,
                             std::numeric_limits<double>::quiet_NaN(),
                             std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity(),
                             std::numeric_limits<double>::denorm_min(),
                             1e300,
                             0.1 + 0.2};
  for (double v : specials) {
    EXPECT_FALSE(round_trips(1.5, v)) << v;
    const field_kind kinds[] = {field_kind::float64};
    const std::uint64_t f = bits(v);
    EXPECT_FALSE(row_codec::plan(kinds, &f).narrow(0)) << v;
  }
  EXPECT_TRUE(round_trips(1.5, 0.0));
}

TEST(RowCodec, IntegersBooleansAndTheirLimits) {
  const field_kind kinds[] = {field_kind::int64, field_kind::uint64, field_kind::boolean};
  const std::uint64_t first[] = {static_cast<std::uint64_t>(std::int64_t{-500}), 7, 1};
  const row_codec c = row_codec::plan(kinds, first);
  EXPECT_TRUE(c.narrow(0));
  EXPECT_TRUE(c.narrow(1));
  EXPECT_TRUE(c.narrow(2));
  EXPECT_EQ(c.words(), 2U);
  const std::uint64_t edges[][3] = {
      {static_cast<std::uint64_t>(std::int64_t{std::numeric_limits<std::int32_t>::min()}),
       std::numeric_limits<std::uint32_t>::max(), 0},
      {static_cast<std::uint64_t>(std::int64_t{std::numeric_limits<std::int32_t>::max()}), 0, 1},
  };
  for (const auto& v : edges) {
    std::uint64_t packed[2];
    std::uint64_t out[3];
    ASSERT_TRUE(c.encode(v, packed));
    c.decode(packed, out);
    EXPECT_EQ(out[0], v[0]);
    EXPECT_EQ(out[1], v[1]);
    EXPECT_EQ(out[2], v[2]);
  }
  std::uint64_t packed[2];
  const std::uint64_t over_int[] = {std::uint64_t{1} << 31, 0, 0};
  EXPECT_FALSE(c.encode(over_int, packed));
  const std::uint64_t over_uint[] = {0, std::uint64_t{1} << 32, 0};
  EXPECT_FALSE(c.encode(over_uint, packed));
  // A first value without sixteen-fold headroom starts wide.
  const std::uint64_t big[] = {std::uint64_t{1} << 28, std::uint64_t{1} << 29, 0};
  const row_codec w = row_codec::plan(kinds, big);
  EXPECT_FALSE(w.narrow(0));
  EXPECT_FALSE(w.narrow(1));
  EXPECT_EQ(w.words(), 3U);
}

// Wide fields first, a word each; narrow ones two to a word; widening keeps the others.
TEST(RowCodec, LayoutAndWidening) {
  const field_kind kinds[] = {field_kind::float64, field_kind::float64, field_kind::int64,
                              field_kind::int64};
  const std::uint64_t first[] = {bits(1.25), bits(0.1 + 0.2), 10, 20};
  const row_codec c = row_codec::plan(kinds, first);
  EXPECT_TRUE(c.narrow(0));
  EXPECT_FALSE(c.narrow(1));
  EXPECT_EQ(c.words(), 3U);  // one wide word + three halves
  const std::uint64_t later[] = {bits(1.25), bits(2.5), 10, std::uint64_t{1} << 40};
  std::uint64_t packed[4];
  EXPECT_FALSE(c.encode(later, packed));
  const row_codec w = c.widened(later);
  EXPECT_TRUE(w.narrow(0));
  EXPECT_FALSE(w.narrow(3));
  EXPECT_TRUE(w.narrow(2));
  EXPECT_EQ(w.words(), 3U);  // two wide words + two halves
  ASSERT_TRUE(w.encode(later, packed));
  std::uint64_t out[4];
  w.decode(packed, out);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(out[i], later[i]) << i;
  ASSERT_TRUE(w.encode(first, packed));
  w.decode(packed, out);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(out[i], first[i]) << i;
}

// A price that outgrew its range gets fewer decimals, not 8 bytes, when it allows it.
TEST(RowCodec, RefitTradesDecimalsForRange) {
  const field_kind kinds[] = {field_kind::float64, field_kind::int64};
  const std::uint64_t first[] = {bits(0.0), 1};
  const row_codec c = row_codec::plan(kinds, first);
  ASSERT_TRUE(c.narrow(0));
  EXPECT_EQ(c.scale(0), row_codec::kMaxScale);  // nothing to leave room for: all decimals
  const std::uint64_t later[] = {bits(150.125), 1};
  std::uint64_t packed[2];
  EXPECT_FALSE(c.encode(later, packed));
  const row_codec r = c.refit(later);
  ASSERT_TRUE(r.narrow(0));
  EXPECT_EQ(r.scale(0), 5);  // 150.125 x 10^5 x 16 < 2^31
  EXPECT_EQ(r.words(), 1U);
  ASSERT_TRUE(r.encode(later, packed));
  std::uint64_t out[2];
  r.decode(packed, out);
  EXPECT_EQ(out[0], later[0]);
  // A stored point with more decimals than the new scale keeps makes the field wide.
  const std::uint64_t stored[] = {bits(0.000001234), 1};
  EXPECT_TRUE(c.encode(stored, packed));
  const row_codec w = r.widened(stored);
  EXPECT_FALSE(w.narrow(0));
  // A value with more decimals than any scale that holds its size: wide at once.
  const std::uint64_t both[] = {bits(3000.1234567), 1};
  EXPECT_FALSE(c.refit(both).narrow(0));
  // Integers have no scale to trade: wide.
  const std::uint64_t big[] = {bits(0.0), std::uint64_t{1} << 33};
  EXPECT_FALSE(c.refit(big).narrow(1));
  EXPECT_TRUE(c.refit(big).narrow(0));
}

}  // namespace
}  // namespace tickring::core
