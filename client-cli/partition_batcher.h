// Routes line-protocol lines to their partitions and packs each partition's lines into
// JetStream messages: what `tickring feed --nats` and `tickring gateway` publish.
//
//   partition_batcher b(settings.partition_count, max_message_bytes,
//                       [&](std::uint32_t p, std::string_view payload, std::uint64_t lines) {
//                         return publisher.publish(p, payload, lines);
//                       });
//   b.add(line, line_number, error);           // each line, without its '\n'
//   b.flush_older_than(kLinger, clock::now());  // from a timer: a slow feed is not held back
//   b.flush_all();                              // at the end
//
// Contract
// - A line is parsed with protocol::line_parser; its partition is
//   protocol::partition_of(measurement, symbol, partitions) (protocol/partition.h). Blank and
//   comment lines are skipped; a line that does not parse is rejected (not published) and
//   `error` says why, as the server would have said it.
// - A line without a timestamp gets the publisher's wall clock (" <ns>" appended): the log is
//   replayed after a restart, and a point must get the same time on every replay, not the
//   time a consumer happened to read it.
// - A message holds complete '\n'-terminated lines of one partition, at most max_message_bytes
//   (a line is never split; a parsed line is at most protocol::kMaxLineBytes, far below).
//   Lines of one partition keep their input order across messages; messages are emitted in
//   the order they fill up (or are flushed).
// - Memory: the open batches together hold at most kMaxBufferedBytes; past it every open batch
//   is emitted.
// - Errors: emit returning false is a publisher failure: add/flush return false from then on
//   the caller stops (the publisher's error says what happened).
// Threads: one owner, no synchronisation. Cost: one parse per line plus a copy into the batch.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/line_protocol.h"

namespace tickring::cli {

// NATS's default max_payload; a server configured lower lowers it (see jetstream_publisher).
inline constexpr std::size_t kMaxMessageBytes = std::size_t{1} << 20;
// Open batches of all partitions together: with many partitions, full-size batches of every
// one would not fit a small machine (4096 x 1 MiB); 64 MiB keeps messages large at 64
// partitions and memory bounded at any count.
inline constexpr std::size_t kMaxBufferedBytes = std::size_t{64} << 20;

class partition_batcher {
 public:
  using clock = std::chrono::steady_clock;
  // Called with one message; false: publishing failed for good.
  using emit_fn =
      std::function<bool(std::uint32_t partition, std::string_view payload, std::uint64_t lines)>;

  enum class add_result { added, skipped, rejected, failed };

  // REQUIRES: partitions >= 1, max_message_bytes > protocol::kMaxLineBytes + 32.
  partition_batcher(std::uint32_t partitions, std::size_t max_message_bytes, emit_fn emit);

  // One line without its '\n'. On `rejected`, `error` holds the parser's reason.
  add_result add(std::string_view line, std::size_t line_number, protocol::parse_error& error);
  // Emits every batch whose first line was added before now - age.
  [[nodiscard]] bool flush_older_than(clock::duration age, clock::time_point now);
  [[nodiscard]] bool flush_all();
  // When the oldest open batch got its first line; clock::time_point::max() when none is open.
  clock::time_point oldest() const;
  std::size_t buffered_bytes() const { return buffered_; }

 private:
  struct batch {
    std::string payload;
    std::uint64_t lines = 0;
    clock::time_point started;
  };
  bool emit(std::uint32_t partition);

  std::uint32_t partitions_;
  std::size_t max_bytes_;
  emit_fn emit_;
  std::vector<batch> batches_;
  std::size_t buffered_ = 0;
  // Whether an emitted batch keeps its capacity: only when full batches of every partition fit
  // kMaxBufferedBytes, else memory would creep up to partitions x max_message_bytes.
  bool keep_capacity_;
  bool failed_ = false;
  protocol::line_parser parser_;
  protocol::parsed_line point_;
};

}  // namespace tickring::cli
