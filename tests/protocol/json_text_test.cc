// protocol/json_text.h: strings always come out as valid JSON in valid UTF-8.
#include "protocol/json_text.h"

#include <gtest/gtest.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

namespace tickring::protocol {
namespace {

std::string as_json(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

// What std::to_chars writes: the reference the fast path must match byte for byte.
std::string reference(double v) {
  char buf[64];
  return std::string(buf, std::to_chars(buf, buf + sizeof(buf), v).ptr);
}

std::string written(double v) {
  std::string out;
  append_json_number(out, v);
  return out;
}

constexpr std::string_view kFffd = "\xEF\xBF\xBD";

TEST(JsonText, EscapesQuotesBackslashesAndControlBytes) {
  EXPECT_EQ(as_json("a\"b\\c\nd\te\x01"), R"("a\"b\\c\nd\te\u0001")");
}

TEST(JsonText, WellFormedUtf8PassesThrough) {
  const std::string s = "EUR\xE2\x82\xAC \xC3\xA9 \xF0\x9F\x93\x88 \xED\x9F\xBF \xF4\x8F\xBF\xBF";
  EXPECT_EQ(as_json(s), "\"" + s + "\"");
}

TEST(JsonText, InvalidUtf8BecomesReplacementCharacters) {
  const std::string r(kFffd);
  EXPECT_EQ(as_json("a\xFF"
                    "b"),
            "\"a" + r + "b\"");                                         // never a lead byte
  EXPECT_EQ(as_json("\x80"), "\"" + r + "\"");                          // lone continuation
  EXPECT_EQ(as_json("\xC3"), "\"" + r + "\"");                          // truncated at the end
  EXPECT_EQ(as_json("\xC3(x"), "\"" + r + "(x\"");                      // bad continuation
  EXPECT_EQ(as_json("\xC0\xAF"), "\"" + r + r + "\"");                  // overlong '/'
  EXPECT_EQ(as_json("\xE0\x80\xAF"), "\"" + r + r + r + "\"");          // overlong
  EXPECT_EQ(as_json("\xED\xA0\x80"), "\"" + r + r + r + "\"");          // surrogate U+D800
  EXPECT_EQ(as_json("\xF4\x90\x80\x80"), "\"" + r + r + r + r + "\"");  // above U+10FFFF
  EXPECT_EQ(as_json("\xE2\x82"), "\"" + r + r + "\"");                  // truncated 3-byte
}

TEST(JsonText, ErrorMessageWithInvalidUtf8IsValidJson) {
  const std::string e = json_error(404, "no series q/\xFE\"x");
  EXPECT_EQ(e,
            R"({"error":{"code":404,"message":"no series q/)" + std::string(kFffd) + R"(\"x"}})");
}

}  // namespace
}  // namespace tickring::protocol

namespace tickring::protocol {
namespace {

TEST(JsonNumber, TwoDecimalValuesAreWrittenAsToChars) {
  for (const double v : {0.0,     -0.0,     0.01,     -0.01,        0.1,   0.5,   1.0,
                         1.05,    1.5,      9.99,     10.0,         99.99, 100.0, 1234.56,
                         10000.0, 100000.0, 120000.0, 1000000.0,    1e12,  1e13,  9999999999999.99,
                         0.07,    5e-324,   1e300,    123456789.12, -42.5}) {
    EXPECT_EQ(written(v), reference(v)) << v;
  }
  EXPECT_EQ(written(1.05), "1.05");
  EXPECT_EQ(written(100000.0), "1e+05");
  EXPECT_EQ(written(-0.0), "-0");
}

TEST(JsonNumber, NonFiniteIsNull) {
  EXPECT_EQ(written(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(written(-std::numeric_limits<double>::infinity()), "null");
}

// The fast paths (k / 100, k / 10^8) must agree with std::to_chars on every input: decimals
// of many magnitudes and lengths, their neighbours one ulp away (which must fall back), and
// arbitrary bits.
TEST(JsonNumber, RandomizedAgreesWithToChars) {
  std::mt19937_64 rng(20261130);
  for (int i = 0; i < 2'000'000; ++i) {
    const int digits = static_cast<int>(rng() % 16);  // k up to 10^15
    std::int64_t k = static_cast<std::int64_t>(rng() % 1'000'000'000'000'000ULL);
    for (int d = 15; d > digits; --d)
      k /= 10;
    if (rng() % 2 != 0) k = -k;
    // Two decimals (the first fast path), up to nine (the second reaches eight), or none.
    constexpr double kScale[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    double v = static_cast<double>(k) / kScale[rng() % 3 == 0 ? 2 : rng() % 10];
    switch (rng() % 4) {
      case 0:
        v = std::nextafter(v, std::numeric_limits<double>::infinity());
        break;
      case 1:
        v = std::bit_cast<double>(rng());
        break;
      default:
        break;
    }
    if (!std::isfinite(v)) continue;
    ASSERT_EQ(written(v), reference(v)) << std::bit_cast<std::uint64_t>(v);
  }
  // Whole numbers with trailing zeros, where to_chars switches to the exponent form.
  for (std::int64_t w = 1; w < 10'000'000'000'000LL; w *= 10) {
    for (std::int64_t m = 1; m < 100; ++m) {
      const double v = static_cast<double>(w * m);
      ASSERT_EQ(written(v), reference(v)) << v;
    }
  }
}

}  // namespace
}  // namespace tickring::protocol
