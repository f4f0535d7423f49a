// InfluxQL (InfluxDB 1.x): the subset Grafana's InfluxDB data source and the client libraries
// send, parsed into small statement structs (docs/queries.md).
//
//   SELECT <field>[, ..] | * | <agg>(<field>)[ AS <name>][, ..] FROM [<db>.][<rp>.]<measurement>
//     [WHERE <cond> [AND <cond>]..]   cond: sym = '<symbol>' | time <op> <time expr> | ( cond )
//     [GROUP BY time(<duration>)[, "sym"] | "sym" | *] [fill(null|none|previous|<number>)]
//     [ORDER BY time [ASC|DESC]] [LIMIT <n>]
//   agg: mean, min, max, first, last, count, sum
//   time expr: now() [+|- <duration>], '<RFC 3339>', <integer>[ns|u|µ|ms|s|m|h|d|w]
//   SHOW DATABASES | SHOW MEASUREMENTS [WITH MEASUREMENT =~ /[(?i)]<literal>/] [LIMIT n]
//   SHOW TAG KEYS [FROM m] | SHOW TAG VALUES [FROM m] WITH KEY = "sym" [LIMIT n]
//   SHOW FIELD KEYS [FROM m] | SHOW RETENTION POLICIES [ON <db>]
//   Several statements are separated by ';'. Keywords are case-insensitive; identifiers are
//   bare ([A-Za-z_][A-Za-z0-9_]*) or double-quoted, with an optional ::tag / ::field suffix.
//
// Anything else InfluxQL has (OR, regex filters other than the SHOW MEASUREMENTS one, math,
// other functions, OFFSET, SLIMIT, tz(), subqueries, INTO, writes) is an error with the code
// `unsupported` naming the construct, never a silently different query.
//
// Pure functions; no I/O; thread-safe. Errors are a code, a byte position and a message,
// never exceptions. Cost: linear in the query's length, which the caller bounds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tickring::protocol::influxql {

using time_ns = std::int64_t;

// A query longer than this is refused before parsing (Grafana's are a few hundred bytes).
inline constexpr std::size_t kMaxQueryBytes = 16 * 1024;
// Statements in one request, fields in one SELECT: bounds the work one request can ask for.
inline constexpr std::size_t kMaxStatements = 16;
inline constexpr std::size_t kMaxSelectFields = 32;
// Parentheses nest at most this deep (the parser recurses on them).
inline constexpr int kMaxNesting = 16;

enum class error_code : std::uint8_t {
  none,
  syntax,       // not InfluxQL
  unsupported,  // InfluxQL that tickring does not answer
  bad_time,     // a time or duration that does not parse or overflows
  too_long,     // past kMaxQueryBytes / kMaxStatements / kMaxSelectFields / kMaxNesting
};
std::string_view to_string(error_code c) noexcept;

struct parse_error {
  error_code code = error_code::none;
  std::size_t position = 0;  // byte offset in the query
  std::string message;
  explicit operator bool() const { return code != error_code::none; }
};

enum class aggregate : std::uint8_t { none, mean, min, max, first, last, count, sum };
std::string_view to_string(aggregate a) noexcept;

struct field_expr {
  aggregate agg = aggregate::none;
  std::string name;   // a field or the tag "sym"; "*" for the wildcard
  std::string alias;  // AS <alias>; empty when none
};

enum class fill_kind : std::uint8_t { null, none, previous, number };

enum class statement_kind : std::uint8_t {
  select,
  show_databases,
  show_measurements,
  show_tag_keys,
  show_tag_values,
  show_field_keys,
  show_retention_policies,
};

struct statement {
  statement_kind kind = statement_kind::select;
  std::size_t position = 0;  // where the statement starts in the query
  // SELECT
  std::vector<field_expr> fields;
  std::string measurement;            // also SHOW ... FROM; empty: every measurement
  std::optional<std::string> symbol;  // WHERE sym = '...'
  time_ns from = INT64_MIN;           // inclusive
  time_ns to = INT64_MAX;             // inclusive
  bool has_to = false;                // an upper time bound was given
  bool contradiction = false;         // the WHERE can match nothing (sym = 'A' AND sym = 'B')
  time_ns group_interval = 0;         // GROUP BY time(..); 0: none
  bool group_by_symbol = false;       // GROUP BY "sym" or *
  fill_kind fill = fill_kind::null;
  double fill_value = 0;
  bool descending = false;
  std::optional<std::uint64_t> limit;
  // SHOW
  std::string measurement_filter;  // SHOW MEASUREMENTS WITH MEASUREMENT =~ /../: the literal
  bool filter_case_insensitive = false;
  std::string tag_key;  // SHOW TAG VALUES WITH KEY = "..."
};

struct parse_result {
  std::vector<statement> statements;
  parse_error error;
};

// Parses `query`; `now` is the server's clock for now(). On error, `statements` holds those
// parsed before it.
parse_result parse(std::string_view query, time_ns now);

// "1h", "500ms", "15m", "1d", "2w", "10u", "10µ", "100ns", "30s" -> nanoseconds; nothing on a
// bad unit, a non-positive or overflowing value. InfluxQL's duration literal.
std::optional<time_ns> parse_duration(std::string_view text);

}  // namespace tickring::protocol::influxql
