// The fast path of line_parser::parse(): one pass over a "plain" line, which is what every
// well-behaved client sends. Internal to protocol/line_protocol.cc.
//
//   quotes,sym=SYM0042 bid=1.08421,ask=1.08432,bid_size=1000000i 1700000000000000123
//
// Contract
// - parse_plain_line() returns true only for lines that the general path (line_protocol.cc with
//   line_protocol_scanner.h) accepts, and then fills `out` and `storage` exactly as the general
//   path would: same views, same values, bit for bit. Debug builds (and so the fuzzer) check this
//   on every line it accepts.
// - It returns false, having perhaps written part of `out` and `storage`, for everything else:
//   a backslash, control byte or non-ASCII byte anywhere, a string field, too many fields, any
//   error. The general path then parses the line from its start and reports whatever is wrong,
//   so the fast path never builds an error message and never has to agree on one.
// - No allocation, no scratch buffer (a plain name is its own unescaped form), pure.
//
// Why it is fast. In a line without escapes every name and every value ends at the next ',', ' '
// or '='. Those and the bytes that need the general path's rules (a backslash, control bytes,
// non-ASCII bytes) are the line's structural bytes. They are found 64 at a time as a bit mask
// (line_protocol_bytes.h) and taken one by one with "count trailing zeros, clear lowest bit", so
// the chain from one token to the next is two register operations instead of a load, a compare
// and a mask extraction, and the values are parsed off that chain, overlapped by the CPU. Every
// stop is checked for the delimiter the grammar expects there, so a special byte anywhere ends
// the fast path with no test of its own, and names need no unescaping or UTF-8 validation.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string_view>

#include "protocol/line_protocol.h"
#include "protocol/line_protocol_bytes.h"
#include "protocol/line_protocol_values.h"

namespace tickring::protocol::detail {

// The structural bytes of [begin, end) in order (see structural_bytes), found 64 at a time as
// they are reached. Lives in registers: next() is inlined.
class structure_stream {
 public:
  structure_stream(const char* begin, const char* end) noexcept
      : end_(end), chunk_(begin), left_(static_cast<std::size_t>(end - begin)) {}

  // The next structural byte, or `end` when there is none. `line` is where the line starts.
  [[gnu::always_inline]] const char* next(const char* line) noexcept {
    while (bits_ == 0) {  // once per 64 bytes
      if (left_ == 0) return end_;
      chunk_ = end_ - left_;
      bits_ = structure_of_chunk(line, chunk_, end_);
      left_ -= left_ < 64 ? left_ : 64;
    }
    const char* const at = chunk_ + std::countr_zero(bits_);
    bits_ &= bits_ - 1;
    return at;
  }

 private:
  const char* end_;
  const char* chunk_;  // the 64 bytes that bits_ describes
  std::size_t left_;   // bytes after them
  std::uint64_t bits_ = 0;
};

inline constexpr std::uint64_t kPowersOfTenU64[9] = {
    1, 10, 100, 1'000, 10'000, 100'000, 1'000'000, 10'000'000, 100'000'000};

// The common numeric values: the whole token [v, d) is -?D*.D* or -?D+ (floats) or -?D+i (an
// integer), with at most 15 digits. False, having written nothing, for anything else. The
// results equal parse_float's and parse_int's on the same token:
// - a float has a mantissa below 10^15 < 2^53 and at most 15 fraction digits, so parse_float
//   takes its exact Clinger path too, and the same operation (mantissa / 10^f, or the identity
//   * 10^0 for f = 0) on the same two exact doubles gives the same correctly rounded result;
// - an integer below 10^15 needs no range check, and is negated the same way.
[[gnu::always_inline]] inline bool plain_number(const char* line, const char* v, const char* d,
                                                const char* end, field_value& out) noexcept {
  const bool negative = *v == '-';
  const char* const q = v + (negative ? 1 : 0);
  const auto n = static_cast<std::size_t>(d - q);
  if (n == 0 || n > 16) return false;
  const std::uint32_t others = non_digits(line, q, end) & low_bits(n);
  // The mantissas fit an int64, whose conversion to double is cheaper than a uint64's.
  if (others == 0) {
    if (n > 15) return false;
    const auto value =
        static_cast<double>(static_cast<std::int64_t>(digits_value(line, end, q, n)));
    out = field_value::of_float(negative ? -value : value);
    return true;
  }
  const auto first = static_cast<std::size_t>(std::countr_zero(others));
  const bool single = (others & (others - 1)) == 0;
  if (single && q[first] == '.' && n >= 2) {
    const std::size_t fraction_digits = n - 1 - first;
    std::uint64_t mantissa = 0;
    if (n <= 8) {
      // One word holds the number: move the integer digits up over the '.' and convert once.
      const std::uint64_t w = load_word(line, end, q) & kDigitBits;
      const std::uint64_t through_dot = ~std::uint64_t{0} >> (64 - 8 * (first + 1));
      const std::uint64_t digits = ((w << 8) & through_dot) | (w & ~through_dot);
      mantissa = eight_digits_value(digits << (8 * (8 - n)));
    } else {
      const std::uint64_t scale = fraction_digits <= 8
                                      ? kPowersOfTenU64[fraction_digits]
                                      : kPowersOfTenU64[8] * kPowersOfTenU64[fraction_digits - 8];
      mantissa = digits_value(line, end, q, first) * scale +
                 digits_value(line, end, q + first + 1, fraction_digits);
    }
    double value = static_cast<double>(static_cast<std::int64_t>(mantissa));
    if (fraction_digits != 0) value /= kPowersOfTen[fraction_digits];
    out = field_value::of_float(negative ? -value : value);
    return true;
  }
  if (single && first == n - 1 && q[first] == 'i' && n >= 2) {
    const std::uint64_t magnitude =
        n <= 9 ? eight_digits_value((load_word(line, end, q) & kDigitBits) << (8 * (9 - n)))
               : digits_value(line, end, q, n - 1);
    // Two's complement wrap-around is defined for this conversion since C++20.
    out = field_value::of_int(static_cast<std::int64_t>(negative ? 0 - magnitude : magnitude));
    return true;
  }
  return false;
}

// parse_scalar() of line_protocol_scanner.h without its error reports: the values that
// plain_number leaves (booleans, 'u' integers, exponents, long numbers).
inline bool plain_value(std::string_view token, field_value& out) noexcept {
  const char first = token.front();
  if (first == 't' || first == 'T' || first == 'f' || first == 'F') {
    bool b = false;
    if (!parse_bool(token, b)) return false;
    out = field_value::of_bool(b);
    return true;
  }
  if (first != '-' && first != '.' && (first < '0' || first > '9')) return false;
  const char suffix = token.back();
  if (suffix == 'i') {
    std::int64_t v = 0;
    if (parse_int(token.substr(0, token.size() - 1), v) != scalar_status::ok) return false;
    out = field_value::of_int(v);
  } else if (suffix == 'u') {
    std::uint64_t v = 0;
    if (parse_uint(token.substr(0, token.size() - 1), v) != scalar_status::ok) return false;
    out = field_value::of_uint(v);
  } else {
    double v = 0;
    if (parse_float(token, v) != scalar_status::ok) return false;
    out = field_value::of_float(v);
  }
  return true;
}

// The timestamp token [p, d), with only spaces after it: -?D{1,19} within the int64 range,
// exactly the tokens that parse_int accepts on the general path.
[[gnu::always_inline]] inline bool plain_timestamp(const char* line, const char* p, const char* d,
                                                   const char* end, precision unit,
                                                   std::optional<std::int64_t>& out) noexcept {
  for (const char* rest = d; rest != end; ++rest) {
    if (*rest != ' ') return false;
  }
  const bool negative = *p == '-';
  const char* const q = p + (negative ? 1 : 0);
  const auto n = static_cast<std::size_t>(d - q);
  if (n == 0 || n > kMaxUncheckedDigits) return false;
  std::uint32_t others = non_digits(line, q, end) & low_bits(n < 16 ? n : 16);
  if (n > 16) others |= non_digits(line, q + 16, end) & low_bits(n - 16);
  if (others != 0) return false;
  const std::uint64_t magnitude = digits_value(line, end, q, n);
  const std::uint64_t limit =
      static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + (negative ? 1 : 0);
  if (magnitude > limit) return false;
  // Two's complement wrap-around is defined for this conversion since C++20.
  const auto time = static_cast<std::int64_t>(negative ? 0 - magnitude : magnitude);
  out = unit == precision::ns ? std::optional<std::int64_t>(time) : to_nanoseconds(time, unit);
  return out.has_value();
}

// The contract above, for one line the fast path accepted with result `fast`: the general path
// accepts it too, with the same views and the same bits in every value. In line_protocol.cc;
// asserted by parse() in debug builds and called by the unit tests.
bool general_path_agrees(std::string_view line, precision unit, const parsed_line& fast);

// `line` has had its '\r' removed; line[start] is its first non-space byte, not '#'.
[[gnu::always_inline]] inline bool parse_plain_line(std::string_view line, std::size_t start,
                                                    std::span<field> storage, precision unit,
                                                    parsed_line& out) noexcept {
  const char* const data = line.data();
  const char* const end = data + line.size();
  const auto view = [](const char* from, const char* to) {
    return std::string_view(from, static_cast<std::size_t>(to - from));
  };
  structure_stream stops(data + start, end);
  // The byte at a stop, or '\n' (no delimiter) for the end of the line.
  const auto at = [end](const char* d) { return d == end ? '\n' : *d; };

  // measurement,key=value[,key=value...] — a line without tags has no symbol: not ours.
  const char* p = data + start;
  const char* d = stops.next(data);
  if (d == p || at(d) != ',') return false;
  out.measurement = view(p, d);
  bool have_symbol = false;
  // Tag keys so far: a repeated key goes to the general path, which reports it. Quote lines
  // carry one to three tags; more than this also take the general path.
  constexpr std::size_t kFastTags = 8;
  std::array<std::string_view, kFastTags> keys;
  std::size_t tags = 0;
  do {
    const char* const key = d + 1;
    d = stops.next(data);
    if (d == key || at(d) != '=') return false;
    const char* const value = d + 1;
    d = stops.next(data);
    if (d == value || (at(d) != ',' && at(d) != ' ')) return false;
    const std::string_view key_name = view(key, value - 1);
    if (tags == kFastTags) return false;
    for (std::size_t i = 0; i < tags; ++i) {
      if (keys[i] == key_name) return false;
    }
    keys[tags++] = key_name;
    if (key_name == "sym" || key_name == "symbol") {
      if (have_symbol) return false;
      have_symbol = true;
      out.symbol = view(value, d);
    }
  } while (at(d) == ',');
  if (!have_symbol) return false;

  // One or more spaces, then field=value[,field=value...]
  std::size_t count = 0;
  // One bit per (first byte, length) hash of the names so far: a name whose bit is clear is new
  // without comparing it with every earlier name (quote fields all differ in that hash).
  std::uint64_t seen = 0;
  p = d + 1;
  d = stops.next(data);
  while (d == p && at(d) == ' ') {
    p = d + 1;
    d = stops.next(data);
  }
  for (;;) {
    if (d == p || at(d) != '=' || count == storage.size()) return false;
    const std::string_view name = view(p, d);
    const std::uint64_t hash_bit = std::uint64_t{1}
                                   << ((static_cast<unsigned char>(*p) ^ (name.size() << 3)) & 63);
    if ((seen & hash_bit) != 0) {
      for (std::size_t i = 0; i < count; ++i) {
        if (storage[i].name == name) return false;
      }
    }
    seen |= hash_bit;
    const char* const value = d + 1;
    d = stops.next(data);
    if (d == value || (at(d) != ',' && at(d) != ' ' && d != end)) return false;
    // Parsed in place: see parse_fields() in line_protocol.cc.
    field_value& slot = storage[count].value;
    if (!plain_number(data, value, d, end, slot) && !plain_value(view(value, d), slot)) {
      return false;
    }
    storage[count++].name = name;
    if (at(d) != ',') break;
    p = d + 1;
    d = stops.next(data);
  }
  out.fields = storage.first(count);

  // Spaces, then [timestamp] and spaces.
  while (d != end) {
    p = d + 1;
    d = stops.next(data);
    if (d == p && at(d) == ' ') continue;
    if (p == end) break;
    return plain_timestamp(data, p, d, end, unit, out.timestamp);
  }
  out.timestamp.reset();
  return true;
}

}  // namespace tickring::protocol::detail
