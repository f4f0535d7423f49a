// Byte-level scanning of one line: names with their escapes, field values, the timestamp.
// Internal to protocol/line_protocol*.cc; line_parser::parse() drives it section by section.
//
// This is the general path, the reference for every rule and every error message. parse() tries
// line_protocol_fast_path.h first, which takes plain lines (no escapes, strings, control or
// non-ASCII bytes, errors) and must agree with this path on each of them; everything else,
// including every line with an error, is parsed here.
//
// A line_scanner lives for one parse() call, on the stack. It never allocates except to grow the
// parser's scratch buffer (warm-up) and to build an error reason (error path).
#pragma once

#include <algorithm>
#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/line_protocol.h"
#include "protocol/line_protocol_error.h"
#include "protocol/line_protocol_values.h"

namespace tickring::protocol::detail {

// Byte classes. One table load per byte decides whether a byte is ordinary inside a name, which
// keeps the common case (no escapes, ASCII) a tight loop.
inline constexpr std::uint8_t kCommaOrSpace = 1 << 0;        // ends a measurement, a field value
inline constexpr std::uint8_t kCommaEqualsOrSpace = 1 << 1;  // ends a tag key/value, field key
inline constexpr std::uint8_t kBackslash = 1 << 2;
inline constexpr std::uint8_t kControl = 1 << 3;

inline constexpr std::array<std::uint8_t, 256> kByteClass = [] {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 0x20; ++c)
    t[c] = kControl;
  t[0x7F] = kControl;
  t[','] = kCommaOrSpace | kCommaEqualsOrSpace;
  t[' '] = kCommaOrSpace | kCommaEqualsOrSpace;
  t['='] = kCommaEqualsOrSpace;
  t['\\'] = kBackslash;
  return t;
}();

inline std::uint8_t byte_class(char c) noexcept {
  return kByteClass[static_cast<unsigned char>(c)];
}

// The escapable bytes of each name are exactly the bytes that end it, so one mask serves both.
struct name_kind {
  std::uint8_t ends;
  std::string_view what;  // for error messages
};
inline constexpr name_kind kMeasurement{kCommaOrSpace, "measurement"};
inline constexpr name_kind kTagKey{kCommaEqualsOrSpace, "tag key"};
inline constexpr name_kind kTagValue{kCommaEqualsOrSpace, "tag value"};
inline constexpr name_kind kFieldKey{kCommaEqualsOrSpace, "field key"};

struct name_token {
  std::size_t begin = 0;
  std::string_view raw;  // as written, escapes included
  bool escaped = false;
};

// State of one parse() call. Methods return false after filling the error.
class line_scanner {
 public:
  line_scanner(std::string_view line, std::size_t line_number, std::string& scratch,
               parse_error& err) noexcept
      : line_(line), scratch_(scratch), err_(err), line_number_(line_number) {}

  bool at_end() const noexcept { return pos_ == line_.size(); }
  char peek() const noexcept { return line_[pos_]; }
  std::size_t pos() const noexcept { return pos_; }
  void advance() noexcept { ++pos_; }
  void skip_spaces() noexcept {
    while (pos_ < line_.size() && line_[pos_] == ' ')
      ++pos_;
  }

  template <typename... Parts>
  [[gnu::cold, gnu::noinline]] bool fail(std::size_t offset, parse_error_code c,
                                         const Parts&... parts) {
    set_error(err_, line_number_, offset, c, parts...);
    return false;
  }

  bool scan_name(const name_kind& kind, name_token& out);
  std::string_view unescape(const name_token& token, const name_kind& kind);
  bool scan_field_value(std::string_view name, field_value& out, bool& is_string);
  bool scan_timestamp(precision unit, std::optional<std::int64_t>& out);

 private:
  std::string_view unescape_escaped(const name_token& token, const name_kind& kind);
  bool scan_string(std::string_view name);
  bool parse_scalar(std::string_view token, std::string_view name, field_value& out);

  std::string_view line_;
  std::string& scratch_;
  parse_error& err_;
  std::size_t line_number_;
  std::size_t pos_ = 0;
  std::size_t scratch_used_ = 0;
};

// The hot paths are defined here, inline, so the compiler sees them with parse() in one
// translation unit; the cold paths (quoted strings, error text) stay out of line.

inline bool line_scanner::scan_name(const name_kind& kind, name_token& out) {
  // Locals, not members, in the loops: pos_ lives in memory and a store/reload per byte would
  // double the cost of the hottest loop of the parser.
  const char* const data = line_.data();
  const std::size_t size = line_.size();
  const std::size_t begin = pos_;
  const std::uint8_t ends = kind.ends;
  const std::uint8_t stop = ends | kBackslash | kControl;
  unsigned char high = 0;  // OR of the name's bytes: a 0x80 bit means UTF-8 to validate
  bool escaped = false;
  std::size_t i = begin;
  for (;;) {
    while (i < size && (byte_class(data[i]) & stop) == 0) {
      high |= static_cast<unsigned char>(data[i]);
      ++i;
    }
    if (i == size) break;
    const std::uint8_t cls = byte_class(data[i]);
    if ((cls & ends) != 0) break;
    if ((cls & kControl) != 0) {
      return fail(i, parse_error_code::invalid_character, "invalid control byte ",
                  quoted(line_.substr(i, 1)), " in ", kind.what,
                  " (names may not contain tabs or other control characters)");
    }
    if (i + 1 < size && (byte_class(data[i + 1]) & ends) != 0) {
      escaped = true;
      i += 2;
    } else {
      ++i;  // a backslash before an ordinary byte is itself ordinary
    }
  }
  pos_ = i;
  out.begin = begin;
  out.raw = line_.substr(begin, i - begin);
  out.escaped = escaped;
  if ((high & 0x80) != 0 && !is_valid_utf8(out.raw)) {
    return fail(begin, parse_error_code::invalid_utf8, "invalid UTF-8 in ", kind.what, " ",
                quoted(out.raw));
  }
  return true;
}

// Only the check is inline: plain names (almost all) cost no call.
inline std::string_view line_scanner::unescape(const name_token& token, const name_kind& kind) {
  return token.escaped ? unescape_escaped(token, kind) : token.raw;
}

inline bool line_scanner::scan_field_value(std::string_view name, field_value& out,
                                           bool& is_string) {
  const std::size_t begin = pos_;
  if (at_end() || (byte_class(peek()) & kCommaOrSpace) != 0) {
    return fail(begin, parse_error_code::missing_field_value, "missing value for field ",
                quoted(name));
  }
  is_string = peek() == '"';
  if (is_string) {
    if (!scan_string(name)) return false;
    if (!at_end() && (byte_class(peek()) & kCommaOrSpace) == 0) {
      return fail(pos_, parse_error_code::invalid_value,
                  "unexpected text after the string value of field ", quoted(name), ": ",
                  quoted(line_.substr(pos_)));
    }
    return true;
  }
  std::size_t i = pos_;
  while (i < line_.size() && (byte_class(line_[i]) & kCommaOrSpace) == 0)
    ++i;
  pos_ = i;
  return parse_scalar(line_.substr(begin, i - begin), name, out);
}

inline bool line_scanner::parse_scalar(std::string_view token, std::string_view name,
                                       field_value& out) {
  const std::size_t begin = pos_ - token.size();
  const char first = token.front();
  if (first == 't' || first == 'T' || first == 'f' || first == 'F') {
    bool b = false;
    if (!parse_bool(token, b)) {
      return fail(begin, parse_error_code::invalid_boolean, "invalid boolean value ", quoted(token),
                  " for field ", quoted(name), " (use t, true, True, TRUE, f, false, ...)");
    }
    out = field_value::of_bool(b);
    return true;
  }
  if (first != '-' && first != '.' && (first < '0' || first > '9')) {
    return fail(begin, parse_error_code::invalid_value, "invalid value ", quoted(token),
                " for field ", quoted(name), " (expected a number, a boolean or a quoted string)");
  }
  const char suffix = token.back();
  scalar_status status = scalar_status::invalid;
  if (suffix == 'i') {
    std::int64_t v = 0;
    status = parse_int(token.substr(0, token.size() - 1), v);
    if (status == scalar_status::invalid) {
      return fail(begin, parse_error_code::invalid_integer, "invalid integer value ", quoted(token),
                  " for field ", quoted(name));
    }
    out = field_value::of_int(v);
  } else if (suffix == 'u') {
    std::uint64_t v = 0;
    status = parse_uint(token.substr(0, token.size() - 1), v);
    if (status == scalar_status::invalid) {
      return fail(begin, parse_error_code::invalid_unsigned, "invalid unsigned integer value ",
                  quoted(token), " for field ", quoted(name));
    }
    out = field_value::of_uint(v);
  } else {
    double v = 0;
    status = parse_float(token, v);
    if (status == scalar_status::invalid) {
      return fail(begin, parse_error_code::invalid_float, "invalid float value ", quoted(token),
                  " for field ", quoted(name));
    }
    out = field_value::of_float(v);
  }
  if (status == scalar_status::out_of_range) {
    return fail(begin, parse_error_code::value_out_of_range, "value ", quoted(token), " for field ",
                quoted(name), " is out of range for its type");
  }
  return true;
}

inline bool line_scanner::scan_timestamp(precision unit, std::optional<std::int64_t>& out) {
  skip_spaces();
  if (at_end()) return true;
  const std::size_t begin = pos_;
  const std::size_t end = std::min(line_.find(' ', begin), line_.size());
  pos_ = end;
  const std::string_view token = line_.substr(begin, end - begin);
  std::int64_t t = 0;
  const scalar_status status = parse_int(token, t);
  if (status == scalar_status::invalid) {
    return fail(begin, parse_error_code::invalid_timestamp, "invalid timestamp ", quoted(token),
                " (expected an integer count of ", unit_name(unit), " since the epoch)");
  }
  const std::optional<std::int64_t> ns = status != scalar_status::ok ? std::nullopt
                                         : unit == precision::ns ? std::optional<std::int64_t>(t)
                                                                 : to_nanoseconds(t, unit);
  if (!ns) {
    return fail(begin, parse_error_code::timestamp_out_of_range, "timestamp ", quoted(token), " ",
                unit_name(unit), " is out of range (int64 nanoseconds)");
  }
  skip_spaces();
  if (!at_end()) {
    return fail(pos_, parse_error_code::trailing_text,
                "unexpected text after the timestamp: ", quoted(line_.substr(pos_)));
  }
  out = ns;
  return true;
}

}  // namespace tickring::protocol::detail
