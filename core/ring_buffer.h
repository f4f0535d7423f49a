// The storage of one TimeSortedArray generation: a header line plus a power-of-two ring of
// cells. A buffer is created by the writer, published with one pointer store, and once
// outgrown retired to hazard-pointer reclamation (reclaim.h); it is never resized in place.
//
// Header fields and who writes them (the writer, always; readers only load):
// - head, tail: the logical positions [head, tail) in use. tail is stored (release) after the
//   cell it exposes is written; head after the cell below it is written (prepend, shift).
// - committed: the last committed change; live[s & 1] holds the live count after change s.
//   The writer stores live[s & 1] (release) and then committed = s (release); a reader reads
//   committed, live[committed & 1], committed again and retries if it moved. Two slots mean the
//   slot for s is only rewritten two commits later, so an unchanged committed proves the count
//   belongs to it. A reader retries only if the writer committed meanwhile (lock-free).
//
// Cost: the header is one cache line, written on every change; cells follow it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

#include "core/ring_cell.h"

namespace tickring::core::ring_detail {

inline constexpr std::size_t kCacheLine = 64;

template <std::size_t Words>
struct ring_buffer {
  // Immutable after create, on a line of their own: readers load them on every probe, and the
  // writer's stores to the header must not evict them.
  alignas(kCacheLine) std::int64_t mask = 0;
  cell<Words>* cells = nullptr;
  alignas(kCacheLine) std::atomic<std::int64_t> head{0};
  std::atomic<std::int64_t> tail{0};
  std::atomic<seq_no> committed{0};
  std::atomic<std::uint64_t> live[2] = {};

  std::size_t capacity() const { return static_cast<std::size_t>(mask) + 1; }
  cell<Words>& at(std::int64_t pos) { return cells[pos & mask]; }
  const cell<Words>& at(std::int64_t pos) const { return cells[pos & mask]; }

  std::uint64_t live_count() const {
    for (;;) {
      const seq_no c1 = committed.load(std::memory_order_acquire);
      const std::uint64_t n = live[c1 & 1].load(std::memory_order_acquire);
      if (committed.load(std::memory_order_acquire) == c1) return n;
    }
  }

  // Writer only.
  void commit(seq_no s, std::uint64_t live_now) {
    live[s & 1].store(live_now, std::memory_order_release);
    committed.store(s, std::memory_order_release);
  }

  static std::size_t bytes(std::size_t capacity) {
    return sizeof(ring_buffer) + capacity * sizeof(cell<Words>);
  }
  static ring_buffer* create(std::size_t capacity) {
    void* mem = ::operator new (bytes(capacity), std::align_val_t{kCacheLine});
    auto* b = new (mem) ring_buffer;
    b->mask = static_cast<std::int64_t>(capacity) - 1;
    b->cells = reinterpret_cast<cell<Words>*>(static_cast<char*>(mem) + sizeof(ring_buffer));
    for (std::size_t i = 0; i < capacity; ++i)
      new (&b->cells[i]) cell<Words>;
    return b;
  }
  static void destroy(ring_buffer* b) {
    if (b == nullptr) return;
    b->~ring_buffer();  // cells are trivially destructible atomics
    ::operator delete (b, std::align_val_t{kCacheLine});
  }
  static void destroy_erased(void* p) { destroy(static_cast<ring_buffer*>(p)); }
};

// Reader's view of a position for searching: the cell's time when the slot still holds `pos`,
// otherwise a sentinel in position order. A slot holding a higher position was reused after
// the head passed `pos` (so `pos` lies below everything live: -inf); a lower or no position
// means `pos` lies beyond the tail (+inf).
enum class probe { below, at, above };

template <std::size_t Words>
inline probe probe_key(const ring_buffer<Words>& b, std::int64_t pos, cell_key& out) {
  read_key(b.at(pos), out);
  if (out.pos == pos) return probe::at;
  return out.pos > pos ? probe::below : probe::above;
}

}  // namespace tickring::core::ring_detail
