#include "protocol/line_protocol_values.h"

#include <charconv>
#include <optional>
#include <system_error>

#include "protocol/line_protocol.h"

namespace tickring::protocol {
namespace detail {

scalar_status parse_float_slow(std::string_view text, double& out) noexcept {
  const char* const end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, out);
  if (ec == std::errc::result_out_of_range) return scalar_status::out_of_range;
  if (ec != std::errc{} || ptr != end) return scalar_status::invalid;
  return scalar_status::ok;
}

bool parse_bool(std::string_view text, bool& out) noexcept {
  if (text == "t" || text == "T" || text == "true" || text == "True" || text == "TRUE") {
    out = true;
    return true;
  }
  if (text == "f" || text == "F" || text == "false" || text == "False" || text == "FALSE") {
    out = false;
    return true;
  }
  return false;
}

bool is_valid_utf8(std::string_view text) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const auto is_continuation = [&](std::size_t i) {
    return i < text.size() && (byte(i) & 0xC0) == 0x80;
  };
  std::size_t i = 0;
  while (i < text.size()) {
    const unsigned char lead = byte(i);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    // Bounds of the second byte exclude overlong forms (E0, F0), surrogates (ED) and code
    // points above U+10FFFF (F4); C0, C1 and F5..FF can never start a sequence.
    unsigned char second_min = 0x80;
    unsigned char second_max = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) second_min = 0xA0;
      if (lead == 0xED) second_max = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) second_min = 0x90;
      if (lead == 0xF4) second_max = 0x8F;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    if (byte(i + 1) < second_min || byte(i + 1) > second_max) return false;
    for (std::size_t k = 2; k < length; ++k) {
      if (!is_continuation(i + k)) return false;
    }
    i += length;
  }
  return true;
}

}  // namespace detail

std::optional<precision> parse_precision(std::string_view text) noexcept {
  if (text == "n" || text == "ns") return precision::ns;
  if (text == "u" || text == "us") return precision::us;
  if (text == "ms") return precision::ms;
  if (text == "s") return precision::s;
  return std::nullopt;
}

std::optional<std::int64_t> to_nanoseconds(std::int64_t time, precision unit) noexcept {
  std::int64_t scale = 1;
  switch (unit) {
    case precision::ns:
      return time;
    case precision::us:
      scale = 1'000;
      break;
    case precision::ms:
      scale = 1'000'000;
      break;
    case precision::s:
      scale = 1'000'000'000;
      break;
  }
  std::int64_t ns = 0;
  if (__builtin_mul_overflow(time, scale, &ns)) return std::nullopt;
  return ns;
}

}  // namespace tickring::protocol
