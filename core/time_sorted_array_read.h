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
#pragma once

namespace tickring::core {

namespace ring_detail {

// Interpolation probes before falling back to bisection: market-data times are close to evenly
// spaced, so two or three probes usually land next to the answer; bisection bounds the worst
// case at O(log N).
inline constexpr int kInterpolationProbes = 3;

struct search_result {
  std::int64_t hi;  // the cell at hi was read > t, or hi is the tail
  bool exact;       // a cell holding exactly t was read (copied into `found`)
};

template <std::size_t W>
search_result search(const ring_buffer<W>& b, time_ns t, std::int64_t head, std::int64_t tail,
                     bool stop_on_equal, cell_copy<W>& found) {
  std::int64_t lo = head - 1;
  std::int64_t hi = tail;
  time_ns t_lo = 0;
  time_ns t_hi = 0;
  bool known_lo = false;
  bool known_hi = false;
  int probes = 0;
  cell_copy<W> c;
  while (hi - lo > 1) {
    std::int64_t mid;
    if (!known_hi && probes == 0) {
      mid = hi - 1;  // newest first: most lookups are recent
    } else if (!known_lo && probes == 1) {
      mid = lo + 1;
    } else if (known_lo && known_hi && probes < 2 + kInterpolationProbes && t_hi > t_lo) {
      // In double: exact enough for a guess, and no overflow for times far apart.
      const double frac = (static_cast<double>(t) - static_cast<double>(t_lo)) /
                          (static_cast<double>(t_hi) - static_cast<double>(t_lo));
      mid = lo + static_cast<std::int64_t>(frac * static_cast<double>(hi - lo));
      mid = std::clamp(mid, lo + 1, hi - 1);
    } else {
      mid = lo + (hi - lo) / 2;
    }
    ++probes;
    const probe r = read_at(b, mid, c);
    if (r == probe::above || (r == probe::at && c.time > t)) {
      hi = mid;
      known_hi = r == probe::at;
      t_hi = c.time;
    } else if (r == probe::below || c.time < t) {
      lo = mid;
      known_lo = r == probe::at;
      t_lo = c.time;
    } else if (stop_on_equal) {
      found = c;
      return {mid, true};
    } else {
      lo = mid;
      known_lo = true;
      t_lo = c.time;
    }
  }
  return {hi, false};
}

}  // namespace ring_detail

template <class V>
  requires std::is_trivially_copyable_v<V>
auto time_sorted_array<V>::find(time_ns t) const -> std::optional<entry> {
  epoch_guard g;
  const buffer* b = load();
  std::int64_t head = b->head.load(std::memory_order_acquire);
  const std::int64_t tail = b->tail.load(std::memory_order_acquire);
  seq_no committed = b->committed.load(std::memory_order_acquire);
  auto answer = [&](const copy_t& c) -> std::optional<entry> {
    if (ring_detail::depends_on_commit(c.version, committed)) {
      committed = b->committed.load(std::memory_order_acquire);
    }
    if (!ring_detail::visible_at(c.version, committed)) return std::nullopt;
    return to_entry(c);
  };
  if (head >= tail) return std::nullopt;
  copy_t c;
  const auto s = ring_detail::search(*b, t, head, tail, true, c);
  if (s.exact) return answer(c);
  for (std::int64_t p = s.hi - 1;; --p) {
    if (p < head) {
      head = b->head.load(std::memory_order_acquire);
      if (p < head) return std::nullopt;
    }
    const auto r = ring_detail::read_at(*b, p, c);
    if (r == ring_detail::probe::below) return std::nullopt;
    if (r == ring_detail::probe::above || c.time > t) continue;
    if (c.time < t) return std::nullopt;
    return answer(c);
  }
}

template <class V>
  requires std::is_trivially_copyable_v<V>
auto time_sorted_array<V>::lowest() const -> std::optional<entry> {
  epoch_guard g;
  const buffer* b = load();
  const std::int64_t head = b->head.load(std::memory_order_acquire);
  const std::int64_t tail = b->tail.load(std::memory_order_acquire);
  seq_no committed = b->committed.load(std::memory_order_acquire);
  copy_t c;
  for (std::int64_t p = head; p < tail; ++p) {
    const auto r = ring_detail::read_at(*b, p, c);
    if (r == ring_detail::probe::below) continue;
    if (r == ring_detail::probe::above) break;
    if (ring_detail::depends_on_commit(c.version, committed)) {
      committed = b->committed.load(std::memory_order_acquire);
    }
    if (ring_detail::visible_at(c.version, committed)) return to_entry(c);
  }
  return std::nullopt;
}

template <class V>
  requires std::is_trivially_copyable_v<V>
auto time_sorted_array<V>::highest() const -> std::optional<entry> {
  entry e;
  auto it = iterate_backwards();
  if (it.next(e)) return e;
  return std::nullopt;
}

// Newest-first iterator. Holds an epoch guard for its life (it pins its buffer): create it,
// walk it, drop it; never keep one across an asynchronous wait. Not movable.
template <class V>
  requires std::is_trivially_copyable_v<V>
class time_sorted_array<V>::backward_iterator {
 public:
  // Fills `out` with the next older point; false at the end.
  bool next(entry& out) {
    copy_t c;
    for (;; --pos_) {
      if (pos_ < head_) {
        head_ = b_->head.load(std::memory_order_acquire);
        if (pos_ < head_) return false;
      }
      const auto r = ring_detail::read_at(*b_, pos_, c);
      if (r == ring_detail::probe::below) return false;
      if (r == ring_detail::probe::above) continue;
      if (started_ ? c.time >= last_ : c.time > last_) continue;
      if (ring_detail::depends_on_commit(c.version, committed_)) {
        committed_ = b_->committed.load(std::memory_order_acquire);
      }
      if (!ring_detail::visible_at(c.version, committed_)) continue;
      out = to_entry(c);
      last_ = c.time;
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
    if (to != kMaxTime && head_ < tail) {
      copy_t unused;
      pos_ = ring_detail::search(*b_, to, head_, tail, false, unused).hi - 1;
    }
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
