// WindowStore: a key/value store whose entries live `window` nanoseconds after their latest put,
// with the mean of the live values (docs/design.md).
//
//   window_store s(30 * kSecond);
//   if (auto r = s.put("eurusd", 1.0842, now); !r) log(describe(r.error()));
//   window_stats st = s.stats(now);  // average and count under one lock
//
// Semantics
// - An entry put at t lives while now < t + window (its deadline); re-putting a key replaces its
//   value and deadline. The average of no entries is 0.
// - Time is int64 nanoseconds (time_ns, as in the rest of core/): the HTTP layer passes its parsed
//   integer times and clock readings straight through, and tests use small literal times.
// - The store's clock is the latest `now` passed to a write. A call with an earlier `now` acts at
//   that clock (time never runs backwards: an entry a write expired cannot reappear, and a late put
//   gets deadline clock + window). Reads never advance the clock. Deadlines saturate at INT64_MAX.
//
// Threads
// - window_store: any thread, any call. put/remove hold its lock exclusively, reads share it. The
//   lock is writer_priority_mutex: a writer waits only for the readers already inside.
// - window_table is the unsynchronised core: its const calls write nothing (it has no `mutable`
//   member), so they may run together; a non-const call needs exclusive access.
//
// How reads stay read-only
// Every put appends a record (deadline, key) to a queue. Deadlines arrive in put order (the clock
// never goes back), so the queue is sorted by deadline. A key's entry names its current record;
// a re-put or remove marks the old record dead, so expiry goes by identity, never by value or by
// an old timestamp. Writes pop the head while it is dead or expired. A read at a `now` past the
// last write may see entries that have expired since; it excludes them instead of erasing them:
// binary search for the first record with deadline > now, then subtract the prefix before it,
// from prefix sums of all appended values (each record keeps the sum before it) minus a Fenwick
// tree over the values of dead records.
//
// Cost (n = live keys). The queue is rebuilt (compacted) when full, to max(kMinQueue, 2n)
// records, so its memory follows n down only at the next rebuild.
// - get: O(1) expected (one hash lookup).
// - stats/average/count: O(1) when nothing expired since the last write, else O(log n).
// - put of a new key: O(1) amortised (expiry pops and queue rebuilds are paid for by appends).
// - put over a live key, remove: O(log n), for the Fenwick update. Marking a record dead in the
//   middle of the queue while readers may ask for any prefix is a dynamic prefix-sum problem; for
//   general prefix sums O(1) updates force polynomial-time queries (Pătraşcu–Demaine), so both
//   sides pay log n (≤ 25 steps at kMaxKeysLimit).
//
// Floating point: every sum is a compensated (hi, lo) pair updated with the exact TwoSum error
// (close to twice a double's precision), so removing a huge value leaves the small ones beside it
// intact and a difference of two prefix sums does not cancel catastrophically. A rebuild recomputes
// the sums from the live values, so rounding error never accumulates beyond one rebuild period.
//
// Failure: bad input or a missing key comes back as a window_error and changes nothing. The
// constructors throw std::invalid_argument; std::bad_alloc from put leaves the contents unchanged.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/writer_priority_mutex.h"

namespace tickring::core {

using time_ns = std::int64_t;  // the same alias as core/ring_cell.h

// Keys are URL path segments and log fields; 256 bytes is ample for a name and bounds the memory
// an untrusted client can pin per entry.
inline constexpr std::size_t kMaxKeyBytes = 256;
// Keeps every sum finite: at most 2 * kMaxKeysLimit values are ever summed, 2^25 * 1e300 < 1.8e308.
inline constexpr double kMaxAbsValue = 1e300;
// Bounds memory (~200 bytes per key, plus keys over 15 bytes) against a client inventing keys.
inline constexpr std::size_t kDefaultMaxKeys = 1'000'000;
inline constexpr std::size_t kMaxKeysLimit = std::size_t{1} << 24;  // see kMaxAbsValue

enum class window_error : std::uint8_t {
  empty_key = 1,
  key_too_long,
  value_not_finite,
  value_too_large,
  not_found,  // absent, expired or removed
  full,       // max_keys live keys already; re-puts of existing keys still succeed
};
std::string_view describe(window_error e) noexcept;

// A value or an error code; ignoring it is a bug, hence [[nodiscard]].
template <typename T>
class [[nodiscard]] window_result {
 public:
  window_result(T value) : value_(value), error_() {}  // NOLINT: implicit by design
  window_result(window_error e) : value_(), error_(e) {}
  bool ok() const noexcept { return error_ == window_error{}; }
  explicit operator bool() const noexcept { return ok(); }
  const T& value() const noexcept { return value_; }      // REQUIRES: ok()
  window_error error() const noexcept { return error_; }  // REQUIRES: !ok()

 private:
  T value_;
  window_error error_;
};

struct window_stats {
  double average;  // 0 when count == 0
  std::size_t count;
};

// The store without its lock; see Threads above.
class window_table {
 public:
  // Throws std::invalid_argument unless window > 0 and 0 < max_keys <= kMaxKeysLimit.
  explicit window_table(time_ns window, std::size_t max_keys = kDefaultMaxKeys);

  // Value true when the key was not live before (created), false when a live value was replaced.
  window_result<bool> put(std::string_view key, double value, time_ns now);
  // The removed value, or not_found when the key was not live.
  window_result<double> remove(std::string_view key, time_ns now);

  window_result<double> get(std::string_view key, time_ns now) const;
  window_stats stats(time_ns now) const;
  time_ns window() const noexcept { return window_; }
  // Records in the queue, live and dead: memory accounting, and tests that pin lazy removal.
  std::size_t queued_records() const noexcept { return records_.size() - head_; }

 private:
  // hi + lo is the sum; lo collects the exact rounding error of every addition into hi.
  struct exact_sum {
    double hi = 0, lo = 0;
    void add(double x) noexcept;
    void add(const exact_sum& s) noexcept {
      add(s.hi);
      lo += s.lo;
    }
    void sub(const exact_sum& s) noexcept {
      add(-s.hi);
      lo -= s.lo;
    }
    double value() const noexcept { return hi + lo; }
  };
  struct entry {
    double value;
    time_ns deadline;
    std::size_t record;  // index of its current record in records_
  };
  struct key_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view k) const noexcept {
      return std::hash<std::string_view>{}(k);
    }
  };
  using entry_map = std::unordered_map<std::string, entry, key_hash, std::equal_to<>>;
  struct record {
    time_ns deadline;
    exact_sum sum_before;          // of every value appended before it since the last rebuild
    entry_map::value_type* owner;  // nullptr once dead; dead records never touch their key
  };
  struct fenwick_node {
    exact_sum sum;
    std::size_t count = 0;
  };

  // Below kMinQueue records a rebuild costs less than its bookkeeping.
  static constexpr std::size_t kMinQueue = 16;

  time_ns effective(time_ns now) const noexcept { return now > clock_ ? now : clock_; }
  void advance(time_ns now);  // moves the clock and pops dead or expired records
  void rebuild();             // compacts the queue to the live records; fresh Fenwick tree
  void kill(std::size_t index, double value) noexcept;
  fenwick_node dead_before(std::size_t index) const noexcept;

  time_ns window_;
  std::size_t max_keys_;
  time_ns clock_ = INT64_MIN;
  entry_map entries_;
  std::vector<record> records_;     // capacity fixed between rebuilds (= dead_.size() - 1)
  std::size_t head_ = 0;            // records_[0, head_) are popped
  std::vector<fenwick_node> dead_;  // 1-based Fenwick tree over records_ positions
  exact_sum appended_;              // every value appended since the last rebuild
  exact_sum live_sum_;              // at clock_
  std::size_t live_count_ = 0;      // at clock_
};

class window_store {
 public:
  explicit window_store(time_ns window, std::size_t max_keys = kDefaultMaxKeys)
      : table_(window, max_keys) {}

  window_result<bool> put(std::string_view key, double value, time_ns now);
  window_result<double> remove(std::string_view key, time_ns now);
  window_result<double> get(std::string_view key, time_ns now) const;
  window_stats stats(time_ns now) const;
  double average(time_ns now) const { return stats(now).average; }
  std::size_t count(time_ns now) const { return stats(now).count; }
  time_ns window() const noexcept { return table_.window(); }

 private:
  // Separate cache lines: every reader writes the lock word, the table is read-mostly.
  alignas(64) mutable writer_priority_mutex mutex_;
  alignas(64) window_table table_;
};

}  // namespace tickring::core
