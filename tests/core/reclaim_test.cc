// Reclamation of outgrown ring buffers (core/reclaim.h): a stalled reader pins only the buffer
// it holds, and under a steady feed with readers the bytes awaiting reclamation keep returning
// to zero when the writer runs its periodic pass.
#include "core/reclaim.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <random>
#include <thread>
#include <vector>

#include "core/time_sorted_array.h"

namespace tickring::core {
namespace {

using row = std::array<std::uint64_t, 4>;
using ring = time_sorted_array<row>;

TEST(Reclaim, StalledReaderPinsOnlyTheBufferItHolds) {
  reclaim_now();
  ASSERT_EQ(reclaim_pending(), 0U);
  ring a(2);
  a.put(1, {});
  a.put(2, {});
  std::atomic<int> phase{0};
  std::thread reader([&] {
    auto it = a.iterate_backwards();  // holds a's 2-cell buffer until phase 2
    phase.store(1);
    while (phase.load() != 2)
      std::this_thread::yield();
    ring::entry e;
    EXPECT_TRUE(it.next(e));
  });
  while (phase.load() != 1)
    std::this_thread::yield();
  for (int i = 3; i <= 8; ++i)  // outgrows the held buffer, then two more
    a.put(i, {});
  {
    ring b(2);
    for (int i = 0; i < (1 << 14); ++i)  // 13 more buffers retired, none of them held
      b.put(i, {});
  }
  reclaim_now();
  EXPECT_EQ(reclaim_pending(), 1U) << "a stalled reader kept buffers it never held";
  phase.store(2);
  reader.join();
  reclaim_now();
  EXPECT_EQ(reclaim_pending(), 0U);
}

TEST(Reclaim, PendingBytesReturnToZeroUnderSteadyFeedWithReaders) {
  constexpr int kArrays = 16;
  constexpr int kReaders = 2;
  constexpr time_ns kRetained = 100;
  reclaim_now();
  std::vector<std::unique_ptr<ring>> rings;
  for (int i = 0; i < kArrays; ++i)
    rings.push_back(std::make_unique<ring>(2));
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      std::mt19937_64 rng(static_cast<std::uint64_t>(r) + 1);
      ring::entry e;
      while (!stop.load(std::memory_order_relaxed)) {
        const ring& x = *rings[rng() % kArrays];
        switch (rng() % 4) {
          case 0:
            (void)x.get(static_cast<time_ns>(rng() % 100000));
            break;
          case 1:
            (void)x.highest();
            break;
          case 2:
            (void)x.lowest();
            break;
          default: {
            int steps = 0;
            for (auto it = x.iterate_backwards(); steps < 16 && it.next(e); ++steps) {
            }
          }
        }
      }
    });
  }
  // The feed: appends to every array, and retention that removes the second-oldest point (the
  // oldest stays, so the head stays put and the dead cells pile up until the ring compacts into
  // a new buffer of the same size: a retirement every ~150 points per array); a reclaim pass
  // every 64 rounds, as the server's ingest timer does.
  std::size_t passes = 0, zeros = 0, retired_before = 0, max_held = 0;
  for (auto& x : rings)
    x->put(0, {});
  // At least 300 ms, 200 passes and 20 passes that left nothing pending; 20 s at most (a
  // sanitizer build is ~10x slower).
  const auto start = std::chrono::steady_clock::now();
  auto more = [&] {
    const auto elapsed = std::chrono::steady_clock::now() - start;
    if (elapsed > std::chrono::seconds(20)) return false;
    return passes < 200 || zeros < 20 || elapsed < std::chrono::milliseconds(300);
  };
  for (time_ns t = 1; more(); ++t) {
    for (auto& x : rings) {
      x->put(t, {});
      if (t > static_cast<time_ns>(kRetained)) (void)x->remove(t - kRetained);
    }
    if (t % 64 == 0) {
      retired_before += reclaim_pending();
      reclaim_now();
      ++passes;
      if (reclaim_pending_bytes() == 0) ++zeros;
      max_held = std::max(max_held, reclaim_pending());
    }
  }
  stop.store(true);
  for (auto& th : readers)
    th.join();
  std::printf(
      "%zu passes: %zu buffers awaiting a pass in all, %zu passes left none, at most %zu "
      "held by readers after a pass\n",
      passes, retired_before, zeros, max_held);
  EXPECT_GT(retired_before, passes / 4) << "the feed retired too few buffers to prove anything";
  // A pass finds a reader inside a buffer it just outgrew now and then (how often depends on the
  // scheduling); what matters is that the pending bytes keep coming back to zero.
  EXPECT_GE(zeros, 20U);
  // After a pass only buffers a reader holds right now are left: one per hazard pointer.
  EXPECT_LE(max_held, static_cast<std::size_t>(kReaders * kHazardsPerThread));
  reclaim_now();
  EXPECT_EQ(reclaim_pending_bytes(), 0U);
  EXPECT_EQ(reclaim_pending(), 0U);
}

TEST(Reclaim, GuardsNestedBeyondTheHazardSlotsStillProtect) {
  ring a(2);
  a.put(1, {});
  a.put(2, {});
  // kHazardsPerThread + 2 iterators open on one thread (not movable, so placed by hand): the
  // last two have no hazard slot and pin through the overflow count.
  std::vector<ring::backward_iterator*> raw;
  for (int i = 0; i < kHazardsPerThread + 2; ++i) {
    auto* it = new (std::malloc(sizeof(ring::backward_iterator)))
        ring::backward_iterator(a.iterate_backwards());
    raw.push_back(it);
  }
  for (int i = 3; i < 64; ++i)
    a.put(i, {});
  reclaim_now();
  EXPECT_GE(reclaim_pending(), 1U);
  for (auto* it : raw) {
    ring::entry e;
    EXPECT_TRUE(it->next(e));
    EXPECT_EQ(e.time, 2);
    it->~backward_iterator();
    std::free(it);
  }
  reclaim_now();
  EXPECT_EQ(reclaim_pending(), 0U);
}

}  // namespace
}  // namespace tickring::core
