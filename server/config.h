// tickring-server's configuration: every flag, its default and its reason, parsed once at
// start-up. Errors here are exceptions (start-up only), reported by main with --help advice.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "core/series_store.h"
#include "core/window_store.h"
#include "server/cluster/cluster_options.h"
#include "server/journal/journal.h"
#include "server/stream/stream_context.h"

namespace tickring::server {

struct endpoint_spec {
  std::string host;
  std::uint16_t port;
  // Written ":port": every interface, IPv4 and IPv6 (a dual-stack "::" socket, or "0.0.0.0"
  // where the kernel has no IPv6).
  bool every_interface = false;
};
// "127.0.0.1:8080", "[::1]:8080", for messages.
std::string to_string(const endpoint_spec& e);

// Limits with their reasons; each is a flag.
// InfluxDB's default max body for /write is 25 MB; clients batch up to ~5000 points (~500 KB).
inline constexpr std::size_t kDefaultMaxBodyBytes = 25 * 1024 * 1024;
// Enough for any browser or curl request; bounds the memory of a hostile header.
inline constexpr std::size_t kDefaultMaxHeaderBytes = 16 * 1024;
// Bounds of --max-header: below 1 KiB no browser request fits; above 1 MiB one connection
// could make the server hold a megabyte of header (and Beast's limit is 32-bit).
inline constexpr std::size_t kMinHeaderBytes = 1024;
inline constexpr std::size_t kMaxHeaderBytesLimit = 1024 * 1024;
// Largest answer of a /v1/series query (413 above): kMaxLimit points of 16 fields fit, and
// a worker never builds an answer of unbounded size.
inline constexpr std::size_t kDefaultMaxAnswerBytes = 64 * 1024 * 1024;
// Each HTTP/WebSocket connection costs a socket and ~16 KiB of buffers.
inline constexpr std::size_t kDefaultMaxConnections = 10'000;
// A connection must deliver a complete request header within this time of the previous answer
// (or of connecting), or it is dropped: that bounds both a slow-loris client and an idle
// keep-alive connection.
inline constexpr std::chrono::seconds kDefaultHeaderTimeout{15};
// Longest --header-timeout: a longer one only keeps idle connections (and their descriptors).
inline constexpr std::chrono::seconds kMaxHeaderTimeout{3600};
// A request body must arrive within this time of its header (a trickling body holds a
// connection and its buffer; the --max-body limit alone does not bound the time).
inline constexpr std::chrono::seconds kDefaultBodyTimeout{30};
// Longest --window: a year is far past any sliding-window use, and keeps `now + window` (in
// int64 nanoseconds since 1970) far from overflow.
inline constexpr std::chrono::nanoseconds kMaxWindow = std::chrono::hours(24 * 365);
// With --retention, a timestamp further than this ahead of the server's clock is rejected:
// generous for clock skew between a feed and the server, far short of evicting real data.
inline constexpr std::chrono::seconds kDefaultMaxFutureSkew{600};
// Feed connections are a few publishers, and each holds its read buffer and the batches it
// has parsed (feed_session.h: ~0.3 MiB for quotes, 1 MiB at worst): 256 of them bound that
// memory to 256 MiB at worst.
inline constexpr std::size_t kDefaultMaxFeedConnections = 256;
// /write bodies handed to the ingest thread and not yet applied, all connections together:
// past it a /write gets 503 + Retry-After (never queued without bound, never dropped once
// accepted). Ten bodies of the default --max-body.
inline constexpr std::size_t kDefaultMaxQueuedWriteBytes = 256 * 1024 * 1024;
// Answers built and not yet written, all HTTP connections together: past it a new request is
// answered 503 + Retry-After before its handler runs. Sixteen answers of the default
// --max-answer-bytes.
inline constexpr std::size_t kDefaultMaxResponseBytes = 1024UL * 1024 * 1024;
// A feed connection that sends nothing for this long is closed (a vanished publisher whose
// TCP connection never reports it), freeing its descriptor and buffer. Quiet markets send
// less often than this; a publisher may also send an empty line as a keep-alive.
inline constexpr std::chrono::seconds kDefaultFeedIdleTimeout{900};
// Requests in flight get this long to finish after SIGINT/SIGTERM before the server exits.
inline constexpr std::chrono::seconds kShutdownGrace{5};

// A worker that answered a request keeps polling this long for the next one before it sleeps:
// a client in a request/answer loop comes back within it, and its request is then read without
// waking a sleeping thread (on a virtual machine, waking an idle vCPU is most of a small
// request's latency). Costs at most this much CPU per event; 0 turns it off.
inline constexpr std::chrono::microseconds kDefaultBusyPoll{50};

struct server_config {
  endpoint_spec http{"127.0.0.1", 8080};
  endpoint_spec ingest{"127.0.0.1", 9009};
  unsigned workers = 0;  // 0: one per core
  // HTTP workers poll this long after their last event before they sleep (0: never poll).
  std::chrono::microseconds busy_poll = kDefaultBusyPoll;
  std::chrono::nanoseconds window = std::chrono::seconds(10);
  std::size_t window_max_keys = core::kDefaultMaxKeys;
  std::chrono::nanoseconds max_future_skew = kDefaultMaxFutureSkew;  // with retention only
  core::series_store_limits store;
  std::size_t max_body_bytes = kDefaultMaxBodyBytes;
  std::size_t max_header_bytes = kDefaultMaxHeaderBytes;
  std::size_t max_connections = kDefaultMaxConnections;
  std::size_t max_answer_bytes = kDefaultMaxAnswerBytes;
  std::chrono::seconds header_timeout = kDefaultHeaderTimeout;
  std::chrono::seconds body_timeout = kDefaultBodyTimeout;
  std::size_t max_feed_connections = kDefaultMaxFeedConnections;
  std::size_t max_queued_write_bytes = kDefaultMaxQueuedWriteBytes;
  std::size_t max_response_bytes = kDefaultMaxResponseBytes;
  std::chrono::seconds feed_idle_timeout = kDefaultFeedIdleTimeout;
  stream::stream_limits stream;      // the WebSocket stream (--ws-*)
  journal::journal_options journal;  // --data-dir (off when empty), --fsync, --journal-*
  cluster::cluster_options cluster;  // --nats, --partitions, --cluster (docs/scale-out.md)
  // Tests only (hidden from --help): /v1/window honours a client's `time` parameter.
  bool test_clock = false;
  // docs/auth.md: tokens for writes (empty: none), also for reads, and the explicit opt-out of
  // the refusal to listen beyond loopback without tokens.
  std::string auth_token_file;
  bool auth_reads = false;
  bool insecure_no_auth = false;
  std::string log_level = "info";
  bool demo = false;
  double demo_rate = 1000;  // quotes per second, all symbols together
  std::size_t demo_symbols = 8;
};

// Parses argv. Returns nothing when --help or --version was printed (exit 0). Throws
// std::invalid_argument with a message naming the flag on a bad value.
std::optional<server_config> parse_config(int argc, char** argv);

// "30s", "15m", "2h", "7d", "500ms", or a bare integer of seconds -> nanoseconds. Throws
// std::invalid_argument on a bad number or unit, and on a value past int64 nanoseconds
// (about 292 years) rather than wrapping.
std::chrono::nanoseconds parse_duration(const std::string& text);
// "host:port", "[::1]:port" or ":port" (every interface, IPv4 and IPv6: host "::").
endpoint_spec parse_endpoint(const std::string& text);

}  // namespace tickring::server
