// The stress run and the checker must catch a deliberately broken ring. This file is built
// four times, each time with one fault of core/time_sorted_array_{write,read}.h compiled in:
// - TICKRING_RING_FAULT_SHIFT_TOWARD_TAIL: a middle insert moves the cells above the new point
//   toward the tail instead of the cells below it toward the head. Sequentially the ring stays
//   correct (the unit tests would pass); a reader scanning toward the head while points move
//   the other way misses one: get() answers "none", an iterator skips.
// - TICKRING_RING_FAULT_COMMIT_BEFORE_WRITE: an insert is committed (size() counts it) before
//   its cell is written. Every read alone still fits; only the whole-history check sees that a
//   reader's size() counted a point that its next get() did not find.
// - TICKRING_RING_FAULT_SEQ_BEFORE_COMMIT: an overwrite's or a removal's version (and sequence
//   number) is stored before its commit, as the ring once did: a reader returns a seq above
//   committed_seq(), or a pending removal's seq for a live point.
// - TICKRING_RING_FAULT_UNCHECKED_ENDS: lowest() and highest() as they once were (a scan from
//   the end they loaded, no re-check): a point that was never the lowest or the newest.
// The test records and checks runs with fresh seeds until the checker rejects one, and fails
// if none is rejected within kBound (TICKRING_BROKEN_RING_BOUND seconds overrides it).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "tests/linearizability/history_check.h"
#include "tests/linearizability/ring_workload.h"

#if defined(TICKRING_RING_FAULT_SHIFT_TOWARD_TAIL)
#define TICKRING_FAULT_NAME ShiftTowardTail
#elif defined(TICKRING_RING_FAULT_COMMIT_BEFORE_WRITE)
#define TICKRING_FAULT_NAME CommitBeforeWrite
#elif defined(TICKRING_RING_FAULT_SEQ_BEFORE_COMMIT)
#define TICKRING_FAULT_NAME SeqBeforeCommit
#elif defined(TICKRING_RING_FAULT_UNCHECKED_ENDS)
#define TICKRING_FAULT_NAME UncheckedEnds
#else
#error "broken_ring_test.cc must be built with a TICKRING_RING_FAULT_* definition"
#endif

namespace tickring::lincheck {
namespace {

constexpr double kBound = 60;        // seconds; typically well under 1 s (shift), ~5 s (commit)
constexpr double kRunSeconds = 0.5;  // recording per attempt

double bound() {
  const char* s = std::getenv("TICKRING_BROKEN_RING_BOUND");
  return s != nullptr ? std::atof(s) : kBound;
}

TEST(BrokenRing, TICKRING_FAULT_NAME) {
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  for (std::uint64_t attempt = 1;; ++attempt) {
    workload w;
    w.readers = 2;
    w.seed = attempt;
#ifdef TICKRING_RING_FAULT_COMMIT_BEFORE_WRITE
    // The fault shows only to a reader that calls size() and then get() of the time being
    // appended between the early commit and the tail store: a window of a few nanoseconds,
    // unless the writer is preempted inside it. Aim the readers at the newest few times, and
    // run more threads than cores so that the writer is preempted often.
    w.shape = workload_shape::sliding_window;
    w.max_live = 8;
    w.readers = 3;
#endif
#ifdef TICKRING_RING_FAULT_SEQ_BEFORE_COMMIT
    // Overwrites and removals of the few newest times, read by more threads than cores.
    w.shape = workload_shape::sliding_window;
    w.max_live = 8;
    w.readers = 3;
#endif
#ifdef TICKRING_RING_FAULT_UNCHECKED_ENDS
    // Both ends, under a writer that removes the lowest and inserts in the middle often.
    w.readers = 3;
    w.times = 16;
    w.max_live = 10;
    w.lowest_percent = 30;
    w.highest_percent = 30;
    if (attempt % 2 == 0) w.shape = workload_shape::sliding_window;
#endif
    w.max_seconds = kRunSeconds;
    const workload_result run = run_ring_workload(w);
    const history_report r = check_history(run.h, {.per_key_search = false});
    if (!r.ok) {
      std::printf("caught on attempt %llu after %.2f s (%zu operations):\n%s",
                  static_cast<unsigned long long>(attempt), elapsed(), run.h.op_count(),
                  r.text.c_str());
      EXPECT_FALSE(r.linearizable && r.iterators_ok);
      return;
    }
    if (elapsed() > bound()) {
      FAIL() << "the broken ring passed " << attempt << " checked runs in " << elapsed() << " s";
    }
  }
}

}  // namespace
}  // namespace tickring::lincheck
