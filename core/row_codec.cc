#include "core/row_codec.h"

#include <bit>
#include <cmath>
#include <limits>

namespace tickring::core {
namespace {

constexpr std::array<double, row_codec::kMaxScale + 1> kPow10 = {1e0, 1e1, 1e2, 1e3, 1e4,
                                                                 1e5, 1e6, 1e7, 1e8, 1e9};
constexpr double kInt32Max = std::numeric_limits<std::int32_t>::max();

// The 32-bit mantissa of `bits` (a double) at `scale`, if it decodes back to the same bits.
bool decimal_mantissa(std::uint64_t bits, int scale, std::int32_t& m) {
  const double r = std::bit_cast<double>(bits) * kPow10[static_cast<std::size_t>(scale)];
  if (!(r >= -kInt32Max && r <= kInt32Max)) return false;  // also NaN
  m = static_cast<std::int32_t>(std::nearbyint(r));
  return std::bit_cast<std::uint64_t>(static_cast<double>(m) /
                                      kPow10[static_cast<std::size_t>(scale)]) == bits;
}

bool fits_int32(std::uint64_t bits) {
  const auto v = static_cast<std::int64_t>(bits);
  return v >= std::numeric_limits<std::int32_t>::min() &&
         v <= std::numeric_limits<std::int32_t>::max();
}

}  // namespace

row_codec row_codec::wide(std::span<const field_kind> kinds) {
  row_codec c;
  c.count_ = static_cast<std::uint8_t>(kinds.size());
  c.lay_out();
  return c;
}

row_codec row_codec::plan(std::span<const field_kind> kinds, const std::uint64_t* first) {
  row_codec c;
  c.count_ = static_cast<std::uint8_t>(kinds.size());
  constexpr auto kRoom32 = std::numeric_limits<std::int32_t>::max() / kHeadroom;
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    field_slot& s = c.slots_[i];
    switch (kinds[i]) {
      case field_kind::boolean:
        s.kind = slot::uint32;
        break;
      case field_kind::int64: {
        const auto v = static_cast<std::int64_t>(first[i]);
        if (v >= -kRoom32 && v <= kRoom32) s.kind = slot::int32;
        break;
      }
      case field_kind::uint64:
        if (first[i] <=
            static_cast<std::uint64_t>(std::numeric_limits<std::uint32_t>::max() / kHeadroom))
          s.kind = slot::uint32;
        break;
      case field_kind::float64: {
        // The fewest decimals that hold the value exactly, then as many more as the headroom
        // allows (a later price may carry more decimals than the first).
        const double magnitude = std::fabs(std::bit_cast<double>(first[i]));
        std::int32_t m = 0;
        int k = 0;
        while (k <= kMaxScale && !decimal_mantissa(first[i], k, m))
          ++k;
        if (k > kMaxScale ||
            magnitude * kPow10[static_cast<std::size_t>(k)] * kHeadroom > kInt32Max)
          break;
        while (k < kMaxScale &&
               magnitude * kPow10[static_cast<std::size_t>(k + 1)] * kHeadroom <= kInt32Max)
          ++k;
        s.kind = slot::decimal32;
        s.scale = static_cast<std::uint8_t>(k);
        break;
      }
    }
  }
  c.lay_out();
  return c;
}

row_codec row_codec::widened(const std::uint64_t* values) const {
  row_codec c = *this;
  for (std::size_t i = 0; i < count_; ++i) {
    if (!fits(c.slots_[i], values[i])) c.slots_[i] = field_slot{};
  }
  c.lay_out();
  return c;
}

row_codec row_codec::refit(const std::uint64_t* values) const {
  row_codec c = *this;
  for (std::size_t i = 0; i < count_; ++i) {
    field_slot& s = c.slots_[i];
    if (fits(s, values[i])) continue;
    if (s.kind == slot::decimal32) {
      const double magnitude = std::fabs(std::bit_cast<double>(values[i]));
      std::int32_t m = 0;
      int k = s.scale - 1;
      while (k >= 0 && magnitude * kPow10[static_cast<std::size_t>(k)] * kHeadroom > kInt32Max)
        --k;
      if (k >= 0 && decimal_mantissa(values[i], k, m)) {
        s.scale = static_cast<std::uint8_t>(k);
        continue;
      }
    }
    s = field_slot{};
  }
  c.lay_out();
  return c;
}

void row_codec::lay_out() {
  std::uint8_t w = 0;
  for (std::size_t i = 0; i < count_; ++i) {
    if (slots_[i].kind == slot::wide) slots_[i].word = w++;
  }
  unsigned half = 0;
  for (std::size_t i = 0; i < count_; ++i) {
    if (slots_[i].kind == slot::wide) continue;
    slots_[i].word = static_cast<std::uint8_t>(w + half / 2);
    slots_[i].shift = static_cast<std::uint8_t>(half % 2 * 32);
    ++half;
  }
  wide_words_ = w;
  words_ = static_cast<std::uint8_t>(w + (half + 1) / 2);
}

bool row_codec::narrow(const field_slot& s, std::uint64_t value, std::uint32_t& half) {
  switch (s.kind) {
    case slot::wide:
      return false;
    case slot::decimal32: {
      std::int32_t m = 0;
      if (!decimal_mantissa(value, s.scale, m)) return false;
      half = static_cast<std::uint32_t>(m);
      return true;
    }
    case slot::int32:
      if (!fits_int32(value)) return false;
      half = static_cast<std::uint32_t>(value);
      return true;
    case slot::uint32:
      if (value > std::numeric_limits<std::uint32_t>::max()) return false;
      half = static_cast<std::uint32_t>(value);
      return true;
  }
  return false;
}

bool row_codec::fits(const field_slot& s, std::uint64_t value) {
  std::uint32_t half = 0;
  return s.kind == slot::wide || narrow(s, value, half);
}

bool row_codec::encode(const std::uint64_t* values, std::uint64_t* out) const {
  for (std::size_t w = wide_words_; w < words_; ++w)
    out[w] = 0;
  for (std::size_t i = 0; i < count_; ++i) {
    const field_slot& s = slots_[i];
    if (s.kind == slot::wide) {
      out[s.word] = values[i];
      continue;
    }
    std::uint32_t half = 0;
    if (!narrow(s, values[i], half)) return false;
    out[s.word] |= static_cast<std::uint64_t>(half) << s.shift;
  }
  return true;
}

void row_codec::decode(const std::uint64_t* in, std::uint64_t* values) const {
  for (std::size_t i = 0; i < count_; ++i) {
    const field_slot& s = slots_[i];
    const auto half = static_cast<std::uint32_t>(in[s.word] >> s.shift);
    switch (s.kind) {
      case slot::wide:
        values[i] = in[s.word];
        break;
      case slot::decimal32:
        values[i] = std::bit_cast<std::uint64_t>(
            static_cast<double>(static_cast<std::int32_t>(half)) / kPow10[s.scale]);
        break;
      case slot::int32:
        values[i] =
            static_cast<std::uint64_t>(static_cast<std::int64_t>(static_cast<std::int32_t>(half)));
        break;
      case slot::uint32:
        values[i] = half;
        break;
    }
  }
}

}  // namespace tickring::core
