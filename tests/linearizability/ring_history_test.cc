// The real ring under one writer and several readers, every history checked: get, put, remove
// and size linearizable, iterators in order, skipping nothing, inventing nothing (docs/design.md).
// Each test records and checks rounds for TICKRING_STRESS_SECONDS (default 1 s) and prints
// its figures: operations, how many reads overlapped a write, recording and checking time.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "tests/linearizability/history_check.h"
#include "tests/linearizability/ring_workload.h"

namespace tickring::lincheck {
namespace {

double stress_seconds() {
  const char* s = std::getenv("TICKRING_STRESS_SECONDS");
  return s != nullptr ? std::atof(s) : 1.0;
}

// Records and checks rounds with fresh seeds (each round a new ring, new thread start-up
// interleavings) until the time budget is spent; stops at the first rejected history.
void run_and_check(workload w) {
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  std::size_t rounds = 0, ops = 0, writes = 0, concurrent = 0;
  double recording = 0, checking = 0;
  std::string first_report;
  const std::uint64_t seed = w.seed;
  do {
    w.seed = seed * 1000 + rounds;
    const workload_result run = run_ring_workload(w);
    const history_report r = check_history(run.h);
    ++rounds;
    ops += run.h.op_count();
    writes += run.h.threads[0].ops.size();
    concurrent += r.concurrent_reads;
    recording += run.seconds;
    checking += r.seconds;
    if (first_report.empty()) first_report = r.text;
    ASSERT_TRUE(r.ok) << "round " << rounds << ", seed " << w.seed << ":\n" << r.text;
  } while (elapsed() < stress_seconds());
  std::printf(
      "%zu rounds, %zu operations (%zu writes), %zu reads overlapped a write; "
      "recording %.2f s, checking %.2f s. First round:\n%s",
      rounds, ops, writes, concurrent, recording, checking, first_report.c_str());
  EXPECT_GT(concurrent, 100U) << "few reads overlapped a write: the run proved little";
}

TEST(RingLinearizability, RandomTimesTinyRingTwoReaders) {
  workload w;
  w.readers = 2;
  w.seed = 1;
  run_and_check(w);
}

TEST(RingLinearizability, RandomTimesThreeReadersOnTwoCores) {
  // More threads than cores: threads are preempted inside operations, so reads span many
  // writes and the checker has to reason about long windows.
  workload w;
  w.readers = 3;
  w.times = 24;
  w.max_live = 16;
  w.seed = 2;
  run_and_check(w);
}

TEST(RingLinearizability, SlidingWindowOfTicks) {
  workload w;
  w.shape = workload_shape::sliding_window;
  w.readers = 2;
  w.max_live = 40;
  w.seed = 3;
  run_and_check(w);
}

}  // namespace
}  // namespace tickring::lincheck
