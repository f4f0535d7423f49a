// Applies line-protocol text through the write path: parse, hand the point to write_path,
// and describe each rejected line. Shared by the TCP feed, HTTP /write and nothing else.
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
#include "server/ingest/write_path.h"

namespace tickring::server {

class line_applier {
 public:
  explicit line_applier(write_path& path);

  // Applies one line (without '\n'). `now` stamps a line without a timestamp. On rejection
  // returns false and sets `reason` to a message a person can act on (without the line number).
  bool apply(std::string_view line, std::size_t line_number, core::time_ns now,
             std::string& reason);
  void set_precision(protocol::precision p) { parser_.set_precision(p); }
  // Rejects a line whose timestamp is more than `skew` ns after `now` (0: no bound). With
  // retention on, one far-future point would make every later real point "too old" and
  // evict it on arrival.
  void set_max_future_skew(core::time_ns skew) { max_future_skew_ = skew; }

  // A log consumer's message of `partition` (of `partitions`, protocol/partition.h): a line
  // whose series hashes elsewhere is rejected as misrouted. partitions = 0: no check.
  void expect_partition(std::uint32_t partition, std::uint32_t partitions) {
    partition_ = partition;
    partitions_ = partitions;
  }
  // False: do not ask the durable sink per line (a log consumer asks once per message, and
  // applies a message whole or not at all).
  void set_check_accepting(bool check) { check_accepting_ = check; }

  // Counts a line rejected before parsing (too long).
  void count_rejected(reject_reason r);

 private:
  write_path& path_;
  protocol::line_parser parser_;
  protocol::parsed_line parsed_;
  protocol::parse_error error_;
  std::array<core::field_input, protocol::kMaxFieldsPerLine> fields_{};
  core::time_ns max_future_skew_ = 0;
  std::uint32_t partition_ = 0;
  std::uint32_t partitions_ = 0;
  bool check_accepting_ = true;
};

}  // namespace tickring::server
