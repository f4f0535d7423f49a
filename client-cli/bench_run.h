// The ingest benchmark's procedure (docs/design.md: TCP line-protocol ingest until every point is
// queryable, >= 3,000,000 quotes/s with 1,000 symbols and 4 fields).
//
// 1. The quotes are generated into memory first (quote_gen.h, one thread per connection), so
//    that the clock measures the server, not our formatting. With a file instead, the file is
//    read into memory first; with several connections its lines are dealt out by series (the
//    text before the first unescaped space), so each series' lines keep their file order on
//    one connection. Its points are its lines (empty and '#' lines aside).
// 2. All connections are opened and the baseline `points` read from GET /health before the
//    clock starts. Each connection owns a disjoint set of symbols, so each symbol's points
//    arrive in time order, as from a real feed.
// 3. The clock starts when the sender threads (one per connection, blocking writes) are
//    released together; each writes its buffer in large pieces, reading the server's error
//    replies between pieces.
// 4. "Stored" is the server's own count: GET /health on one keep-alive connection, every
//    kPollInterval once sending is done, until points >= baseline + N. The figure is
//    N / (that moment - start).
// Timestamps start at the current wall-clock time, so a second run against the same server
// adds new points instead of overwriting the first run's.
//
// Threads: call from one thread; it starts and joins its own. Errors: false with a sentence in
// `error` (unreachable server, rejected lines, timeout); notes on progress go to stderr.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace tickring::cli {

struct bench_ingest_params {
  std::string host;
  std::string token;  // sent as the feed's first line when not empty
  std::uint16_t ingest_port = 0;
  std::uint16_t http_port = 0;
  std::uint64_t points = 0;  // ignored with `file`
  std::uint32_t symbols = 0;
  std::uint32_t connections = 0;            // REQUIRES: 1 <= connections <= symbols
  std::string file;                         // line protocol to send instead of generated quotes
  std::chrono::duration<double> timeout{};  // from the start of sending to every point stored
};

struct bench_ingest_result {
  double send_seconds = 0;   // start until the last byte was handed to the kernel
  double seconds = 0;        // start until /health counted every point
  std::uint64_t bytes = 0;   // line-protocol bytes sent
  std::uint64_t points = 0;  // lines sent: the new points the server must count
};

[[nodiscard]] bool run_ingest_benchmark(const bench_ingest_params& params,
                                        bench_ingest_result& result, std::string& error);

}  // namespace tickring::cli
