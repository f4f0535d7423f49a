// The sending side of `tickring feed`: writes input chunks to an ingest_connection, optionally
// throttled to a number of lines per second, and reads the server's error replies whenever it
// would otherwise wait, so that replies never block sending and always show up promptly.
//
//   feed_sender sender(conn, meter, /*lines_per_second=*/std::nullopt, /*shown_errors=*/10);
//   while (sender.wait_for_input(fd) && (n = read(fd, buf, size)) > 0) {
//     if (!sender.send(buf, n)) fail(sender.error());
//   }
//   if (!sender.finish()) fail(sender.error());
//
// - Lines are counted by '\n'; a write may end mid-line (the server joins lines across reads).
// - Throttling is a token bucket in lines (kBurstSeconds deep), so any one second carries the
//   requested rate, give or take one burst; a write never carries more lines than the bucket.
// - finish() terminates an unterminated last line (the server drops a partial line at EOF),
//   shuts the send side and waits up to kReplyGrace for the server to close its side.
// Threads: single-threaded, like the connection and meter it borrows. Errors: false from
// send/finish/wait_for_input with a sentence in error(); the connection is then unusable.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "client-cli/ingest_connection.h"
#include "client-cli/progress.h"

namespace tickring::cli {

// After the last byte, how long the server gets to send its remaining error replies.
inline constexpr std::chrono::milliseconds kReplyGrace{2000};
// The rate limiter's bucket holds this much time's worth of lines: small enough that any one
// second carries the requested rate, large enough for writes of many lines at high rates.
inline constexpr double kBurstSeconds = 0.05;

class feed_sender {
 public:
  using clock = std::chrono::steady_clock;

  feed_sender(ingest_connection& conn, progress_meter& meter,
              std::optional<double> lines_per_second, std::size_t shown_errors);

  // Waits until `fd` is readable, serving replies meanwhile.
  [[nodiscard]] bool wait_for_input(int fd);
  // Sends n bytes (throttled when a rate was given) and updates the meter.
  [[nodiscard]] bool send(const char* data, std::size_t n);
  // Terminates the last line, shuts the send side and collects the last replies.
  [[nodiscard]] bool finish();

  // When the last byte was handed to the kernel: the rate reported is the sending rate, not
  // counting the wait for the server's last replies.
  clock::time_point sent_at() const { return sent_at_; }
  std::uint64_t bytes() const { return bytes_; }
  std::uint64_t lines() const { return lines_; }
  const reply_collector& replies() const { return replies_; }
  const std::string& error() const { return error_; }

 private:
  class rate_limiter {
   public:
    explicit rate_limiter(double lines_per_second);
    std::uint64_t available();
    void take(std::uint64_t lines) { tokens_ -= static_cast<double>(lines); }
    std::chrono::milliseconds wait() const;

   private:
    double rate_;
    double capacity_;
    double tokens_ = 1;  // not a full bucket: the first second carries the rate too
    clock::time_point at_ = clock::now();
  };

  bool drain(std::chrono::milliseconds wait);

  ingest_connection& conn_;
  progress_meter& meter_;
  reply_collector replies_;
  std::optional<rate_limiter> limiter_;
  std::uint64_t bytes_ = 0;
  std::uint64_t lines_ = 0;
  bool ends_with_newline_ = true;
  clock::time_point sent_at_ = clock::now();
  std::string error_;
};

}  // namespace tickring::cli
