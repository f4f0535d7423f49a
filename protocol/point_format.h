// Writing stored points as JSON objects or CSV rows, straight into a string buffer.
//
//   {"time":1700000000000000000,"seq":42,"bid":1.0842,"ask":1.0843}
//   time,bid,ask\n1700000000000000000,1.0842,1.0843\n
//
// Times are integer nanoseconds by default; InfluxDB's epoch=u|ms|s picks another integer unit
// (truncated toward minus infinity) and epoch=rfc3339 writes strings. Pure functions.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/series.h"

namespace tickring::protocol {

enum class time_format { ns, us, ms, s, rfc3339 };

// "ns" (or "n"), "u"/"us", "ms", "s", "rfc3339"; nothing for anything else.
std::optional<time_format> parse_time_format(std::string_view text);

// A field chosen for output: its name, kind and index in the series' row.
struct field_column {
  std::string_view name;
  core::field_kind kind;
  std::size_t index;
};

// The ',"<name>":' prefix of every column, escaped once per answer instead of once per point.
std::vector<std::string> json_keys(std::span<const field_column> columns);

void append_time(std::string& out, core::time_ns t, time_format f, bool quoted);
void append_field_json(std::string& out, core::field_kind kind, std::uint64_t word);
// REQUIRES: keys == json_keys(columns).
void append_point_json(std::string& out, const core::stored_point& p,
                       std::span<const field_column> columns, std::span<const std::string> keys,
                       time_format f);
void append_csv_header(std::string& out, std::span<const field_column> columns);
// One CSV cell: text quoted per RFC 4180 when it needs it; a field value.
void append_csv_text(std::string& out, std::string_view text);
void append_csv_value(std::string& out, core::field_kind kind, std::uint64_t word);
void append_point_csv(std::string& out, const core::stored_point& p,
                      std::span<const field_column> columns, time_format f);

// The numeric value of a field as a double (booleans 0/1), for candles.
double field_as_double(core::field_kind kind, std::uint64_t word);

}  // namespace tickring::protocol
