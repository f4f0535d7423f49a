// Building parse_error reasons. Internal to protocol/line_protocol*.cc.
//
// Only the error path comes here, so plain std::string appends are fine; the caller's
// parse_error::reason keeps its capacity across errors. Text copied from the input is sanitised
// and truncated (see quoted) because reasons go back to clients, into logs and into JSON bodies,
// which must stay valid UTF-8 and one line long whatever the input was.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "protocol/line_protocol.h"

namespace tickring::protocol::detail {

// Input text shown in a reason is cut to this many bytes: enough to recognise a value or a name,
// short enough that a 64 KiB garbage token still gives a one-line log entry.
inline constexpr std::size_t kMaxQuotedBytes = 48;

// Input text, appended in single quotes with bytes outside printable ASCII written as \xNN and
// anything past kMaxQuotedBytes replaced by "...".
struct quoted {
  explicit quoted(std::string_view t) noexcept : text(t) {}
  std::string_view text;
};

// An unsigned number, appended in decimal.
struct decimal {
  explicit decimal(std::size_t v) noexcept : value(v) {}
  std::size_t value;
};

void append_part(std::string& out, std::string_view text);
void append_part(std::string& out, quoted text);
void append_part(std::string& out, decimal number);

// "nanoseconds", "seconds", ...
std::string_view unit_name(precision unit) noexcept;

template <typename... Parts>
void set_error(parse_error& err, std::size_t line, std::size_t offset, parse_error_code code,
               const Parts&... parts) {
  err.line = line;
  err.offset = offset;
  err.code = code;
  err.reason.clear();
  (append_part(err.reason, parts), ...);
}

}  // namespace tickring::protocol::detail
