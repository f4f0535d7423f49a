// Applies line-protocol text through the write path: parse, hand the point to write_path,
// and describe each rejected line. HTTP /write bodies are parsed and applied here line by
// line; the TCP feed's lines arrive already parsed (feed_batch.h) and only get applied.
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
#include "server/ingest/feed_batch.h"
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
  // Any thread (set before the ingest thread starts): the feed thread checks it while parsing.
  core::time_ns max_future_skew() const { return max_future_skew_; }

  // Applies a batch parsed on the feed thread, in line order: counts its rejections and
  // appends an error reply for each rejected line (its own and the store's) to b.replies.
  void apply_batch(feed_batch& b);

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
  // The message for a point the store refused.
  std::string describe(const core::apply_result& r, const core::point_input& p) const;

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
