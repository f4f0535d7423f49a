// Unit tests for time_sorted_array: every operation and its edges, single-threaded.
#include "core/time_sorted_array.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

namespace tickring::core {
namespace {

struct quote {
  double bid, ask, bid_size, ask_size;
};
using ring = time_sorted_array<quote>;

quote q(double x) {
  return {x, x + 1, x + 2, x + 3};
}

std::vector<time_ns> backward(const ring& r, time_ns to = kMaxTime) {
  std::vector<time_ns> out;
  ring::entry e;
  for (auto it = r.iterate_backwards(to); it.next(e);)
    out.push_back(e.time);
  return out;
}

TEST(TimeSortedArray, EmptyHasNothing) {
  ring r;
  EXPECT_EQ(r.size(), 0U);
  EXPECT_FALSE(r.get(0).has_value());
  EXPECT_FALSE(r.lowest().has_value());
  EXPECT_FALSE(r.highest().has_value());
  EXPECT_TRUE(backward(r).empty());
  EXPECT_FALSE(r.remove(5).has_value());
  EXPECT_FALSE(r.remove_lowest().has_value());
}

TEST(TimeSortedArray, OneElement) {
  ring r;
  r.put(42, q(1));
  EXPECT_EQ(r.size(), 1U);
  ASSERT_TRUE(r.get(42).has_value());
  EXPECT_EQ(r.get(42)->ask, 2);
  EXPECT_FALSE(r.get(41).has_value());
  EXPECT_FALSE(r.get(43).has_value());
  EXPECT_EQ(r.lowest()->time, 42);
  EXPECT_EQ(r.highest()->time, 42);
  EXPECT_EQ(backward(r), std::vector<time_ns>{42});
}

TEST(TimeSortedArray, AppendsGrowFromTinyCapacity) {
  ring r(2);
  for (int i = 0; i < 1000; ++i)
    r.put(i, q(i));
  EXPECT_EQ(r.size(), 1000U);
  EXPECT_EQ(r.capacity(), 1024U);
  for (int i = 0; i < 1000; ++i)
    ASSERT_EQ(r.get(i)->bid, i);
  const auto all = backward(r);
  ASSERT_EQ(all.size(), 1000U);
  EXPECT_EQ(all.front(), 999);
  EXPECT_EQ(all.back(), 0);
}

TEST(TimeSortedArray, PrependsAndWrapAround) {
  ring r(4);
  r.put(100, q(0));
  r.put(99, q(0));  // prepend wraps below slot 0
  r.put(101, q(0));
  r.put(98, q(0));  // full, wrapped
  EXPECT_EQ(r.capacity(), 4U);
  EXPECT_EQ(backward(r), (std::vector<time_ns>{101, 100, 99, 98}));
  r.put(97, q(0));  // growth while wrapped
  EXPECT_EQ(r.capacity(), 8U);
  EXPECT_EQ(backward(r), (std::vector<time_ns>{101, 100, 99, 98, 97}));
}

TEST(TimeSortedArray, SlidingWindowReusesSlotsWithoutGrowing) {
  ring r(8);
  for (int i = 0; i < 10000; ++i) {
    r.put(i, q(i));
    if (r.size() > 6) {
      ASSERT_TRUE(r.remove_lowest().has_value());
    }
  }
  EXPECT_EQ(r.capacity(), 8U);
  EXPECT_EQ(backward(r), (std::vector<time_ns>{9999, 9998, 9997, 9996, 9995, 9994}));
  EXPECT_FALSE(r.get(9993).has_value());
}

TEST(TimeSortedArray, OverwriteKeepsSizeAndAdvancesSequence) {
  ring r;
  const auto a = r.put(5, q(1));
  const auto b = r.put(5, q(2));
  EXPECT_EQ(a.outcome, ring::put_outcome::inserted);
  EXPECT_EQ(b.outcome, ring::put_outcome::overwritten);
  EXPECT_GT(b.seq, a.seq);
  EXPECT_EQ(r.size(), 1U);
  EXPECT_EQ(r.get(5)->bid, 2);
  EXPECT_EQ(r.find(5)->seq, b.seq);
  EXPECT_EQ(r.committed_seq(), b.seq);
}

TEST(TimeSortedArray, MiddleInsertKeepsOrder) {
  ring r(2);
  for (int i = 0; i < 100; i += 2)
    r.put(i, q(i));
  for (int i = 99; i > 0; i -= 2)
    r.put(i, q(i));  // every odd time lands in the middle
  EXPECT_EQ(r.size(), 100U);
  const auto all = backward(r);
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(all[static_cast<std::size_t>(i)], 99 - i);
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(r.get(i)->bid, i);
}

TEST(TimeSortedArray, MovedPointKeepsItsSequence) {
  ring r;
  const auto s10 = r.put(10, q(0)).seq;
  r.put(30, q(0));
  r.put(20, q(0));  // shifts 10 toward the head
  EXPECT_EQ(r.find(10)->seq, s10);
}

TEST(TimeSortedArray, RemoveLowestHighestMiddleAndAbsent) {
  ring r;
  for (int i = 1; i <= 5; ++i)
    r.put(i * 10, q(i));
  EXPECT_TRUE(r.remove(10).has_value());   // lowest
  EXPECT_TRUE(r.remove(50).has_value());   // highest
  EXPECT_TRUE(r.remove(30).has_value());   // middle
  EXPECT_FALSE(r.remove(30).has_value());  // already gone
  EXPECT_FALSE(r.remove(35).has_value());  // never there
  EXPECT_EQ(r.size(), 2U);
  EXPECT_EQ(backward(r), (std::vector<time_ns>{40, 20}));
  EXPECT_EQ(r.lowest()->time, 20);
  EXPECT_EQ(r.highest()->time, 40);
  EXPECT_FALSE(r.get(30).has_value());
}

TEST(TimeSortedArray, RemovedCellsAreReused) {
  ring r(8);
  for (int i = 0; i < 8; ++i)
    r.put(i * 10, q(i));
  r.remove(30);
  r.put(35, q(0));  // lands in the dead cell just below 40
  r.remove(70);
  r.put(75, q(0));  // reuses the dead newest cell
  EXPECT_EQ(r.capacity(), 8U);
  EXPECT_EQ(backward(r), (std::vector<time_ns>{75, 60, 50, 40, 35, 20, 10, 0}));
  r.put(30, q(3));  // revive between 20 and 35: no dead cell below, must grow
  EXPECT_EQ(r.size(), 9U);
  EXPECT_EQ(r.get(30)->bid, 3);
}

TEST(TimeSortedArray, RemoveThenPutSameTimeRevives) {
  ring r;
  r.put(1, q(1));
  r.put(2, q(2));
  r.remove(2);
  const auto res = r.put(2, q(9));
  EXPECT_EQ(res.outcome, ring::put_outcome::inserted);
  EXPECT_EQ(r.get(2)->bid, 9);
  EXPECT_EQ(r.size(), 2U);
}

TEST(TimeSortedArray, RemoveEverythingThenReuse) {
  ring r(4);
  for (int i = 0; i < 4; ++i)
    r.put(i, q(i));
  for (int i = 0; i < 4; ++i)
    r.remove(i);
  EXPECT_EQ(r.size(), 0U);
  EXPECT_TRUE(backward(r).empty());
  r.put(-7, q(0));
  EXPECT_EQ(backward(r), std::vector<time_ns>{-7});
}

TEST(TimeSortedArray, IterateFromTimeIsInclusive) {
  ring r;
  for (int i = 0; i < 10; ++i)
    r.put(i * 10, q(i));
  EXPECT_EQ(backward(r, 30), (std::vector<time_ns>{30, 20, 10, 0}));
  EXPECT_EQ(backward(r, 35), (std::vector<time_ns>{30, 20, 10, 0}));
  EXPECT_EQ(backward(r, -1), std::vector<time_ns>{});
  EXPECT_EQ(backward(r, 1000).size(), 10U);
}

TEST(TimeSortedArray, IteratorStartedBeforeManyWritesFinishesConsistently) {
  ring r(2);
  for (int i = 0; i < 100; ++i)
    r.put(i * 2, q(i));
  ring::entry e;
  auto it = r.iterate_backwards();
  ASSERT_TRUE(it.next(e));
  EXPECT_EQ(e.time, 198);
  // The writer grows the ring several times while the iterator pins the old buffer.
  for (int i = 0; i < 1000; ++i)
    r.put(1000 + i, q(i));
  for (int i = 0; i < 100; ++i)
    r.put(i * 2 + 1, q(i));
  time_ns last = e.time;
  int seen = 1;
  while (it.next(e)) {
    ASSERT_LT(e.time, last);
    last = e.time;
    ++seen;
  }
  EXPECT_GE(seen, 100);  // every even time, which stayed present, was yielded
}

TEST(TimeSortedArray, OutgrownBuffersAreReclaimed) {
  {
    ring r(2);
    for (int i = 0; i < 4096; ++i)
      r.put(i, q(i));
  }
  reclaim_now();
  EXPECT_EQ(reclaim_pending(), 0U);
}

TEST(TimeSortedArray, PinnedBufferIsKeptUntilIteratorEnds) {
  ring r(2);
  r.put(1, q(1));
  r.put(2, q(2));
  {
    auto it = r.iterate_backwards();
    for (int i = 3; i < 100; ++i)
      r.put(i, q(i));
    EXPECT_GT(reclaim_pending(), 0U);
    ring::entry e;
    ASSERT_TRUE(it.next(e));
    EXPECT_EQ(e.time, 2);
  }
  reclaim_now();
  EXPECT_EQ(reclaim_pending(), 0U);
}

TEST(TimeSortedArray, HighestSkipsManyRemovedNewestPoints) {
  // Removed newest points stay as dead cells at the tail until an insert reuses them: highest()
  // must step over any number of them (it once gave up after 8 and retried for ever).
  ring r(64);
  for (int i = 1; i <= 40; ++i)
    r.put(i, q(i));
  for (int i = 40; i > 10; --i)
    ASSERT_TRUE(r.remove(i).has_value());
  ASSERT_TRUE(r.highest().has_value());
  EXPECT_EQ(r.highest()->time, 10);
  EXPECT_EQ(r.lowest()->time, 1);
  for (int i = 1; i <= 10; ++i)
    ASSERT_TRUE(r.remove(i).has_value());
  EXPECT_FALSE(r.highest().has_value());
  EXPECT_FALSE(r.lowest().has_value());
}

TEST(TimeSortedArray, NegativeAndExtremeTimes) {
  ring r;
  r.put(std::numeric_limits<time_ns>::min(), q(1));
  r.put(kMaxTime - 1, q(2));
  r.put(0, q(3));
  EXPECT_EQ(backward(r).size(), 3U);
  EXPECT_EQ(r.get(std::numeric_limits<time_ns>::min())->bid, 1);
  EXPECT_EQ(r.get(kMaxTime - 1)->bid, 2);
}

TEST(TimeSortedArray, MatchesStdMapUnderRandomOperations) {
  std::mt19937_64 rng(7);
  ring r(2);
  std::map<time_ns, double> model;
  for (int op = 0; op < 200000; ++op) {
    const time_ns t = static_cast<time_ns>(rng() % 2000);
    const unsigned what = rng() % 10;
    if (what < 6) {
      const bool existed = model.count(t) != 0;
      const auto res = r.put(t, q(static_cast<double>(op)));
      model[t] = op;
      ASSERT_EQ(res.outcome == ring::put_outcome::overwritten, existed);
    } else if (what < 9) {
      ASSERT_EQ(r.remove(t).has_value(), model.erase(t) == 1);
    } else if (!model.empty()) {
      const auto e = r.remove_lowest();
      ASSERT_TRUE(e.has_value());
      ASSERT_EQ(e->time, model.begin()->first);
      model.erase(model.begin());
    }
    const auto g = r.get(t);
    ASSERT_EQ(g.has_value(), model.count(t) == 1);
    if (g) {
      ASSERT_EQ(g->bid, model[t]);
    }
    ASSERT_EQ(r.size(), model.size());
  }
  std::vector<time_ns> expect;
  for (auto it = model.rbegin(); it != model.rend(); ++it)
    expect.push_back(it->first);
  EXPECT_EQ(backward(r), expect);
}

}  // namespace
}  // namespace tickring::core
