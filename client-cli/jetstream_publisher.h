// Publishes line-protocol batches to a NATS JetStream stream, asynchronously, with flow control
// and retries that JetStream stores once: the sending half of `tickring feed --nats` and
// `tickring gateway`.
//
//   jetstream_publisher pub(settings);
//   if (!pub.connect(error)) fail(error);                 // connects, ensures the stream
//   pub.publish(partition, payload, lines);                // blocks while too many acks are due
//   if (!pub.finish()) fail(pub.error());                  // waits for every ack
//
// The JetStream layout (shared with tickring-server --nats; docs/scale-out.md, "The log"):
// - Stream `settings.stream` (default TICKRING) with subjects `<prefix>.*`, file storage,
//   `replicas` copies and a 2-minute duplicate window. connect() creates it when absent and
//   accepts an existing stream whose subjects cover `<prefix>.*`, whatever else it holds;
//   whichever side (publisher or consumer) connects first creates it.
// - One message = one batch of complete lines of one partition, on subject
//   `<prefix>.<partition>`, with header `Nats-Msg-Id: <publisher-id>:<batch-number>`
//   (batch-number from 1 in publish order). A publish that fails or is not acknowledged within
//   kAckWait is sent again with the same id after a backoff (kFirstRetryBackoff, doubling),
//   at most kMaxPublishAttempts times in all: JetStream's duplicate window stores it once.
//
// Flow control: at most settings.max_pending messages are unacknowledged; publish() waits for
// acks beyond that (serving retries meanwhile), so memory is bounded by max_pending x 1 MiB.
// Past kStallLimit without a single ack while messages are due, publish/finish fail.
// Threads: every member function on one thread (the owner); libnats acknowledges on its own
// thread, which only touches the shared state under its mutex.
// Errors: false with a sentence in error(); the publisher is then unusable. No exceptions.
#pragma once

#include <boost/program_options/options_description.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "protocol/partition.h"

namespace tickring::cli {

// The layout shared with the servers' consumers (protocol/partition.h).
using protocol::kDefaultStream;
using protocol::kDefaultSubjectPrefix;
using protocol::kDuplicateWindow;
// Enough messages in flight to cover the round trip at full rate (~100 MB at 1 MiB each).
inline constexpr std::size_t kDefaultMaxPendingAcks = 128;
// A batch waits at most this long for more lines of its partition: low enough that a slow
// feed is not visibly delayed, high enough that a fast one fills 1 MiB messages.
inline constexpr std::chrono::milliseconds kDefaultLinger{20};
inline constexpr std::chrono::milliseconds kAckWait{5000};
inline constexpr std::chrono::milliseconds kFirstRetryBackoff{100};
// 100 ms doubling over 8 attempts: ~25 s of retries, longer than a JetStream leader election.
inline constexpr unsigned kMaxPublishAttempts = 8;
// No ack at all for this long while messages are due: NATS is gone for good.
inline constexpr std::chrono::seconds kStallLimit{60};
// Retries are rare; the first ones say why, the rest are counted.
inline constexpr std::uint64_t kLoggedRetries = 10;

struct nats_settings {
  std::string url;  // nats://host:port[,nats://...]; empty: NATS not used
  std::string stream{kDefaultStream};
  std::string subject_prefix{kDefaultSubjectPrefix};
  std::uint32_t partition_count = 1;
  unsigned replicas = 1;
  std::string publisher_id;  // empty: a random one per run
  std::size_t max_pending = kDefaultMaxPendingAcks;
  unsigned linger_ms = static_cast<unsigned>(kDefaultLinger.count());
};

// --nats, --stream, --subject-prefix, --partition-count, --replicas, --publisher-id,
// --max-pending, --linger bound to `s`; check_nats_settings validates them after parsing.
void add_nats_options(boost::program_options::options_description& d, nats_settings& s);
// Throws usage_error for a bad value (partition count, replicas, names).
void check_nats_settings(const nats_settings& s);

struct publish_counts {
  std::uint64_t messages = 0;    // batches published (each counted once, retried or not)
  std::uint64_t lines = 0;       // lines in them
  std::uint64_t bytes = 0;       // payload bytes in them
  std::uint64_t acked = 0;       // batches JetStream acknowledged (stored, or already stored)
  std::uint64_t duplicates = 0;  // of those, acknowledged as duplicates (stored before)
  std::uint64_t retries = 0;     // publishes sent again
};

class jetstream_publisher {
 public:
  // `log` gets one line (with '\n') for each of the first kLoggedRetries retries: why a
  // message is sent again. Called on the owner's thread.
  using log_fn = std::function<void(std::string_view)>;
  jetstream_publisher(nats_settings settings, log_fn log);
  ~jetstream_publisher();
  jetstream_publisher(const jetstream_publisher&) = delete;
  jetstream_publisher& operator=(const jetstream_publisher&) = delete;

  // Connects and ensures the stream. False with a sentence ("cannot connect to NATS at ...").
  [[nodiscard]] bool connect(std::string& error);
  // The largest message the server takes, capped at kMaxMessageBytes, less room for headers.
  std::size_t max_message_bytes() const;
  // Publishes one batch (copied); waits while max_pending are unacknowledged.
  [[nodiscard]] bool publish(std::uint32_t partition, std::string_view payload,
                             std::uint64_t lines);
  // Sends the retries that are due without waiting: for an idle owner's timer.
  [[nodiscard]] bool service();
  // Waits until every published batch is acknowledged (retrying as above).
  [[nodiscard]] bool finish();

  publish_counts counts() const;
  const std::string& publisher_id() const { return settings_.publisher_id; }
  const nats_settings& settings() const { return settings_; }
  const std::string& error() const { return error_; }

 private:
  struct shared;
  bool ensure_stream(std::string& error);
  bool send(std::string_view subject, std::string_view id, std::string_view payload);
  bool wait_below(std::size_t pending);

  nats_settings settings_;
  log_fn log_;
  std::unique_ptr<shared> shared_;
  std::uint64_t batch_number_ = 0;
  publish_counts counts_;
  std::string error_;
};

}  // namespace tickring::cli
