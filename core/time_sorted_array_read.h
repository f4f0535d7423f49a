// Reader side of time_sorted_array (included by time_sorted_array.h; not a public header).
//
// Why the reads are correct (see time_sorted_array.h for the guarantees): a reader answers
// from what it copied; an answer "present with value v" is checked against the commit sequence
// so that it held at some instant of the call, and an answer "absent" must never be given for
// a time present for the whole call. The search keeps "the cell at hi was read holding a time
// > t (or hi is the tail read at the start)", so a time t present throughout lies below hi,
// and points only ever move toward the head; the final downward scan re-reads cells toward
// the head and therefore meets t. Cells below the head hold only times removed as the lowest
// (or prepended), which are below every time present throughout, so they never mislead.
//
// Cost: a search probe copies only a cell's version, position and time (seqlocked); the
// payload is copied once, for the answer, word by word into the caller's memory.
#pragma once

#include <cmath>

namespace tickring::core {

namespace ring_detail {

// The writer works at both ends of the ring (appends at the tail, retention at the head); the
// first probes land this many cells inside each end, on lines the writer is not rewriting.
inline constexpr std::int64_t kAnchorGap = 16;
// Ranges at most this long are bisected: interpolation saves nothing there.
inline constexpr std::int64_t kSmallRange = 8;

struct search_result {
  std::int64_t hi;     // the cell at hi was read > t, or hi is the tail
  std::int64_t exact;  // a position read holding exactly t, or kNoPosition
};

// The first this many probes of a search may interpolate; after them it bisects. Interpolation
// finds evenly spaced times in about 3 probes and most uneven spacings within this budget; on
// skewed times (dense points with far outliers) it guesses badly round after round, and the
// budget caps what that costs: at most kInterpolationProbes + log2(N) + 1 probes in all.
inline constexpr int kInterpolationProbes = 10;

// Finds the boundary for `t` in [head, tail). Probes: one anchor inside each end, then
// interpolation, each guess followed by a probe sqrt(range) further toward t (so an uneven
// spacing narrows the range geometrically instead of by one cell), bisection for small ranges
// and once the interpolation budget is spent. O(log N) probes at worst; about 3 on evenly
// spaced times. `count` is called once per probe (tests count them; the default does nothing:
// even a null-checked counter in this loop measurably slowed `get` at 1M points).
//
// The interpolation is free of undefined behaviour on any int64 times: it runs only when t_lo
// and t_hi differ *as doubles* (above 2^53 distinct nanosecond times can round to one double,
// e.g. any epoch-nanosecond time today, which once made it compute 0/0 and convert NaN to
// int64), and then t_lo <= t <= t_hi gives 0 <= frac <= 1 (rounding is monotone), so the offset
// lies in [0, hi - lo] and converts and adds without overflow.
struct no_probe_count {
  void operator()() const {}
};

template <std::size_t W, class Count = no_probe_count>
search_result search(const ring_buffer<W>& b, time_ns t, std::int64_t head, std::int64_t tail,
                     bool stop_on_equal, Count&& count = {}) {
  std::int64_t lo = head - 1;
  std::int64_t hi = tail;
  time_ns t_lo = 0;
  time_ns t_hi = 0;
  bool known_lo = false;
  bool known_hi = false;
  const std::int64_t gap = std::min(kAnchorGap, (tail - head) / 4);
  int step = 0;
  std::int64_t bracket = 0;  // pending bracket probe distance (+ up, - down), 0 if none
  cell_key k;
  while (hi - lo > 1) {
    std::int64_t mid;
    if (step == 0) {
      mid = hi - 1 - gap;
    } else if (step == 1 && !known_lo) {
      mid = lo + 1 + gap;
    } else if (bracket != 0) {
      mid = (bracket > 0 ? lo : hi) + bracket;
      bracket = 0;
    } else if (known_lo && known_hi && hi - lo > kSmallRange && (step < kInterpolationProbes) &&
               (static_cast<double>(t_hi) > static_cast<double>(t_lo))) {
      const double frac = (static_cast<double>(t) - static_cast<double>(t_lo)) /
                          (static_cast<double>(t_hi) - static_cast<double>(t_lo));
      mid = lo + static_cast<std::int64_t>(frac * static_cast<double>(hi - lo));
      bracket = static_cast<std::int64_t>(std::sqrt(static_cast<double>(hi - lo)));
    } else {
      mid = lo + (hi - lo) / 2;
    }
    mid = std::clamp(mid, lo + 1, hi - 1);
    ++step;
    count();
    const probe r = probe_key(b, mid, k);
    if (r == probe::above || (r == probe::at && k.time > t)) {
      hi = mid;
      known_hi = r == probe::at;
      t_hi = k.time;
      if (bracket != 0) bracket = -bracket;  // guess was above t: bracket below it
    } else if (r == probe::below || k.time < t || !stop_on_equal) {
      lo = mid;
      known_lo = r == probe::at;
      t_lo = k.time;
    } else {
      return {hi, mid};
    }
  }
  return {hi, kNoPosition};
}

}  // namespace ring_detail

template <class V>
bool time_sorted_array<V>::find_raw(time_ns t, time_ns& time, seq_no& seq, void* value) const {
  hazard_guard g;
  const buffer* b = load(g);
  std::int64_t head = b->head.load(std::memory_order_acquire);
  const std::int64_t tail = b->tail.load(std::memory_order_acquire);
  seq_no committed = b->committed.load(std::memory_order_acquire);
  if (head >= tail) return false;
  const auto s = ring_detail::search(*b, t, head, tail, true);
  ring_detail::cell_key k;
  for (std::int64_t p = s.exact != ring_detail::kNoPosition ? s.exact : s.hi - 1;; --p) {
    if (p < head) {
      head = b->head.load(std::memory_order_acquire);
      if (p < head) return false;
    }
    const auto r = read_full(*b, p, k, value);
    if (r == ring_detail::probe::below) return false;
    if (r == ring_detail::probe::above || k.time > t) continue;
    if (k.time < t) return false;
    if (ring_detail::depends_on_commit(k.version, committed)) {
      committed = b->committed.load(std::memory_order_acquire);
    }
    if (!ring_detail::visible_at(k.version, committed)) return false;
    time = k.time;
    seq = ring_detail::version_seq(k.version);
    return true;
  }
}

// lowest_raw / highest_raw: why an answer is linearizable. Let c be the committed sequence read
// first. Every change takes effect at its commit (an overwrite and a removal commit inside their
// cell's seqlock, see time_sorted_array_write.h), so if committed still reads c at the end, the
// map was S(c) throughout the call. The scan starts at the end it was loaded at (head h for
// lowest, tail-1 for highest) and moves inward to the first cell visible in S(c), at p, holding
// T. Suppose some L in S(c) lies beyond T (below it for lowest). At the instant p was read, the
// cells were sorted, so L sat between p and the end: either in a cell the scan skipped, which it
// re-reads afterwards and again finds invisible in S(c) (with c unchanged at most one change was
// in flight, and a change writes each cell at most once, so the cell held invisible content at
// that instant too, not L), or beyond the end it loaded, so the end moved outward and then, for
// lowest, back in (the head only rises after a removal commits, which would change c; the tail
// never shrinks). The end is re-read too. Anything changed: retry. The skipped cells are the
// removed or not yet committed ones at that end: none at the head between changes, and the
// removed newest points at the tail until an insert or a compaction reuses them. A bare upward scan
// without these checks returned a point that was never the lowest (a middle insert moves the lowest
// point toward the head past the reader), and a cached tail with a skipped dead cell returned a
// point older than the newest.
template <class V>
bool time_sorted_array<V>::lowest_raw(time_ns& time, seq_no& seq, void* value) const {
  hazard_guard g;
  const buffer* b = load(g);
  ring_detail::cell_key k;
#ifdef TICKRING_RING_FAULT_UNCHECKED_ENDS
  // Deliberate fault, defined only by tests/linearizability's broken-ring test: the former
  // lowest(), a scan up from the head with no re-check.
  {
    const std::int64_t head = b->head.load(std::memory_order_acquire);
    const std::int64_t tail = b->tail.load(std::memory_order_acquire);
    seq_no committed = b->committed.load(std::memory_order_acquire);
    for (std::int64_t p = head; p < tail; ++p) {
      const auto r = read_full(*b, p, k, value);
      if (r == ring_detail::probe::below) continue;
      if (r == ring_detail::probe::above) break;
      if (ring_detail::depends_on_commit(k.version, committed)) {
        committed = b->committed.load(std::memory_order_acquire);
      }
      if (ring_detail::visible_at(k.version, committed)) {
        time = k.time;
        seq = ring_detail::version_seq(k.version);
        return true;
      }
    }
    return false;
  }
#endif
  ring_detail::cell_key again;
  for (;;) {
    const seq_no c = b->committed.load(std::memory_order_acquire);
    const std::int64_t head = b->head.load(std::memory_order_acquire);
    const std::int64_t tail = b->tail.load(std::memory_order_acquire);
    bool found = false;
    std::int64_t p = head;
    for (; p < tail; ++p) {
      if (read_full(*b, p, k, value) != ring_detail::probe::at) break;
      if (ring_detail::visible_at(k.version, c)) {
        found = true;
        break;
      }
    }
    if (!found && p < tail) continue;  // a slot was reused meanwhile: look again
    bool same = true;
    for (std::int64_t q = head; q < p && same; ++q) {
      same = ring_detail::probe_key(*b, q, again) == ring_detail::probe::at &&
             !ring_detail::visible_at(again.version, c);
    }
#ifndef TICKRING_TSAN  // TSan ignores fences; the acquire loads above and below serve it
    std::atomic_thread_fence(std::memory_order_acquire);
#endif
    if (!same || b->head.load(std::memory_order_acquire) != head) continue;
    if (found) {
      if (b->committed.load(std::memory_order_acquire) != c) continue;
      time = k.time;
      seq = ring_detail::version_seq(k.version);
      return true;
    }
    // Nothing visible: empty in S(c), if c still stands and its count says so.
    const std::uint64_t live = b->live[c & 1].load(std::memory_order_acquire);
    if (b->committed.load(std::memory_order_acquire) == c && live == 0) return false;
  }
}

template <class V>
bool time_sorted_array<V>::highest_raw(time_ns& time, seq_no& seq, void* value) const {
#ifdef TICKRING_RING_FAULT_UNCHECKED_ENDS
  // Deliberate fault (see lowest_raw): the former highest(), the iterator's first step.
  return iterate_backwards().next_raw(time, seq, value);
#endif
  hazard_guard g;
  const buffer* b = load(g);
  ring_detail::cell_key k;
  ring_detail::cell_key again;
  for (;;) {
    const seq_no c = b->committed.load(std::memory_order_acquire);
    const std::int64_t tail = b->tail.load(std::memory_order_acquire);
    const std::int64_t head = b->head.load(std::memory_order_acquire);
    bool found = false;
    std::int64_t p = tail - 1;
    for (; p >= head; --p) {
      if (read_full(*b, p, k, value) != ring_detail::probe::at) break;
      if (ring_detail::visible_at(k.version, c)) {
        found = true;
        break;
      }
    }
    if (!found && p >= head) continue;  // a slot was reused meanwhile: look again
    bool same = true;
    for (std::int64_t q = tail - 1; q > p && same; --q) {
      same = ring_detail::probe_key(*b, q, again) == ring_detail::probe::at &&
             !ring_detail::visible_at(again.version, c);
    }
#ifndef TICKRING_TSAN  // TSan ignores fences; the acquire loads above and below serve it
    std::atomic_thread_fence(std::memory_order_acquire);
#endif
    if (!same || b->tail.load(std::memory_order_acquire) != tail) continue;
    if (found) {
      if (b->committed.load(std::memory_order_acquire) != c) continue;
      time = k.time;
      seq = ring_detail::version_seq(k.version);
      return true;
    }
    const std::uint64_t live = b->live[c & 1].load(std::memory_order_acquire);
    if (b->committed.load(std::memory_order_acquire) == c && live == 0) return false;
  }
}

template <class V>
auto time_sorted_array<V>::lowest() const -> std::optional<entry> {
  entry e;
  if (lowest_raw(e.time, e.seq, &e.value)) return e;
  return std::nullopt;
}

template <class V>
auto time_sorted_array<V>::highest() const -> std::optional<entry> {
  entry e;
  if (highest_raw(e.time, e.seq, &e.value)) return e;
  return std::nullopt;
}

// Newest-first iterator. Holds a hazard pointer for its life (it pins its buffer): create it,
// walk it, drop it; never keep one across an asynchronous wait. Not movable.
template <class V>
class time_sorted_array<V>::backward_iterator {
 public:
  // Fills `out` with the next older point; false at the end.
  bool next(entry& out) { return next_raw(out.time, out.seq, &out.value); }

  // The same, writing the value's bytes (sizeof(V)) to `value`.
  bool next_raw(time_ns& time, seq_no& seq, void* value) {
    ring_detail::cell_key k;
    for (;; --pos_) {
      if (pos_ < head_) {
        head_ = b_->head.load(std::memory_order_acquire);
        if (pos_ < head_) return false;
      }
      const auto r = read_full(*b_, pos_, k, value);
      if (r == ring_detail::probe::below) return false;
      if (r == ring_detail::probe::above) continue;
      if (started_ ? k.time >= last_ : k.time > last_) continue;
      if (ring_detail::depends_on_commit(k.version, committed_)) {
        committed_ = b_->committed.load(std::memory_order_acquire);
      }
      if (!ring_detail::visible_at(k.version, committed_)) continue;
      time = k.time;
      seq = ring_detail::version_seq(k.version);
      last_ = k.time;
      started_ = true;
      --pos_;
      return true;
    }
  }
  backward_iterator(const backward_iterator&) = delete;
  backward_iterator& operator=(const backward_iterator&) = delete;

 private:
  friend class time_sorted_array;
  backward_iterator(const time_sorted_array& a, time_ns to)
      : b_(a.load(guard_)),
        head_(b_->head.load(std::memory_order_acquire)),
        last_(to),
        committed_(b_->committed.load(std::memory_order_acquire)) {
    const std::int64_t tail = b_->tail.load(std::memory_order_acquire);
    pos_ = tail - 1;
    if (to != kMaxTime && head_ < tail)
      pos_ = ring_detail::search(*b_, to, head_, tail, false).hi - 1;
  }

  hazard_guard guard_;  // first member: protects the buffer pointer loaded next
  const buffer* b_;
  std::int64_t head_;
  std::int64_t pos_ = 0;
  time_ns last_;  // yield only times below it (at or below `to` before the first yield)
  bool started_ = false;
  seq_no committed_;
};

}  // namespace tickring::core
