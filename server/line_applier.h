// Applies line-protocol text to the SeriesStore: parse, map fields, store, count, and describe
// each rejected line. Shared by the TCP feed, HTTP /write and nothing else.
//
// Threads: ingest thread only (it owns a line_parser and calls the store's writer side).
// Counters are atomics so that /health and /metrics can read them from any thread.
// Cost: per line, the parser's O(length) plus the store's apply; no allocation on success.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/series_store.h"
#include "protocol/line_protocol.h"

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
  count_
};
std::string_view to_string(reject_reason r) noexcept;

struct ingest_counters {
  std::atomic<std::uint64_t> lines_accepted{0};
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
  std::atomic<std::uint64_t> points_removed{0};
};

// The ingest thread is the only writer of these counters: a relaxed load+store is a plain
// increment, without the locked instruction of fetch_add on the hot path.
inline void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

class line_applier {
 public:
  line_applier(core::series_store& store, ingest_counters& counters);

  // Applies one line (without '\n'). `now` stamps a line without a timestamp. On rejection
  // returns false and sets `reason` to a message a person can act on (without the line number).
  bool apply(std::string_view line, std::size_t line_number, core::time_ns now,
             std::string& reason);
  void set_precision(protocol::precision p) { parser_.set_precision(p); }

  // Counts a line rejected before parsing (too long).
  void count_rejected(reject_reason r);

 private:
  core::series_store& store_;
  ingest_counters& counters_;
  protocol::line_parser parser_;
  protocol::parsed_line parsed_;
  protocol::parse_error error_;
  std::array<core::field_input, protocol::kMaxFieldsPerLine> fields_{};
};

// Nanoseconds since the Unix epoch (the clock that stamps lines without a timestamp).
core::time_ns wall_clock_ns();

}  // namespace tickring::server
