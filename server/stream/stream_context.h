// What every WebSocket session shares: the hub (reached through the ingest thread), the
// store (read lock-free), the limits, the counters, and the registry used at shutdown.
//
// Threads: limits are immutable after start; counters are atomics; the registry has its own
// mutex, taken on connect, disconnect and shutdown only.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "core/series_store.h"

namespace tickring::server {
class ingest_service;
}

namespace tickring::server::stream {

class hub;
class ws_session;

enum class slow_policy : std::uint8_t { conflate, close };

// Limits (flags in config.h) with their reasons.
struct stream_limits {
  // A snapshot is built and sent in one message; 10,000 points is ~1 MB of JSON.
  std::size_t max_snapshot = 10'000;
  // Enough for a trading screen; bounds per-connection state and the hub's fan-out lists.
  std::size_t max_subscriptions = 256;
  // Per-connection queue toward the socket: past either bound the slow policy applies.
  std::size_t queue_messages = 32768;
  std::size_t queue_bytes = 4 * 1024 * 1024;
  // Changes kept per series for since_seq resume.
  std::size_t replay = 1024;
  // All replay logs together (about 400 bytes a change): bounds what subscribing to many
  // series by name makes the server hold.
  std::size_t replay_bytes = 64 * 1024 * 1024;
  slow_policy policy = slow_policy::conflate;
  // Client messages: 64 KiB each (close 1009 past it); this many bad ones close with 1008.
  std::size_t max_message_bytes = 64 * 1024;
  std::size_t max_bad_messages = 100;
  // A ping after half of this without traffic; closed when nothing arrives for all of it.
  std::chrono::seconds idle_timeout{30};
  // Entries queued from the ingest thread to one session before it drops and resyncs.
  std::size_t inbox_capacity = 65536;
};

struct stream_counters {
  std::atomic<std::uint64_t> clients{0};
  std::atomic<std::uint64_t> clients_total{0};
  std::atomic<std::uint64_t> subscriptions{0};
  std::atomic<std::uint64_t> queued_bytes{0};
  std::atomic<std::uint64_t> messages_sent{0};
  std::atomic<std::uint64_t> conflations{0};
  std::atomic<std::uint64_t> dropped{0};
  std::atomic<std::uint64_t> slow_closes{0};
  std::atomic<std::uint64_t> bad_messages{0};
  std::atomic<std::uint64_t> abuse_closes{0};
  std::atomic<std::uint64_t> read_pauses{0};  // a client's requests left unread: queue full
};

struct stream_context {
  stream_context(const core::series_store& s, ingest_service& i, hub& h, stream_limits l)
      : store(s), ingest(i), the_hub(h), limits(l) {}
  const core::series_store& store;
  ingest_service& ingest;
  hub& the_hub;
  stream_limits limits;
  stream_counters counters;

  // Shutdown: every live session, closed with 1001.
  void add(const std::shared_ptr<ws_session>& s);
  void close_all();

  std::mutex mutex;
  std::vector<std::weak_ptr<ws_session>> sessions;
  bool stopping = false;
};

}  // namespace tickring::server::stream
