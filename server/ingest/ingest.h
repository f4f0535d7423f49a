// The ingest thread: the one writer of the SeriesStore.
//
// One io_context run by exactly one thread owns every TCP feed connection and applies every
// write: feed lines, HTTP /write bodies, point deletes and the demo feed. Other threads hand
// work over with submit_*/post; the completion runs on the ingest thread and must only post
// back to the caller's own executor (never block, never touch the store's writer side).
//
// With a journal (set_durable) the thread ticks it every kDurableTick.
// Limits: --max-feed-connections (past it a connection gets one error line and is closed),
// --feed-idle-timeout (feed_session.h); accept pauses kAcceptBackoff on EMFILE and the like.
// With --retention, a line stamped more than --max-future-skew ahead of the wall clock is
// rejected (future_timestamp).
// Lifetime: start() binds the feed listener (throws std::runtime_error on failure) and starts
// the thread. Shutdown is two steps: stop_feeds() stops accepting feed connections, applies
// what each has already received (including bytes waiting in the kernel) and closes them,
// while HTTP writes are still taken; stop() refuses every later submission (submit_* return
// false: the caller answers 503), runs every write handed over before it, and joins. So
// every submission that returned true is applied and its `done` runs. Counters may be read
// from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/series_store.h"
#include "protocol/line_protocol.h"
#include "server/auth.h"
#include "server/config.h"
#include "server/ingest/line_applier.h"

namespace tickring::server {

// Per-request result of a /write body.
struct write_outcome {
  std::size_t accepted = 0;
  std::size_t rejected = 0;
  std::string first_errors;  // "line 3: <reason>\n..." for the first kMaxReportedErrors lines
  // --data-dir: the journal refused the body, or could not make its changes durable.
  std::string journal_error;
};
struct remove_outcome {
  std::optional<core::seq_no> seq;  // the removal's change sequence; nothing if no such point
  std::string journal_error;        // as in write_outcome
};
// A partial-write answer names this many bad lines; the rest are only counted.
inline constexpr std::size_t kMaxReportedErrors = 20;

class ingest_service {
 public:
  // `auth` (the feed's first-line token check) must outlive the service.
  ingest_service(core::series_store& store, const server_config& config, const token_auth& auth);
  ~ingest_service();
  ingest_service(const ingest_service&) = delete;
  ingest_service& operator=(const ingest_service&) = delete;

  void start();
  void stop_feeds();  // any thread; does not wait
  void stop();        // any thread but the ingest thread; waits for it

  // Any thread. `done` runs on the ingest thread, or with a journal on its flusher thread
  // once the changes are durable (journal.h): it must only post to the caller's executor.
  // Not `queued` (stop() has begun, or the bodies waiting for the ingest thread already hold
  // --max-queued-write-bytes): `done` never runs and the caller answers 503; nothing of the
  // body was applied, so the client may send it again.
  enum class submit_result : std::uint8_t { queued, stopping, busy };
  [[nodiscard]] submit_result submit_write(std::string body, protocol::precision unit,
                                           std::function<void(write_outcome)> done);
  [[nodiscard]] bool submit_remove(const core::series* s, core::time_ns t,
                                   std::function<void(remove_outcome)> done);
  void post(std::function<void()> work);
  // Any thread: runs `work` on the ingest thread with the one write path (a log consumer
  // applies its messages through it). Unbounded: the caller bounds what it hands over.
  void post_write(std::function<void(write_path&)> work);
  // The configuration (a log consumer applies lines with the same --max-future-skew).
  const server_config& config() const;
  // Before start() only: a sink of every applied change (runs on the ingest thread).
  void add_sink(change_sink* sink);
  // Before start() only: the journal (a sink that /write and DELETE answers wait for).
  void set_durable(durable_sink* sink);
  // Before start() only, on the calling thread (which is the store's writer until start):
  // journal replay through the one write path.
  void replay(const std::function<void(write_path&)>& run);

  const ingest_counters& counters() const { return counters_; }
  std::uint16_t port() const;  // the bound feed port (after start)

 private:
  struct impl;
  ingest_counters counters_;
  std::unique_ptr<impl> impl_;
};

}  // namespace tickring::server
