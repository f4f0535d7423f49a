#include "protocol/line_protocol_scanner.h"

#include "protocol/line_protocol_values.h"

namespace tickring::protocol::detail {

using code = parse_error_code;

// Out of line: a string field rejects its line anyway, so this is never on the hot path.
bool line_scanner::scan_string(std::string_view name) {
  const std::size_t open = pos_++;
  while (pos_ < line_.size()) {
    const char c = line_[pos_];
    if (c == '"') {
      ++pos_;
      return true;
    }
    const bool escape =
        c == '\\' && pos_ + 1 < line_.size() && (line_[pos_ + 1] == '"' || line_[pos_ + 1] == '\\');
    pos_ += escape ? 2 : 1;
  }
  return fail(open, code::unterminated_string, "unterminated string value for field ", quoted(name),
              " (missing closing '\"')");
}

}  // namespace tickring::protocol::detail
