// One writer, several readers, a tiny initial capacity so that growth, compaction and
// wrap-around happen all the time; a weighted mix of appends, prepends, middle inserts,
// overwrites and removals. Oracles:
// - stable times (≡ 0 mod 8, inserted before the readers start, overwritten but never removed)
//   are always found, by get and by every backward iteration that covers them;
// - times ≡ 7 mod 8 are never inserted and never found;
// - every value read is whole (its check word matches its time and payload: no torn read);
// - iteration is strictly decreasing; size() stays within its bounds.
// Bounded in time: TICKRING_STRESS_SECONDS (default 2) per test.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

#include "core/time_sorted_array.h"

namespace tickring::core {
namespace {

struct point {
  std::uint64_t a, b, c;
  std::uint64_t check;  // = mix(time, a, b, c): a torn copy fails it
};
using ring = time_sorted_array<point>;

std::uint64_t mix(time_ns t, std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  std::uint64_t h = static_cast<std::uint64_t>(t) * 0x9E3779B97F4A7C15ULL;
  h ^= a + 0x7F4A7C15ULL + (h << 6) + (h >> 2);
  h ^= b * 0xBF58476D1CE4E5B9ULL;
  h ^= c * 0x94D049BB133111EBULL;
  return h;
}
point make(time_ns t, std::uint64_t n) {
  return {n, ~n, n * 3, mix(t, n, ~n, n * 3)};
}
bool whole(time_ns t, const point& p) {
  return p.check == mix(t, p.a, p.b, p.c) && p.b == ~p.a;
}

double stress_seconds() {
  const char* s = std::getenv("TICKRING_STRESS_SECONDS");
  return s != nullptr ? std::atof(s) : 2.0;
}

constexpr time_ns kStableLo = 80000;  // stable band [kStableLo, kStableHi), step 8
constexpr time_ns kStableHi = 88000;
constexpr std::size_t kStableCount = (kStableHi - kStableLo) / 8;
constexpr std::size_t kMaxVolatile = 4096;

struct shared_state {
  ring r{2};
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> reads{0};
  std::atomic<std::uint64_t> writes{0};
};

// Writer: keeps at most kMaxVolatile volatile points (times ≡ 1..6 mod 8) below, inside and
// above the stable band.
void writer(shared_state& st, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<time_ns> live;
  time_ns next_high = kStableHi;
  time_ns next_low = kStableLo;
  std::uint64_t n = 0;
  auto volatile_time = [&](time_ns base) {
    return base - base % 8 + 1 + static_cast<time_ns>(rng() % 6);
  };
  while (!st.stop.load(std::memory_order_relaxed)) {
    const unsigned op = rng() % 100;
    ++n;
    if (op < 35 && live.size() < kMaxVolatile) {  // append
      next_high += 8;
      const time_ns t = volatile_time(next_high);
      st.r.put(t, make(t, n));
      live.push_back(t);
    } else if (op < 45 && live.size() < kMaxVolatile) {  // prepend
      next_low -= 8;
      const time_ns t = volatile_time(next_low);
      st.r.put(t, make(t, n));
      live.push_back(t);
    } else if (op < 60 && live.size() < kMaxVolatile) {  // middle insert (maybe an overwrite)
      const time_ns t =
          volatile_time(kStableLo + static_cast<time_ns>(rng() % (kStableHi - kStableLo)));
      st.r.put(t, make(t, n));
      live.push_back(t);
    } else if (op < 75) {  // overwrite a stable time
      const time_ns t = kStableLo + 8 * static_cast<time_ns>(rng() % kStableCount);
      st.r.put(t, make(t, n));
    } else if (!live.empty()) {  // remove a volatile time (lowest, highest or any)
      const std::size_t i = rng() % live.size();
      st.r.remove(live[i]);
      live[i] = live.back();
      live.pop_back();
    }
    if (next_high > kStableHi + 8 * 100000) next_high = kStableHi;  // stay bounded, reuse times
    if (next_low < kStableLo - 8 * 9000) next_low = kStableLo;
  }
  st.writes.fetch_add(n);
}

void reader(shared_state& st, std::uint64_t seed, std::atomic<int>& failures) {
  std::mt19937_64 rng(seed);
  std::uint64_t n = 0;
  auto fail = [&](const char* what, time_ns t) {
    if (failures.fetch_add(1) < 10) ADD_FAILURE() << what << " at time " << t;
  };
  while (!st.stop.load(std::memory_order_relaxed)) {
    ++n;
    const unsigned op = rng() % 100;
    if (op < 60) {
      const time_ns t = kStableLo + 8 * static_cast<time_ns>(rng() % kStableCount);
      const auto e = st.r.find(t);
      if (!e)
        fail("stable time not found", t);
      else if (!whole(t, e->value))
        fail("torn value", t);
      const time_ns never = t + 7;
      if (st.r.get(never)) fail("never-inserted time found", never);
      const time_ns v = t + 1 + static_cast<time_ns>(rng() % 6);
      if (auto g = st.r.get(v); g && !whole(v, *g)) fail("torn volatile value", v);
    } else if (op < 70) {
      const std::size_t s = st.r.size();
      if (s < kStableCount || s > kStableCount + kMaxVolatile)
        fail("size out of bounds", static_cast<time_ns>(s));
    } else {
      // Backward walk from a random point in or above the band; every stable time at or
      // below `to` must appear, in strictly decreasing order.
      const time_ns to = kStableLo + static_cast<time_ns>(rng() % (kStableHi - kStableLo + 16));
      ring::entry e;
      auto it = st.r.iterate_backwards(to);
      time_ns last = to + 1;
      time_ns expect = std::min<time_ns>(to - ((to - kStableLo) % 8), kStableHi - 8);
      int steps = 0;
      while (it.next(e) && steps++ < 3000) {
        if (e.time >= last) fail("iterator not strictly decreasing", e.time);
        if (!whole(e.time, e.value)) fail("torn value in iterator", e.time);
        if (e.time % 8 == 7) fail("iterator yielded a never-inserted time", e.time);
        while (expect >= kStableLo && e.time < expect) {
          fail("iterator skipped a stable time", expect);
          expect -= 8;
        }
        if (e.time == expect) expect -= 8;
        last = e.time;
        if (expect < kStableLo) break;
      }
      if (expect >= kStableLo && steps <= 3000) fail("iterator ended before a stable time", expect);
    }
  }
  st.reads.fetch_add(n);
}

void run(int readers) {
  shared_state st;
  for (time_ns t = kStableLo; t < kStableHi; t += 8)
    st.r.put(t, make(t, 0));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < readers; ++i) {
    threads.emplace_back([&, i] { reader(st, 1000 + static_cast<std::uint64_t>(i), failures); });
  }
  std::thread w([&] { writer(st, 42); });
  std::this_thread::sleep_for(std::chrono::duration<double>(stress_seconds()));
  st.stop = true;
  w.join();
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(st.reads.load(), 0U);
  EXPECT_GT(st.writes.load(), 0U);
  std::printf("readers=%d writes=%llu reads=%llu capacity=%zu\n", readers,
              static_cast<unsigned long long>(st.writes.load()),
              static_cast<unsigned long long>(st.reads.load()), st.r.capacity());
}

TEST(TimeSortedArrayStress, OneWriterOneReader) {
  run(1);
}
TEST(TimeSortedArrayStress, OneWriterThreeReaders) {
  run(3);
}

}  // namespace
}  // namespace tickring::core
