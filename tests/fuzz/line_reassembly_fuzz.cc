// libFuzzer target for the feed's line reassembly (protocol/line_reassembler.h): the first
// bytes of the input choose how the rest is cut into reads; whatever the cut, the lines
// handed out equal those of the whole input split at its newlines (over-long lines reported
// as such, an unterminated last line dropped).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/line_reassembler.h"

namespace {
constexpr std::size_t kMax = 32;
constexpr std::size_t kChunk = 16;
const std::string kTooLong("\0too long", 9);

void require(bool ok) {
  if (!ok) std::abort();
}

std::vector<std::string> reference(std::string_view in) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto nl = in.find('\n', start);
    if (nl == std::string_view::npos) {
      if (in.size() - start > kMax) out.push_back(kTooLong);
      return out;
    }
    const auto line = in.substr(start, nl - start);
    out.push_back(line.size() > kMax ? kTooLong : std::string(line));
    start = nl + 1;
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  const std::vector<std::size_t> cuts{data[0] % 48u + 1u, data[1] % 48u + 1u, data[2] % 48u + 1u,
                                      data[3] % 48u + 1u};
  const std::string_view in(reinterpret_cast<const char*>(data) + 4, size - 4);
  tickring::protocol::line_reassembler r(kMax, kChunk);
  std::vector<std::string> got;
  auto on_line = [&](std::string_view l) { got.emplace_back(l); };
  auto on_long = [&] { got.push_back(kTooLong); };
  std::size_t pos = 0;
  for (std::size_t k = 0; pos < in.size(); ++k) {
    auto room = r.space();
    require(!room.empty());
    const std::size_t n = std::min({cuts[k % cuts.size()], room.size(), in.size() - pos});
    std::copy_n(in.data() + pos, n, room.data());
    r.commit(n, false, on_line, on_long);
    pos += n;
  }
  r.commit(0, true, on_line, on_long);
  require(got == reference(in));
  return 0;
}
