// Unit tests for the keyed hash of series names and the store's use of it.
#include "core/keyed_hash.h"

#include <gtest/gtest.h>

#include <bit>
#include <set>
#include <string>

#include "core/series_store.h"

namespace tickring::core {
namespace {

// The key 00 01 .. 0f of the SipHash paper (Appendix A), as two little-endian words.
constexpr hash_key kPaperKey{0x0706050403020100ULL, 0x0F0E0D0C0B0A0908ULL};

std::uint64_t siphash24(std::string_view bytes) {
  siphash<2, 4> h(kPaperKey);
  h.update(bytes);
  return h.finish();
}

TEST(KeyedHash, SipHash24MatchesThePapersVectors) {
  EXPECT_EQ(siphash24(""), 0x726FDB47DD0E0E31ULL);
  std::string fifteen;
  for (char c = 0; c < 15; ++c)
    fifteen.push_back(c);
  EXPECT_EQ(siphash24(fifteen), 0xA129CA6149BE45E5ULL);
}

TEST(KeyedHash, SplitUpdatesGiveTheSameHash) {
  const std::string text = "quotes,sym=EURUSD and more than two words of text";
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    siphash<1, 3> a(kPaperKey);
    a.update(text);
    siphash<1, 3> b(kPaperKey);
    b.update(std::string_view(text).substr(0, cut));
    b.update(std::string_view(text).substr(cut));
    EXPECT_EQ(a.finish(), b.finish()) << cut;
  }
}

TEST(KeyedHash, PairBoundaryMatters) {
  EXPECT_NE(siphash_pair(kPaperKey, "ab", "c"), siphash_pair(kPaperKey, "a", "bc"));
}

TEST(KeyedHash, RandomKeysDiffer) {
  EXPECT_NE(hash_key::random(), hash_key::random());
}

TEST(SeriesStore, StoresWithDifferentKeysHashNamesDifferently) {
  series_store a({}, hash_key{1, 2});
  series_store b({}, hash_key{3, 4});
  series_store a_again({}, hash_key{1, 2});
  std::size_t differ = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string sym = "SYM" + std::to_string(i);
    EXPECT_EQ(a.slot_hash("quotes", sym), a_again.slot_hash("quotes", sym));
    differ += a.slot_hash("quotes", sym) != b.slot_hash("quotes", sym) ? 1 : 0;
  }
  EXPECT_EQ(differ, 100U);
  // Two default stores draw their own keys.
  series_store c;
  series_store d;
  EXPECT_NE(c.slot_hash("quotes", "EURUSD"), d.slot_hash("quotes", "EURUSD"));
}

TEST(SeriesStore, LookupsWorkUnderAnyKey) {
  for (const hash_key key : {hash_key{0, 0}, hash_key{~0ULL, 7}, hash_key::random()}) {
    series_store st({.max_series = 1000}, key);
    const field_input fields[] = {{"v", field_kind::float64, std::bit_cast<std::uint64_t>(1.0)}};
    for (int i = 0; i < 1000; ++i) {
      const std::string sym = "S" + std::to_string(i);
      ASSERT_EQ(st.apply({"m", sym, fields, i}).error, apply_error::none);
    }
    EXPECT_EQ(st.series_count(), 1000U);
    for (int i = 0; i < 1000; ++i) {
      const std::string sym = "S" + std::to_string(i);
      const series* s = st.find("m", sym);
      ASSERT_NE(s, nullptr);
      EXPECT_EQ(s->symbol(), sym);
    }
    EXPECT_EQ(st.find("m", "S1000"), nullptr);
    EXPECT_EQ(st.find("mS", "1"), nullptr);
  }
}

}  // namespace
}  // namespace tickring::core
