// SeriesStore: (measurement, symbol) -> series, with retention, for one writer and many
// lock-free readers.
//
// Threads: apply, remove and the constructor run on the single writer (ingest) thread. find,
// series_count, series_at and stats may run on any thread, never wait for the writer and take
// no lock. A series, once published, is never moved or freed while the store lives.
//
// Registry: an append-only array of the series in creation order, plus an open-addressing
// table of 4-byte indices into it (index + 1; 0 is empty), at most half full. The table grows
// by building a twice larger copy and publishing it with one pointer store; outgrown tables
// are kept until the store dies (together smaller than the current one), so a reader never
// sees freed memory, and a reader still probing an old table sees every series created before
// it loaded that table: its find() takes effect at that load. The writer fills a series' array
// slot, then its table slot (release), then the count (release); a reader that loads either
// (acquire) sees a complete series. The array is allocated uninitialised and touched only as
// far as series exist; the table is sized for the series that exist, not for max_series
// (1,000 series: an 8 KiB table instead of a 1 MiB one sized for 100,000).
//
// Points: the first point of a series fixes its field names and kinds. A later point must
// carry exactly those fields (in any order) with the same kinds; otherwise it is rejected with
// a reason naming the field, and nothing is stored (as InfluxDB rejects a field type conflict).
//
// Retention (writer, after each insert, O(1) per evicted point): at most max_points per
// series, and no point older than max_age before the newest point ever put into the series.
//
// The table's hash is SipHash-1-3 keyed per store (core/keyed_hash.h; by default a random key
// drawn at construction): clients name series, and with an unkeyed hash they could choose
// names that all land in one probe run and make every lookup walk them.
//
// The writer looks a line's series up first in a small two-way cache of its own
// (kWriterCacheSlots pointers, indexed by a cheap unkeyed hash, verified by comparing names):
// a feed's lines name the same few thousand series over and over, and the cache spares the
// SipHash and the probe into the large table (a cache miss of its own) on each. Names that
// collide in the cache only evict each other and fall back to the keyed table, so an
// adversary choosing names gains nothing over the table itself.
//
// Cost: find O(1) expected (hash + a few probes); apply O(fields) + the ring's put.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/keyed_hash.h"
#include "core/series.h"

namespace tickring::core {

// Defaults (each is a server flag).
inline constexpr std::size_t kDefaultMaxSeries = 100'000;
inline constexpr std::size_t kDefaultMaxPointsPerSeries = 10'000'000;
inline constexpr std::size_t kDefaultInitialSeriesCapacity = 4;

struct series_store_limits {
  std::size_t max_series = kDefaultMaxSeries;
  std::size_t max_points_per_series = kDefaultMaxPointsPerSeries;
  time_ns max_age = 0;  // 0: keep by count only
  std::size_t initial_capacity = kDefaultInitialSeriesCapacity;
};

struct field_input {
  std::string_view name;
  field_kind kind;
  std::uint64_t bits;  // the value's bytes: double, int64, uint64 or 0/1
};

struct point_input {
  std::string_view measurement;
  std::string_view symbol;
  std::span<const field_input> fields;
  time_ns time;
};

enum class apply_error : std::uint8_t {
  none,
  too_many_series,
  too_many_fields,
  unknown_field,
  missing_field,
  field_type_conflict,
};
std::string_view to_string(apply_error e) noexcept;

struct apply_result {
  apply_error error = apply_error::none;
  std::string_view field;  // the field named by the error, if any (points into the input)
  const series* target = nullptr;
  bool created = false;   // the point created its series
  bool inserted = false;  // false: overwrote a point at the same time
  seq_no seq = 0;         // the series' change sequence of this point
  seq_no ring_seq = 0;    // the ring's sequence of the put
  // Retention: points evicted after the insert. They took the ring sequences
  // (ring_seq, ring_seq_last]; `oldest` is the lowest time left (when evicted != 0).
  std::size_t evicted = 0;
  seq_no ring_seq_last = 0;
  time_ns oldest = 0;
  // The point's field values in the series' field order: the first field_count() are set by
  // apply, the rest are left unwritten (zeroing 128 bytes per line was a tenth of the
  // writer's instructions per point).
  std::array<std::uint64_t, kMaxFieldsPerSeries> words;
};

struct remove_result {
  seq_no seq;       // the series' change sequence of the removal
  seq_no ring_seq;  // the ring's sequence of the removal
};

class series_store {
 public:
  explicit series_store(series_store_limits limits = {}, hash_key key = hash_key::random());
  ~series_store();
  series_store(const series_store&) = delete;
  series_store& operator=(const series_store&) = delete;

  // ---- any thread ----
  const series* find(std::string_view measurement, std::string_view symbol) const;
  std::size_t series_count() const { return count_.load(std::memory_order_acquire); }
  // REQUIRES: i < series_count().
  const series& series_at(std::size_t i) const { return *list_[i]; }
  std::uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }
  const series_store_limits& limits() const { return limits_; }
  // The table hash of a name (the slot is hash & (table size - 1)); tests and diagnostics.
  std::size_t slot_hash(std::string_view measurement, std::string_view symbol) const noexcept {
    return static_cast<std::size_t>(siphash_pair(key_, measurement, symbol));
  }

  // ---- writer only ----
  apply_result apply(const point_input& p);
  // Removes one point; nothing if the series or the point is absent.
  std::optional<remove_result> remove(const series& s, time_ns t);

 private:
  series* find_mutable(std::string_view measurement, std::string_view symbol,
                       std::size_t hash) const;
  series* create(const point_input& p, std::size_t hash, apply_result& r);
  // Writer only: the cache first, then the table, then a new series (null: r.error says why).
  series* find_or_create(const point_input& p, apply_result& r);
  std::size_t enforce_retention(series& s);
  static bool map_fields(const series& s, const point_input& p, apply_result& r);

  series_store_limits limits_;
  hash_key key_;
  struct index_table {
    explicit index_table(std::size_t slots)
        : mask(slots - 1), slot(new std::atomic<std::uint32_t>[slots]()) {}
    std::size_t mask;
    std::unique_ptr<std::atomic<std::uint32_t>[]> slot;  // list index + 1; 0: empty
  };
  // Writer only: puts list index `n`, whose name hashes to `hash`, into `t`.
  void insert_index(index_table& t, std::size_t n, std::size_t hash);
  static constexpr std::size_t kInitialIndexSlots = 64;
  // Writer only: a twice larger table holding every series, published.
  void grow_index();

  std::atomic<const index_table*> index_;
  std::vector<std::unique_ptr<index_table>> tables_;  // writer only; every table ever published
  // Slot i is written once, before count_ covers it (release); read only below count_.
  std::unique_ptr<series*[]> list_;
  std::atomic<std::size_t> count_{0};
  std::atomic<std::uint64_t> evictions_{0};
  std::vector<std::unique_ptr<series>> owned_;  // writer only
  // Writer only. 64 KiB: stays in the writer's L2 beside the rings' tails.
  static constexpr std::size_t kWriterCacheSlots = 8192;
  std::unique_ptr<series*[]> writer_cache_;
};

}  // namespace tickring::core
