// The ring's search on the times it really gets: epoch nanoseconds (~1.7e18, where distinct
// times share a double), prepends that take positions below zero, ties in double precision,
// dense runs with far outliers. Run under UBSan by scripts/check-sanitizers.sh (unit label):
// the interpolation once divided 0 by 0 there and added INT64_MIN to a negative position.
// Also pins the O(log N) probe bound of the search on skewed times.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <vector>

#include "core/time_sorted_array.h"

namespace tickring::core {
namespace {

using ring = time_sorted_array<std::uint64_t>;

// 2023-11-14T22:13:20Z in ns, rounded down to a multiple of 4096 so that every time in
// [kEpochNs, kEpochNs + 128) converts to the same double (doubles there are 256 ns apart).
constexpr time_ns kEpochNs = 1'700'000'000'000'000'000 / 4096 * 4096;

void expect_matches(const ring& r, const std::map<time_ns, std::uint64_t>& model, time_ns from,
                    time_ns to) {
  for (time_ns t = from; t <= to; ++t) {
    const auto v = r.get(t);
    const auto it = model.find(t);
    if (it == model.end()) {
      ASSERT_FALSE(v.has_value()) << "found absent time " << t;
    } else {
      ASSERT_TRUE(v.has_value()) << "missed time " << t;
      ASSERT_EQ(*v, it->second);
    }
  }
}

TEST(TimeSortedArrayTimes, EpochNanosecondsTiedInDoubleWithPrepends) {
  ASSERT_EQ(static_cast<double>(kEpochNs), static_cast<double>(kEpochNs + 100));
  ring r(4);
  std::map<time_ns, std::uint64_t> model;
  // Descending puts: every one a prepend, so the head walks to negative positions.
  for (time_ns i = 120; i >= 0; i -= 2) {
    r.put(kEpochNs + i, static_cast<std::uint64_t>(i));
    model[kEpochNs + i] = static_cast<std::uint64_t>(i);
  }
  expect_matches(r, model, kEpochNs - 3, kEpochNs + 125);
  // Middle inserts between them, and removals: still all within one double.
  for (time_ns i = 1; i < 120; i += 4) {
    r.put(kEpochNs + i, static_cast<std::uint64_t>(i));
    model[kEpochNs + i] = static_cast<std::uint64_t>(i);
  }
  for (time_ns i = 10; i < 120; i += 10) {
    (void)r.remove(kEpochNs + i);
    model.erase(kEpochNs + i);
  }
  expect_matches(r, model, kEpochNs - 3, kEpochNs + 125);
  EXPECT_EQ(r.lowest()->time, model.begin()->first);
  EXPECT_EQ(r.highest()->time, model.rbegin()->first);
  std::vector<time_ns> back;
  ring::entry e;
  for (auto it = r.iterate_backwards(kEpochNs + 60); it.next(e);)
    back.push_back(e.time);
  std::vector<time_ns> want;
  for (auto it = model.upper_bound(kEpochNs + 60); it != model.begin();)
    want.push_back((--it)->first);
  EXPECT_EQ(back, want);
}

TEST(TimeSortedArrayTimes, RandomEpochTimesAndExtremeOutliers) {
  std::mt19937_64 rng(11);
  ring r(2);
  std::map<time_ns, std::uint64_t> model;
  const time_ns extremes[] = {std::numeric_limits<time_ns>::min(),
                              std::numeric_limits<time_ns>::min() + 1,
                              -kEpochNs,
                              0,
                              kEpochNs * 5,
                              kMaxTime - 1};
  for (const time_ns t : extremes) {
    r.put(t, 7);
    model[t] = 7;
  }
  for (int i = 0; i < 20000; ++i) {
    const time_ns t = kEpochNs + static_cast<time_ns>(rng() % 5000) - 2500;
    if (rng() % 4 == 0) {
      (void)r.remove(t);
      model.erase(t);
    } else {
      r.put(t, static_cast<std::uint64_t>(i));
      model[t] = static_cast<std::uint64_t>(i);
    }
  }
  expect_matches(r, model, kEpochNs - 2600, kEpochNs + 2600);
  for (const time_ns t : extremes)
    EXPECT_EQ(r.get(t).value_or(0), 7U);
}

// ring_detail::search on a hand-built buffer, counting probes.
struct probe_counter {
  using buffer = ring_detail::ring_buffer<1>;
  buffer* b;
  std::int64_t n;
  explicit probe_counter(const std::vector<time_ns>& times)
      : b(buffer::create(std::bit_ceil(times.size()))), n(static_cast<std::int64_t>(times.size())) {
    // Positions start below zero, as after prepends.
    const std::int64_t head = -n / 2;
    const std::uint64_t word = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      ring_detail::write_cell(b->at(head + i),
                              ring_detail::make_version(1, ring_detail::change_kind::insert),
                              head + i, times[static_cast<std::size_t>(i)], &word);
    }
    b->head.store(head);
    b->tail.store(head + n);
  }
  ~probe_counter() { buffer::destroy(b); }
  int probes(time_ns t) const {
    int p = 0;
    (void)ring_detail::search(*b, t, b->head.load(), b->tail.load(), true, [&] { ++p; });
    return p;
  }
};

TEST(TimeSortedArrayTimes, SearchProbesAreLogarithmicOnSkewedTimes) {
  // 2^20 dense epoch-ns times plus 64 far outliers above them: interpolation guesses near the
  // outliers' end again and again; the interpolation budget must keep probes O(log N).
  constexpr std::size_t kDense = 1 << 20;
  std::vector<time_ns> times;
  times.reserve(kDense + 64);
  for (std::size_t i = 0; i < kDense; ++i)
    times.push_back(kEpochNs + static_cast<time_ns>(i) * 1000);
  for (int i = 1; i <= 64; ++i)
    times.push_back(kEpochNs * 2 + static_cast<time_ns>(i) * 1'000'000'000'000'000LL);
  const probe_counter pc(times);
  const int bound = ring_detail::kInterpolationProbes +
                    static_cast<int>(std::log2(static_cast<double>(times.size()))) + 2;
  std::mt19937_64 rng(5);
  int worst = 0;
  for (int i = 0; i < 2000; ++i) {
    const time_ns t = times[rng() % kDense] + (rng() % 2 == 0 ? 0 : 1);
    worst = std::max(worst, pc.probes(t));
  }
  EXPECT_LE(worst, bound);
  // Evenly spaced: interpolation finds it in a handful.
  std::vector<time_ns> even(kDense);
  for (std::size_t i = 0; i < kDense; ++i)
    even[i] = kEpochNs + static_cast<time_ns>(i) * 1000;
  const probe_counter pe(even);
  int total = 0;
  for (int i = 0; i < 2000; ++i)
    total += pe.probes(even[rng() % kDense]);
  EXPECT_LE(total / 2000, 6);
  std::printf("skewed: worst %d probes (bound %d); even: %.1f probes on average\n", worst, bound,
              total / 2000.0);
}

}  // namespace
}  // namespace tickring::core
