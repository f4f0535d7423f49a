#include "protocol/line_protocol_error.h"

#include <array>
#include <charconv>

namespace tickring::protocol {
namespace detail {

void append_part(std::string& out, std::string_view text) {
  out.append(text);
}

void append_part(std::string& out, quoted text) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::string_view shown = text.text.substr(0, kMaxQuotedBytes);
  out.push_back('\'');
  for (const char c : shown) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b < 0x7F) {
      out.push_back(c);
    } else {
      out.append("\\x");
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xF]);
    }
  }
  if (shown.size() < text.text.size()) out.append("...");
  out.push_back('\'');
}

void append_part(std::string& out, decimal number) {
  std::array<char, 24> digits{};
  const auto result = std::to_chars(digits.data(), digits.data() + digits.size(), number.value);
  out.append(digits.data(), result.ptr);
}

std::string_view unit_name(precision unit) noexcept {
  switch (unit) {
    case precision::ns:
      return "nanoseconds";
    case precision::us:
      return "microseconds";
    case precision::ms:
      return "milliseconds";
    case precision::s:
      return "seconds";
  }
  return "?";
}

}  // namespace detail

std::string_view to_string(parse_error_code code) noexcept {
  switch (code) {
    case parse_error_code::line_too_long:
      return "line_too_long";
    case parse_error_code::invalid_character:
      return "invalid_character";
    case parse_error_code::invalid_utf8:
      return "invalid_utf8";
    case parse_error_code::missing_measurement:
      return "missing_measurement";
    case parse_error_code::missing_tag_key:
      return "missing_tag_key";
    case parse_error_code::missing_tag_value:
      return "missing_tag_value";
    case parse_error_code::missing_field_set:
      return "missing_field_set";
    case parse_error_code::missing_field_key:
      return "missing_field_key";
    case parse_error_code::missing_field_value:
      return "missing_field_value";
    case parse_error_code::invalid_value:
      return "invalid_value";
    case parse_error_code::invalid_float:
      return "invalid_float";
    case parse_error_code::invalid_integer:
      return "invalid_integer";
    case parse_error_code::invalid_unsigned:
      return "invalid_unsigned";
    case parse_error_code::invalid_boolean:
      return "invalid_boolean";
    case parse_error_code::value_out_of_range:
      return "value_out_of_range";
    case parse_error_code::unterminated_string:
      return "unterminated_string";
    case parse_error_code::string_field:
      return "string_field";
    case parse_error_code::duplicate_field:
      return "duplicate_field";
    case parse_error_code::too_many_fields:
      return "too_many_fields";
    case parse_error_code::invalid_timestamp:
      return "invalid_timestamp";
    case parse_error_code::timestamp_out_of_range:
      return "timestamp_out_of_range";
    case parse_error_code::trailing_text:
      return "trailing_text";
    case parse_error_code::missing_symbol:
      return "missing_symbol";
    case parse_error_code::duplicate_symbol:
      return "duplicate_symbol";
    case parse_error_code::duplicate_tag:
      return "duplicate_tag";
    case parse_error_code::too_many_tags:
      return "too_many_tags";
  }
  return "unknown";
}

std::string parse_error::to_string() const {
  std::string text = "line ";
  detail::append_part(text, detail::decimal{line});
  text.append(", byte ");
  detail::append_part(text, detail::decimal{offset});
  text.append(": ");
  text.append(reason);
  return text;
}

}  // namespace tickring::protocol
