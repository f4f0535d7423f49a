// One series: (measurement, symbol), its fields, and a TimeSortedArray of its points.
//
// A point is stored in the series' own field order, packed by the series' row_codec
// (row_codec.h): a field whose values are short decimals or small integers takes 4 bytes, any
// other an 8-byte word, so a 4-field quote of prices and sizes costs 16 bytes + the ring's
// 24-byte cell header = 40 bytes. Widths are rounded up to the next of the ring widths in
// series.cc; the ring type per width is chosen behind the virtual series_rows interface.
//
// Re-layout: the codec is planned from the series' first point. A later value that does not
// fit its 4-byte slot makes the writer re-plan (row_codec::refit: fewer decimals for more
// range if every stored point allows it, else that field 8 bytes wide), build a new ring,
// copy every point into it keeping each point's sequence number and the ring's numbering,
// publish it with one pointer store, and retire the old ring to hazard-pointer reclamation
// (reclaim.h). A reader reaches the ring through rows(), which protects the ring it loaded
// for the life of the returned rows_ref: it reads either the old ring (complete and frozen at
// the moment of the switch, a state the series was in during the read) or the new one, never
// freed memory. A field's scale only drops and a wide field stays wide, so this happens at
// most row_codec::kMaxScale + 1 times per field: O(points) each time, amortised over the
// points that filled the ring.
//
// Threads: the constructor, put, remove and remove_lowest run on the writer (ingest) thread
// only. Everything else may run on any thread without a lock. A series is never moved or
// freed while the store lives.
// Sequence numbers, two kinds:
// - the ring's own (series_rows::committed_seq, stored_point::seq): every ring change, evictions
//   included, takes one; readers use them to tell how far a lock-free read reached; a
//   re-layout keeps them;
// - the series' change sequence (change_seq()): advanced by inserts, overwrites and deletes,
//   not by retention evictions. It is what the live stream numbers its messages with, so that
//   points dropped by retention never look like a gap (docs/stream.md).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/field_kind.h"
#include "core/reclaim.h"
#include "core/ring_cell.h"
#include "core/row_codec.h"
#include "core/same_bytes.h"

namespace tickring::core {

struct field_spec {
  std::string name;
  field_kind kind;
};

struct stored_point {
  time_ns time = 0;
  seq_no seq = 0;
  std::array<std::uint64_t, kMaxFieldsPerSeries> words{};  // first field_count() are valid
};

// Called for each point by scan_backward; return false to stop.
using point_visitor = bool (*)(void* context, const stored_point& point);

// The type-erased ring of one series (see series.cc for the per-width implementation). Values
// go in and come out as 8-byte words in field order; the ring holds them packed by codec().
class series_rows {
 public:
  virtual ~series_rows() = default;
  virtual std::size_t size() const = 0;
  virtual seq_no committed_seq() const = 0;
  virtual bool find(time_ns t, stored_point& out) const = 0;
  virtual bool lowest(stored_point& out) const = 0;
  virtual bool highest(stored_point& out) const = 0;
  // Newest first from the newest time <= `to`, with the ring's iterator guarantees.
  virtual void scan_backward(time_ns to, point_visitor visit, void* context) const = 0;
  virtual const row_codec& codec() const = 0;
  // Writer only.
  struct put_result {
    bool fits;  // false: a value does not fit its slot; nothing was stored
    bool inserted;
    seq_no seq;
  };
  virtual put_result put(time_ns t, const std::uint64_t* values) = 0;
  virtual std::optional<seq_no> remove(time_ns t) = 0;
  virtual std::optional<time_ns> oldest_time() const = 0;  // writer's view
  virtual bool remove_lowest(stored_point& out) = 0;
  virtual std::size_t capacity() const = 0;
  virtual std::size_t writer_size() const = 0;
  virtual std::size_t bytes_per_point() const = 0;
  // Bytes of the current ring buffer (any thread; the capacity only changes with the buffer).
  virtual std::size_t capacity_bytes() const = 0;
  // Re-layout (writer only): copies every point into `to`, an unpublished ring, keeping their
  // sequence numbers and the numbering (time_sorted_array::adopt). REQUIRES: each value fits
  // `to`'s codec.
  virtual void copy_to(series_rows& to) const = 0;
  // Writer only: `codec` with every field that a stored point does not fit made wide.
  virtual row_codec fit_all(row_codec codec) const = 0;
  virtual void adopt(time_ns t, seq_no seq, const std::uint64_t* values) = 0;
  virtual void adopt_done(seq_no last) = 0;
  virtual seq_no last_seq() const = 0;
};

std::unique_ptr<series_rows> make_series_rows(const row_codec& codec, std::size_t initial_capacity);

// A reader's hold on a series' ring: the ring it loaded is not freed while this lives. Keep it
// for one request, never across an asynchronous suspension point (reclaim.h).
class rows_ref {
 public:
  explicit rows_ref(const std::atomic<series_rows*>& src) : rows_(guard_.protect(src)) {}
  const series_rows* operator->() const { return rows_; }
  const series_rows& operator*() const { return *rows_; }

 private:
  hazard_guard guard_;
  const series_rows* rows_;
};

class series {
 public:
  // `first` holds the first point's values in field order: the ring's codec is planned from
  // them (row_codec::plan).
  series(std::string measurement, std::string symbol, std::vector<field_spec> fields,
         const std::uint64_t* first, std::size_t initial_capacity);
  ~series();
  series(const series&) = delete;
  series& operator=(const series&) = delete;

  const std::string& measurement() const { return measurement_; }
  const std::string& symbol() const { return symbol_; }
  const std::vector<field_spec>& fields() const { return fields_; }
  std::size_t field_count() const { return fields_.size(); }
  // Index of a field by name, or -1.
  int field_index(std::string_view name) const;

  // True when `fields` are exactly this series' fields, in its order, with its kinds: the
  // common case of a feed repeating its first line's layout, checked against a copy of the
  // names and kinds kept beside rows_ (one cache line the writer touches anyway) instead of
  // the field_spec vector's three. False also when the names are too long to keep there.
  template <class Field>
  bool same_layout(std::span<const Field> fields) const;

  rows_ref rows() const { return rows_ref(rows_); }
  series_rows& writer_rows() { return *rows_.load(std::memory_order_relaxed); }  // writer only
  // Writer only: stores a point (values in field order), re-laying the ring out first if a
  // value does not fit its slot.
  series_rows::put_result put(time_ns t, const std::uint64_t* values);
  // How many times the ring was re-laid out (any thread).
  std::uint32_t relayouts() const { return relayouts_.load(std::memory_order_relaxed); }

  // The last change sequence applied (any thread; release-stored by the writer after the
  // change is in the ring).
  seq_no change_seq() const { return change_seq_.load(std::memory_order_acquire); }
  // Writer only: takes the next change sequence number.
  seq_no next_change_seq() {
    const seq_no s = change_seq_.load(std::memory_order_relaxed) + 1;
    change_seq_.store(s, std::memory_order_release);
    return s;
  }
  // Writer only: continue numbering after `s` (journal replay restores the sequence).
  void restore_change_seq(seq_no s) { change_seq_.store(s, std::memory_order_release); }

  // Writer-private: the newest time ever put, for age-based retention. Written on every point,
  // so it has a cache line of its own with change_seq_ (the names below start the next one):
  // a put must not invalidate the line that other threads' lookups compare names on.
  alignas(64) time_ns newest_put = std::numeric_limits<time_ns>::min();

 private:
  std::atomic<seq_no> change_seq_{0};
  alignas(64) std::string measurement_;
  std::string symbol_;
  std::vector<field_spec> fields_;
  // Writer's hot line: the ring, and the layout checked by same_layout (the names joined by
  // '\0', which no name contains: the parser rejects control bytes; 0 bytes: they do not fit).
  static constexpr std::size_t kPackedNameBytes = 64 - sizeof(void*) - kMaxFieldsPerSeries - 1;
  void relayout(const std::uint64_t* values);

  alignas(64) std::atomic<series_rows*> rows_;  // owned
  std::array<field_kind, kMaxFieldsPerSeries> kinds_{};
  std::uint8_t packed_size_ = 0;
  std::array<char, kPackedNameBytes> packed_names_{};
  std::atomic<std::uint32_t> relayouts_{0};
};

template <class Field>
bool series::same_layout(std::span<const Field> fields) const {
  if (fields.size() != fields_.size() || packed_size_ == 0) return false;
  std::size_t at = 0;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::string_view name = fields[i].name;
    if (fields[i].kind != kinds_[i] || at + name.size() > packed_size_ ||
        !same_bytes(packed_names_.data() + at, name.data(), name.size()))
      return false;
    at += name.size();
    if (at < packed_size_ && packed_names_[at++] != '\0') return false;
  }
  return at == packed_size_;
}

}  // namespace tickring::core
