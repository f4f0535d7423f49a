#include "core/keyed_hash.h"

#include <random>

namespace tickring::core {

hash_key hash_key::random() {
  std::random_device rd;
  auto draw64 = [&rd] {
    return (static_cast<std::uint64_t>(rd()) << 32) ^ static_cast<std::uint64_t>(rd());
  };
  hash_key k;
  k.k0 = draw64();
  k.k1 = draw64();
  return k;
}

std::uint64_t siphash_pair(const hash_key& key, std::string_view a, std::string_view b) noexcept {
  siphash<1, 3> h(key);
  h.update_u64(a.size());
  h.update(a);
  h.update(b);
  return h.finish();
}

}  // namespace tickring::core
