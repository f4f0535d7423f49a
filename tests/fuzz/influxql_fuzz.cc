// libFuzzer target for the InfluxQL parser (protocol/influxql.cc): any bytes give statements
// within the parser's bounds or an error with a code, a message and a position inside the
// query; never a crash, a hang or a sanitizer report.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/influxql.h"

namespace {
void require(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace iq = tickring::protocol::influxql;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto r = iq::parse(text, 1'700'000'000'000'000'000);
  require(r.statements.size() <= iq::kMaxStatements);
  if (r.error) {
    require(!r.error.message.empty());
    require(r.error.position <= text.size());
    // An error quotes a bounded part of the query, whatever its length.
    require(r.error.message.size() < 512);
    return 0;
  }
  require(!r.statements.empty());
  for (const auto& s : r.statements) {
    require(s.fields.size() <= iq::kMaxSelectFields);
    if (s.kind == iq::statement_kind::select) {
      require(!s.fields.empty() && !s.measurement.empty());
      require(s.group_interval >= 0);
    }
  }
  return 0;
}
