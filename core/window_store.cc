#include "core/window_store.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>

namespace tickring::core {
namespace {

constexpr time_ns kEndOfTime = std::numeric_limits<time_ns>::max();

window_error check_key(std::string_view key) noexcept {
  if (key.empty()) return window_error::empty_key;
  if (key.size() > kMaxKeyBytes) return window_error::key_too_long;
  return window_error{};
}

// REQUIRES: d > 0. A deadline past the end of time is the end of time.
time_ns saturating_add(time_ns t, time_ns d) noexcept {
  return t > kEndOfTime - d ? kEndOfTime : t + d;
}

// Lowest set bit: the span of a Fenwick node.
std::size_t low_bit(std::size_t i) noexcept {
  return i & (~i + 1);
}

}  // namespace

std::string_view describe(window_error e) noexcept {
  static_assert(kMaxKeyBytes == 256 && kMaxAbsValue == 1e300, "update the messages below");
  switch (e) {
    case window_error::empty_key:
      return "key is empty";
    case window_error::key_too_long:
      return "key is longer than 256 bytes";
    case window_error::value_not_finite:
      return "value is NaN or infinite";
    case window_error::value_too_large:
      return "value magnitude exceeds 1e300";
    case window_error::not_found:
      return "key not found (absent, expired or removed)";
    case window_error::full:
      return "window store is full (max keys reached)";
  }
  return "no error";
}

void window_table::exact_sum::add(double x) noexcept {
  const double s = hi + x;
  const double b = s - hi;
  lo += (hi - (s - b)) + (x - b);  // TwoSum (Knuth): exactly hi + x - s
  hi = s;
}

window_table::window_table(time_ns window, std::size_t max_keys)
    : window_(window), max_keys_(max_keys), dead_(kMinQueue + 1) {
  if (window <= 0) throw std::invalid_argument("window_store: window must be positive");
  if (max_keys == 0 || max_keys > kMaxKeysLimit) {
    throw std::invalid_argument("window_store: max_keys must be in [1, kMaxKeysLimit]");
  }
  records_.reserve(kMinQueue);
}

window_result<bool> window_table::put(std::string_view key, double value, time_ns now) {
  if (const window_error e = check_key(key); e != window_error{}) return e;
  if (!std::isfinite(value)) return window_error::value_not_finite;
  if (std::fabs(value) > kMaxAbsValue) return window_error::value_too_large;
  advance(now);
  auto it = entries_.find(key);
  const bool created = it == entries_.end();
  if (created && live_count_ >= max_keys_) return window_error::full;
  if (records_.size() + 1 == dead_.size()) rebuild();
  if (created) {
    it = entries_.try_emplace(std::string(key)).first;  // may throw: nothing visible changed yet
    ++live_count_;
  } else {
    kill(it->second.record, it->second.value);
    live_sum_.add(-it->second.value);
  }
  live_sum_.add(value);
  it->second = {value, saturating_add(clock_, window_), records_.size()};
  records_.push_back({it->second.deadline, appended_, &*it});  // within capacity: no allocation
  appended_.add(value);
  return created;
}

window_result<double> window_table::remove(std::string_view key, time_ns now) {
  if (const window_error e = check_key(key); e != window_error{}) return e;
  advance(now);
  const auto it = entries_.find(key);
  if (it == entries_.end()) return window_error::not_found;
  const double value = it->second.value;
  kill(it->second.record, value);
  live_sum_.add(-value);
  if (--live_count_ == 0) live_sum_ = {};  // an empty store has no rounding error left
  entries_.erase(it);
  return value;
}

void window_table::advance(time_ns now) {
  clock_ = effective(now);
  for (; head_ < records_.size(); ++head_) {
    const record& r = records_[head_];
    if (r.owner == nullptr) continue;
    if (r.deadline > clock_) break;
    live_sum_.add(-r.owner->second.value);
    --live_count_;
    entries_.erase(entries_.find(r.owner->first));
  }
  if (live_count_ == 0) live_sum_ = {};
}

// Called after advance(), so every record still owned is live. Allocates first and commits with
// moves, so that bad_alloc leaves the table as it was.
void window_table::rebuild() {
  const std::size_t capacity = std::max(kMinQueue, 2 * live_count_);
  std::vector<record> fresh;
  fresh.reserve(capacity);
  std::vector<fenwick_node> dead(capacity + 1);
  exact_sum total;
  for (std::size_t i = head_; i < records_.size(); ++i) {
    record r = records_[i];
    if (r.owner == nullptr) continue;
    r.owner->second.record = fresh.size();
    r.sum_before = total;
    fresh.push_back(r);
    total.add(r.owner->second.value);
  }
  records_ = std::move(fresh);
  dead_ = std::move(dead);
  head_ = 0;
  appended_ = total;
  live_sum_ = total;  // recomputed from the live values: drops the accumulated rounding error
}

void window_table::kill(std::size_t index, double value) noexcept {
  records_[index].owner = nullptr;
  for (std::size_t i = index + 1; i < dead_.size(); i += low_bit(i)) {
    dead_[i].sum.add(value);
    ++dead_[i].count;
  }
}

window_table::fenwick_node window_table::dead_before(std::size_t index) const noexcept {
  fenwick_node total;
  for (std::size_t i = index; i > 0; i -= low_bit(i)) {
    total.sum.add(dead_[i].sum);
    total.count += dead_[i].count;
  }
  return total;
}

window_result<double> window_table::get(std::string_view key, time_ns now) const {
  if (const window_error e = check_key(key); e != window_error{}) return e;
  const auto it = entries_.find(key);
  if (it == entries_.end() || it->second.deadline <= effective(now)) {
    return window_error::not_found;
  }
  return it->second.value;
}

window_stats window_table::stats(time_ns now) const {
  const time_ns t = effective(now);
  exact_sum sum = live_sum_;
  std::size_t count = live_count_;
  // Records in [head_, split) expired after the last write; live_* still count their owned ones.
  if (head_ < records_.size() && records_[head_].deadline <= t) {
    const auto split = static_cast<std::size_t>(
        std::partition_point(records_.begin() + static_cast<std::ptrdiff_t>(head_), records_.end(),
                             [t](const record& r) { return r.deadline <= t; }) -
        records_.begin());
    const fenwick_node dead_to_split = dead_before(split);
    const fenwick_node dead_to_head = dead_before(head_);
    sum.sub(split < records_.size() ? records_[split].sum_before : appended_);
    sum.add(records_[head_].sum_before);
    sum.add(dead_to_split.sum);
    sum.sub(dead_to_head.sum);
    count -= (split - head_) - (dead_to_split.count - dead_to_head.count);
  }
  if (count == 0) return {0.0, 0};
  return {sum.value() / static_cast<double>(count), count};
}

window_result<bool> window_store::put(std::string_view key, double value, time_ns now) {
  std::lock_guard lock(mutex_);
  return table_.put(key, value, now);
}

window_result<double> window_store::remove(std::string_view key, time_ns now) {
  std::lock_guard lock(mutex_);
  return table_.remove(key, now);
}

window_result<double> window_store::get(std::string_view key, time_ns now) const {
  std::shared_lock lock(mutex_);
  return table_.get(key, now);
}

window_stats window_store::stats(time_ns now) const {
  std::shared_lock lock(mutex_);
  return table_.stats(now);
}

}  // namespace tickring::core
