// row_codec: how a series packs a point's field values into the words of its ring cells.
//
// The API speaks of fields as 8-byte values (a double, an int64, a uint64, a bool); most
// market data fits in 4 bytes without losing a bit: a price written with a few decimals is
// m / 10^k for a 32-bit m, a size is a small integer. A codec stores each such field in one
// 32-bit half of a word and every other field in a whole word, so a 4-field quote takes 16
// bytes of payload instead of 32 (a 40-byte cell instead of 56).
//
// Exactness: a float64 field stored as (m, k) decodes as the double m / 10^k, which is the
// correctly rounded quotient, i.e. the double nearest to the decimal m·10^-k, which is what
// parsing that decimal produced. Encoding checks this: a value is stored narrow only if it
// decodes to the very same 64 bits (so -0.0, NaN, infinities and values that are not short
// decimals, like 0.1 + 0.2, are never narrow). Nothing is rounded, ever.
//
// Plans: a series' codec is chosen from its first point (plan()). A float64 field is narrow
// with the largest scale k <= kMaxScale that represents the first value exactly and leaves
// kHeadroom times its magnitude (so prices may move up sixteen-fold and still fit); an int64 /
// uint64 field is narrow when the first value leaves the same headroom in 32 bits; a boolean
// is always narrow. A later value that does not fit makes encode() fail: the series then
// re-plans with refit() and copies its ring (series.h). refit() gives a decimal field that
// overflowed its range a smaller scale (fewer decimals, more range) when the value allows it,
// and makes every other field that did not fit a whole word; widened() then makes wide any
// field that a point already stored does not fit. A field's scale only goes down, and a wide
// field stays wide, so a series re-plans at most kMaxScale + 1 times per field.
//
// Threads: a codec is immutable after construction; any thread may encode/decode.
// Cost: encode is a multiply, a round, a divide and a compare per narrow float field (a few
// ns); decode a divide per narrow float field.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/field_kind.h"

namespace tickring::core {

class row_codec {
 public:
  // Largest decimal scale stored narrow: 10^9 is the last power of ten below 2^31.
  static constexpr int kMaxScale = 9;
  // A first value must fit this many times over for its field to start narrow.
  static constexpr std::int64_t kHeadroom = 16;

  // Every field a whole word (what a series used before codecs; also the fallback).
  static row_codec wide(std::span<const field_kind> kinds);
  // The plan for a series whose first point has these values (8-byte words, field order).
  static row_codec plan(std::span<const field_kind> kinds, const std::uint64_t* first);

  // The same codec with every field whose value in `values` does not fit made wide.
  [[nodiscard]] row_codec widened(const std::uint64_t* values) const;
  // The same codec re-planned for `values`: a decimal field that overflowed its range gets the
  // largest smaller scale that holds the value with kHeadroom, if any; any other field that
  // does not fit is made wide. The points already stored may not fit the result (a decimal
  // with more digits than the new scale): pass each through widened().
  [[nodiscard]] row_codec refit(const std::uint64_t* values) const;

  // Words of payload per point.
  [[nodiscard]] std::size_t words() const { return words_; }
  [[nodiscard]] std::size_t field_count() const { return count_; }
  [[nodiscard]] bool narrow(std::size_t field) const { return slots_[field].kind != slot::wide; }
  // The decimal scale of a narrow float64 field (0 for other fields).
  [[nodiscard]] int scale(std::size_t field) const { return slots_[field].scale; }

  // Packs `values` (field_count() words) into `out` (words() words); false, with `out` partly
  // written, when a value does not fit its slot.
  [[nodiscard]] bool encode(const std::uint64_t* values, std::uint64_t* out) const;
  // Unpacks `in` (words() words) into `values` (field_count() words).
  void decode(const std::uint64_t* in, std::uint64_t* values) const;

 private:
  enum class slot : std::uint8_t { wide, decimal32, int32, uint32 };
  struct field_slot {
    slot kind = slot::wide;
    std::uint8_t scale = 0;  // decimal32: value = m / 10^scale
    std::uint8_t word = 0;   // which payload word
    std::uint8_t shift = 0;  // narrow: 0 (low half) or 32 (high half)
  };
  // Assigns words: wide fields first, in field order, then narrow ones two to a word.
  void lay_out();
  // The 32 bits a narrow slot stores for `value`; false when it does not fit (or is wide).
  static bool narrow(const field_slot& s, std::uint64_t value, std::uint32_t& half);
  static bool fits(const field_slot& s, std::uint64_t value);

  std::array<field_slot, kMaxFieldsPerSeries> slots_{};
  std::uint8_t count_ = 0;
  std::uint8_t wide_words_ = 0;  // words [0, wide_words_) hold wide fields
  std::uint8_t words_ = 0;
};

}  // namespace tickring::core
