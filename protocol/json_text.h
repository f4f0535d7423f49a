// Building JSON text straight into a std::string, without a document tree: the response path
// writes thousands of points per request, and a tree per point would cost an allocation each.
// nlohmann_json is used for small control messages instead.
//
// Pure functions; thread-safe. Strings are escaped per RFC 8259 (control bytes as \u00XX).
// The answer is always valid UTF-8: names are validated by the line-protocol parser, but text
// echoed from a request (a key, a parameter, an error message) may be anything, so each byte
// that does not start a well-formed UTF-8 sequence is written as U+FFFD.
// Doubles are written in the shortest form that reads back exactly, byte for byte as
// std::to_chars writes it (a decimal with few digits takes a fast path, ~5x cheaper); NaN
// and infinities, which JSON cannot carry, are written as null.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tickring::protocol {

void append_json_string(std::string& out, std::string_view s);
// The shortest text that reads back as the finite double v, exactly as std::to_chars(first,
// last, v) writes it; decimals with few digits take a fast path (json_text.cc). Returns the
// end of the text. REQUIRES: last - first >= kMaxDoubleChars.
inline constexpr std::size_t kMaxDoubleChars = 32;
char* write_shortest(char* first, char* last, double v);
void append_json_number(std::string& out, double v);
void append_json_number(std::string& out, std::int64_t v);
void append_json_number(std::string& out, std::uint64_t v);

// {"error":{"code":<code>,"message":<message>}}
std::string json_error(int code, std::string_view message);

}  // namespace tickring::protocol
