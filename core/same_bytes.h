// Equality of short byte strings (series and field names: a few bytes each) without a call
// into memcmp, whose call and setup cost more than such a compare on the writer's path.
// Pure; any thread. Cost: at most four 8-byte loads for up to 16 bytes; memcmp beyond.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace tickring::core {

inline bool same_bytes(const char* a, const char* b, std::size_t n) noexcept {
  auto load8 = [](const char* p) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  };
  auto load4 = [](const char* p) {
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    return w;
  };
  if (n >= 8) {
    if (n > 16) return std::memcmp(a, b, n) == 0;
    // Two overlapping words cover 8..16 bytes.
    return load8(a) == load8(b) && load8(a + n - 8) == load8(b + n - 8);
  }
  if (n >= 4) return load4(a) == load4(b) && load4(a + n - 4) == load4(b + n - 4);
  for (std::size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

inline bool same_name(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && same_bytes(a.data(), b.data(), a.size());
}

}  // namespace tickring::core
