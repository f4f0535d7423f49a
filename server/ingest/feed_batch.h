// A chunk of feed lines parsed on the feed thread, to be applied on the ingest thread.
//
// The TCP feed is a two-stage pipeline (docs/design.md "Ingest"): the feed thread reads a
// connection, splits and parses its lines into a feed_batch; the ingest thread, the store's
// one writer, only applies the batch's points (line_applier::apply_batch). Reading and parsing
// took about 40 % of the single thread's time per line; the two stages now run on two cores.
//
// Threads: a batch is filled by one feed session on the feed thread, handed to the ingest
// thread (which reads it and appends to `replies`), and handed back; never touched by two
// threads at once (each handoff is an asio::post, which orders memory).
// Invariants: every view in `points` and `fields` points into `text_` or `escaped_`, which do
// not move while the batch lives (text_ is reserved up front and never grows past it; escaped
// names are kept in a deque). Rejections and points are in line order (`before` interleaves).
// Cost: one copy of each line (~90 bytes for a quote) into the batch; no allocation per line
// once a recycled batch has reached its size.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "core/series_store.h"
#include "protocol/line_protocol.h"
#include "server/ingest/ingest_counters.h"

namespace tickring::server {

// The reply texts of the two rejections both the feed thread and line_applier make.
std::string parse_error_reason(const protocol::parse_error& e);
// True (and `reason` set) if `ts` is more than `max_future_skew` (> 0) ahead of `now`.
bool too_far_ahead(core::time_ns ts, core::time_ns now, core::time_ns max_future_skew,
                   std::string& reason);

struct feed_batch {
  struct point {
    std::string_view measurement;
    std::string_view symbol;
    std::uint32_t first_field;
    std::uint32_t field_count;
    core::time_ns time;
    std::uint64_t line_number;
  };
  // A line rejected on the feed thread (parse error, too long, too far in the future): counted
  // and answered on the ingest thread, in order, before points[before].
  struct rejection {
    std::size_t before;
    std::uint64_t line_number;
    reject_reason why;
    std::string reason;
  };
  // An error line owed to the client, filled by the ingest thread.
  struct reply {
    std::uint64_t line_number;
    std::string reason;
  };

  std::vector<point> points;
  std::vector<core::field_input> fields;
  std::vector<rejection> rejections;
  std::vector<reply> replies;

  // Empties the batch for reuse, keeping its capacity; `max_text` bytes of lines fit.
  void reset(std::size_t max_text);
  bool empty() const { return points.empty() && rejections.empty(); }
  std::size_t text_bytes() const { return text_.size(); }

  // Feed thread: parses `line` (without '\n') into the batch. `now` stamps a line without a
  // timestamp; with `max_future_skew` > 0 a line stamped further ahead is rejected.
  void add_line(std::string_view line, std::uint64_t line_number, core::time_ns now,
                core::time_ns max_future_skew, protocol::line_parser& parser);
  void add_rejection(std::uint64_t line_number, reject_reason why, std::string reason);

 private:
  // A name the parser unescaped lives in its scratch, which the next line overwrites: keep a
  // copy. Any other name is a view of the line, which lives in text_. Inline: six per quote.
  std::string_view keep(std::string_view name, std::string_view line_copy) {
    if (name.data() >= line_copy.data() &&
        name.data() + name.size() <= line_copy.data() + line_copy.size()) [[likely]]
      return name;
    return escaped_.emplace_back(name);
  }

  std::string text_;
  std::deque<std::string> escaped_;
  protocol::parsed_line parsed_;
  protocol::parse_error error_;
};

}  // namespace tickring::server
