#include "core/window_store.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <stdexcept>
#include <string>

namespace tickring::core {
namespace {

constexpr time_ns kWindow = 10;

TEST(WindowStore, EntryLivesUntilItsDeadlineExclusive) {
  window_store s(kWindow);
  ASSERT_TRUE(s.put("a", 1.5, 100).value());
  EXPECT_EQ(s.get("a", 100).value(), 1.5);
  EXPECT_EQ(s.get("a", 109).value(), 1.5);
  EXPECT_EQ(s.get("a", 110).error(), window_error::not_found);
  EXPECT_EQ(s.window(), kWindow);
}

TEST(WindowStore, AverageAndCountOfLiveEntriesZeroWhenEmpty) {
  window_store s(kWindow);
  EXPECT_EQ(s.average(0), 0.0);
  EXPECT_EQ(s.count(0), 0U);
  ASSERT_TRUE(s.put("a", 1, 0));
  ASSERT_TRUE(s.put("b", 2, 4));
  ASSERT_TRUE(s.put("c", 6, 8));
  EXPECT_EQ(s.stats(9).average, 3.0);
  EXPECT_EQ(s.stats(9).count, 3U);
  EXPECT_EQ(s.average(10), 4.0);  // "a" expired at 10, no write since
  EXPECT_EQ(s.average(18), 0.0);
  EXPECT_EQ(s.count(18), 0U);
}

TEST(WindowStore, PutReportsCreatedOrReplacedAndRemoveReturnsTheValue) {
  window_store s(kWindow);
  EXPECT_TRUE(s.put("a", 1, 0).value());
  EXPECT_FALSE(s.put("a", 2, 1).value());
  EXPECT_TRUE(s.put("a", 3, 20).value());  // the old one had expired
  EXPECT_EQ(s.remove("a", 21).value(), 3.0);
  EXPECT_EQ(s.remove("a", 21).error(), window_error::not_found);
  ASSERT_TRUE(s.put("b", 1, 22));
  EXPECT_EQ(s.remove("b", 32).error(), window_error::not_found);  // expired, not removable
}

// Seed bug 1: reads expired entries under the read lock. A read at a late time must leave the
// store as it was, so an earlier read (still past the last write) sees the entry again.
TEST(WindowStore, ReadsDoNotMutate) {
  window_table t(kWindow);
  ASSERT_TRUE(t.put("a", 7, 0));
  ASSERT_TRUE(t.put("b", 9, 1));
  ASSERT_TRUE(t.remove("b", 2));
  const window_table& reader = t;
  EXPECT_EQ(reader.get("a", 50).error(), window_error::not_found);
  EXPECT_EQ(reader.stats(50).count, 0U);
  EXPECT_EQ(reader.queued_records(), 2U);  // nothing popped by the reads
  EXPECT_EQ(reader.get("a", 5).value(), 7.0);
  EXPECT_EQ(reader.stats(5).average, 7.0);
  EXPECT_EQ(reader.stats(5).count, 1U);
}

// Seed bug 2: an O(N) delete (a scan of the expiry list). Removal marks the key's record dead
// where it is; nothing is searched, and dead records leave only when they reach the head.
TEST(WindowStore, RemoveMarksItsRecordDeadWithoutScanningTheQueue) {
  window_table t(1000);
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(t.put("k" + std::to_string(i), i, i));
  for (int i = 25; i < 75; ++i)
    ASSERT_TRUE(t.remove("k" + std::to_string(i), 100));
  EXPECT_EQ(t.queued_records(), 100U);
  EXPECT_EQ(t.stats(100).count, 50U);
  EXPECT_EQ(t.stats(100).average, (300.0 + 2175.0) / 50);  // sum 0..24 + sum 75..99
  EXPECT_EQ(t.stats(1024).average, 87.0);                  // 0..24 expired too: mean of 75..99
}

// With a scanning delete this is ~5e11 string compares; here it is linear. Guarded by the test
// timeout, not by a timing assertion.
TEST(WindowStore, MillionPutsAndRemovesStayLinear) {
  constexpr int kKeys = 1 << 20;
  window_table t(kWindow, kKeys);
  for (int i = 0; i < kKeys; ++i)
    ASSERT_TRUE(t.put(std::to_string(i), 1, 0));
  for (int i = 0; i < kKeys; ++i)
    ASSERT_TRUE(t.remove(std::to_string(i), 1));
  EXPECT_EQ(t.stats(1).count, 0U);
}

// Seed bug 3: expiry matched entries by value. Two keys with one value, and a key re-put with
// the same value, must each expire by their own record.
TEST(WindowStore, ExpiryMatchesByIdentityNotValue) {
  window_store s(kWindow);
  ASSERT_TRUE(s.put("a", 5, 0));
  ASSERT_TRUE(s.put("b", 5, 5));
  ASSERT_TRUE(s.put("same", 5, 0));
  ASSERT_TRUE(s.put("same", 5, 6));
  ASSERT_TRUE(s.put("other", 1, 12));  // the write collects the records of deadline 10
  EXPECT_EQ(s.get("a", 12).error(), window_error::not_found);
  EXPECT_EQ(s.get("b", 12).value(), 5.0);
  EXPECT_EQ(s.get("same", 12).value(), 5.0);
  EXPECT_EQ(s.count(12), 3U);
  EXPECT_EQ(s.get("b", 15).error(), window_error::not_found);
  EXPECT_EQ(s.get("same", 15).value(), 5.0);
}

// Seed bug 4: a re-put key expired by its old timestamp, on the write path and the read path.
TEST(WindowStore, RePutKeyIsNotExpiredByItsOldTimestamp) {
  window_store writes(kWindow);
  ASSERT_TRUE(writes.put("a", 1, 0));
  ASSERT_TRUE(writes.put("a", 2, 5));
  ASSERT_TRUE(writes.put("z", 4, 12));
  EXPECT_EQ(writes.get("a", 12).value(), 2.0);
  EXPECT_EQ(writes.average(12), 3.0);
  window_store reads(kWindow);
  ASSERT_TRUE(reads.put("a", 1, 0));
  ASSERT_TRUE(reads.put("a", 2, 5));
  EXPECT_EQ(reads.get("a", 12).value(), 2.0);
  EXPECT_EQ(reads.average(12), 2.0);
  EXPECT_EQ(reads.count(12), 1U);
  EXPECT_EQ(reads.count(15), 0U);
}

// The reader's prefix: dead records (re-put, removed) mixed with expired owned ones.
TEST(WindowStore, ReaderExcludesExpiredAndDeadRecordsBeforeAnyWrite) {
  window_store s(kWindow);
  ASSERT_TRUE(s.put("a", 100, 0));
  ASSERT_TRUE(s.put("b", 200, 1));
  ASSERT_TRUE(s.put("c", 3, 2));
  ASSERT_TRUE(s.put("a", 4, 3));  // a's first record dead, deadline 13
  ASSERT_TRUE(s.remove("b", 4));  // b's record dead
  ASSERT_TRUE(s.put("d", 8, 5));
  EXPECT_EQ(s.stats(11).average, 5.0);  // a=4, c=3, d=8
  EXPECT_EQ(s.stats(12).average, 6.0);  // c gone
  EXPECT_EQ(s.stats(13).average, 8.0);
  EXPECT_EQ(s.stats(15).count, 0U);
}

TEST(WindowStore, TimeGoingBackwardsActsAtTheLatestWriteTime) {
  window_store s(kWindow);
  ASSERT_TRUE(s.put("a", 1, 100));
  ASSERT_TRUE(s.put("b", 3, 50));  // acts at 100: deadline 110, not 60
  EXPECT_EQ(s.get("b", 105).value(), 3.0);
  EXPECT_EQ(s.get("b", 0).value(), 3.0);  // reads before the clock act at the clock
  EXPECT_EQ(s.average(0), 2.0);
  ASSERT_TRUE(s.put("c", 5, 115));
  EXPECT_EQ(s.get("a", 105).error(), window_error::not_found);  // expired ones stay expired
}

TEST(WindowStore, RejectsBadInputAndChangesNothing) {
  window_store s(kWindow);
  ASSERT_TRUE(s.put("a", 1, 0));
  constexpr double kInf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(s.put("a", std::nan(""), 1).error(), window_error::value_not_finite);
  EXPECT_EQ(s.put("a", kInf, 1).error(), window_error::value_not_finite);
  EXPECT_EQ(s.put("a", -kInf, 1).error(), window_error::value_not_finite);
  EXPECT_EQ(s.put("a", -1e301, 1).error(), window_error::value_too_large);
  EXPECT_EQ(s.put("", 1, 1).error(), window_error::empty_key);
  EXPECT_EQ(s.get("", 1).error(), window_error::empty_key);
  EXPECT_EQ(s.remove("", 1).error(), window_error::empty_key);
  const std::string longest(kMaxKeyBytes, 'k');
  EXPECT_EQ(s.put(longest + "k", 1, 1).error(), window_error::key_too_long);
  EXPECT_TRUE(s.put(longest, 3, 1));
  EXPECT_TRUE(s.put("big", kMaxAbsValue, 1));
  EXPECT_TRUE(s.remove("big", 1));
  EXPECT_EQ(s.get("a", 1).value(), 1.0);
  EXPECT_EQ(s.average(1), 2.0);
  EXPECT_EQ(describe(window_error::key_too_long), "key is longer than 256 bytes");
}

TEST(WindowStore, FullStoreRejectsNewKeysButTakesRePuts) {
  window_store s(kWindow, 2);
  ASSERT_TRUE(s.put("a", 1, 0));
  ASSERT_TRUE(s.put("b", 1, 0));
  EXPECT_EQ(s.put("c", 1, 0).error(), window_error::full);
  EXPECT_TRUE(s.put("a", 2, 0));
  EXPECT_TRUE(s.put("c", 1, 10));  // a and b expired at 10
}

TEST(WindowStore, ConstructorRejectsNonPositiveWindowAndBadKeyLimit) {
  EXPECT_THROW(window_store(0), std::invalid_argument);
  EXPECT_THROW(window_store(-1), std::invalid_argument);
  EXPECT_THROW(window_store(1, 0), std::invalid_argument);
  EXPECT_THROW(window_store(1, kMaxKeysLimit + 1), std::invalid_argument);
}

TEST(WindowStore, DeadlineSaturatesAtTheEndOfTime) {
  constexpr time_ns kEnd = std::numeric_limits<time_ns>::max();
  window_store s(kEnd);
  ASSERT_TRUE(s.put("a", 1, kEnd - 5));
  EXPECT_EQ(s.get("a", kEnd - 1).value(), 1.0);
  EXPECT_EQ(s.count(kEnd), 0U);
}

// Float drift: a naive running sum rounds 1e16 + 1 to 1e16 and reports 0 after the big value
// leaves; so would a naive prefix-sum difference on the reader's path.
TEST(WindowStore, SmallValuesSurviveHugeNeighboursLeaving) {
  window_store by_remove(kWindow);
  ASSERT_TRUE(by_remove.put("big", 1e16, 0));
  ASSERT_TRUE(by_remove.put("one", 1, 0));
  ASSERT_TRUE(by_remove.remove("big", 0));
  EXPECT_EQ(by_remove.average(0), 1.0);
  window_store by_expiry(kWindow);
  ASSERT_TRUE(by_expiry.put("big", 1e16, 0));
  ASSERT_TRUE(by_expiry.put("one", 1, 5));
  EXPECT_EQ(by_expiry.average(12), 1.0);
}

TEST(WindowStore, LongChurnOfHugeValuesLeavesAnExactAverage) {
  constexpr int kKeys = 1000;  // few rebuilds: the queue holds 2 * kKeys records
  window_table t(1'000'000);
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> key(0, kKeys - 1);
  std::uniform_real_distribution<double> huge(-1e15, 1e15);
  for (int i = 0; i < 200'000; ++i) {
    ASSERT_TRUE(t.put(std::to_string(key(rng)), std::round(huge(rng)) + 0.25, i));
  }
  for (int k = 0; k < kKeys; ++k)
    ASSERT_TRUE(t.put(std::to_string(k), k, 200'000));
  EXPECT_EQ(t.stats(200'000).average, 499.5);
}

// A reference model with O(N) scans; integer values keep every average exact.
TEST(WindowStore, MatchesAReferenceModelOnRandomOperations) {
  struct model_entry {
    double value;
    time_ns deadline;
  };
  std::map<std::string, model_entry> model;
  time_ns clock = std::numeric_limits<time_ns>::min();
  window_table t(kWindow, 40);
  std::mt19937_64 rng(42);
  time_ns now = 0;
  for (int step = 0; step < 200'000; ++step) {
    now += static_cast<time_ns>(rng() % 4) - 1;  // mostly forward, sometimes backwards
    const std::string key = "k" + std::to_string(rng() % 48);
    const time_ns at = std::max(now, clock);
    const auto live = [&](const model_entry& e, time_ns when) { return e.deadline > when; };
    switch (rng() % 4) {
      case 0: {
        clock = at;
        std::erase_if(model, [&](const auto& kv) { return !live(kv.second, clock); });
        const double value = static_cast<double>(rng() % 100);
        const bool created = model.count(key) == 0;
        const auto r = t.put(key, value, now);
        if (!created || model.size() < 40) {
          ASSERT_EQ(r.value(), created);
          model[key] = {value, clock + kWindow};
        } else {
          ASSERT_EQ(r.error(), window_error::full);
        }
        break;
      }
      case 1: {
        clock = at;
        std::erase_if(model, [&](const auto& kv) { return !live(kv.second, clock); });
        const auto r = t.remove(key, now);
        ASSERT_EQ(r.ok(), model.erase(key) == 1);
        break;
      }
      default: {
        const time_ns when = at + static_cast<time_ns>(rng() % (2 * kWindow));
        double sum = 0;
        std::size_t n = 0;
        for (const auto& [k, e] : model) {
          if (live(e, when)) {
            sum += e.value;
            ++n;
          }
        }
        const window_stats st = t.stats(when);
        ASSERT_EQ(st.count, n) << "step " << step;
        ASSERT_EQ(st.average, n == 0 ? 0.0 : sum / static_cast<double>(n)) << "step " << step;
        const auto it = model.find(key);
        const auto g = t.get(key, when);
        ASSERT_EQ(g.ok(), it != model.end() && live(it->second, when));
        if (g.ok()) {
          ASSERT_EQ(g.value(), it->second.value);
        }
      }
    }
    ASSERT_LE(t.queued_records(), 2 * 40U + 16U);  // rebuilds bound the queue
  }
}

}  // namespace
}  // namespace tickring::core
