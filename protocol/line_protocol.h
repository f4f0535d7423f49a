// InfluxDB line protocol, parsed one line at a time without copying.
//
//   quotes,sym=EURUSD bid=1.0842,ask=1.0843,bid_size=1000000i 1700000000000000000
//   <measurement>[,<tag>=<value>...] <field>=<value>[,<field>=<value>...] [<timestamp>]
//
// Usage (names from tickring::protocol):
//   line_parser parser;                                // one per thread, reused for every line
//   std::size_t line_no = 0;
//   std::size_t used = for_each_line(buffer, [&](std::string_view line) {
//     parsed_line point;
//     parse_error err;                                 // hoist it to reuse the reason's capacity
//     switch (parser.parse(line, ++line_no, point, err)) {
//       case parse_status::ok: store(point); break;      // views valid until the next parse()
//       case parse_status::skip: break;                   // blank line or '#' comment
//       case parse_status::error: report(err.to_string()); break;
//     }
//   });
//   // buffer[used..] is an incomplete line: keep it and append the next read to it.
//
// Contract
// - Thread safety: a line_parser is single-threaded and reusable; distinct parsers share nothing.
//   The free functions are pure and thread-safe.
// - Lifetime: the views in a parsed_line point into the input line or into the parser's scratch
//   buffer (names that contained escapes). They stay valid until the next parse() on the same
//   parser and while the input bytes live.
// - Cost: O(line length) plus O(fields^2) for the duplicate-name check (fields <= 64). No heap
//   allocation once warm: the scratch buffer only grows to the longest escaped line seen, and an
//   error message is built (into the caller's reusable std::string) only on the error path.
// - Errors: no exceptions. parse() returns parse_status::error and fills a parse_error with the
//   caller's line number, the 0-based byte offset within the line, a code and a reason a person
//   can act on: "line 3, byte 23: invalid float value '1.x' for field 'bid'". The offset points
//   at the start of the offending token (or at the end of the line when something is missing).
//
// Syntax accepted (InfluxDB line protocol, the v2 reference decoder's rules where docs are silent):
// - Escapes: measurement `\,` `\ `; tag keys, tag values and field keys `\,` `\=` `\ `; string
//   field values `\"` `\\`. A backslash before any other byte (or at the end) is a literal
//   backslash, so `a\\ b` is the name `a\ b`.
// - Separators are spaces only (one or more) between measurement+tags, fields and timestamp;
//   leading and trailing spaces are allowed. Tabs and other control bytes are not separators and
//   are rejected in names. Names must be valid UTF-8 (they end up in JSON).
// - Field values: float (`1`, `1.5`, `.5`, `1e3`, `-1.5E-10`; integers without a suffix are floats;
//   no inf/nan/hex/leading '+'), `<int>i` (int64), `<int>u` (uint64), booleans
//   t/T/true/True/TRUE/f/F/false/False/FALSE, quoted strings. A string field is scanned fully but
//   rejects its line ("string fields are not supported (field 'x')"): tickring stores numbers and
//   booleans only. A syntax error elsewhere in the same line is reported in its place.
// - Timestamp: optional signed integer, scaled to nanoseconds by the parser's precision.
// - Lines: a trailing '\r' is stripped; empty, all-space and '#' comment lines are skipped. A
//   newline always ends a line, even inside a quoted string (the spec forbids '\n' in values).
//
// tickring's own rules, where the spec has nothing to say:
// - The series is (measurement, symbol); the symbol is the value of the tag `sym` or `symbol`.
//   A line with neither is rejected ("missing tag 'sym' or 'symbol'"), as is a line that gives
//   the symbol twice (both tags, or one tag repeated). Other tags are validated, then ignored.
// - A tag key given twice in one line rejects the line, as InfluxDB does ("duplicate tags");
//   keys are compared as written (escapes included). At most kMaxTagsPerLine tags per line.
// - A field name given twice in one line rejects the line (InfluxDB would keep the last).
// - A float outside the range of double (including underflow such as 1e-400) is rejected.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tickring::protocol {

// A quote line carries 4-10 fields; 64 leaves room for wide instrument records while bounding
// the per-parser field array (64 x 32 bytes) and the quadratic duplicate-name check.
inline constexpr std::size_t kMaxFieldsPerLine = 64;

// Longer lines are rejected whole (comment lines are skipped whatever their length). 64 KiB is
// far beyond any real point (a quote line is ~100 bytes) and bounds what a TCP session must
// buffer while waiting for a newline, and the parser's scratch buffer.
inline constexpr std::size_t kMaxLineBytes = std::size_t{64} * 1024;

enum class field_type : std::uint8_t { float64, int64, uint64, boolean };

struct field_value {
  field_type type;
  union {
    double f;
    std::int64_t i;
    std::uint64_t u;
    bool b;
  };

  static field_value of_float(double v) noexcept {
    field_value r;
    r.type = field_type::float64;
    r.f = v;
    return r;
  }
  static field_value of_int(std::int64_t v) noexcept {
    field_value r;
    r.type = field_type::int64;
    r.i = v;
    return r;
  }
  static field_value of_uint(std::uint64_t v) noexcept {
    field_value r;
    r.type = field_type::uint64;
    r.u = v;
    return r;
  }
  static field_value of_bool(bool v) noexcept {
    field_value r;
    r.type = field_type::boolean;
    r.b = v;
    return r;
  }
};

struct field {
  std::string_view name;  // unescaped
  field_value value;
};

struct parsed_line {
  std::string_view measurement;           // unescaped, never empty
  std::string_view symbol;                // unescaped value of tag `sym` or `symbol`, never empty
  std::span<const field> fields;          // 1..kMaxFieldsPerLine, in line order, names distinct
  std::optional<std::int64_t> timestamp;  // nanoseconds since the epoch; none: use server time
};

// Bounds the duplicate-tag check (quadratic in the tag count): market data carries a few tags;
// InfluxDB's own guidance keeps tag sets small too.
inline constexpr std::size_t kMaxTagsPerLine = 64;

enum class parse_status : std::uint8_t { ok, skip /* blank or comment */, error };

enum class parse_error_code : std::uint8_t {
  line_too_long,
  invalid_character,  // control byte in a name, or an unescaped '=' in a tag value
  invalid_utf8,
  missing_measurement,
  missing_tag_key,
  missing_tag_value,
  missing_field_set,
  missing_field_key,
  missing_field_value,
  invalid_value,  // starts like no known type
  invalid_float,
  invalid_integer,
  invalid_unsigned,
  invalid_boolean,
  value_out_of_range,
  unterminated_string,
  string_field,
  duplicate_field,
  too_many_fields,
  invalid_timestamp,
  timestamp_out_of_range,
  trailing_text,
  missing_symbol,
  duplicate_symbol,
  duplicate_tag,  // a tag key given twice (InfluxDB rejects it too)
  too_many_tags,
};

// Stable snake_case name of a code ("invalid_float"), for metric labels and logs.
std::string_view to_string(parse_error_code code) noexcept;

struct parse_error {
  std::size_t line = 0;    // as passed to parse(), usually 1-based
  std::size_t offset = 0;  // 0-based byte offset within the line; <= line length
  parse_error_code code = parse_error_code::invalid_value;
  std::string reason;  // without position: "invalid float value '1.x' for field 'bid'"

  // "line 3, byte 23: invalid float value '1.x' for field 'bid'".
  std::string to_string() const;
};

// Timestamp unit of the input. TCP input is always ns; HTTP /write takes it from ?precision=.
enum class precision : std::uint8_t { ns, us, ms, s };

// Accepts InfluxDB 1.x and 2.x spellings: n, ns, u, us, ms, s. Anything else: nullopt.
std::optional<precision> parse_precision(std::string_view text) noexcept;

// time * unit in nanoseconds, or nullopt when that leaves the int64 range.
std::optional<std::int64_t> to_nanoseconds(std::int64_t time, precision unit) noexcept;

class line_parser {
 public:
  line_parser() = default;
  explicit line_parser(precision unit) noexcept : precision_(unit) {}

  // Unit of the timestamps of the following lines; parsed_line::timestamp is always ns.
  void set_precision(precision unit) noexcept { precision_ = unit; }

  // Parses one line (without its '\n'; a trailing '\r' is allowed). On ok fills `out`; on
  // error fills `err` and leaves `out` unspecified; on skip touches neither.
  [[nodiscard]] parse_status parse(std::string_view line, std::size_t line_number, parsed_line& out,
                                   parse_error& err);

  // The bytes that unescaped names may point into (tests and fuzzing check views against it).
  std::string_view scratch() const noexcept { return scratch_; }

 private:
  std::array<field, kMaxFieldsPerLine> fields_{};
  std::string scratch_;  // grows to the longest line that had an escape; never shrinks
  precision precision_ = precision::ns;
};

// Calls f(line) for every complete '\n'-terminated line of `buffer`, without the '\n', and
// returns the bytes consumed (up to and including the last '\n'). The rest is an incomplete
// line: a TCP reader keeps it for the next read (and drops it past kMaxLineBytes). With
// end_of_input (an HTTP body), a final unterminated line is passed too and all is consumed.
template <typename F>
std::size_t for_each_line(std::string_view buffer, F&& f, bool end_of_input = false) {
  std::size_t start = 0;
  while (start < buffer.size()) {
    const std::size_t nl = buffer.find('\n', start);
    if (nl == std::string_view::npos) {
      if (!end_of_input) break;
      f(buffer.substr(start));
      return buffer.size();
    }
    f(buffer.substr(start, nl - start));
    start = nl + 1;
  }
  return start;
}

}  // namespace tickring::protocol
