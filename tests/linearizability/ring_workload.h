// Runs a TimeSortedArray with one writer and several readers and records the history that
// history_check.h judges.
//
// Contract
// - Thread 0 writes (put, remove, remove_lowest) and the readers call get (find), size,
//   lowest, highest, committed_seq (right after each read that returned a point, so that the
//   seq it returned is checked against the committed one) and iterate_backwards, all on one ring,
//   each thread recording into its own preallocated thread_history (history.h). The run ends when
//   the writer has done `writer_ops` operations, `max_seconds` have passed, or every reader has
//   filled its buffer.
// - The ring starts at `initial_capacity` (2 by default) so that growth, compaction into a
//   new buffer and wrap-around of positions happen throughout the run. The writer's mix covers
//   every path of put and remove: appends, prepends, middle inserts that shift, overwrites,
//   reuse of removed cells, removal of the lowest, highest and a middle time, and removal of an
//   absent time.
// - Every put writes a fresh id; the stored value is four words with a check word, so a torn
//   copy is recorded as kTorn rather than passing for some value.
// - Compiled into each test executable (not a library), so that an executable built with a
//   TICKRING_RING_FAULT_* definition runs the broken ring (see broken_ring_test.cc). The
//   ring's value type has internal linkage, so the faulty and the correct instantiation of the
//   ring's member functions can never be merged by the linker.
//
// Cost: the run takes at most `max_seconds`; memory is ~48 bytes per recorded operation plus
// 16 per yielded pair, reserved up front.
#pragma once

#include <cstdint>

#include "tests/linearizability/history.h"

namespace tickring::lincheck {

enum class workload_shape {
  random_times,    // `times` fixed times; inserts land anywhere, most of them in the middle
  sliding_window,  // market data: mostly appends, some late ticks, retention removes the lowest
};

struct workload {
  workload_shape shape = workload_shape::random_times;
  std::size_t initial_capacity = 2;
  int readers = 2;
  std::int64_t times = 48;    // random_times: the times are kTimeBase + kTimeStep * [0, times)
  std::size_t max_live = 24;  // the writer removes before the ring holds more
  std::size_t writer_ops = 20'000;
  std::size_t reader_ops = 20'000;  // per reader
  double max_seconds = 1.0;
  std::uint64_t seed = 1;
  std::size_t iterate_step_cap = 64;  // a reader stops an iteration after this many pairs
  // Between two operations every thread idles for a random 0..pause_max CPU pause
  // instructions: this varies the threads' relative phase from one operation to the next and
  // keeps one thread from finishing its buffer before another has started.
  unsigned pause_max = 16;
  // Of every 100 reader operations, this many call lowest() / highest() (the rest: get 70 -
  // these, size, iterate).
  unsigned lowest_percent = 10;
  unsigned highest_percent = 10;
};

inline constexpr std::int64_t kTimeBase = 1000;
inline constexpr std::int64_t kTimeStep = 10;

struct workload_result {
  history h;
  double seconds = 0;
  std::size_t final_capacity = 0;
};

[[nodiscard]] workload_result run_ring_workload(const workload& w);

}  // namespace tickring::lincheck
