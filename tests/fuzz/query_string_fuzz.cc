// libFuzzer target for URL targets and times (protocol/query_string.cc): any bytes parse
// within the documented caps or fail cleanly; every time that parses survives a round trip
// through the formatter (RFC 3339 and integer nanoseconds); percent-encoding any bytes and
// decoding them gives the same bytes back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/query_string.h"

namespace {
void require(bool ok) {
  if (!ok) std::abort();
}

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tickring::protocol;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (const auto t = parse_target(text)) {
    require(t->segments.size() <= kMaxPathSegments);
    require(t->params.size() <= kMaxQueryParams);
  }

  if (const auto ns = parse_time(text)) {
    const std::string rfc = format_rfc3339(*ns);
    const auto back = parse_time(rfc);
    require(back.has_value() && *back == *ns);
    const auto again = parse_time(std::to_string(*ns));
    require(again.has_value() && *again == *ns);
  }

  const auto decoded = percent_decode(percent_encode(text), false);
  require(decoded.has_value() && *decoded == text);
  return 0;
}
