// The WebSocket fan-out benchmark's procedure (`tickring bench ws`): how long a quote takes
// from the feed socket to a subscriber, and how many messages the server delivers per second.
//
// 1. Priming: one quote per symbol on the line-protocol port, then GET /health until they are
//    stored, so that every series exists before anyone subscribes (a wildcard then gets each
//    series' snapshot at once and every later quote as a `point`).
// 2. Subscribers: subscriber k of S+W goes on WebSocket connection k % C; k < S subscribes to
//    symbol k % N, the W others to `measurement/*`. The clock does not start until every
//    subscription is acknowledged (`subscribed`).
// 3. Feed: one TCP line-protocol connection sends `rate` quotes a second for `duration`, round
//    robin over the symbols, in a batch every kFeedTick; each quote's timestamp is the wall
//    clock (CLOCK_REALTIME, ns) when its batch was written, nudged up by 1 ns where needed so
//    that a symbol's times rise strictly.
// 4. Receipt: each `point` costs one clock read; latency = wall clock now - the point's time,
//    so it spans client formatting, TCP, server parse, store, fan-out and the WebSocket hop.
//    It is exact because feed and subscribers share one machine and one clock. Every point is
//    also checked for the gap-free contract (seq = last + 1 per subscription and series).
// 5. Drain: after the feed stops, until every expected point arrived or none arrived for
//    kDrainQuiet; then every connection is closed normally.
//
// Threads: call from one thread; it runs the feed itself and kIoThreads threads for the
// subscribers' io_context, and joins them. Errors: false with a sentence in `error` (no server,
// failed connections, subscriptions not acknowledged); what the run measured is in `result`
// whenever it got as far as the feed.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace tickring::cli {

// The subscribers' io_context threads: enough to parse 100k+ small messages a second, few
// enough to leave the server its cores on a small machine.
inline constexpr unsigned kIoThreads = 2;
// A batch of quotes this often: the rate is smooth at the millisecond scale.
inline constexpr std::chrono::milliseconds kFeedTick{1};
inline constexpr std::chrono::milliseconds kDrainQuiet{500};
inline constexpr std::chrono::seconds kDrainMax{10};
// The server's default --ws-max-subscriptions per connection.
inline constexpr std::uint32_t kMaxSubscriptionsPerConnection = 256;

struct bench_ws_params {
  std::string host;
  std::string token;  // feed auth line and WebSocket Authorization, when not empty
  std::uint16_t ingest_port = 0;
  std::uint16_t http_port = 0;
  std::string measurement;
  std::uint32_t subscribers = 0;  // to one symbol each
  std::uint32_t wildcards = 0;    // to measurement/*
  std::uint32_t symbols = 0;
  // REQUIRES: (subscribers + wildcards) / connections <= kMaxSubscriptionsPerConnection
  std::uint32_t connections = 0;
  double rate = 0;  // quotes per second
  std::chrono::duration<double> duration{};
  std::uint32_t batch = 0;  // > 1: subscriptions ask for `points` frames of up to this many
};

struct bench_ws_result {
  std::uint32_t connections = 0;    // upgraded and every subscription acknowledged
  std::uint64_t subscriptions = 0;  // acknowledged
  std::uint64_t sent = 0;           // quotes the feed sent (after priming)
  double feed_seconds = 0;          // first to last batch written
  std::uint64_t rejected = 0;       // lines the server answered with an error
  std::uint64_t expected = 0;       // point messages all subscribers together should get
  std::uint64_t delivered = 0;      // point messages received
  double deliver_seconds = 0;       // feed start to the last point received
  double p50_us = 0;
  double p99_us = 0;
  double max_us = 0;
  std::uint64_t snapshots = 0;  // `snapshot` messages (wildcards' series, after lag or reset)
  std::uint64_t lagged = 0;     // `lagged` messages
  std::uint64_t dropped = 0;    // messages the server said it dropped, in all
  std::uint64_t resets = 0;
  std::uint64_t gaps = 0;         // a point whose seq was not last + 1 (a server bug)
  std::uint64_t repeats = 0;      // a point whose seq was not above the last (a server bug)
  std::uint64_t errors = 0;       // `error` messages
  std::uint64_t disconnects = 0;  // connections lost before the end
  std::string first_problem;      // the first error message or disconnect reason, if any
};

[[nodiscard]] bool run_ws_benchmark(const bench_ws_params& params, bench_ws_result& result,
                                    std::string& error);

}  // namespace tickring::cli
