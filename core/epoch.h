// Epoch-based reclamation for buffers that lock-free readers may still be reading.
//
// Problem: a writer that outgrows a buffer publishes a bigger one with one pointer store, but
// a reader that loaded the old pointer a moment earlier may still be inside it. The old buffer
// may be freed only once no reader can hold it. This file solves that for the whole process.
//
// Contract
// - `epoch_guard g;` (any thread): while `g` lives, no buffer the thread can reach through a
//   pointer it loads after the guard was taken is freed. Guards nest (a thread counter); only
//   the outermost one touches shared memory. Never keep a guard across an asynchronous
//   suspension point: it holds back reclamation for every buffer retired meanwhile.
// - `retire(p, deleter)` (writers, any thread; serialised by a mutex that readers never take):
//   call after unpublishing `p` (the pointer store must come first). `p` is deleted once every
//   reader that was inside a guard at the time of the call has left it.
// - `try_reclaim()` frees what can be freed now; `retire` calls it too.
//
// How: a global epoch E. A reader announces the epoch it saw in its own cache-line slot
// (seq_cst store), a retired pointer is tagged with E and E advances. A slot announcing e > tag
// entered after the pointer was unpublished, so it cannot hold it; a slot announcing 0 is idle.
// All accesses to E, the slots and the caller's published pointer are seq_cst (on x86 only the
// announce is an xchg), which is what makes "the reader saw 0 ⇒ its later load sees the new
// pointer" hold.
//
// Cost: entering an outermost guard is one thread_local access, one load and one xchg (~5 ns);
// leaving is one store. Slots are registered once per thread (lock-free push, reused after the
// thread exits); retire and reclaim scan all slots, O(threads + retired).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tickring::core {

class epoch_guard {
 public:
  epoch_guard() noexcept;
  ~epoch_guard();
  epoch_guard(const epoch_guard&) = delete;
  epoch_guard& operator=(const epoch_guard&) = delete;
};

using epoch_deleter = void (*)(void*);

// Hands `p` over for deletion once no reader can hold it. REQUIRES: `p` is no longer reachable
// from any published pointer.
void epoch_retire(void* p, epoch_deleter deleter);

// Frees every retired pointer that no reader can hold any more; returns how many were freed.
std::size_t epoch_try_reclaim();

// Retired pointers not yet freed (for tests and /metrics).
std::size_t epoch_pending();

}  // namespace tickring::core
