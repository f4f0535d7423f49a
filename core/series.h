// One series: (measurement, symbol), its fields, and a TimeSortedArray of its points.
//
// A point is stored as one 8-byte word per field in the series' own field order (double,
// int64, uint64 or bool, as fixed by the series' first point), so a 4-field quote costs
// 4 words + the ring's 24-byte cell header = 56 bytes, whatever the widest series allowed.
// Widths are rounded up to the next of kRowWidths; the ring type per width is chosen at
// creation behind the virtual series_rows interface.
//
// Threads: the constructor, put, remove and remove_lowest run on the writer (ingest) thread
// only. Everything else may run on any thread without a lock. A series is never moved or
// freed while the store lives.
// Sequence numbers, two kinds:
// - the ring's own (series_rows::committed_seq, stored_point::seq): every ring change, evictions
//   included, takes one; readers use them to tell how far a lock-free read reached;
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

#include "core/ring_cell.h"
#include "core/same_bytes.h"

namespace tickring::core {

// Wide enough for quotes, trades and bars with their sizes and flags; it bounds the row copy
// made per point on the read path (16 x 8 bytes).
inline constexpr std::size_t kMaxFieldsPerSeries = 16;

enum class field_kind : std::uint8_t { float64, int64, uint64, boolean };
std::string_view to_string(field_kind kind) noexcept;

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

// The type-erased ring of one series (see series.cc for the per-width implementation).
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
  // Writer only.
  struct put_result {
    bool inserted;
    seq_no seq;
  };
  virtual put_result put(time_ns t, const std::uint64_t* words) = 0;
  virtual std::optional<seq_no> remove(time_ns t) = 0;
  virtual std::optional<time_ns> oldest_time() const = 0;  // writer's view
  virtual bool remove_lowest(stored_point& out) = 0;
  virtual std::size_t capacity() const = 0;
  virtual std::size_t writer_size() const = 0;
  virtual std::size_t bytes_per_point() const = 0;
  // Bytes of the current ring buffer (any thread; the capacity only changes with the buffer).
  virtual std::size_t capacity_bytes() const = 0;
};

std::unique_ptr<series_rows> make_series_rows(std::size_t field_count,
                                              std::size_t initial_capacity);

class series {
 public:
  series(std::string measurement, std::string symbol, std::vector<field_spec> fields,
         std::size_t initial_capacity);

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

  const series_rows& rows() const { return *rows_; }
  series_rows& writer_rows() { return *rows_; }  // writer only

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
  alignas(64) std::unique_ptr<series_rows> rows_;
  std::array<field_kind, kMaxFieldsPerSeries> kinds_{};
  std::uint8_t packed_size_ = 0;
  std::array<char, kPackedNameBytes> packed_names_{};
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
