// Scalar grammar of line protocol: numbers, booleans, timestamps and the UTF-8 check on names.
// Internal to protocol/line_protocol*.cc (the public API is line_protocol.h).
//
// Pure functions, thread-safe, no allocation, locale-free. The number parsers are inline because
// they run four or five times per line. Floats take the Clinger fast path when it is exact and
// std::from_chars (fast_float in libstdc++ 12) otherwise; from_chars alone is too permissive
// ("inf", "nan"), so the grammar is always checked here first. Integers use a decimal-only SWAR
// loop, several times faster than libstdc++'s any-base from_chars on 19-digit timestamps.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>

namespace tickring::protocol::detail {

enum class scalar_status : std::uint8_t { ok, invalid, out_of_range };

// -?(D+(.D*)?|.D+)([eE][+-]?D+)? where D is [0-9]. out_of_range when the value overflows a
// double or underflows to zero (1e-400); subnormals (1e-310) are accepted.
inline scalar_status parse_float(std::string_view text, double& out) noexcept;

// -?D+ (the `i` suffix already removed).
inline scalar_status parse_int(std::string_view text, std::int64_t& out) noexcept;

// D+ (the `u` suffix already removed); a sign is invalid.
inline scalar_status parse_uint(std::string_view text, std::uint64_t& out) noexcept;

// t T true True TRUE f F false False FALSE; nothing else (InfluxDB rejects "tRUE" and "yes").
bool parse_bool(std::string_view text, bool& out) noexcept;

// Well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view text) noexcept;

// The whole of `text` through std::from_chars; parse_float's fallback after the grammar check.
scalar_status parse_float_slow(std::string_view text, double& out) noexcept;

inline bool is_ascii_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

// Exactly representable powers of ten: the Clinger fast path below is exact up to 1e22.
inline constexpr std::array<double, 23> kPowersOfTen = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
inline constexpr int kMaxFastPowerOfTen = 22;
inline constexpr std::uint64_t kMaxExactMantissa = std::uint64_t{1} << 53;
// 19 decimal digits always fit a uint64 (10^19 - 1 < 2^64), so shorter numbers need no
// overflow checks.
inline constexpr std::size_t kMaxUncheckedDigits = 19;

// SWAR: validates and converts eight ASCII digits with a few multiplies instead of eight
// dependent multiply-adds (the technique of simdjson and fast_float).
inline bool eight_digits(const char* p, std::uint64_t& out) noexcept {
  std::uint64_t v = 0;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  if (((v + 0x4646464646464646) | (v - 0x3030303030303030)) & 0x8080808080808080) return false;
  v -= 0x3030303030303030;
  v = (v * 10) + (v >> 8);
  v = (((v & 0x000000FF000000FF) * (100 + (1000000ULL << 32))) +
       (((v >> 16) & 0x000000FF000000FF) * (1 + (10000ULL << 32)))) >>
      32;
  out = v;
  return true;
}

inline scalar_status parse_float(std::string_view text, double& out) noexcept {
  // One pass checks the grammar and gathers mantissa and exponent. When the mantissa fits 53
  // bits and the power of ten is exact, one correctly rounded multiply or divide gives the
  // correctly rounded result (Clinger); anything else goes to from_chars.
  const char* p = text.data();
  const char* const end = p + text.size();
  const bool negative = p != end && *p == '-';
  p += negative ? 1 : 0;
  std::uint64_t mantissa = 0;  // wraps when digits > 19; then the fast path is not taken
  const char* const int_begin = p;
  for (; p != end && is_ascii_digit(*p); ++p)
    mantissa = mantissa * 10 + static_cast<unsigned>(*p - '0');
  std::size_t digits = static_cast<std::size_t>(p - int_begin);
  std::size_t fraction_digits = 0;
  if (p != end && *p == '.') {
    const char* const frac_begin = ++p;
    for (; p != end && is_ascii_digit(*p); ++p) {
      mantissa = mantissa * 10 + static_cast<unsigned>(*p - '0');
    }
    fraction_digits = static_cast<std::size_t>(p - frac_begin);
    digits += fraction_digits;
  }
  if (digits == 0) return scalar_status::invalid;
  int exponent = 0;  // saturates: only its small values matter for the fast path
  if (p != end && (*p == 'e' || *p == 'E')) {
    ++p;
    const bool negative_exponent = p != end && *p == '-';
    p += p != end && (*p == '-' || *p == '+') ? 1 : 0;
    const char* const exp_begin = p;
    for (; p != end && is_ascii_digit(*p); ++p) {
      exponent = std::min(exponent * 10 + (*p - '0'), 100'000);
    }
    if (p == exp_begin) return scalar_status::invalid;
    exponent = negative_exponent ? -exponent : exponent;
  }
  if (p != end) return scalar_status::invalid;
  const int power = exponent - static_cast<int>(std::min<std::size_t>(fraction_digits, 100'000));
  if (digits <= kMaxUncheckedDigits && mantissa <= kMaxExactMantissa &&
      power >= -kMaxFastPowerOfTen && power <= kMaxFastPowerOfTen) {
    double value = static_cast<double>(mantissa);
    value = power < 0 ? value / kPowersOfTen[static_cast<std::size_t>(-power)]
                      : value * kPowersOfTen[static_cast<std::size_t>(power)];
    out = negative ? -value : value;
    return scalar_status::ok;
  }
  return parse_float_slow(text, out);
}

inline scalar_status parse_uint(std::string_view text, std::uint64_t& out) noexcept {
  const std::size_t n = text.size();
  if (n == 0) return scalar_status::invalid;
  std::uint64_t value = 0;
  if (n <= kMaxUncheckedDigits) {
    std::size_t i = 0;
    for (std::uint64_t chunk = 0; i + 8 <= n; i += 8) {
      if (!eight_digits(text.data() + i, chunk)) return scalar_status::invalid;
      value = value * 100'000'000 + chunk;
    }
    for (; i < n; ++i) {
      const auto digit = static_cast<unsigned>(text[i] - '0');
      if (digit > 9) return scalar_status::invalid;
      value = value * 10 + digit;
    }
    out = value;
    return scalar_status::ok;
  }
  bool overflow = false;
  for (const char c : text) {
    const auto digit = static_cast<unsigned>(c - '0');
    if (digit > 9) return scalar_status::invalid;
    overflow |= __builtin_mul_overflow(value, 10u, &value);
    overflow |= __builtin_add_overflow(value, digit, &value);
  }
  if (overflow) return scalar_status::out_of_range;
  out = value;
  return scalar_status::ok;
}

inline scalar_status parse_int(std::string_view text, std::int64_t& out) noexcept {
  const bool negative = !text.empty() && text.front() == '-';
  std::uint64_t magnitude = 0;
  const scalar_status status = parse_uint(text.substr(negative ? 1 : 0), magnitude);
  if (status != scalar_status::ok) return status;
  const std::uint64_t limit =
      static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + (negative ? 1 : 0);
  if (magnitude > limit) return scalar_status::out_of_range;
  // Two's complement wrap-around is defined for this conversion since C++20.
  out = static_cast<std::int64_t>(negative ? 0 - magnitude : magnitude);
  return scalar_status::ok;
}

}  // namespace tickring::protocol::detail
