// The kinds of field values a series stores, and how many fields a series may have.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tickring::core {

// Wide enough for quotes, trades and bars with their sizes and flags; it bounds the row copy
// made per point on the read path (16 x 8 bytes).
inline constexpr std::size_t kMaxFieldsPerSeries = 16;

enum class field_kind : std::uint8_t { float64, int64, uint64, boolean };
std::string_view to_string(field_kind kind) noexcept;

}  // namespace tickring::core
