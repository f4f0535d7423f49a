#include "protocol/point_format.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>

#include "protocol/json_text.h"
#include "protocol/query_string.h"

namespace tickring::protocol {
namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if (a % b < 0) --q;
  return q;
}

}  // namespace

std::optional<time_format> parse_time_format(std::string_view t) {
  if (t == "ns" || t == "n") return time_format::ns;
  if (t == "u" || t == "us") return time_format::us;
  if (t == "ms") return time_format::ms;
  if (t == "s") return time_format::s;
  if (t == "rfc3339") return time_format::rfc3339;
  return std::nullopt;
}

void append_time(std::string& out, core::time_ns t, time_format f, bool quoted) {
  switch (f) {
    case time_format::ns:
      append_json_number(out, t);
      return;
    case time_format::us:
      append_json_number(out, floor_div(t, 1'000));
      return;
    case time_format::ms:
      append_json_number(out, floor_div(t, 1'000'000));
      return;
    case time_format::s:
      append_json_number(out, floor_div(t, 1'000'000'000));
      return;
    case time_format::rfc3339:
      if (quoted) out.push_back('"');
      out += format_rfc3339(t);
      if (quoted) out.push_back('"');
      return;
  }
}

void append_field_json(std::string& out, core::field_kind kind, std::uint64_t word) {
  switch (kind) {
    case core::field_kind::float64:
      append_json_number(out, std::bit_cast<double>(word));
      return;
    case core::field_kind::int64:
      append_json_number(out, static_cast<std::int64_t>(word));
      return;
    case core::field_kind::uint64:
      append_json_number(out, word);
      return;
    case core::field_kind::boolean:
      out += word != 0 ? "true" : "false";
      return;
  }
}

std::vector<std::string> json_keys(std::span<const field_column> columns) {
  std::vector<std::string> keys;
  keys.reserve(columns.size());
  for (const auto& c : columns) {
    std::string k = ",";
    append_json_string(k, c.name);
    k.push_back(':');
    keys.push_back(std::move(k));
  }
  return keys;
}

namespace {

// A point is built in a stack buffer and appended to the answer once: appending its dozen
// pieces one by one to the std::string cost more than formatting them (a capacity check and
// a memmove call each). Points that might not fit (very long field names, rfc3339 times)
// take the piecewise path.
constexpr std::size_t kPointBuffer = 1024;
constexpr std::size_t kMaxNumberChars = 24;  // int64, uint64, and "true"/"false"/"null"
static_assert(kMaxDoubleChars >= kMaxNumberChars);

// Decimal text of v. Long integers (19-digit nanosecond times) are cut into 8-digit groups
// written two digits at a time from a table, so the groups do not wait on one another as
// std::to_chars' single chain of divisions by 100 does; short ones go to std::to_chars.
char* put_8_digits(char* p, std::uint32_t v) {
  static constexpr char kPairs[] =
      "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
      "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
      "8081828384858687888990919293949596979899";
  const std::uint32_t hi = v / 10'000;
  const std::uint32_t lo = v % 10'000;
  std::memcpy(p, kPairs + 2 * (hi / 100), 2);
  std::memcpy(p + 2, kPairs + 2 * (hi % 100), 2);
  std::memcpy(p + 4, kPairs + 2 * (lo / 100), 2);
  std::memcpy(p + 6, kPairs + 2 * (lo % 100), 2);
  return p + 8;
}

char* put_unsigned(char* p, std::uint64_t v) {
  constexpr std::uint64_t k1e8 = 100'000'000;
  if (v < k1e8 * k1e8) {
    if (v < k1e8) return std::to_chars(p, p + 8, v).ptr;
    p = std::to_chars(p, p + 8, v / k1e8).ptr;
    return put_8_digits(p, static_cast<std::uint32_t>(v % k1e8));
  }
  const std::uint64_t high = v / k1e8;
  p = std::to_chars(p, p + 4, high / k1e8).ptr;
  p = put_8_digits(p, static_cast<std::uint32_t>(high % k1e8));
  return put_8_digits(p, static_cast<std::uint32_t>(v % k1e8));
}

char* put_signed(char* p, std::int64_t v) {
  if (v >= 0) return put_unsigned(p, static_cast<std::uint64_t>(v));
  *p++ = '-';
  return put_unsigned(p, 0 - static_cast<std::uint64_t>(v));  // INT64_MIN included
}

char* put(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

// One field value as JSON, as append_field_json writes it. REQUIRES: kMaxDoubleChars of room.
char* put_field_json(char* p, core::field_kind kind, std::uint64_t word) {
  switch (kind) {
    case core::field_kind::float64: {
      const double v = std::bit_cast<double>(word);
      if (!std::isfinite(v)) return put(p, "null");
      return write_shortest(p, p + kMaxDoubleChars, v);
    }
    case core::field_kind::int64:
      return put_signed(p, static_cast<std::int64_t>(word));
    case core::field_kind::uint64:
      return put_unsigned(p, word);
    case core::field_kind::boolean:
      return put(p, word != 0 ? "true" : "false");
  }
  return p;
}

// An integer time in unit f (not rfc3339), as append_time writes it.
char* put_integer_time(char* p, core::time_ns t, time_format f) {
  switch (f) {
    case time_format::us:
      t = floor_div(t, 1'000);
      break;
    case time_format::ms:
      t = floor_div(t, 1'000'000);
      break;
    case time_format::s:
      t = floor_div(t, 1'000'000'000);
      break;
    default:
      break;
  }
  return put_signed(p, t);
}

// Room a point needs in the stack buffer: fixed text, time, seq, and per column its key and
// value. Ignoring the keys' lengths would let a long field name overflow the buffer.
std::size_t point_room(std::span<const std::string> keys, std::size_t extra_per_column) {
  std::size_t n = 32 + 2 * kMaxNumberChars;
  for (const auto& k : keys)
    n += k.size() + extra_per_column;
  return n;
}

}  // namespace

void append_point_json(std::string& out, const core::stored_point& p,
                       std::span<const field_column> columns, std::span<const std::string> keys,
                       time_format f) {
  if (f != time_format::rfc3339 && point_room(keys, kMaxDoubleChars) <= kPointBuffer) {
    char buf[kPointBuffer];
    char* w = put(buf, "{\"time\":");
    w = put_integer_time(w, p.time, f);
    w = put(w, ",\"seq\":");
    w = put_unsigned(w, static_cast<std::uint64_t>(p.seq));
    for (std::size_t i = 0; i < columns.size(); ++i) {
      w = put(w, keys[i]);
      w = put_field_json(w, columns[i].kind, p.words[columns[i].index]);
    }
    *w++ = '}';
    out.append(buf, w);
    return;
  }
  out += "{\"time\":";
  append_time(out, p.time, f, true);
  out += ",\"seq\":";
  append_json_number(out, static_cast<std::uint64_t>(p.seq));
  for (std::size_t i = 0; i < columns.size(); ++i) {
    out += keys[i];
    append_field_json(out, columns[i].kind, p.words[columns[i].index]);
  }
  out.push_back('}');
}

void append_csv_text(std::string& out, std::string_view text) {
  // A text with a comma, quote or newline is quoted per RFC 4180.
  if (text.find_first_of(",\"\n\r") == std::string_view::npos) {
    out += text;
    return;
  }
  out.push_back('"');
  for (char ch : text) {
    if (ch == '"') out.push_back('"');
    out.push_back(ch);
  }
  out.push_back('"');
}

void append_csv_header(std::string& out, std::span<const field_column> columns) {
  out += "time";
  for (const auto& c : columns) {
    out.push_back(',');
    append_csv_text(out, c.name);
  }
  out.push_back('\n');
}

void append_csv_value(std::string& out, core::field_kind kind, std::uint64_t word) {
  if (kind == core::field_kind::float64) {
    const double v = std::bit_cast<double>(word);
    if (!std::isfinite(v)) {
      char buf[8];
      const auto r = std::to_chars(buf, buf + sizeof(buf), v);
      out.append(buf, r.ptr);
      return;
    }
  }
  append_field_json(out, kind, word);
}

void append_point_csv(std::string& out, const core::stored_point& p,
                      std::span<const field_column> columns, time_format f) {
  // One comma and one value per column (a non-finite double is "nan", "inf" or "-inf").
  if (f != time_format::rfc3339 &&
      32 + (columns.size() + 1) * (kMaxDoubleChars + 1) <= kPointBuffer) {
    char buf[kPointBuffer];
    char* w = put_integer_time(buf, p.time, f);
    for (const auto& c : columns) {
      *w++ = ',';
      const std::uint64_t word = p.words[c.index];
      if (c.kind == core::field_kind::float64 && !std::isfinite(std::bit_cast<double>(word))) {
        w = std::to_chars(w, w + kMaxDoubleChars, std::bit_cast<double>(word)).ptr;
      } else {
        w = put_field_json(w, c.kind, word);
      }
    }
    *w++ = '\n';
    out.append(buf, w);
    return;
  }
  append_time(out, p.time, f, false);
  for (const auto& c : columns) {
    out.push_back(',');
    append_csv_value(out, c.kind, p.words[c.index]);
  }
  out.push_back('\n');
}

double field_as_double(core::field_kind kind, std::uint64_t word) {
  switch (kind) {
    case core::field_kind::float64:
      return std::bit_cast<double>(word);
    case core::field_kind::int64:
      return static_cast<double>(static_cast<std::int64_t>(word));
    case core::field_kind::uint64:
      return static_cast<double>(word);
    case core::field_kind::boolean:
      return word != 0 ? 1.0 : 0.0;
  }
  return 0;
}

}  // namespace tickring::protocol
