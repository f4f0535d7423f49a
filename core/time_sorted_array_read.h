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

// Finds the boundary for `t` in [head, tail). Probes: one anchor inside each end, then
// interpolation, each guess followed by a probe sqrt(range) further toward t (so an uneven
// spacing narrows the range geometrically instead of by one cell), bisection for small
// ranges. O(log N) probes at worst; about 3 on evenly spaced times.
template <std::size_t W>
search_result search(const ring_buffer<W>& b, time_ns t, std::int64_t head, std::int64_t tail,
                     bool stop_on_equal) {
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
    } else if (known_lo && known_hi && t_hi > t_lo && hi - lo > kSmallRange) {
      const double frac = (static_cast<double>(t) - static_cast<double>(t_lo)) /
                          (static_cast<double>(t_hi) - static_cast<double>(t_lo));
      mid = lo + static_cast<std::int64_t>(frac * static_cast<double>(hi - lo));
      bracket = static_cast<std::int64_t>(std::sqrt(static_cast<double>(hi - lo)));
    } else {
      mid = lo + (hi - lo) / 2;
    }
    mid = std::clamp(mid, lo + 1, hi - 1);
    ++step;
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
  epoch_guard g;
  const buffer* b = load();
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

template <class V>
auto time_sorted_array<V>::lowest() const -> std::optional<entry> {
  epoch_guard g;
  const buffer* b = load();
  const std::int64_t head = b->head.load(std::memory_order_acquire);
  const std::int64_t tail = b->tail.load(std::memory_order_acquire);
  seq_no committed = b->committed.load(std::memory_order_acquire);
  entry e;
  ring_detail::cell_key k;
  for (std::int64_t p = head; p < tail; ++p) {
    const auto r = read_full(*b, p, k, &e.value);
    if (r == ring_detail::probe::below) continue;
    if (r == ring_detail::probe::above) break;
    if (ring_detail::depends_on_commit(k.version, committed)) {
      committed = b->committed.load(std::memory_order_acquire);
    }
    if (ring_detail::visible_at(k.version, committed)) {
      e.time = k.time;
      e.seq = ring_detail::version_seq(k.version);
      return e;
    }
  }
  return std::nullopt;
}

template <class V>
auto time_sorted_array<V>::highest() const -> std::optional<entry> {
  entry e;
  auto it = iterate_backwards();
  if (it.next(e)) return e;
  return std::nullopt;
}

// Newest-first iterator. Holds an epoch guard for its life (it pins its buffer): create it,
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
      : b_(a.load()),
        head_(b_->head.load(std::memory_order_acquire)),
        last_(to),
        committed_(b_->committed.load(std::memory_order_acquire)) {
    const std::int64_t tail = b_->tail.load(std::memory_order_acquire);
    pos_ = tail - 1;
    if (to != kMaxTime && head_ < tail)
      pos_ = ring_detail::search(*b_, to, head_, tail, false).hi - 1;
  }

  epoch_guard guard_;  // first member: taken before the buffer pointer is loaded
  const buffer* b_;
  std::int64_t head_;
  std::int64_t pos_ = 0;
  time_ns last_;  // yield only times below it (at or below `to` before the first yield)
  bool started_ = false;
  seq_no committed_;
};

}  // namespace tickring::core
