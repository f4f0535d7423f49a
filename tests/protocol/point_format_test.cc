// protocol/point_format.h: a point is written as one JSON object or CSV row whose text is the
// concatenation of its pieces (append_time, append_field_json, append_csv_value), whichever
// path builds it (a stack buffer for usual points, piece by piece for long names).
#include "protocol/point_format.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "protocol/json_text.h"

namespace tickring::protocol {
namespace {

using core::field_kind;

std::string reference_json(const core::stored_point& p, const std::vector<field_column>& cols,
                           time_format f) {
  std::string out = "{\"time\":";
  append_time(out, p.time, f, true);
  out += ",\"seq\":";
  append_json_number(out, static_cast<std::uint64_t>(p.seq));
  for (const auto& c : cols) {
    out += ",";
    append_json_string(out, c.name);
    out += ":";
    append_field_json(out, c.kind, p.words[c.index]);
  }
  return out + "}";
}

std::string reference_csv(const core::stored_point& p, const std::vector<field_column>& cols,
                          time_format f) {
  std::string out;
  append_time(out, p.time, f, false);
  for (const auto& c : cols) {
    out += ",";
    append_csv_value(out, c.kind, p.words[c.index]);
  }
  return out + "\n";
}

TEST(PointFormat, WritesTheDocumentedShape) {
  const std::vector<field_column> cols = {{"bid", field_kind::float64, 0},
                                          {"size", field_kind::int64, 1},
                                          {"ok", field_kind::boolean, 2}};
  core::stored_point p;
  p.time = 1700000000000000000;
  p.seq = 42;
  p.words[0] = std::bit_cast<std::uint64_t>(1.0842);
  p.words[1] = static_cast<std::uint64_t>(std::int64_t{-5});
  p.words[2] = 1;
  std::string json;
  append_point_json(json, p, cols, json_keys(cols), time_format::ns);
  EXPECT_EQ(json, R"({"time":1700000000000000000,"seq":42,"bid":1.0842,"size":-5,"ok":true})");
  std::string csv;
  append_point_csv(csv, p, cols, time_format::ms);
  EXPECT_EQ(csv, "1700000000000,1.0842,-5,true\n");
}

// Random values of every kind and length (non-finite doubles, INT64_MIN-like extremes
// included), every time unit, negative times, and field names long enough to take the piecewise
// path.
TEST(PointFormat, AnyPathWritesTheConcatenationOfThePieces) {
  std::mt19937_64 rng(17);
  // field_column names are views: the strings they view must outlive the layouts.
  const std::string long_name(600, 'x');
  const std::string long_name_y = long_name + "y";
  const std::vector<std::vector<field_column>> layouts = {
      {{"bid", field_kind::float64, 0},
       {"ask", field_kind::float64, 1},
       {"bid_size", field_kind::int64, 2},
       {"n", field_kind::uint64, 3},
       {"flag", field_kind::boolean, 4}},
      {{long_name, field_kind::float64, 0}, {long_name_y, field_kind::int64, 1}},
      {{"a\"b", field_kind::float64, 0}}};
  constexpr time_format kFormats[] = {time_format::ns, time_format::us, time_format::ms,
                                      time_format::s, time_format::rfc3339};
  const double specials[] = {std::numeric_limits<double>::quiet_NaN(),
                             std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity(),
                             -0.0,
                             1e21,
                             5e-324};
  for (int i = 0; i < 20000; ++i) {
    const auto& cols = layouts[static_cast<std::size_t>(i) % layouts.size()];
    core::stored_point p;
    // Integers of every length: the digit writer cuts them into groups of 8.
    const auto any_length = [&] { return rng() >> (rng() % 64); };
    p.time = static_cast<core::time_ns>(any_length());
    if (rng() % 4 == 0) p.time = -p.time;
    p.seq = any_length() >> 1;
    for (auto& w : p.words) {
      switch (rng() % 5) {
        case 3:
          w = any_length();
          if (rng() % 2 == 0) w = 0 - w;
          break;
        case 0:
          w = std::bit_cast<std::uint64_t>(static_cast<double>(rng() % 10'000'000) / 100'000);
          break;
        case 1:
          w = std::bit_cast<std::uint64_t>(specials[rng() % std::size(specials)]);
          break;
        default:
          w = rng();
      }
    }
    const time_format f = kFormats[rng() % std::size(kFormats)];
    std::string json = "prefix";
    append_point_json(json, p, cols, json_keys(cols), f);
    ASSERT_EQ(json, "prefix" + reference_json(p, cols, f));
    std::string csv = "prefix";
    append_point_csv(csv, p, cols, f);
    ASSERT_EQ(csv, "prefix" + reference_csv(p, cols, f));
  }
}

}  // namespace
}  // namespace tickring::protocol
