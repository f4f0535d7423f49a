// Small text helpers shared by the parsers of headers, flags and files (one home, so that
// the server, the CLI and the load tools trim and compare the same way).
//
// Pure, header-only (the load tools in bench/ compile them without the protocol library).
// ASCII only: header names and schemes are ASCII; other bytes compare as they are.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tickring::protocol {

// Without leading and trailing blanks: space and tab (and '\r', which a line read from a file
// written on Windows keeps).
inline std::string_view trim(std::string_view s) noexcept {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!s.empty() && blank(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && blank(s.back()))
    s.remove_suffix(1);
  return s;
}

// ASCII case-insensitive equality (HTTP header names, authorization schemes).
inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if (x != y && ((x | 0x20) != (y | 0x20) || (x | 0x20) < 'a' || (x | 0x20) > 'z')) return false;
  }
  return true;
}

// "a, b,,c" -> {"a", "b", "c"}: the items of a `sep`-separated list, trimmed, empty ones
// dropped (a list of server URLs, of header tokens).
inline std::vector<std::string> split_list(std::string_view text, char sep = ',') {
  std::vector<std::string> out;
  while (true) {
    const std::size_t at = text.find(sep);
    const std::string_view item = trim(text.substr(0, at));
    if (!item.empty()) out.emplace_back(item);
    if (at == std::string_view::npos) return out;
    text.remove_prefix(at + 1);
  }
}

}  // namespace tickring::protocol
