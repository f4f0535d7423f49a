#include "protocol/json_text.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <optional>

namespace tickring::protocol {

namespace {

// Length of the well-formed UTF-8 sequence at s[i] (Unicode 15, table 3-7: no overlong forms,
// no surrogates, nothing above U+10FFFF), or 0 if the bytes there are not one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0U;
  };
  const unsigned b0 = byte(0);
  const auto cont = [](unsigned b) { return (b & 0xC0U) == 0x80U; };
  if (b0 >= 0xC2 && b0 <= 0xDF) return cont(byte(1)) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    const unsigned b1 = byte(1);
    const unsigned lo = b0 == 0xE0 ? 0xA0 : 0x80;
    const unsigned hi = b0 == 0xED ? 0x9F : 0xBF;
    return b1 >= lo && b1 <= hi && cont(byte(2)) ? 3 : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    const unsigned b1 = byte(1);
    const unsigned lo = b0 == 0xF0 ? 0x90 : 0x80;
    const unsigned hi = b0 == 0xF4 ? 0x8F : 0xBF;
    return b1 >= lo && b1 <= hi && cont(byte(2)) && cont(byte(3)) ? 4 : 0;
  }
  return 0;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  // U+FFFD REPLACEMENT CHARACTER, in UTF-8.
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  out.push_back('"');
  std::size_t run = 0;  // bytes that need no escape are copied in runs
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const std::size_t n = utf8_sequence(s, i);
      if (n != 0) {
        i += n - 1;
        continue;
      }
      out.append(s.substr(run, i - run));
      run = i + 1;
      out.append(kReplacement);
      continue;
    }
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.substr(run, i - run));
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
    }
  }
  out.append(s.substr(run));
  out.push_back('"');
}

namespace {

// Decimal digits of n (n > 0: at least 1).
unsigned decimal_digits(std::uint64_t n) {
  unsigned d = 1;
  while (n >= 10) {
    n /= 10;
    ++d;
  }
  return d;
}

// If a (finite, >= 0) is the double nearest to k / 10^D for an integer k, returns k. Exact:
// the division is correctly rounded, so equality means exactly that. REQUIRES:
// a * 10^D < 2^53 (k and the product are then exact enough to find the right k).
template <unsigned D>
std::optional<std::uint64_t> scaled_integer(double a) {
  constexpr double kScale = D == 2 ? 1e2 : 1e8;
  const auto k = static_cast<std::uint64_t>(a * kScale + 0.5);
  if (static_cast<double>(k) / kScale != a) return std::nullopt;
  return k;
}

// std::to_chars writes the shorter of the %f and %e forms of the shortest digits (%f on a
// tie): "1e+05" for 100000, "1e-05" for 0.00001. True if %f is its choice for the decimal
// k / 10^decimals written without trailing zeros (k % 10 != 0 when decimals > 0). Only whole
// numbers ending in zeros and numbers below 0.001 can lose to %e.
bool fixed_form_wins(std::uint64_t k, unsigned decimals) {
  if (k == 0) return true;
  unsigned trailing = 0;
  for (std::uint64_t w = k; w % 10 == 0; w /= 10)
    ++trailing;
  const unsigned digits = decimal_digits(k);
  const unsigned significant = digits - trailing;
  const unsigned sci_len = significant + (significant > 1 ? 1 : 0) + 4;  // "e+XX", |exp| < 100
  const unsigned fixed_len = digits > decimals ? digits + (decimals > 0 ? 1 : 0) : decimals + 2;
  return fixed_len <= sci_len;
}

// The fast path of write_shortest for v = k / 10^D: the fixed form with trailing zeros of the
// decimals dropped, or nullptr when std::to_chars would write the %e form.
template <unsigned D>
char* write_decimal(char* p, bool negative, std::uint64_t k) {
  constexpr std::uint64_t kDiv = D == 2 ? 100 : 100'000'000;
  const std::uint64_t whole = k / kDiv;
  std::uint64_t frac = k % kDiv;
  unsigned decimals = D;
  while (decimals > 0 && frac % 10 == 0) {
    frac /= 10;
    --decimals;
  }
  // Fixed is always shorter for a number >= 1 with decimals: check only the other cases.
  if ((whole == 0 || decimals == 0) && !fixed_form_wins(decimals == 0 ? whole : frac, decimals))
    return nullptr;
  if (negative) *p++ = '-';
  p = std::to_chars(p, p + 20, whole).ptr;
  if (decimals > 0) {
    *p++ = '.';
    for (unsigned i = decimals; i-- > 0; frac /= 10)
      p[i] = static_cast<char>('0' + frac % 10);
    p += decimals;
  }
  return p;
}

}  // namespace

char* write_shortest(char* first, char* last, double v) {
  // Most market values are decimals with few digits (prices with 2 or 5 decimals, sizes).
  // Such a v is the double nearest to k / 10^d, and then k / 10^d (trailing zeros dropped)
  // is the shortest decimal that reads back as v, provided two decimals 10^-d apart, or one
  // digit further, cannot round to the same double (ulp(v) < 10^-(d+1)); a shorter decimal
  // would otherwise have fewer decimals, or a leading digit lower by one place and so no
  // fewer digits. The bounds below keep ulp(v) under 10^-(d+1) with room to spare and
  // k * 10^d under 2^53. Anything else, and whatever this path cannot prove, goes to
  // std::to_chars: the text is always byte for byte what std::to_chars writes (tested).
  constexpr double kTwoDecimalsBelow = 1e12;   // ulp(1e12) = 2^-13 ~ 1.2e-4 < 1e-3
  constexpr double kEightDecimalsBelow = 1e5;  // ulp(1e5) = 2^-36 ~ 1.5e-11 < 1e-9
  constexpr std::size_t kMaxFastChars = 1 + 20 + 1 + 8;
  const double a = std::fabs(v);
  if (static_cast<std::size_t>(last - first) >= kMaxFastChars) {
    // Below kEightDecimalsBelow one test covers 0 to 8 decimals (2-decimal prices too).
    if (a < kEightDecimalsBelow) {
      if (const auto k = scaled_integer<8>(a)) {
        if (char* p = write_decimal<8>(first, std::signbit(v), *k)) return p;
        return std::to_chars(first, last, v).ptr;
      }
    } else if (a < kTwoDecimalsBelow) {
      if (const auto k = scaled_integer<2>(a)) {
        if (char* p = write_decimal<2>(first, std::signbit(v), *k)) return p;
        return std::to_chars(first, last, v).ptr;
      }
    }
  }
  return std::to_chars(first, last, v).ptr;
}

void append_json_number(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[32];
  out.append(buf, write_shortest(buf, buf + sizeof(buf), v));
}

void append_json_number(std::string& out, std::int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

void append_json_number(std::string& out, std::uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

std::string json_error(int code, std::string_view message) {
  std::string out = "{\"error\":{\"code\":";
  append_json_number(out, static_cast<std::int64_t>(code));
  out += ",\"message\":";
  append_json_string(out, message);
  out += "}}";
  return out;
}

}  // namespace tickring::protocol
