// Writer side of time_sorted_array (included by time_sorted_array.h; not a public header).
//
// Every insert follows the same order, which the readers' proofs rely on:
//   1. write the affected cells (each under its seqlock), shifting toward the head if needed;
//   2. publish head/tail if the range grew;
//   3. commit: store the live count for this sequence number, then the sequence number.
// An overwrite and a removal change one cell in place and commit *inside* that cell's seqlock
// (between setting the writing bit and storing the new version): a reader either copies the
// old content, before the commit, or the new one, after it, so the sequence number it returns
// is always covered by committed_seq() (the stream's gap-free numbering relies on that) and
// every change takes effect at its commit. Removal only rewrites a version (the payload stays);
// the head advances past dead cells after the commit. Invariant kept between changes: the cell
// at the head is live (or the ring is empty).
#pragma once

namespace tickring::core {

namespace ring_detail {

// First position in [head, tail] whose time is > t, from the writer's own view.
template <std::size_t W>
std::int64_t writer_upper_bound(const ring_buffer<W>& b, time_ns t, std::int64_t head,
                                std::int64_t tail) {
  std::int64_t lo = head;
  std::int64_t hi = tail;
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    if (b.at(mid).time.load(std::memory_order_relaxed) > t) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

template <std::size_t W>
bool is_dead(const ring_buffer<W>& b, std::int64_t pos) {
  return version_kind(b.at(pos).version.load(std::memory_order_relaxed)) == change_kind::remove;
}

// Moves the content of `from` into position `to` keeping its version (a point keeps its
// sequence number when it moves).
template <std::size_t W>
void move_cell(ring_buffer<W>& b, std::int64_t to, std::int64_t from) {
  cell_copy<W> c;
  own_copy(b.at(from), c);
  write_cell(b.at(to), c.version, to, c.time, c.words);
}

}  // namespace ring_detail

template <class V>
auto time_sorted_array<V>::make_room(buffer* b) -> buffer* {
  const std::size_t cap = b->capacity();
  // Grow when more than half the cells are live; otherwise reallocating at the same size
  // drops the dead cells and makes room.
  const std::size_t new_cap = live_ + 1 > cap / 2 ? cap * 2 : cap;
  buffer* nb = buffer::create(new_cap);
  const std::int64_t head = b->head.load(std::memory_order_relaxed);
  const std::int64_t tail = b->tail.load(std::memory_order_relaxed);
  std::int64_t q = 0;
  copy_t c;
  for (std::int64_t p = head; p < tail; ++p) {
    ring_detail::own_copy(b->at(p), c);
    if (ring_detail::version_kind(c.version) == kind::remove) continue;
    ring_detail::write_cell(nb->at(q), c.version, q, c.time, c.words);
    ++q;
  }
  const seq_no committed = b->committed.load(std::memory_order_relaxed);
  nb->tail.store(q, std::memory_order_relaxed);
  nb->commit(committed, live_);
  buf_.store(nb, std::memory_order_seq_cst);
  reclaim_retire(b, buffer::bytes(b->capacity()), &buffer::destroy_erased);
  return nb;
}

template <class V>
auto time_sorted_array<V>::put(time_ns t, const V& value) -> put_result {
  using ring_detail::make_version;
  buffer* b = own();
  std::uint64_t w[kWords];
  to_words(value, w);
  const seq_no s = next_seq_++;
  std::int64_t head = b->head.load(std::memory_order_relaxed);
  std::int64_t tail = b->tail.load(std::memory_order_relaxed);

  auto write_new = [&](std::int64_t pos) {
#ifdef TICKRING_RING_FAULT_COMMIT_BEFORE_WRITE
    // Deliberate fault, defined only by tests/linearizability's broken-ring test: commit the
    // insert (size() counts it) before its cell is written and published.
    b->commit(s, live_ + 1);
#endif
    ring_detail::write_cell(b->at(pos), make_version(s, kind::insert), pos, t, w);
  };
  auto inserted = [&] {
    commit(b, s, +1);
    return put_result{put_outcome::inserted, s};
  };
  auto append = [&] {
    if (static_cast<std::size_t>(tail - head) == b->capacity()) {
      b = make_room(b);
      head = b->head.load(std::memory_order_relaxed);
      tail = b->tail.load(std::memory_order_relaxed);
    }
    write_new(tail);
    b->tail.store(tail + 1, std::memory_order_release);
    return inserted();
  };
  auto overwrite_at = [&](std::int64_t pos) {
    if (ring_detail::is_dead(*b, pos)) {
      write_new(pos);
      return inserted();
    }
#ifdef TICKRING_RING_FAULT_SEQ_BEFORE_COMMIT
    // Deliberate fault, defined only by tests/linearizability's broken-ring test: the old
    // order, the overwrite's version (and sequence number) visible before its commit.
    ring_detail::write_cell(b->at(pos), make_version(s, kind::overwrite), pos, t, w);
    commit(b, s, 0);
#else
    ring_detail::write_cell(b->at(pos), make_version(s, kind::overwrite), pos, t, w,
                            [&] { commit(b, s, 0); });
#endif
    return put_result{put_outcome::overwritten, s};
  };

  if (head == tail) return append();
  const time_ns newest = b->at(tail - 1).time.load(std::memory_order_relaxed);
  if (t > newest) {
    if (!ring_detail::is_dead(*b, tail - 1)) return append();
    write_new(tail - 1);  // reuse a removed newest cell: its time only grows
    return inserted();
  }
  if (t == newest) return overwrite_at(tail - 1);
  const time_ns oldest = b->at(head).time.load(std::memory_order_relaxed);
  if (t == oldest) return overwrite_at(head);
  if (t < oldest) {
    if (static_cast<std::size_t>(tail - head) == b->capacity()) {
      b = make_room(b);
      head = b->head.load(std::memory_order_relaxed);
    }
    write_new(head - 1);
    b->head.store(head - 1, std::memory_order_release);
    return inserted();
  }

  std::int64_t k = ring_detail::writer_upper_bound(*b, t, head, tail);
  if (b->at(k - 1).time.load(std::memory_order_relaxed) == t) return overwrite_at(k - 1);
  if (ring_detail::is_dead(*b, k - 1)) {
    write_new(k - 1);  // a removed cell just below: the new time is larger than its old one
    return inserted();
  }
#ifdef TICKRING_RING_FAULT_SHIFT_TOWARD_TAIL
  // Deliberate fault, defined only by tests/linearizability's broken-ring test: make room by
  // moving the cells at and above k one step toward the tail, highest first. Sequentially
  // correct, but a backward reader now moves against the points and can overtake one.
  if (static_cast<std::size_t>(tail - head) < b->capacity()) {
    for (std::int64_t p = tail; p > k; --p)
      ring_detail::move_cell(*b, p, p - 1);
    b->tail.store(tail + 1, std::memory_order_release);
    write_new(k);
    return inserted();
  }
#endif
  // Middle insert: shift the cells below k one step toward the head, lowest first, into the
  // nearest dead cell if there is one, else into a new cell below the head.
  std::int64_t d = k - 2;
  while (d >= head && !ring_detail::is_dead(*b, d))
    --d;
  if (d < head) {
    if (static_cast<std::size_t>(tail - head) == b->capacity()) {
      b = make_room(b);
      head = b->head.load(std::memory_order_relaxed);
      tail = b->tail.load(std::memory_order_relaxed);
      k = ring_detail::writer_upper_bound(*b, t, head, tail);
    }
    d = head - 1;
    ring_detail::move_cell(*b, d, head);
    b->head.store(d, std::memory_order_release);
    ++d;
  }
  for (std::int64_t p = d; p < k - 1; ++p)
    ring_detail::move_cell(*b, p, p + 1);
  write_new(k - 1);
  return inserted();
}

template <class V>
std::optional<seq_no> time_sorted_array<V>::remove(time_ns t) {
  buffer* b = own();
  const std::int64_t head = b->head.load(std::memory_order_relaxed);
  const std::int64_t tail = b->tail.load(std::memory_order_relaxed);
  if (head == tail) return std::nullopt;
  std::int64_t p;
  if (b->at(head).time.load(std::memory_order_relaxed) == t) {
    p = head;
  } else if (b->at(tail - 1).time.load(std::memory_order_relaxed) == t) {
    p = tail - 1;
  } else {
    p = ring_detail::writer_upper_bound(*b, t, head, tail) - 1;
    if (p < head || b->at(p).time.load(std::memory_order_relaxed) != t) return std::nullopt;
  }
  if (ring_detail::is_dead(*b, p)) return std::nullopt;
  const seq_no s = next_seq_++;
#ifdef TICKRING_RING_FAULT_SEQ_BEFORE_COMMIT
  // Deliberate fault (see overwrite_at): the removal's number visible before its commit.
  b->at(p).version.store(ring_detail::make_version(s, kind::remove), std::memory_order_release);
  commit(b, s, -1);
#else
  ring_detail::set_version(b->at(p), ring_detail::make_version(s, kind::remove),
                           [&] { commit(b, s, -1); });
#endif
  if (p == head) {
    std::int64_t h = head + 1;
    while (h < tail && ring_detail::is_dead(*b, h))
      ++h;
    b->head.store(h, std::memory_order_release);
  }
  return s;
}

template <class V>
auto time_sorted_array<V>::remove_lowest() -> std::optional<entry> {
  buffer* b = own();
  const std::int64_t head = b->head.load(std::memory_order_relaxed);
  if (head == b->tail.load(std::memory_order_relaxed)) return std::nullopt;
  copy_t c;
  ring_detail::own_copy(b->at(head), c);
  entry e = to_entry(c);
  e.seq = *remove(c.time);
  return e;
}

template <class V>
template <class Fn>
void time_sorted_array<V>::writer_for_each(Fn&& fn) const {
  const buffer* b = own();
  const std::int64_t tail = b->tail.load(std::memory_order_relaxed);
  copy_t c;
  V value;
  for (std::int64_t p = b->head.load(std::memory_order_relaxed); p < tail; ++p) {
    ring_detail::own_copy(b->at(p), c);
    if (ring_detail::version_kind(c.version) == kind::remove) continue;
    std::memcpy(&value, c.words, sizeof(V));
    fn(c.time, ring_detail::version_seq(c.version), value);
  }
}

template <class V>
void time_sorted_array<V>::adopt(time_ns t, seq_no seq, const V& value) {
  buffer* b = own();
  const std::int64_t head = b->head.load(std::memory_order_relaxed);
  const std::int64_t tail = b->tail.load(std::memory_order_relaxed);
  if (static_cast<std::size_t>(tail - head) == b->capacity()) b = make_room(b);
  std::uint64_t w[kWords];
  to_words(value, w);
  const std::int64_t pos = b->tail.load(std::memory_order_relaxed);
  ring_detail::write_cell(b->at(pos), ring_detail::make_version(seq, kind::insert), pos, t, w);
  b->tail.store(pos + 1, std::memory_order_relaxed);
  ++live_;
}

template <class V>
void time_sorted_array<V>::adopt_done(seq_no last) {
  next_seq_ = last + 1;
  own()->commit(last, live_);
}

}  // namespace tickring::core
