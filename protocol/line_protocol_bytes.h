// Byte classification sixteen bytes at a time, and digit conversion eight at a time, for the
// fast path of the line-protocol parser (line_protocol_fast_path.h). Internal to
// protocol/line_protocol*.
//
// Contract
// - structure_of_block(), structure_of_chunk() and non_digits() describe the 16 or 64 bytes at p
//   as bit masks, bit i for byte p[i]. They never read outside [line, end): near the end of the
//   line they load its last bytes again and shift the masks instead, so a line needs no padding.
// - With SSE2 (every x86-64 build) a few byte compares do it; elsewhere, and for lines shorter
//   than 16 bytes, a word-at-a-time ("SWAR") version does the same with plain 64-bit arithmetic.
//   Both are always compiled, and the unit tests check both against a byte-by-byte reference.
// - digits_value() converts a run of ASCII digits that the caller has already validated.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tickring::protocol::detail {

inline constexpr std::uint64_t kOnes = 0x0101010101010101;
inline constexpr std::uint64_t kHighBits = 0x8080808080808080;
inline constexpr std::uint64_t kLowBits = 0x7F7F7F7F7F7F7F7F;

constexpr std::uint64_t broadcast(unsigned char c) noexcept {
  return kOnes * c;
}

// The 8 bytes at p, all readable, the first in the least significant byte on every target.
[[gnu::always_inline]] inline std::uint64_t load_word(const char* p) noexcept {
  std::uint64_t w = 0;
  std::memcpy(&w, p, sizeof w);
  if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
  return w;
}

// The 8 bytes at p (line <= p <= end); those at or past `end` read as 0.
[[gnu::always_inline]] inline std::uint64_t load_word(const char* line, const char* end,
                                                      const char* p) noexcept {
  const auto left = static_cast<std::size_t>(end - p);
  if (left >= 8) [[likely]]
    return load_word(p);
  if (left == 0) return 0;
  if (end - line >= 8) return load_word(end - 8) >> (8 * (8 - left));
  std::uint64_t w = 0;
  for (std::size_t k = 0; k < left; ++k) {
    w |= std::uint64_t{static_cast<unsigned char>(p[k])} << (8 * k);
  }
  return w;
}

// SWAR byte tests: 0x80 in exactly the bytes of w with the property. Exact per byte because
// every sum adds at most 0x7F to a 7-bit value and so never carries into the next byte.
constexpr std::uint64_t not_equal_low7(std::uint64_t low7, unsigned char c) noexcept {
  return (low7 ^ broadcast(c)) + kLowBits;  // high bit set iff the byte's low 7 bits != c
}

// The structural bytes of a line: ',', ' ' and '=' end names and values; '\\', control bytes
// (< 0x20, 0x7F) and bytes >= 0x80 need the general path's rules (escapes, errors, UTF-8). The
// fast path stops at each of them and accepts only the first three where the grammar has them.
constexpr std::uint64_t structural_bytes(std::uint64_t w) noexcept {
  const std::uint64_t t = w & kLowBits;
  // t + 0x5F reaches 0x80 iff t > ' '; t + 1 iff t == 0x7F.
  const std::uint64_t plain = not_equal_low7(t, ',') & not_equal_low7(t, '=') &
                              not_equal_low7(t, '\\') & (t + broadcast(0x5F)) & ~(t + kOnes) & ~w;
  return ~plain & kHighBits;
}

constexpr std::uint64_t digit_bytes(std::uint64_t w) noexcept {
  const std::uint64_t t = w & kLowBits;
  // t + 0x50 reaches 0x80 iff t >= '0'; t + 0x46 iff t > '9'.
  return (t + broadcast(0x50)) & ~(t + broadcast(0x46)) & ~w & kHighBits;
}

// One bit per byte: the 0x80 bits of a byte test gathered into bits 0..7.
constexpr std::uint32_t gather_bits(std::uint64_t high_bits) noexcept {
  return static_cast<std::uint32_t>(((high_bits >> 7) * 0x0102040810204080) >> 56);
}

// Bits 0..left-1 (left <= 16).
constexpr std::uint32_t low_bits(std::size_t left) noexcept {
  return (std::uint32_t{1} << left) - 1;
}

// Structural bytes among the 16 at p (line <= p < end); bytes at or past `end` are not marked.
inline std::uint32_t structure_of_block_swar(const char* line, const char* p,
                                             const char* end) noexcept {
  const std::uint64_t low = load_word(line, end, p);
  const std::uint64_t high = end - p > 8 ? load_word(line, end, p + 8) : 0;
  const auto left = static_cast<std::size_t>(end - p);
  const std::uint32_t valid = left >= 16 ? 0xFFFFu : low_bits(left);  // not the zeros past the end
  return (gather_bits(structural_bytes(low)) | gather_bits(structural_bytes(high)) << 8) & valid;
}

// Non-digits among the 16 bytes at p (line <= p <= end); bytes at or past `end` are marked.
inline std::uint32_t non_digits_swar(const char* line, const char* p, const char* end) noexcept {
  const std::uint64_t low = load_word(line, end, p);
  const std::uint64_t high = end - p > 8 ? load_word(line, end, p + 8) : 0;
  return gather_bits(~digit_bytes(low) & kHighBits) | gather_bits(~digit_bytes(high) & kHighBits)
                                                          << 8;
}

#if defined(__SSE2__)
[[gnu::always_inline]] inline std::uint32_t structure_of_block_sse2(const char* p) noexcept {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  // One signed compare finds ' ', the control bytes and every byte >= 0x7F: adding 1 maps
  // 0x00..0x20 to 0x01..0x21 and 0x7F..0xFF to 0x80..0x00, the negatives and zero.
  const __m128i low_or_high =
      _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8(1)), _mm_set1_epi8(0x22));
  const __m128i others = _mm_or_si128(
      _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(',')), _mm_cmpeq_epi8(v, _mm_set1_epi8('='))),
      _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
  return static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_or_si128(low_or_high, others)));
}

[[gnu::always_inline]] inline std::uint32_t non_digits_sse2(const char* p) noexcept {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  // Byte-wise, so without borrows: digits become 0..9 and every other byte something larger.
  const __m128i d = _mm_sub_epi8(v, _mm_set1_epi8('0'));
  const __m128i digit = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d);
  return ~static_cast<std::uint32_t>(_mm_movemask_epi8(digit)) & 0xFFFFu;
}
#endif

[[gnu::always_inline]] inline std::uint32_t structure_of_block(const char* line, const char* p,
                                                               const char* end) noexcept {
#if defined(__SSE2__)
  const auto left = static_cast<std::size_t>(end - p);
  if (left >= 16) [[likely]]
    return structure_of_block_sse2(p);
  if (end - line >= 16) return structure_of_block_sse2(end - 16) >> (16 - left);
#endif
  return structure_of_block_swar(line, p, end);
}

[[gnu::always_inline]] inline std::uint32_t non_digits(const char* line, const char* p,
                                                       const char* end) noexcept {
#if defined(__SSE2__)
  const auto left = static_cast<std::size_t>(end - p);
  if (left >= 16) [[likely]]
    return non_digits_sse2(p);
  if (end - line >= 16)
    return (non_digits_sse2(end - 16) >> (16 - left)) | (0xFFFFu & ~low_bits(left));
#endif
  return non_digits_swar(line, p, end);
}

// Structural bytes among the 64 at chunk (line <= chunk < end); bytes at or past `end` are not
// marked. Out of line: the fast path calls it from many places, and one copy keeps the parser
// small enough for the registers.
[[gnu::noinline]] inline std::uint64_t structure_of_chunk(const char* line, const char* chunk,
                                                          const char* end) noexcept {
  const auto left = static_cast<std::size_t>(end - chunk);
  const auto four_blocks = [line, end](const char* p) {
    std::uint64_t mask = 0;
    // Offsets, not pointers, are compared: a pointer past `end` would not be valid.
    for (std::size_t k = 0; k < 4 && 16 * k < static_cast<std::size_t>(end - p); ++k) {
      mask |= std::uint64_t{structure_of_block(line, p + 16 * k, end)} << (16 * k);
    }
    return mask;
  };
  if (left >= 64 || end - line < 64) [[likely]]
    return four_blocks(chunk);
  return four_blocks(end - 64) >> (64 - left);  // the line's last 64 bytes, shifted down
}

// The number written by eight digit values (0..9, one per byte, the most significant in the
// lowest byte): three multiplies instead of eight dependent multiply-adds (the technique of
// simdjson and fast_float). Zero bytes at the bottom act as leading zeros.
[[gnu::always_inline]] constexpr std::uint64_t eight_digits_value(std::uint64_t digits) noexcept {
  const std::uint64_t pairs = (digits * 10) + (digits >> 8);
  return (((pairs & 0x000000FF000000FF) * (100 + (1000000ULL << 32))) +
          (((pairs >> 16) & 0x000000FF000000FF) * (1 + (10000ULL << 32)))) >>
         32;
}

// '0'..'9' & 0x0F is 0..9, byte by byte, without the borrows of subtracting '0'.
inline constexpr std::uint64_t kDigitBits = broadcast(0x0F);

inline constexpr std::uint64_t kDigitScale[9] = {1,      10,      100,      1000,     10000,
                                                 100000, 1000000, 10000000, 100000000};

// The value of the n ASCII digits at q (line <= q, q + n <= end, n <= 19 so that it fits).
[[gnu::always_inline]] inline std::uint64_t digits_value(const char* line, const char* end,
                                                         const char* q, std::size_t n) noexcept {
  std::uint64_t value = 0;
  for (; n >= 8; n -= 8, q += 8) {
    value = value * kDigitScale[8] + eight_digits_value(load_word(line, end, q) & kDigitBits);
  }
  if (n != 0) {
    // Shifting the n digits to the top drops the bytes after them.
    const std::uint64_t digits = (load_word(line, end, q) & kDigitBits) << (8 * (8 - n));
    value = value * kDigitScale[n] + eight_digits_value(digits);
  }
  return value;
}

}  // namespace tickring::protocol::detail
