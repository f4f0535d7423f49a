// libFuzzer target for the WebSocket stream's client messages (protocol/stream_requests.cc):
// any bytes give either a request within its limits or an error whose answer is valid JSON.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "protocol/stream_messages.h"

namespace {
constexpr std::size_t kCap = 10'000;
void require(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tickring::protocol;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto r = parse_client_message(text, kCap);
  if (const auto* e = std::get_if<stream_error>(&r)) {
    // The answer must parse, and carry the code word.
    const auto j = nlohmann::json::parse(error_message(*e), nullptr, false);
    require(!j.is_discarded() && j["code"] == std::string(to_string(e->code)));
    return 0;
  }
  const auto& m = std::get<client_message>(r);
  if (const auto* s = std::get_if<subscribe_request>(&m)) {
    require(s->snapshot <= kCap);
    require(s->batch <= kMaxBatch && s->batch != 1);
    require(s->candle_interval == 0 || (s->candle_interval >= tickring::core::kMinCandleInterval &&
                                        s->candle_interval <= tickring::core::kMaxCandleInterval));
    require(!s->series.measurement.empty());
    require(parse_series_spec(s->series.name()).has_value());
  }
  return 0;
}
