// A recorded concurrent history of one TimeSortedArray: what each thread called, what it got
// back, and when it was invoked and answered.
//
// Contract
// - One `thread_history` per thread, written only by that thread while the run is on (vectors
//   reserved up front, so recording never allocates or locks on the hot path), read by the
//   checkers only after every thread has joined.
// - Thread 0 of a `history` is the single writer (put, remove); the others are readers (get,
//   size, lowest, highest, committed, iterate). The checkers rely on this: with one writer its
//   operations are totally ordered, which is what makes the exact check in single_writer_checker.h
//   linear.
// - Real-time order comes from `ticket_clock`: a global counter taken with a seq_cst
//   fetch_add just before an operation is invoked and just after it answers. Tickets are unique,
//   so "a answered before b was invoked" is exactly `a.resp < b.inv`. Why a counter and not
//   steady_clock: a clock read is not ordered with memory accesses (on x86 the writer's last
//   store can still sit in its store buffer when it reads the clock), so two timestamps in
//   order do not prove the first operation's effects were visible to the second, and a checker
//   would report false violations. The locked RMW of a ticket drains the store buffer, and in
//   C++ terms a.resp-ticket < b.inv-ticket means a happens-before b, which is the order a
//   linearizable object must respect. steady_clock times are recorded beside the tickets for
//   the people reading a report (durations, where in the run), never for ordering.
// - Values: every put writes a fresh id (1, 2, ...), so a read names the write it saw. A get
//   records kAbsent for "none" and kTorn for a value whose check word does not match (a torn
//   copy), which no state can explain.
//
// Cost: two fetch_adds on one shared cache line and two clock reads per operation (~50-100 ns on
// two cores); this slows the run but does not serialise it: the operations themselves still
// overlap, which the reports count ("reads concurrent with a write").
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace tickring::lincheck {

using ticket = std::uint64_t;

inline constexpr std::uint64_t kAbsent = 0;          // get: no value; put ids start at 1
inline constexpr std::uint64_t kTorn = UINT64_MAX;   // get: a copy that no write produced
inline constexpr std::int64_t kNoLimit = INT64_MAX;  // iterate: from the newest time

enum class op_kind : std::uint8_t { put, remove, get, size, iterate, lowest, highest, committed };

struct op {
  op_kind kind = op_kind::get;
  // put: inserted (false: overwrote); remove: found; iterate: walked to the end (false: the
  // reader stopped early, after its step cap).
  bool ok = false;
  // put/remove/get: the time; iterate: its `to`; lowest/highest: the time returned.
  std::int64_t key = 0;
  // put: id written; get, lowest, highest: id read, kAbsent or kTorn; size: the count;
  // committed: the committed sequence number read.
  std::uint64_t value = 0;
  ticket inv = 0;           // taken just before the call
  ticket resp = 0;          // taken just after it returned
  std::int64_t inv_ns = 0;  // steady_clock, for reports only
  std::int64_t resp_ns = 0;
  std::uint32_t first_yield = 0;  // iterate: its pairs are yielded[first_yield, +yields)
  std::uint32_t yields = 0;
  // put/remove: the change's sequence number (0: none, a remove of an absent time); get,
  // lowest, highest: the sequence number returned with the point.
  std::uint64_t seq = 0;
};

struct yielded_pair {
  std::int64_t key;
  std::uint64_t value;
};

struct thread_history {
  std::vector<op> ops;
  std::vector<yielded_pair> yielded;  // iterate ops' pairs, in order
};

struct history {
  std::vector<thread_history> threads;  // [0] is the writer
  [[nodiscard]] std::size_t op_count() const {
    std::size_t n = 0;
    for (const auto& t : threads)
      n += t.ops.size();
    return n;
  }
};

// The shared real-time order. One per run; its counter has a cache line to itself so that it
// does not share one with the data under test.
class ticket_clock {
 public:
  ticket tick() { return next_.fetch_add(1, std::memory_order_seq_cst); }

 private:
  alignas(64) std::atomic<ticket> next_{1};
  char pad_[64 - sizeof(std::atomic<ticket>)] = {};
};

inline std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Brackets one call: `begin` before it, `end` after it. The steady_clock read is outside the
// tickets, so a report's durations cover at least the ticketed interval.
inline void begin_op(ticket_clock& clock, op& o) {
  o.inv_ns = steady_ns();
  o.inv = clock.tick();
}
inline void end_op(ticket_clock& clock, op& o) {
  o.resp = clock.tick();
  o.resp_ns = steady_ns();
}

// "reader 2 #17 get(130) -> v41 [inv 880, resp 884]"; for reports and failure messages.
std::string describe(const history& h, std::size_t thread, std::size_t index);

}  // namespace tickring::lincheck
