// libFuzzer target for JSON escaping (protocol/json_text.cc): whatever bytes a client puts in
// a name, a key or an error, the string written for it parses as JSON (so it is valid
// UTF-8), and a valid UTF-8 input comes back unchanged. Numbers: the first bytes read as a
// double, and as a decimal k / 10^d, are written exactly as std::to_chars writes them.
#include <bit>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "protocol/json_text.h"

namespace {
void require(bool ok) {
  if (!ok) std::abort();
}

bool valid_utf8(std::string_view s) {
  // nlohmann's parser rejects invalid UTF-8 in strings: use it as the reference by parsing a
  // string literal built without escaping (control bytes and quotes escaped minimally).
  std::string lit = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      lit += '\\';
      lit += c;
    } else if (u < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      lit += "\\u00";
      lit += kHex[u >> 4];
      lit += kHex[u & 15];
    } else {
      lit += c;
    }
  }
  lit += '"';
  return !nlohmann::json::parse(lit, nullptr, false).is_discarded();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tickring::protocol;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  std::string out;
  append_json_string(out, text);
  const auto j = nlohmann::json::parse(out, nullptr, false);
  require(!j.is_discarded() && j.is_string());
  if (valid_utf8(text)) require(j.get<std::string>() == text);

  const auto e = nlohmann::json::parse(json_error(400, text), nullptr, false);
  require(!e.is_discarded() && e["error"]["code"] == 400 && e["error"]["message"].is_string());
  if (size >= 9) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, data, 8);
    constexpr double kScale[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    const double decimal =
        static_cast<double>(static_cast<std::int64_t>(bits >> 11) - (std::int64_t{1} << 52)) /
        kScale[data[8] % 10];
    for (const double v : {std::bit_cast<double>(bits), decimal}) {
      if (!std::isfinite(v)) continue;
      char want[64];
      char got[kMaxDoubleChars];
      const std::string_view a(want, std::to_chars(want, want + sizeof(want), v).ptr);
      const std::string_view b(got, write_shortest(got, got + sizeof(got), v));
      require(a == b);
    }
  }
  return 0;
}
