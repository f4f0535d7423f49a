// HTTP request counters and latency histograms, and the Prometheus text exposition of every
// server metric (GET /metrics).
//
// Threads: record() from any worker (relaxed atomic increments; each route's counters sit on
// their own cache lines); append_prometheus() from any thread, reading without a lock (a
// scrape may see a request counted in the total but not yet in its bucket, as usual).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace tickring::server {

enum class route_id : std::uint8_t {
  health,
  ping,
  series_list,
  points,
  latest,
  at,
  candles,
  asof,
  sample,
  latest_all,
  query,
  window,
  write,
  metrics,
  page,
  stream,
  not_found,
  count_
};
std::string_view to_string(route_id r) noexcept;

// Status codes counted one by one; anything else is counted as "other".
inline constexpr std::array<unsigned, 12> kCountedStatus = {200, 204, 400, 401, 404, 405,
                                                            413, 415, 429, 500, 503, 0};
// Histogram upper bounds in seconds: 25 µs .. 1 s, for a server whose reads take microseconds.
inline constexpr std::array<double, 13> kLatencyBuckets = {
    25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 100e-3, 250e-3, 1.0};

class http_metrics {
 public:
  void record(route_id route, unsigned status, double seconds);
  void append_prometheus(std::string& out) const;
  // Points a query walked in the rings (one relaxed add per query): shows that a
  // query's cost follows its `limit`, not the size of its range.
  void add_points_scanned(std::uint64_t n) {
    points_scanned_.fetch_add(n, std::memory_order_relaxed);
  }

 private:
  struct alignas(64) per_route {
    std::array<std::atomic<std::uint64_t>, kCountedStatus.size()> by_status{};
    std::array<std::atomic<std::uint64_t>, kLatencyBuckets.size() + 1> buckets{};
    std::atomic<std::uint64_t> count{0};
    std::atomic<std::uint64_t> sum_ns{0};
  };
  std::array<per_route, static_cast<std::size_t>(route_id::count_)> routes_{};
  alignas(64) std::atomic<std::uint64_t> points_scanned_{0};
};

// Resident set size of this process in bytes (from /proc/self/statm), 0 if unavailable.
std::uint64_t resident_memory_bytes();

}  // namespace tickring::server
