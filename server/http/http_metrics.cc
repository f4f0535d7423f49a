#include "server/http/http_metrics.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace tickring::server {

std::string_view to_string(route_id r) noexcept {
  constexpr std::string_view kNames[] = {
      "health",  "ping",    "series_list", "points",     "latest",   "at",
      "candles", "asof",    "sample",      "latest_all", "query",    "window",
      "write",   "metrics", "page",        "stream",     "not_found"};
  static_assert(std::size(kNames) == static_cast<std::size_t>(route_id::count_));
  return kNames[static_cast<std::size_t>(r)];
}

void http_metrics::record(route_id route, unsigned status, double seconds) {
  per_route& r = routes_[static_cast<std::size_t>(route)];
  std::size_t s = kCountedStatus.size() - 1;
  for (std::size_t i = 0; i + 1 < kCountedStatus.size(); ++i) {
    if (kCountedStatus[i] == status) s = i;
  }
  r.by_status[s].fetch_add(1, std::memory_order_relaxed);
  std::size_t b = 0;
  while (b < kLatencyBuckets.size() && seconds > kLatencyBuckets[b])
    ++b;
  r.buckets[b].fetch_add(1, std::memory_order_relaxed);
  r.count.fetch_add(1, std::memory_order_relaxed);
  r.sum_ns.fetch_add(static_cast<std::uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

void http_metrics::append_prometheus(std::string& out) const {
  auto o = std::back_inserter(out);
  fmt::format_to(o,
                 "# HELP tickring_query_points_scanned_total Points walked in the rings by "
                 "queries (/v1/series, /v1/latest, /query).\n# TYPE "
                 "tickring_query_points_scanned_total counter\n"
                 "tickring_query_points_scanned_total {}\n",
                 points_scanned_.load(std::memory_order_relaxed));
  out +=
      "# HELP tickring_http_requests_total HTTP requests by route and status.\n"
      "# TYPE tickring_http_requests_total counter\n";
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const auto name = to_string(static_cast<route_id>(i));
    for (std::size_t s = 0; s < kCountedStatus.size(); ++s) {
      const auto n = routes_[i].by_status[s].load(std::memory_order_relaxed);
      if (n == 0) continue;
      if (kCountedStatus[s] == 0) {
        fmt::format_to(o, "tickring_http_requests_total{{route=\"{}\",status=\"other\"}} {}\n",
                       name, n);
      } else {
        fmt::format_to(o, "tickring_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", name,
                       kCountedStatus[s], n);
      }
    }
  }
  out +=
      "# HELP tickring_http_request_duration_seconds Time from a complete request header "
      "to the response handed to the socket.\n"
      "# TYPE tickring_http_request_duration_seconds histogram\n";
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const per_route& r = routes_[i];
    const auto count = r.count.load(std::memory_order_relaxed);
    if (count == 0) continue;
    const auto name = to_string(static_cast<route_id>(i));
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < kLatencyBuckets.size(); ++b) {
      cumulative += r.buckets[b].load(std::memory_order_relaxed);
      fmt::format_to(o,
                     "tickring_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                     name, kLatencyBuckets[b], cumulative);
    }
    cumulative += r.buckets.back().load(std::memory_order_relaxed);
    fmt::format_to(o,
                   "tickring_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n",
                   name, cumulative);
    fmt::format_to(o, "tickring_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", name,
                   static_cast<double>(r.sum_ns.load(std::memory_order_relaxed)) / 1e9);
    fmt::format_to(o, "tickring_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", name,
                   cumulative);
  }
}

std::uint64_t resident_memory_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size = 0, resident = 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  if (n != 2) return 0;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace tickring::server
