// Exact linearizability check of a whole single-writer history (put, remove, get and size on
// every key at once) in O(n * T^2) for n operations on T threads, plus the cheaper per-read
// window check, which is only a necessary condition.
//
// Why one writer makes it easy. A linearization is a total order of the operations that
// respects real time (a before b whenever a.resp < b.inv) and in which every result matches
// the sequential model. Reads (get, size, lowest, highest, committed) do not change the state,
// and with one writer the state after any prefix is S_j, j = number of writer operations in it
// (writer_replay.h).
// Search the linearization front to back, in the style of Wing & Gong: at each step any
// "minimal" operation (no pending operation answered before it was invoked; only the head of
// each thread can be) may come next. Two facts remove all backtracking:
//  1. A minimal read that is correct in the current state may be placed next. Exchange
//     argument: take any valid completion; move the read to its front. Nothing it jumps over
//     had to precede it (it is minimal) and the state it sees does not change; no one else's
//     state changes either, since reads change nothing.
//  2. When no minimal read is correct now, the next operation can only be the writer's head,
//     so if that is not minimal there is no linearization.
// So the check places every correct minimal read, then the writer's next operation, and
// repeats. A violation is reported at the read that could not be placed; the check drops that
// read and goes on, so one run reports more than the first problem.
//
// Why checking each read against its own window is not enough (the brief for this file
// suggested it): a read may see S_j iff j lies in its window (writer_replay::window), but the
// writer's linearization points are shared by all reads. Writer put(k, v1) over [0, 10]; reader
// A gets v1 over [1, 2]; reader B, later, gets "none" over [3, 4]. Each read alone fits (the put
// may take effect at 1.5, or at 5), together they do not (the put would have to take effect
// before 2 and after 3). `check_reads_in_window` accepts that history; `check_linearizable`
// rejects it (tests: CheckerSelfTest.NewOldInversionAcrossReaders).
//
// Iterate operations are skipped here (an iterator is not linearizable by contract; see
// iterator_checker.h). Keys need no separate pass: the state is the whole map.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "tests/linearizability/history.h"
#include "tests/linearizability/writer_replay.h"

namespace tickring::lincheck {

struct violation {
  std::size_t thread;
  std::size_t index;
  std::string why;
};

struct verdict {
  bool ok = true;
  std::size_t count = 0;              // violations found (all of them)
  std::vector<violation> violations;  // the first kMaxReported
  std::size_t reads = 0;              // get and size operations checked
  std::size_t concurrent_reads = 0;   // of those, reads that overlapped a write

  static constexpr std::size_t kMaxReported = 8;
  void add(std::size_t thread, std::size_t index, std::string why);
  [[nodiscard]] std::string summary() const;
};

// Exact: whether the get/size/put/remove operations of `h` have a linearization against
// std::map. REQUIRES: `w` was built from h.threads[0] and has no error.
[[nodiscard]] verdict check_linearizable(const history& h, const writer_replay& w);

// Necessary, not sufficient: whether each get/size result matches some state in its own
// window. Cheap (O(n log m)) and names the read; misses inversions between reads.
[[nodiscard]] verdict check_reads_in_window(const history& h, const writer_replay& w);

// "get(130) -> v41 could not take effect: S_812..S_815 hold v40, none" and the writer
// operations around it; for failure messages.
[[nodiscard]] std::string explain_read(const history& h, const writer_replay& w, std::size_t thread,
                                       std::size_t index);

}  // namespace tickring::lincheck
