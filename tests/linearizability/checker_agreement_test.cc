// The checkers against each other, on random single-writer histories:
// - generated linearizable histories (every read answered at a linearization point inside its
//   interval) are accepted by every check;
// - after one read's result is changed, the exact single-writer check and the Wing & Gong /
//   Lowe search over the whole map (size included) give the same verdict, and so do the exact
//   check and the per-key search on histories without size();
// - the per-read window check accepts everything the exact check accepts, and some histories
//   it rejects (it is a necessary condition only);
// - a history of ~10^5 operations checks in seconds.
#include <gtest/gtest.h>

#include <chrono>

#include "tests/linearizability/history_builder.h"
#include "tests/linearizability/history_check.h"
#include "tests/linearizability/single_writer_checker.h"
#include "tests/linearizability/wgl_checker.h"

namespace tickring::lincheck {
namespace {

constexpr int kRounds = 3000;
constexpr std::size_t kSearchSteps = 2'000'000;

std::vector<op> all_ops(const history& h) {
  std::vector<op> out;
  for (const auto& t : h.threads)
    out.insert(out.end(), t.ops.begin(), t.ops.end());
  return out;
}

bool search_whole_map(const history& h) {
  const auto r = wgl_check<map_model>(all_ops(h), map_model{}, kSearchSteps);
  EXPECT_NE(r.outcome, wgl_outcome::gave_up);
  return r.outcome == wgl_outcome::linearizable;
}

TEST(CheckerAgreement, GeneratedLinearizableHistoriesAreAccepted) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < kRounds / 3; ++round) {
    generator_params p;
    p.readers = 1 + static_cast<int>(rng() % 3);
    p.keys = 1 + static_cast<int>(rng() % 3);
    p.read_length = 0.5 + static_cast<double>(rng() % 4);
    const history h = generate_history(rng, p);
    const writer_replay w(h.threads[0]);
    ASSERT_FALSE(w.error()) << *w.error();
    const auto r = check_history(h);
    ASSERT_TRUE(r.ok) << "round " << round << '\n' << r.text;
    ASSERT_TRUE(check_reads_in_window(h, w).ok);
    ASSERT_TRUE(search_whole_map(h));
  }
}

TEST(CheckerAgreement, ExactCheckAndSearchGiveTheSameVerdicts) {
  std::mt19937_64 rng(11);
  int rejected = 0;
  int window_missed = 0;
  for (int round = 0; round < kRounds; ++round) {
    generator_params p;
    p.readers = 1 + static_cast<int>(rng() % 3);
    p.keys = 1 + static_cast<int>(rng() % 3);
    p.writer_ops = 6 + static_cast<int>(rng() % 8);
    p.reader_ops = 4 + static_cast<int>(rng() % 8);
    p.read_length = 0.5 + static_cast<double>(rng() % 4);
    p.sizes = rng() % 2 == 0;
    history h = generate_history(rng, p);
    mutate_one_read(rng, h);
    const writer_replay w(h.threads[0]);
    const bool exact = check_linearizable(h, w).ok;
    const bool window = check_reads_in_window(h, w).ok;
    ASSERT_EQ(exact, search_whole_map(h)) << "round " << round;
    if (!p.sizes) {
      ASSERT_EQ(exact, check_per_key(h, kSearchSteps).ok) << "round " << round;
    }
    ASSERT_TRUE(window || !exact) << "round " << round;
    rejected += exact ? 0 : 1;
    window_missed += window && !exact ? 1 : 0;
  }
  // The mutations must produce both verdicts, or the comparison proves little.
  EXPECT_GT(rejected, kRounds / 10);
  EXPECT_LT(rejected, kRounds * 9 / 10);
  EXPECT_GT(window_missed, 0) << "no history showed the window check's blind spot";
  std::printf("%d of %d mutated histories rejected; the window check missed %d of them\n", rejected,
              kRounds, window_missed);
}

TEST(CheckerAgreement, HundredThousandOperationsCheckInSeconds) {
  std::mt19937_64 rng(3);
  generator_params p;
  p.readers = 4;
  p.keys = 64;
  p.writer_ops = 20'000;
  p.reader_ops = 20'000;
  const history h = generate_history(rng, p);
  ASSERT_EQ(h.op_count(), 100'000U);
  const auto start = std::chrono::steady_clock::now();
  const auto r = check_history(h);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(r.ok) << r.text;
  std::printf("%s(%.2f s)\n", r.text.c_str(), seconds);
}

}  // namespace
}  // namespace tickring::lincheck
