// The counters of the ingest thread, readable from any thread (/health, /metrics).
//
// Threads: written by the ingest thread only (bump), read by anyone with relaxed loads.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

namespace tickring::server {

// Why a line was rejected: the parser's codes, then the store's.
enum class reject_reason : std::uint8_t {
  parse_error,  // detailed by protocol::parse_error_code
  too_many_series,
  too_many_fields,
  unknown_field,
  missing_field,
  field_type_conflict,
  line_too_long,
  future_timestamp,     // beyond now + --max-future-skew while --retention is on
  journal_unavailable,  // --data-dir: the journal cannot take writes (disk full, I/O error)
  misrouted,            // --nats: the series belongs to another partition than its message's
  count_
};
std::string_view to_string(reject_reason r) noexcept;

struct ingest_counters {
  std::atomic<std::uint64_t> lines_accepted{0};
  std::atomic<std::uint64_t> http_lines_accepted{0};  // of lines_accepted, from POST /write
  std::atomic<std::uint64_t> writes_refused_busy{0};  // /write answered 503: queue budget full
  std::atomic<std::uint64_t> lines_rejected{0};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(reject_reason::count_)>
      by_reason{};
  std::atomic<std::uint64_t> bytes_received{0};
  std::atomic<std::uint64_t> feed_connections_open{0};
  std::atomic<std::uint64_t> feed_connections_total{0};
  std::atomic<std::uint64_t> error_lines_sent{0};
  std::atomic<std::uint64_t> error_lines_suppressed{0};
  std::atomic<std::uint64_t> points_inserted{0};
  std::atomic<std::uint64_t> points_overwritten{0};
  std::atomic<std::uint64_t> points_removed{0};  // DELETE
  std::atomic<std::uint64_t> points_evicted{0};  // retention
};

// The ingest thread is the only writer of these counters: a relaxed load+store is a plain
// increment, without the locked instruction of fetch_add on the hot path.
inline void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

}  // namespace tickring::server
