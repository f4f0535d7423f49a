// One cell of a TimeSortedArray and the seqlock that lets readers copy it while the single
// writer may be rewriting it.
//
// Contract
// - `write_cell` / `set_version` are called by the array's one writer only.
// - `read_key` / `seqlock_read` may be called by any thread at any time; they return a copy
//   that existed at one instant (never torn). They retry only while the writer is inside one
//   cell write (a few stores, plus the commit stores of an overwrite or a removal; see
//   write_cell), never for the length of a whole array operation.
// - Progress: non-blocking except against a writer preempted mid-cell. A reader that meets the
//   writing bit has to wait for that one cell; it spins kSpinsBeforeYield times and then
//   yields its time slice on every further retry, so a descheduled writer costs the reader
//   scheduler round trips, not a burnt core. Everything else a reader does is lock-free.
//
// Why every word is atomic: a seqlock reader reads the payload speculatively while the writer
// may store to it; with plain loads that is a data race (undefined behaviour), so the words are
// std::atomic with relaxed loads (plain moves on x86) and a fence orders them against the
// version re-check (Boehm, HPL-2012-68). ThreadSanitizer ignores stand-alone fences, so a TSan
// build uses acquire loads / release stores on the payload instead.
//
// The version word is more than a seqlock counter. Bits 63..3 hold the sequence number of the
// change that produced the cell's content, bits 2..1 its kind (insert, overwrite, remove), bit 0
// is set while the writer is writing. A middle insert copies cells one step toward the head
// *with their version*, so a point keeps the sequence number of its last change for life, and a
// content's version is unique: a cell never returns to a version it had (contents only move
// toward the head), which is what makes the seqlock's equality check sound.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <limits>
#include <thread>

namespace tickring::core {

using time_ns = std::int64_t;
using seq_no = std::uint64_t;

#if defined(__SANITIZE_THREAD__)
#define TICKRING_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TICKRING_TSAN 1
#endif
#endif

namespace ring_detail {

enum class change_kind : std::uint64_t { none = 0, insert = 1, overwrite = 2, remove = 3 };

inline constexpr std::uint64_t kWritingBit = 1;
inline constexpr int kKindShift = 1;
inline constexpr int kSeqShift = 3;
// A slot that never held a position; compares below every real position.
inline constexpr std::int64_t kNoPosition = std::numeric_limits<std::int64_t>::min();

constexpr std::uint64_t make_version(seq_no seq, change_kind kind) {
  return (seq << kSeqShift) | (static_cast<std::uint64_t>(kind) << kKindShift);
}
constexpr seq_no version_seq(std::uint64_t v) {
  return v >> kSeqShift;
}
constexpr change_kind version_kind(std::uint64_t v) {
  return static_cast<change_kind>((v >> kKindShift) & 3U);
}

// Whether a cell with version `v` holds a live point, given that every change up to `committed`
// has been committed. Inserts and removals take effect at their commit (so that size() and
// get() agree); an overwrite takes effect when its cell is written (it changes no count).
constexpr bool visible_at(std::uint64_t v, seq_no committed) {
  switch (version_kind(v)) {
    case change_kind::insert:
      return version_seq(v) <= committed;
    case change_kind::overwrite:
      return true;
    case change_kind::remove:
      return version_seq(v) > committed;
    case change_kind::none:
      break;
  }
  return false;
}
// A version seen with its writing bit clear was stored after its change's commit for
// overwrites and removals (write_cell/set_version run the commit inside), so only an insert can
// be seen uncommitted, and no reader ever returns a sequence number above committed_seq().
// Whether `visible_at` needs the commit sequence to decide for `v`.
constexpr bool depends_on_commit(std::uint64_t v, seq_no committed) {
  const change_kind k = version_kind(v);
  return (k == change_kind::insert || k == change_kind::remove) && version_seq(v) > committed;
}

template <std::size_t Words>
struct cell {
  std::atomic<std::uint64_t> version{0};
  std::atomic<std::int64_t> pos{kNoPosition};  // logical position held: guards slot reuse (ABA)
  std::atomic<time_ns> time{0};
  std::atomic<std::uint64_t> words[Words] = {};
};

#ifdef TICKRING_TSAN
inline constexpr std::memory_order kPayloadLoad = std::memory_order_acquire;
inline constexpr std::memory_order kPayloadStore = std::memory_order_release;
#else
inline constexpr std::memory_order kPayloadLoad = std::memory_order_relaxed;
inline constexpr std::memory_order kPayloadStore = std::memory_order_relaxed;
#endif

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// A cell write is a handful of stores (~10 ns); this many pause-spins (~1-4 us) outlast it
// many times over, so a reader still waiting after them is facing a writer that was
// descheduled mid-cell: it yields instead of burning the core the writer may need.
inline constexpr int kSpinsBeforeYield = 128;

// Waits one round for a cell whose writing bit is set: spin first, then yield.
inline void wait_for_writer(int& spins) {
  if (spins < kSpinsBeforeYield) {
    ++spins;
    cpu_relax();
  } else {
    std::this_thread::yield();
  }
}

// What a search probe needs of a cell: no payload.
struct cell_key {
  std::uint64_t version;
  std::int64_t pos;
  time_ns time;
};

// The seqlock reader: runs `load` (relaxed, or acquire under TSan, atomic loads of the
// payload) until it saw one version of the cell, and returns that version. It retries only
// while the writer is inside one cell write.
template <std::size_t Words, class Load>
inline std::uint64_t seqlock_read(const cell<Words>& c, Load&& load) {
  int spins = 0;
  for (;;) {
    const std::uint64_t v1 = c.version.load(std::memory_order_acquire);
    if (v1 & kWritingBit) {
      wait_for_writer(spins);
      continue;
    }
    load();
#ifndef TICKRING_TSAN
    std::atomic_thread_fence(std::memory_order_acquire);
#endif
    if (c.version.load(std::memory_order_relaxed) == v1) return v1;
  }
}

// Seqlocked copy of a cell's version, position and time only.
template <std::size_t Words>
inline void read_key(const cell<Words>& c, cell_key& out) {
  out.version = seqlock_read(c, [&] {
    out.pos = c.pos.load(kPayloadLoad);
    out.time = c.time.load(kPayloadLoad);
  });
}

template <std::size_t Words>
struct cell_copy {
  std::uint64_t version;
  std::int64_t pos;
  time_ns time;
  std::uint64_t words[Words];
};

struct no_commit {
  void operator()() const {}
};

// Writer only. `version` must differ from the cell's current version. `inside` runs after the
// payload stores and before the version store, while the writing bit is set: an overwrite
// commits its sequence number there, so no reader can copy the new content (and its sequence
// number) before committed_seq() covers it.
template <std::size_t Words, class Inside = no_commit>
inline void write_cell(cell<Words>& c, std::uint64_t version, std::int64_t pos, time_ns time,
                       const std::uint64_t* words, Inside&& inside = {}) {
  c.version.store(c.version.load(std::memory_order_relaxed) | kWritingBit,
                  std::memory_order_relaxed);
#ifndef TICKRING_TSAN
  std::atomic_thread_fence(std::memory_order_release);
#endif
  c.pos.store(pos, kPayloadStore);
  c.time.store(time, kPayloadStore);
  for (std::size_t i = 0; i < Words; ++i)
    c.words[i].store(words[i], kPayloadStore);
  inside();
  c.version.store(version, std::memory_order_release);
}

// Writer only: changes the kind/sequence of a cell whose payload stays as it is (a removal),
// running `inside` (the removal's commit) while the writing bit is set, for the same reason as
// write_cell. A reader that straddles it sees the writing bit or two versions and retries.
template <std::size_t Words, class Inside = no_commit>
inline void set_version(cell<Words>& c, std::uint64_t version, Inside&& inside = {}) {
  c.version.store(c.version.load(std::memory_order_relaxed) | kWritingBit,
                  std::memory_order_relaxed);
#ifndef TICKRING_TSAN
  std::atomic_thread_fence(std::memory_order_release);
#endif
  inside();
  c.version.store(version, std::memory_order_release);
}

// Writer only: the writer's own relaxed view of a cell (no concurrent writer exists).
template <std::size_t Words>
inline void own_copy(const cell<Words>& c, cell_copy<Words>& out) {
  out.version = c.version.load(std::memory_order_relaxed);
  out.pos = c.pos.load(std::memory_order_relaxed);
  out.time = c.time.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < Words; ++i)
    out.words[i] = c.words[i].load(std::memory_order_relaxed);
}

}  // namespace ring_detail
}  // namespace tickring::core
