// The log consumer (--nats): reads this instance's partitions of a NATS JetStream stream and
// applies every line through the one write path (server/ingest/write_path.h), recording the
// last applied stream sequence per partition in the journal (docs/scale-out.md).
//
// Design:
// - One ordered push consumer per owned partition (filter subject `<prefix>.<p>`), started
//   right after the partition's position from the journal (DeliverByStartSequence), or from
//   the stream's start / --nats-start-time without one. An ordered consumer is ephemeral and
//   has no acks: tickring keeps its own position, and the client library recreates the
//   consumer after the last message it delivered when it sees a gap, a missed heartbeat or a
//   lost server (JetStream cluster fail-over), so no durable consumer state is needed.
// - Back-pressure: each message is handed to the ingest thread; the bytes handed over and not
//   yet applied are bounded by kMaxInflightBytes, past which the library's delivery thread
//   waits. JetStream's flow control (on for ordered consumers) then stalls the server
//   instead of the client buffering without bound; the library's own pending buffer is
//   capped (kPendingMessages / kPendingBytes) and a drop there is a gap the ordered consumer
//   repairs by recreating itself.
// - Exactly once: a message is applied whole on the ingest thread between the write path's
//   begin_log_batch / end_log_batch (the journal writes its position with its changes); a
//   message at or below the partition's applied sequence (a redelivery after a consumer
//   reset) is skipped and counted. Lines without a timestamp get the message's JetStream
//   time, so a replay stores the same points.
// - When the journal refuses changes (disk full), messages wait in order on the ingest thread
//   and are retried every kStallRetry; nothing is skipped.
// - A line whose series hashes to another partition than its message's is rejected (counted
//   as `misrouted`), never stored.
// - The connection retries forever (also at start: the server serves reads while NATS is
//   down); a control thread (re)creates the stream and the subscriptions once connected.
//
// Threads: start() and stop() from the main thread; the library's threads run the message
// callbacks; apply runs on the ingest thread; status() from any thread (atomics).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "server/cluster/cluster_options.h"
#include "server/ingest/ingest.h"
#include "server/ingest/line_applier.h"

struct __natsConnection;
struct __natsSubscription;
struct __natsMsg;
struct __jsCtx;

namespace tickring::server::cluster {

// Bytes of messages handed to the ingest thread and not yet applied (all partitions).
inline constexpr std::size_t kMaxInflightBytes = 16 * 1024 * 1024;
// The client library's buffer per subscription (messages received, not yet delivered).
inline constexpr int kPendingMessages = 65'536;
inline constexpr int kPendingBytes = 64 * 1024 * 1024;
// How often the control thread retries setting up a subscription, and retries messages the
// journal refused.
inline constexpr std::chrono::milliseconds kSetupRetry{500};
inline constexpr std::chrono::milliseconds kStallRetry{100};
// Rejected lines logged per minute (the rest are counted only).
inline constexpr unsigned kLoggedRejectsPerMinute = 20;
// Ordered consumer idle heartbeat: how soon a lost server is noticed and the consumer remade.
inline constexpr std::chrono::seconds kHeartbeat{2};

enum class link_state : std::uint8_t { connecting, connected, reconnecting, closed };
std::string_view to_string(link_state s);

// One partition's counters; written by the ingest thread (applied_*) and the control thread.
struct partition_status {
  std::uint32_t partition = 0;
  std::atomic<std::uint64_t> applied_seq{0};     // last stream sequence applied (0: none)
  std::atomic<std::int64_t> applied_time_ns{0};  // its JetStream timestamp
  std::atomic<std::uint64_t> pending{0};         // messages after it, as the consumer said
  std::atomic<bool> known_pending{false};        // a message has told `pending`
  std::atomic<std::uint64_t> messages{0};        // applied since start
  std::atomic<std::uint64_t> lines_accepted{0};
  std::atomic<std::uint64_t> lines_rejected{0};
  std::atomic<std::uint64_t> duplicates{0};  // redelivered at or below applied_seq: skipped
  std::atomic<bool> subscribed{false};
};

class log_consumer {
 public:
  // `positions`: the journal's (partition -> last applied sequence), or nothing without one.
  log_consumer(const cluster_options& options, ingest_service& ingest,
               std::optional<std::map<std::uint32_t, std::uint64_t>> positions);
  ~log_consumer();
  log_consumer(const log_consumer&) = delete;
  log_consumer& operator=(const log_consumer&) = delete;

  // After the ingest thread started. Throws std::runtime_error on a bad URL (not when the
  // server is unreachable: it keeps retrying).
  void start();
  // Before the ingest thread stops: no callback runs after it returns; messages already
  // handed to the ingest thread are applied by its stop.
  void stop();

  link_state state() const { return state_.load(std::memory_order_relaxed); }
  std::uint64_t reconnects() const { return reconnects_.load(std::memory_order_relaxed); }
  std::uint64_t inflight_bytes() const { return inflight_.load(std::memory_order_relaxed); }
  std::uint64_t stalled_messages() const { return stalled_count_.load(std::memory_order_relaxed); }
  std::uint64_t consumer_errors() const { return errors_.load(std::memory_order_relaxed); }
  std::string last_error() const;
  const std::vector<std::unique_ptr<partition_status>>& partitions() const { return parts_; }
  const cluster_options& options() const { return options_; }

 private:
  struct subscription;
  struct held {
    __natsMsg* msg;
    partition_status* part;
    std::size_t bytes;
  };

  friend struct nats_callbacks;  // the library's C callbacks (log_consumer.cc)

  void deliver(subscription& sub, __natsMsg* msg);  // library thread
  void run_control();                               // control thread
  bool ensure_stream(std::string& error);           // control thread
  bool subscribe(subscription& sub, std::string& error);
  void apply_held(write_path& path, held h);  // ingest thread
  void apply(write_path& path, const held& h);
  void drain_stalled(write_path& path);
  void release(std::size_t bytes);
  void set_error(std::string error);

  const cluster_options& options_;
  ingest_service& ingest_;
  std::optional<std::map<std::uint32_t, std::uint64_t>> positions_;
  std::vector<std::unique_ptr<partition_status>> parts_;
  std::vector<std::unique_ptr<subscription>> subs_;

  __natsConnection* conn_ = nullptr;
  __jsCtx* js_ = nullptr;
  std::atomic<link_state> state_{link_state::connecting};
  std::atomic<std::uint64_t> reconnects_{0};
  std::atomic<std::uint64_t> errors_{0};
  bool stream_ready_ = false;  // control thread

  // Handed over, not yet applied; the delivery threads wait on `cv_` past kMaxInflightBytes.
  std::atomic<std::uint64_t> inflight_{0};
  std::atomic<int> in_callback_{0};
  std::mutex mu_;
  std::condition_variable cv_;          // delivery threads: room in kMaxInflightBytes
  std::condition_variable control_cv_;  // control thread: connected, stopping
  bool stopping_ = false;               // guarded by mu_

  // Ingest thread: messages the journal refused, in arrival order.
  std::deque<held> stalled_;
  std::atomic<std::uint64_t> stalled_count_{0};
  std::unique_ptr<line_applier> applier_;
  std::chrono::steady_clock::time_point log_window_{};
  unsigned logged_ = 0;

  mutable std::mutex error_mu_;
  std::string last_error_;
  std::thread control_;
  bool started_ = false;
};

}  // namespace tickring::server::cluster
