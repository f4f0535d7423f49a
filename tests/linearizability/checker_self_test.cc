// The checker checked: hand-written histories, each non-linearizable one a bug the ring could
// have (a stale read, a lost overwrite, a skipped key, a resurrected removal, a torn value, a
// size that runs ahead of get), must be rejected, and the correct ones next to them accepted.
// Tickets are written out: a.resp < b.inv means a answered before b was invoked.
#include <gtest/gtest.h>

#include "tests/linearizability/history_builder.h"
#include "tests/linearizability/history_check.h"
#include "tests/linearizability/single_writer_checker.h"
#include "tests/linearizability/wgl_checker.h"

namespace tickring::lincheck {
namespace {

history_report check(const history& h) {
  return check_history(h);
}

bool window_check_accepts(const history& h) {
  const writer_replay w(h.threads[0]);
  return check_reads_in_window(h, w).ok;
}

TEST(CheckerSelfTest, AcceptsReadsOnEitherSideOfAConcurrentWrite) {
  history_builder b(2);
  b.put(5, 1, true, 1, 2).put(5, 2, false, 10, 20);
  b.get(1, 5, 1, 11, 14).get(2, 5, 2, 13, 16).get(1, 5, 2, 17, 18).size(2, 1, 17, 19);
  const auto r = check(b.h);
  EXPECT_TRUE(r.ok) << r.text;
}

TEST(CheckerSelfTest, RejectsStaleRead) {
  // The overwrite finished at 4; a read invoked at 5 still sees the old value.
  history_builder b(1);
  b.put(5, 1, true, 1, 2).put(5, 2, false, 3, 4).get(1, 5, 1, 5, 6);
  const auto r = check(b.h);
  EXPECT_FALSE(r.ok) << r.text;
  EXPECT_FALSE(r.linearizable);
  EXPECT_FALSE(r.per_key_ok);
  EXPECT_FALSE(window_check_accepts(b.h));
}

TEST(CheckerSelfTest, RejectsLostOverwrite) {
  // While put(5, v2) runs, one reader sees v2 and then v1 again: the overwrite was visible and
  // then lost. Each read alone fits inside the put's interval; the pair does not.
  history_builder b(1);
  b.put(5, 1, true, 1, 2).put(5, 2, false, 3, 20);
  b.get(1, 5, 2, 4, 5).get(1, 5, 1, 6, 7);
  const auto r = check(b.h);
  EXPECT_FALSE(r.linearizable) << r.text;
  EXPECT_FALSE(r.per_key_ok);
  EXPECT_TRUE(window_check_accepts(b.h)) << "the per-read window check cannot see this";
}

TEST(CheckerSelfTest, NewOldInversionAcrossReaders) {
  // The brief's example: the put takes effect before 2 for reader 1 and after 3 for reader 2.
  history_builder b(2);
  b.put(5, 1, true, 1, 10).get(1, 5, 1, 2, 3).get(2, 5, kAbsent, 4, 5);
  const auto r = check(b.h);
  EXPECT_FALSE(r.linearizable) << r.text;
  EXPECT_FALSE(r.per_key_ok);
  EXPECT_TRUE(window_check_accepts(b.h));
  // Concurrent reads that agree on an order are fine.
  history_builder ok(2);
  ok.put(5, 1, true, 1, 10).get(1, 5, kAbsent, 2, 3).get(2, 5, 1, 4, 5);
  EXPECT_TRUE(check(ok.h).ok);
}

TEST(CheckerSelfTest, RejectsResurrectedRemoval) {
  history_builder b(1);
  b.put(5, 1, true, 1, 2).remove(5, true, 3, 4).get(1, 5, 1, 5, 6);
  EXPECT_FALSE(check(b.h).ok);
  // The same read overlapping the removal is fine.
  history_builder ok(1);
  ok.put(5, 1, true, 1, 2).remove(5, true, 3, 6).get(1, 5, 1, 4, 5);
  EXPECT_TRUE(check(ok.h).ok);
}

TEST(CheckerSelfTest, RejectsResurrectedRemovalInIterator) {
  history_builder b(1);
  b.put(5, 1, true, 1, 2).put(7, 2, true, 3, 4).remove(5, true, 5, 6);
  b.iterate(1, kNoLimit, true, {{7, 2}, {5, 1}}, 7, 8);
  const auto r = check(b.h);
  EXPECT_TRUE(r.linearizable);
  EXPECT_FALSE(r.iterators_ok) << r.text;
}

TEST(CheckerSelfTest, RejectsSkippedKey) {
  history_builder b(1);
  b.put(5, 1, true, 1, 2).put(6, 2, true, 3, 4).put(7, 3, true, 5, 6);
  b.put(9, 4, true, 8, 12);  // concurrent with the iteration: may be yielded or not
  b.iterate(1, kNoLimit, true, {{7, 3}, {5, 1}}, 7, 11);
  const auto r = check(b.h);
  EXPECT_FALSE(r.iterators_ok) << r.text;
  EXPECT_NE(r.text.find("skipped time 6"), std::string::npos) << r.text;

  history_builder ok(1);
  ok.put(5, 1, true, 1, 2).put(6, 2, true, 3, 4).put(7, 3, true, 5, 6);
  ok.put(9, 4, true, 8, 12).remove(6, true, 13, 14);
  ok.iterate(1, kNoLimit, true, {{9, 4}, {7, 3}, {5, 1}}, 7, 15);  // 6 went away meanwhile
  EXPECT_TRUE(check(ok.h).ok) << check(ok.h).text;
  // A reader that stopped after two steps promised nothing below them.
  history_builder early(1);
  early.put(5, 1, true, 1, 2).put(6, 2, true, 3, 4).put(7, 3, true, 5, 6);
  early.iterate(1, kNoLimit, false, {{7, 3}, {6, 2}}, 7, 8);
  EXPECT_TRUE(check(early.h).ok);
}

TEST(CheckerSelfTest, RejectsIteratorOutOfOrderOrAboveItsStart) {
  history_builder b(1);
  b.put(5, 1, true, 1, 2).put(7, 2, true, 3, 4);
  b.iterate(1, kNoLimit, true, {{5, 1}, {7, 2}}, 5, 6);
  EXPECT_FALSE(check(b.h).iterators_ok);
  history_builder above(1);
  above.put(5, 1, true, 1, 2).put(7, 2, true, 3, 4);
  above.iterate(1, 6, true, {{7, 2}, {5, 1}}, 5, 6);
  EXPECT_FALSE(check(above.h).iterators_ok);
}

TEST(CheckerSelfTest, RejectsTornOrInventedValues) {
  history_builder torn(1);
  torn.put(5, 1, true, 1, 4).get(1, 5, kTorn, 2, 3);
  EXPECT_FALSE(check(torn.h).ok);
  history_builder invented(1);
  invented.put(5, 1, true, 1, 4).get(1, 5, 99, 2, 3);
  EXPECT_FALSE(check(invented.h).ok);
}

TEST(CheckerSelfTest, RejectsSizeAheadOfGet) {
  // size() counts the new point, then get() on the same reader does not find it: the insert's
  // commit ran ahead of its cell. Every read alone fits; only the whole history shows it.
  history_builder b(1);
  b.put(5, 1, true, 1, 2).put(6, 2, true, 3, 20);
  b.size(1, 2, 4, 5).get(1, 6, kAbsent, 6, 7);
  const auto r = check(b.h);
  EXPECT_FALSE(r.linearizable) << r.text;
  EXPECT_TRUE(r.per_key_ok) << "per key, size is invisible";
  EXPECT_TRUE(window_check_accepts(b.h));
}

TEST(CheckerSelfTest, RejectsWrongWriterResults) {
  history_builder b(1);
  b.put(5, 1, true, 1, 2).put(5, 2, true, 3, 4);  // second put claims it inserted
  EXPECT_FALSE(check(b.h).ok);
  history_builder r(1);
  r.remove(5, true, 1, 2);  // removes what was never there
  EXPECT_FALSE(check(r.h).ok);
}

TEST(CheckerSelfTest, SearchBacktracksAndBoundsItsWork) {
  // The search first linearizes the put (invoked first), finds the get of "none" can then
  // never be placed, undoes the put and succeeds with the get first.
  std::vector<op> ops{{op_kind::put, true, 5, 1, 1, 10}, {op_kind::get, false, 5, kAbsent, 2, 11}};
  const auto r = wgl_check<register_model>(ops, {}, 1000);
  EXPECT_EQ(r.outcome, wgl_outcome::linearizable);
  EXPECT_GT(r.configurations, 2U);
  // Readers that disagree on the order: no linearization.
  ops.push_back({op_kind::get, false, 5, 1, 3, 4});
  ops.push_back({op_kind::get, false, 5, kAbsent, 5, 6});
  EXPECT_EQ(wgl_check<register_model>(ops, {}, 1000).outcome, wgl_outcome::not_linearizable);
  EXPECT_EQ(wgl_check<register_model>(ops, {}, 1).outcome, wgl_outcome::gave_up);
}

TEST(CheckerSelfTest, SearchHandlesConcurrentWriters) {
  // put(v2), invoked second, must take effect first: it is the one that inserted.
  std::vector<op> ops{{op_kind::put, false, 5, 1, 1, 10},
                      {op_kind::put, true, 5, 2, 2, 9},
                      {op_kind::get, false, 5, 1, 11, 12}};
  EXPECT_EQ(wgl_check<register_model>(ops, {}, 1000).outcome, wgl_outcome::linearizable);
  ops[2].value = 2;
  EXPECT_EQ(wgl_check<register_model>(ops, {}, 1000).outcome, wgl_outcome::not_linearizable);
}

}  // namespace
}  // namespace tickring::lincheck
