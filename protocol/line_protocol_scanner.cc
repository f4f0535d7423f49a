#include "protocol/line_protocol_scanner.h"

#include "protocol/line_protocol_values.h"

namespace tickring::protocol::detail {

using code = parse_error_code;

// Out of line: only names with escapes get here.
std::string_view line_scanner::unescape_escaped(const name_token& token, const name_kind& kind) {
  // Growing is safe: only this line's names point into scratch_, and they are all written after
  // this first growth because every later call finds it already as long as the line.
  if (scratch_.size() < line_.size()) scratch_.resize(line_.size());
  char* const begin = scratch_.data() + scratch_used_;
  char* out = begin;
  const std::string_view raw = token.raw;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size() && (byte_class(raw[i + 1]) & kind.ends) != 0) ++i;
    *out++ = raw[i];
  }
  const auto length = static_cast<std::size_t>(out - begin);
  scratch_used_ += length;
  assert(scratch_used_ <= line_.size());  // unescaped names never outgrow the line
  return {begin, length};
}

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
