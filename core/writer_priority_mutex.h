// writer_priority_mutex: a reader/writer lock that never lets a stream of readers starve a
// writer. Used by the window store (core/window_store.h).
//
// Threads: any. Cost: one atomic RMW to enter and one to leave when uncontended; a waiter
// spins briefly, then sleeps in std::atomic::wait (a futex), so a contended wait costs a
// system call only when it lasts longer than a short critical section.
#pragma once

#include <atomic>
#include <cstdint>

namespace tickring::core {

// Reader/writer lock that prefers writers. glibc's pthread_rwlock, behind std::shared_mutex,
// prefers readers by default: overlapping readers can keep a writer out forever. Here a writer
// sets kWriter with one fetch_or (a compare-exchange can keep failing while readers come and go);
// from then on new readers wait, and the writer waits only for the readers already inside. A reader
// waits while a writer holds or awaits the lock, so back-to-back writers delay readers (they get
// in between the writes of a writer that does anything else, as the store's writers do). Writers
// among themselves are not FIFO. Waits spin briefly, then sleep in atomic::wait. A phase-fair
// ticket lock, which starves neither side, lost in bench/window_store_bench.cc: its strict
// hand-over costs a context switch per call once threads share a core (10x fewer puts).
// Meets the standard SharedMutex requirements minus try_*.
class writer_priority_mutex {
 public:
  void lock() noexcept;
  void unlock() noexcept;
  void lock_shared() noexcept;
  void unlock_shared() noexcept;

 private:
  static constexpr std::uint32_t kWriter = std::uint32_t{1} << 31;  // low bits count readers
  std::atomic<std::uint32_t> state_{0};
};

}  // namespace tickring::core
