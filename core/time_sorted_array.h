// TimeSortedArray<V>: a time-sorted ring with one writer and any number of lock-free readers.
//
// One series of quotes lives in one array: appends at the newest end are the common case,
// prepends and middle inserts are rare, readers mostly walk newest-first. Example:
//
//   time_sorted_array<quote> ring;              // writer thread owns it
//   ring.put(t, q);                             // writer
//   if (auto q = ring.get(t)) ...               // any thread, no lock
//   for (auto it = ring.iterate_backwards(to); it.next(e);) ...   // newest first
//
// Threads: put/remove/remove_lowest/capacity are for the one writer thread. size, get, find,
// lowest, highest, committed_seq and iterate_backwards may run on any thread concurrently with
// the writer; they never take a lock and never write memory the writer reads on its fast path
// (a reader's hazard pointer is read only by reclaim passes).
//
// Guarantees
// - put, remove, get, find and size are linearizable. Every change (insert, overwrite, remove)
//   gets the next sequence number; inserts and removals take effect when the writer commits
//   that number, which is the same store size() reads, so a reader can never see a point that
//   size() does not count yet.
// - The backward iterator yields strictly decreasing times; it never skips a time present for
//   its whole life; every (time, value) it yields was present at some instant of its life.
// - lowest()/highest() are linearizable: they return the point that was the lowest/newest at
//   one instant of the call (or nothing, if the array was empty at one instant).
// - A returned seq is never above committed_seq() (overwrites and removals commit inside their
//   cell's seqlock; an insert is returned only once committed).
// - Progress: readers are non-blocking except against a writer preempted mid-cell (see
//   ring_cell.h: a reader waits for that one cell, spinning briefly, then yielding). lowest()
//   and highest() retry while commits land at their end of the ring during their few loads.
//
// Layout: a power-of-two ring of cells (ring_cell.h) addressed by 64-bit logical positions
// [head, tail) that never wrap (slot = pos & mask); each cell remembers its position, so a
// reader notices a reused slot. The array stays sorted by time at every instant, duplicates
// allowed while a middle insert is in flight. Cells are only ever overwritten by a larger time:
// a middle insert grows the ring by one at the head and moves cells one step toward the head,
// lowest first, then writes the new point; so a backward reader, moving the same way, can meet
// a point twice (it drops repeats by demanding decreasing times) but never overtake one.
// Removal is logical (the cell's kind becomes "remove"); removing the lowest point advances the
// head; a dead cell is reused by the next insert just above it, and dropped when the ring is
// reallocated. Growth copies the live cells into a buffer twice the size, publishes it with one
// pointer store and retires the old one to hazard-pointer reclamation (reclaim.h): a reader
// protects the one buffer it reads, so a stalled reader pins at most that buffer.
//
// Cost: put at either end O(1) amortised; put in the middle O(distance to the nearest dead cell
// below it, else to the head); growth O(N). remove O(log N) (O(1) for the lowest or highest
// time). get/find O(log N) probes at worst (interpolation for the first probes, about 3 on
// evenly spaced times; then bisection, so skewed times cost at most 10 + log2(N) + 1). Iterator:
// O(log N) to start at `to`, O(1) per step. size O(1). Memory: sizeof(V) rounded up to 8 bytes + 24
// bytes per cell; capacity is a power of two.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <optional>
#include <type_traits>

#include "core/reclaim.h"
#include "core/ring_buffer.h"
#include "core/ring_cell.h"

namespace tickring::core {

inline constexpr std::size_t kDefaultRingCapacity = 16;
inline constexpr time_ns kMaxTime = std::numeric_limits<time_ns>::max();

template <class V>
class time_sorted_array {
  static_assert(std::is_trivially_copyable_v<V>, "cells are copied word by word");
  static constexpr std::size_t kWords = (sizeof(V) + 7) / 8;
  using buffer = ring_detail::ring_buffer<kWords>;
  using copy_t = ring_detail::cell_copy<kWords>;
  using kind = ring_detail::change_kind;

 public:
  struct entry {
    time_ns time;
    V value;
    seq_no seq;  // sequence number of the point's last change
  };
  enum class put_outcome { inserted, overwritten };
  struct put_result {
    put_outcome outcome;
    seq_no seq;
  };

  class backward_iterator;
  static constexpr std::size_t kBytesPerCell = sizeof(ring_detail::cell<kWords>);

  explicit time_sorted_array(std::size_t initial_capacity = kDefaultRingCapacity)
      : buf_(buffer::create(std::bit_ceil(std::max<std::size_t>(initial_capacity, 2)))) {}
  // REQUIRES: no reader is inside the array.
  ~time_sorted_array() { buffer::destroy(buf_.load(std::memory_order_relaxed)); }
  time_sorted_array(const time_sorted_array&) = delete;
  time_sorted_array& operator=(const time_sorted_array&) = delete;

  // ---- any thread -----------------------------------------------------------------------
  [[nodiscard]] std::size_t size() const {
    hazard_guard g;
    return load(g)->live_count();
  }
  // Bytes of the current buffer (header + cells).
  [[nodiscard]] std::size_t buffer_bytes() const {
    hazard_guard g;
    return buffer::bytes(load(g)->capacity());
  }
  [[nodiscard]] seq_no committed_seq() const {
    hazard_guard g;
    return load(g)->committed.load(std::memory_order_acquire);
  }
  [[nodiscard]] std::optional<V> get(time_ns t) const {
    entry e;
    if (find(t, e)) return e.value;
    return std::nullopt;
  }
  [[nodiscard]] std::optional<entry> find(time_ns t) const {
    entry e;
    if (find(t, e)) return e;
    return std::nullopt;
  }
  // Fills `out` and returns true if a point is at exactly `t`.
  bool find(time_ns t, entry& out) const { return find_raw(t, out.time, out.seq, &out.value); }
  // The same, writing the value's bytes to `value` (sizeof(V) bytes): lets a caller fill its
  // own layout without another copy.
  bool find_raw(time_ns t, time_ns& time, seq_no& seq, void* value) const;
  [[nodiscard]] std::optional<entry> lowest() const;
  [[nodiscard]] std::optional<entry> highest() const;
  // The same, writing the value's bytes (sizeof(V)) to `value`; false when empty.
  bool lowest_raw(time_ns& time, seq_no& seq, void* value) const;
  bool highest_raw(time_ns& time, seq_no& seq, void* value) const;
  // Newest first, starting at the newest time <= `to`.
  [[nodiscard]] backward_iterator iterate_backwards(time_ns to = kMaxTime) const {
    return backward_iterator(*this, to);
  }

  // ---- writer only ------------------------------------------------------------------------
  put_result put(time_ns t, const V& value);
  // Removes the point at `t`; returns the change's sequence number, or nothing if absent.
  std::optional<seq_no> remove(time_ns t);
  // Removes the oldest point (retention); returns it.
  std::optional<entry> remove_lowest();
  [[nodiscard]] std::size_t capacity() const { return own()->capacity(); }
  // The oldest live time (the head cell is always live between changes).
  [[nodiscard]] std::optional<time_ns> writer_oldest_time() const {
    const buffer* b = own();
    const std::int64_t head = b->head.load(std::memory_order_relaxed);
    if (head == b->tail.load(std::memory_order_relaxed)) return std::nullopt;
    return b->at(head).time.load(std::memory_order_relaxed);
  }
  [[nodiscard]] seq_no last_seq() const { return next_seq_ - 1; }
  [[nodiscard]] std::size_t writer_size() const { return live_; }
  // Calls fn(time, seq, value) for each live point, oldest first (the writer's own view).
  template <class Fn>
  void writer_for_each(Fn&& fn) const;

  // ---- rebuilding: the writer, on an array that no reader can reach yet ------------------
  // A series that changes its cell layout (series.h) copies its points into a new array that
  // keeps every point's sequence number and goes on numbering where the old one stopped, so
  // that a reader moving from the old array to the new one sees committed_seq() and every
  // point's seq as it would have in the old one.
  // Appends a point with its own sequence number. REQUIRES: t above every time in the array.
  void adopt(time_ns t, seq_no seq, const V& value);
  // Ends a rebuild: every change up to `last` counts as committed; the next takes last + 1.
  // REQUIRES: every adopted seq <= last.
  void adopt_done(seq_no last);

 private:
  const buffer* load(hazard_guard& g) const { return g.protect(buf_); }
  buffer* own() const { return buf_.load(std::memory_order_relaxed); }
  static entry to_entry(const copy_t& c) {
    entry e{c.time, {}, ring_detail::version_seq(c.version)};
    std::memcpy(&e.value, c.words, sizeof(V));
    return e;
  }
  // Copies a cell's payload word by word (8-byte stores that later 8-byte loads can forward;
  // one wide memcpy from a stack copy stalls on store forwarding).
  static void load_value(const ring_detail::cell<kWords>& c, void* value) {
    auto* out = static_cast<unsigned char*>(value);
    for (std::size_t i = 0; i < kWords; ++i) {
      const std::uint64_t w = c.words[i].load(ring_detail::kPayloadLoad);
      std::memcpy(out + i * 8, &w, std::min<std::size_t>(8, sizeof(V) - i * 8));
    }
  }
  // Seqlocked copy of a cell's key and payload; probe::at when the slot holds `pos`.
  static ring_detail::probe read_full(const buffer& b, std::int64_t pos, ring_detail::cell_key& k,
                                      void* value) {
    const auto& c = b.at(pos);
    k.version = ring_detail::seqlock_read(c, [&] {
      k.pos = c.pos.load(ring_detail::kPayloadLoad);
      k.time = c.time.load(ring_detail::kPayloadLoad);
      load_value(c, value);
    });
    if (k.pos == pos) return ring_detail::probe::at;
    return k.pos > pos ? ring_detail::probe::below : ring_detail::probe::above;
  }
  static void to_words(const V& v, std::uint64_t (&w)[kWords]) {
    std::memset(w, 0, sizeof(w));
    std::memcpy(w, &v, sizeof(V));
  }
  void commit(buffer* b, seq_no s, std::int64_t delta) {
    live_ += delta;
    b->commit(s, live_);
  }
  buffer* make_room(buffer* b);

  // Every reader loads buf_ first; the writer's counters change on every put. Each on its own
  // cache line, so that a put does not invalidate the line every reader starts from.
  alignas(ring_detail::kCacheLine) std::atomic<buffer*> buf_;
  alignas(ring_detail::kCacheLine) seq_no next_seq_ = 1;  // writer only
  std::uint64_t live_ = 0;                                // writer only: live points
  char pad_[ring_detail::kCacheLine - sizeof(seq_no) - sizeof(std::uint64_t)] = {};
};

}  // namespace tickring::core

#include "core/time_sorted_array_read.h"
#include "core/time_sorted_array_write.h"
