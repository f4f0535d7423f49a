// Safe reclamation of buffers that lock-free readers may still be reading: hazard pointers.
//
// Problem: a writer that outgrows a buffer publishes a bigger one with one pointer store, but a
// reader that loaded the old pointer a moment earlier may still be inside it. The old buffer
// may be freed only once no reader can hold it, and one slow or stalled reader must not make
// the garbage grow without bound (an epoch scheme pins everything retired after a stalled
// reader's epoch, process-wide; a hazard pointer pins only the one buffer its reader holds).
//
// Contract
// - `hazard_guard g; const T* p = g.protect(src);` (any thread): while `g` lives, the object
//   `p` points to is not freed. A guard protects one pointer; a thread may hold
//   kHazardsPerThread guards at once (an iterator, plus the calls made while it is open), and
//   beyond that a guard falls back to pinning everything retired after it (correct, but
//   unbounded while it lives). Never keep a guard across an asynchronous suspension point.
// - `reclaim_retire(p, bytes, deleter)` (writers, any thread; serialised by a mutex that readers
//   never take): call after unpublishing `p` (the pointer store must come first). `p` is
//   deleted by the first reclaim pass that finds no hazard pointer on it.
// - `reclaim_now()` runs a pass; retire runs one too once enough is pending (more buffers than
//   hazard pointers plus a slack, or 256 KiB retired since the last pass). Call it
//   periodically from a writer thread (the server's ingest thread does, every 100 ms), so that
//   a buffer retired while a reader held it is freed after the reader has left even if no
//   further buffer is retired.
// - Bound: after a pass, what stays pending is at most one buffer per hazard pointer in use
//   (threads x kHazardsPerThread, and only buffers that a reader holds right now), unless a
//   thread nests more than kHazardsPerThread guards.
// - `reclaim_pending_bytes()` / `reclaim_pending()` (any thread): bytes / buffers awaiting
//   reclamation, for /metrics and tests.
//
// Why the orders are seq_cst: protect() stores the hazard pointer and re-loads the source; the
// writer stores the new pointer and (in a later pass) loads every hazard pointer. That is a
// store-buffering pattern: with anything weaker than seq_cst on all four accesses both threads
// may read the old value (the reader keeps the old pointer, the pass sees no hazard). With all
// four seq_cst, the total order puts either the reader's hazard store before the pass's load
// (the buffer is kept) or the writer's pointer store before the reader's re-load (the reader
// retries and never uses the old buffer). The registration of a thread's hazard record (a CAS
// onto a list) and the pass's load of that list form the same pattern, one step earlier: a
// brand-new reader thread's first hazard pointer lives in a record the pass must see, so that
// CAS and that load are seq_cst as well (a release CAS and an acquire load would let the pass
// walk a list without the new record while the reader's re-load still saw the old pointer).
//
// Cost: a guard is one thread_local access, a store (xchg) and a re-load (~5 ns); releasing
// it is one store. Records are registered once per thread (lock-free push, reused after the
// thread exits). A pass scans every record: O(threads x kHazardsPerThread + pending).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace tickring::core {

inline constexpr int kHazardsPerThread = 4;

namespace reclaim_detail {
struct hazard_record;
// This thread's hazard slot for a new guard, or nullptr when all are taken (the guard then
// pins everything: see the contract).
std::atomic<const void*>* acquire_hazard() noexcept;
void release_hazard(std::atomic<const void*>* slot) noexcept;
}  // namespace reclaim_detail

class hazard_guard {
 public:
  hazard_guard() noexcept : slot_(reclaim_detail::acquire_hazard()) {}
  ~hazard_guard() { reclaim_detail::release_hazard(slot_); }
  hazard_guard(const hazard_guard&) = delete;
  hazard_guard& operator=(const hazard_guard&) = delete;

  // Loads `src` and keeps what it loaded from being freed while the guard lives. Retries only
  // while the writer publishes a new pointer between the load and the re-load (lock-free).
  template <class T>
  T* protect(const std::atomic<T*>& src) noexcept {
    T* p = src.load(std::memory_order_seq_cst);
    if (slot_ == nullptr) return p;  // pinned by the overflow count, taken before the load
    for (;;) {
      slot_->store(p, std::memory_order_seq_cst);
      T* again = src.load(std::memory_order_seq_cst);
      if (again == p) return p;
      p = again;
    }
  }

 private:
  std::atomic<const void*>* slot_;
};

using reclaim_deleter = void (*)(void*);

// Hands `p` (`bytes` long) over for deletion once no hazard pointer holds it.
// REQUIRES: `p` is no longer reachable from any published pointer.
void reclaim_retire(void* p, std::size_t bytes, reclaim_deleter deleter);

// Frees every retired pointer that no hazard pointer holds; returns how many were freed.
std::size_t reclaim_now();

// Retired buffers / bytes not yet freed.
std::size_t reclaim_pending();
std::size_t reclaim_pending_bytes();

}  // namespace tickring::core
