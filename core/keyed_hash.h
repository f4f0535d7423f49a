// SipHash (Aumasson and Bernstein): a keyed hash for names that clients choose. With a key the
// client does not know, it cannot craft series names that collide in the store's table and
// turn each lookup into a walk over all of them; an unkeyed hash (std::hash) lets it.
//
//   const hash_key key = hash_key::random();           // once per store
//   std::uint64_t h = siphash_pair(key, "quotes", "EURUSD");
//
// siphash<C, D> is SipHash-C-D over a byte stream; the store uses SipHash-1-3 (as Rust's
// HashMap and CPython do), about 1 ns per byte, and the tests check SipHash-2-4 against the
// paper's vectors, which exercise the same code.
// Threads: stateless functions; hash_key::random() may be called from any thread.
// No I/O beyond what std::random_device does to draw a key.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace tickring::core {

struct hash_key {
  std::uint64_t k0 = 0;
  std::uint64_t k1 = 0;
  // 128 bits from std::random_device (the kernel's getrandom on Linux).
  static hash_key random();
  friend bool operator==(const hash_key&, const hash_key&) = default;
};

template <int C, int D>
class siphash {
 public:
  explicit siphash(const hash_key& key) noexcept
      : v0_(key.k0 ^ 0x736f6d6570736575ULL),
        v1_(key.k1 ^ 0x646f72616e646f6dULL),
        v2_(key.k0 ^ 0x6c7967656e657261ULL),
        v3_(key.k1 ^ 0x7465646279746573ULL) {}

  void update(std::string_view bytes) noexcept {
    const char* p = bytes.data();
    std::size_t n = bytes.size();
    const std::size_t fill = length_ & 7;
    if (fill != 0) {  // complete the word a previous update left open
      const std::size_t k = std::min(8 - fill, n);
      tail_ |= load(p, k) << (8 * fill);
      length_ += k;
      p += k;
      n -= k;
      if ((length_ & 7) != 0) return;
      compress(tail_);
      tail_ = 0;
    }
    for (; n >= 8; p += 8, n -= 8, length_ += 8)
      compress(load(p, 8));
    tail_ = load(p, n);
    length_ += n;
  }
  void update_u64(std::uint64_t v) noexcept {
    if ((length_ & 7) == 0) {
      compress(v);
      length_ += 8;
      return;
    }
    char bytes[8];
    for (int i = 0; i < 8; ++i)
      bytes[i] = static_cast<char>(v >> (8 * i));
    update(std::string_view(bytes, 8));
  }
  std::uint64_t finish() noexcept {
    compress(tail_ | (static_cast<std::uint64_t>(length_ & 0xFF) << 56));
    v2_ ^= 0xFF;
    for (int i = 0; i < D; ++i)
      round();
    return v0_ ^ v1_ ^ v2_ ^ v3_;
  }

 private:
  // The first n (0..8) bytes at p as a little-endian word.
  static std::uint64_t load(const char* p, std::size_t n) noexcept {
    std::uint64_t v = 0;
    if (n == 8 && std::endian::native == std::endian::little) {
      std::memcpy(&v, p, 8);  // one load
      return v;
    }
    for (std::size_t i = 0; i < n; ++i)
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    return v;
  }
  static std::uint64_t rotl(std::uint64_t x, int b) noexcept { return (x << b) | (x >> (64 - b)); }
  void round() noexcept {
    v0_ += v1_;
    v1_ = rotl(v1_, 13);
    v1_ ^= v0_;
    v0_ = rotl(v0_, 32);
    v2_ += v3_;
    v3_ = rotl(v3_, 16);
    v3_ ^= v2_;
    v0_ += v3_;
    v3_ = rotl(v3_, 21);
    v3_ ^= v0_;
    v2_ += v1_;
    v1_ = rotl(v1_, 17);
    v1_ ^= v2_;
    v2_ = rotl(v2_, 32);
  }
  void compress(std::uint64_t m) noexcept {
    v3_ ^= m;
    for (int i = 0; i < C; ++i)
      round();
    v0_ ^= m;
  }

  std::uint64_t v0_, v1_, v2_, v3_;
  std::uint64_t tail_ = 0;
  std::size_t length_ = 0;
};

// SipHash-1-3 of (a, b) as one message: a's length (8 bytes, little-endian), a, then b, so that
// ("ab", "c") and ("a", "bc") differ.
std::uint64_t siphash_pair(const hash_key& key, std::string_view a, std::string_view b) noexcept;

}  // namespace tickring::core
