// A series re-laid out (row_codec.h: a value too wide for its 4-byte slot) while readers read
// it. One writer appends to many series; each series gets one value that does not fit, at a
// random moment, so rings are copied, published and retired all the time; readers meanwhile
// read through series::rows(). Oracles, per reader and series:
// - size() and committed_seq() never go down (the writer only appends: a reader that met the
//   new ring before it held every point would see them drop);
// - every point read has exactly the value written at its time, bit for bit (no torn or
//   half-copied cell, no value rounded by the codec), and the seq it was given;
// - a scan is strictly newest-first and finds at least the points size() counted before it;
// - a time once seen is always found again.
// Retired rings are reclaimed continuously, so a reader left in a freed ring is a
// use-after-free for AddressSanitizer and a race for ThreadSanitizer.
// Built twice: as is (no violation allowed), and with TICKRING_SERIES_FAULT_PUBLISH_BEFORE_COPY
// (series.cc publishes the new ring before copying into it), which the same oracles must
// catch within kBound seconds.
// Bounded in time: TICKRING_STRESS_SECONDS (default 2) for the clean run.
#include <gtest/gtest.h>

#include <atomic>
#include <bit>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/reclaim.h"
#include "core/series_store.h"

namespace tickring::core {
namespace {

constexpr int kSeries = 64;
constexpr int kReaders = 2;
constexpr time_ns kMaxTime = std::numeric_limits<time_ns>::max();

// The value written at time t: a short decimal (stored narrow), except at the series' one
// re-layout time, where it is a third (never narrow: the field goes wide) or, for every other
// series, a price too large for the field's scale (kept narrow at fewer decimals).
double bid_at(time_ns t, time_ns widen_at) {
  if (t != widen_at) return static_cast<double>(10000 + t % 997) / 100.0;
  return widen_at % 2 == 0 ? static_cast<double>(t) / 3.0 : 500000.25;
}

struct run_result {
  std::uint64_t violations = 0;
  std::uint64_t relayouts = 0;
  std::uint64_t rescaled = 0;  // re-laid out and still 4 bytes (fewer decimals)
  std::uint64_t reads = 0;
};

run_result run(double seconds, std::uint64_t seed) {
  series_store store({.initial_capacity = 4});
  std::vector<std::string> names;
  std::vector<time_ns> widen_at;
  std::mt19937_64 rng(seed);
  for (int i = 0; i < kSeries; ++i) {
    names.push_back("S" + std::to_string(i));
    widen_at.push_back(static_cast<time_ns>(2 + rng() % 3000));
  }
  std::atomic<bool> stop{false};
  std::atomic<time_ns> written{0};  // every series holds [1, written]
  std::atomic<std::uint64_t> violations{0};
  std::atomic<std::uint64_t> reads{0};

  auto put_all = [&](time_ns t) {
    for (int i = 0; i < kSeries; ++i) {
      const field_input f[] = {
          {"bid", field_kind::float64,
           std::bit_cast<std::uint64_t>(bid_at(t, widen_at[static_cast<std::size_t>(i)]))},
          {"n", field_kind::int64, static_cast<std::uint64_t>(t)}};
      (void)store.apply({"quotes", names[static_cast<std::size_t>(i)], f, t});
    }
  };
  put_all(1);
  written.store(1, std::memory_order_release);

  auto reader = [&](int id) {
    std::mt19937_64 r(seed * 31 + static_cast<std::uint64_t>(id));
    std::vector<std::size_t> last_size(kSeries, 0);
    std::vector<seq_no> last_seq(kSeries, 0);
    auto bad = [&] { violations.fetch_add(1, std::memory_order_relaxed); };
    while (!stop.load(std::memory_order_acquire)) {
      const auto i = static_cast<std::size_t>(r() % kSeries);
      const time_ns known = written.load(std::memory_order_acquire);
      const series* s = store.find("quotes", names[i]);
      if (s == nullptr) {
        bad();
        continue;
      }
      auto check = [&](const stored_point& p) {
        if (p.words[0] != std::bit_cast<std::uint64_t>(bid_at(p.time, widen_at[i])) ||
            p.words[1] != static_cast<std::uint64_t>(p.time) ||
            p.seq != static_cast<seq_no>(p.time))
          bad();
      };
      {
        const auto rows = s->rows();
        const std::size_t n = rows->size();
        const seq_no c = rows->committed_seq();
        if (n < last_size[i] || c < last_seq[i] || n < static_cast<std::size_t>(known)) bad();
        last_size[i] = n;
        last_seq[i] = c;
      }
      stored_point p;
      const time_ns t = 1 + static_cast<time_ns>(r() % static_cast<std::uint64_t>(known));
      if (!s->rows()->find(t, p)) {
        bad();
      } else {
        check(p);
      }
      if (r() % 8 == 0) {
        struct scan_state {
          const std::function<void(const stored_point&)>* check;
          time_ns prev;
          std::size_t count;
          bool ordered;
        };
        const std::function<void(const stored_point&)> fn = check;
        scan_state st{&fn, kMaxTime, 0, true};
        const auto rows = s->rows();
        const std::size_t before = rows->size();
        rows->scan_backward(
            kMaxTime,
            [](void* c, const stored_point& q) {
              auto& x = *static_cast<scan_state*>(c);
              if (q.time >= x.prev) x.ordered = false;
              x.prev = q.time;
              ++x.count;
              (*x.check)(q);
              return true;
            },
            &st);
        if (!st.ordered || st.count < before) bad();
      }
      reads.fetch_add(1, std::memory_order_relaxed);
    }
  };

  std::vector<std::thread> threads;
  for (int id = 0; id < kReaders; ++id)
    threads.emplace_back(reader, id);
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  time_ns t = 2;
  while (std::chrono::steady_clock::now() < end) {
    put_all(t);
    written.store(t, std::memory_order_release);
    if (t % 64 == 0) reclaim_now();
    if (++t > 3001) break;  // every series has widened
  }
  stop.store(true, std::memory_order_release);
  for (auto& th : threads)
    th.join();
  reclaim_now();
  run_result res;
  res.violations = violations.load();
  res.reads = reads.load();
  for (std::size_t i = 0; i < store.series_count(); ++i) {
    const series& s = store.series_at(i);
    res.relayouts += s.relayouts();
    if (s.relayouts() > 0 && s.rows()->codec().narrow(0)) ++res.rescaled;
  }
  return res;
}

double env_seconds(const char* name, double fallback) {
  const char* s = std::getenv(name);
  return s != nullptr ? std::atof(s) : fallback;
}

#ifndef TICKRING_SERIES_FAULT_PUBLISH_BEFORE_COPY
TEST(SeriesRelayoutStress, ReadersNeverSeeAPartialOrFreedRing) {
  const double seconds = env_seconds("TICKRING_STRESS_SECONDS", 2);
  const auto start = std::chrono::steady_clock::now();
  std::uint64_t relayouts = 0;
  std::uint64_t rescaled = 0;
  std::uint64_t reads = 0;
  for (std::uint64_t seed = 1;
       std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds;
       ++seed) {
    const run_result r = run(seconds, seed);
    ASSERT_EQ(r.violations, 0U) << "seed " << seed;
    relayouts += r.relayouts;
    rescaled += r.rescaled;
    reads += r.reads;
  }
  std::printf("relayouts=%llu (still 4 bytes: %llu) reads=%llu\n",
              static_cast<unsigned long long>(relayouts), static_cast<unsigned long long>(rescaled),
              static_cast<unsigned long long>(reads));
  EXPECT_GT(relayouts, 0U);
  EXPECT_GT(rescaled, 0U);
  EXPECT_GT(reads, 0U);
}
// The series index grows (copied into a twice larger table, published) while readers look
// names up: a series created before a find started is always found, with its own name.
TEST(SeriesIndexStress, FindDuringIndexGrowth) {
  constexpr int kCreate = 20000;
  series_store store({.max_series = kCreate});
  std::atomic<int> created{0};
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> violations{0};
  std::vector<std::string> names;
  for (int i = 0; i < kCreate; ++i)
    names.push_back("N" + std::to_string(i));
  auto reader = [&](std::uint64_t seed) {
    std::mt19937_64 r(seed);
    while (!stop.load(std::memory_order_acquire)) {
      const int known = created.load(std::memory_order_acquire);
      if (known == 0) continue;
      const auto i = static_cast<std::size_t>(r() % static_cast<std::uint64_t>(known));
      const series* s = store.find("q", names[i]);
      if (s == nullptr || s->symbol() != names[i]) violations.fetch_add(1);
      if (store.find("q", "absent") != nullptr) violations.fetch_add(1);
    }
  };
  std::vector<std::thread> threads;
  for (int id = 0; id < kReaders; ++id)
    threads.emplace_back(reader, static_cast<std::uint64_t>(id + 1));
  for (int i = 0; i < kCreate; ++i) {
    const field_input f[] = {{"v", field_kind::int64, 1}};
    ASSERT_EQ(store.apply({"q", names[static_cast<std::size_t>(i)], f, 1}).error,
              apply_error::none);
    created.store(i + 1, std::memory_order_release);
  }
  stop.store(true, std::memory_order_release);
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(violations.load(), 0U);
  EXPECT_EQ(store.series_count(), static_cast<std::size_t>(kCreate));
}
#else
TEST(SeriesRelayoutStress, PublishBeforeCopyIsCaught) {
  const double bound = env_seconds("TICKRING_BROKEN_RING_BOUND", 60);
  const auto start = std::chrono::steady_clock::now();
  for (std::uint64_t seed = 1;; ++seed) {
    const run_result r = run(2, seed);
    if (r.violations > 0) {
      std::printf("caught after %llu run(s): %llu violations\n",
                  static_cast<unsigned long long>(seed),
                  static_cast<unsigned long long>(r.violations));
      return;
    }
    ASSERT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
              bound)
        << "the fault went unnoticed";
  }
}
#endif

}  // namespace
}  // namespace tickring::core
