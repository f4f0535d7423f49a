// Writers and readers hammering the same keys of one window_store, also built under
// ThreadSanitizer (a read that mutated shared state would be a reported race). Oracles:
// - every value put comes from kValues, so every average lies in [min, max] of it (0 when the
//   count is 0), every get returns a member, and the count never exceeds the key space;
// - once quiescent, stats(t) equals the exact mean of the per-key gets at t, for times at and
//   after the last write (the reader path that excludes expired, uncollected entries);
// - writers make progress while readers run flat out; a writer gets the lock while readers keep
//   arriving; a reader gets in between the writes of a writer that does anything else.
// Bounded in time: TICKRING_STRESS_SECONDS (default 2) per test.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/window_store.h"

namespace tickring::core {
namespace {

using std::chrono::steady_clock;

constexpr std::array<double, 5> kValues = {1, 2, 3, 5, 8};  // integers: exact sums
constexpr double kMin = 1;
constexpr double kMax = 8;
constexpr int kKeys = 64;
constexpr time_ns kWindow = 2000;  // in ticks of the shared logical clock

double stress_seconds() {
  const char* s = std::getenv("TICKRING_STRESS_SECONDS");
  return s != nullptr ? std::atof(s) : 2.0;
}

std::string key_name(std::uint64_t i) {
  return "k" + std::to_string(i % kKeys);
}

TEST(WindowStoreStress, AveragesStayInTheValueRangeAndMatchTheEntriesWhenQuiet) {
  window_store store(kWindow);
  std::atomic<time_ns> ticks{0};
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> writes{0}, reads{0}, failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937_64 rng(100 + w);
      while (!stop.load(std::memory_order_relaxed)) {
        const time_ns now = ticks.fetch_add(1);
        const std::string key = key_name(rng());
        if (rng() % 5 != 0) {
          if (!store.put(key, kValues[rng() % kValues.size()], now)) failures.fetch_add(1);
        } else {
          (void)store.remove(key, now);  // not_found is fine: expired or never put
        }
        writes.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      std::mt19937_64 rng(200 + r);
      while (!stop.load(std::memory_order_relaxed)) {
        // Up to two windows ahead of the writers, sometimes behind them (clamped).
        const time_ns now = ticks.load() + static_cast<time_ns>(rng() % (3 * kWindow)) - kWindow;
        const window_stats st = store.stats(now);
        const bool stats_ok =
            st.count <= kKeys &&
            (st.count == 0 ? st.average == 0 : st.average >= kMin && st.average <= kMax);
        const auto g = store.get(key_name(rng()), now);
        const bool get_ok =
            !g.ok() || std::find(kValues.begin(), kValues.end(), g.value()) != kValues.end();
        if (!stats_ok || !get_ok) failures.fetch_add(1);
        reads.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(stress_seconds()));
  stop = true;
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(failures.load(), 0U);
  EXPECT_GT(writes.load(), 1000U);
  EXPECT_GT(reads.load(), 1000U);

  const time_ns last = ticks.load();
  for (const time_ns ahead : {time_ns{0}, time_ns{1}, kWindow / 2, kWindow - 1, kWindow}) {
    const time_ns t = last + ahead;
    double sum = 0;
    std::size_t n = 0;
    for (int k = 0; k < kKeys; ++k) {
      if (const auto g = store.get(key_name(k), t); g.ok()) {
        sum += g.value();
        ++n;
      }
    }
    const window_stats st = store.stats(t);
    EXPECT_EQ(st.count, n) << "ahead " << ahead;
    EXPECT_EQ(st.average, n == 0 ? 0.0 : sum / static_cast<double>(n)) << "ahead " << ahead;
  }
}

// Readers hold the lock long enough to overlap one another, so with a reader-preferring lock
// there is always a reader inside and a writer could wait forever. The writer must get in within
// the deadline while the readers keep coming, and the readers must go on afterwards.
TEST(WindowStoreStress, WriterGetsInWhileReadersKeepArriving) {
  constexpr auto kDeadline = std::chrono::seconds(10);  // failure, not a performance bound
  writer_priority_mutex mutex;
  std::atomic<bool> stop_readers{false}, writer_in{false};
  std::atomic<std::uint64_t> reader_entries{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!stop_readers.load()) {
        mutex.lock_shared();
        reader_entries.fetch_add(1);
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        mutex.unlock_shared();
      }
    });
  }
  while (reader_entries.load() < 30)
    std::this_thread::yield();
  std::thread writer([&] {
    mutex.lock();
    writer_in = true;
    mutex.unlock();
  });
  const auto start = steady_clock::now();
  while (!writer_in.load() && steady_clock::now() - start < kDeadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const bool in_time = writer_in.load();
  const std::uint64_t entries_when_writer_done = reader_entries.load();
  while (in_time && reader_entries.load() < entries_when_writer_done + 30) {
    std::this_thread::yield();  // readers still arrive after the writer
  }
  stop_readers = true;  // also frees a starved writer so that the test ends
  writer.join();
  for (auto& t : readers)
    t.join();
  EXPECT_TRUE(in_time) << "writer starved by a stream of readers";
}

// Writer preference must not shut readers out of a writer that, like the store's, does other
// work between its writes (a writer hammering back-to-back may delay readers: documented).
TEST(WindowStoreStress, ReaderGetsInBetweenWrites) {
  constexpr auto kDeadline = std::chrono::seconds(10);  // failure, not a performance bound
  writer_priority_mutex mutex;
  std::atomic<bool> stop_writer{false}, reader_in{false};
  std::atomic<std::uint64_t> writer_entries{0};
  std::thread writer([&] {
    while (!stop_writer.load()) {
      mutex.lock();
      writer_entries.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      mutex.unlock();
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  });
  while (writer_entries.load() < 10)
    std::this_thread::yield();
  std::thread reader([&] {
    mutex.lock_shared();
    reader_in = true;
    mutex.unlock_shared();
  });
  const auto start = steady_clock::now();
  while (!reader_in.load() && steady_clock::now() - start < kDeadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const bool in_time = reader_in.load();
  stop_writer = true;
  reader.join();
  writer.join();
  EXPECT_TRUE(in_time) << "reader shut out by a writer with gaps between writes";
}

}  // namespace
}  // namespace tickring::core
