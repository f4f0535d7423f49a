// A client connection to the line-protocol TCP port, and the server's replies on it.
//
// The server answers a bad line with `error line=<n>: <reason>\n` on the same connection, and
// `error: <k> error lines suppressed (rate limit)\n` when it had to drop some of those answers.
// The client must read them without ever letting that block its sending: writes are blocking
// (simple, and the kernel keeps a bulk sender busy), and replies are read between writes with
// read_replies(), which waits at most the time it is given.
//
// Threads: one ingest_connection and one reply_collector per thread; abort() is the exception
// and may be called from any thread to unblock a write stuck on a server that stopped reading.
// Errors: std::error_code from every I/O call; no exceptions. Asio stays inside the .cc so that
// only one translation unit pays for it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

namespace tickring::cli {

// An unreachable host must not hang the command for the kernel's two minutes.
inline constexpr std::chrono::seconds kConnectTimeout{5};
// A reply longer than this is kept truncated: the server's reasons are one short sentence.
inline constexpr std::size_t kMaxReplyLineBytes = 4096;
// How the server starts the one line it sends before closing a connection without a valid
// `auth <token>` first line (docs/auth.md).
inline constexpr std::string_view kAuthRefusalPrefix = "error: authentication";

// Splits the server's replies into lines, counts them and hands each one to `show` until
// `max_shown` have been shown (the rest are only counted).
class reply_collector {
 public:
  using show_fn = std::function<void(std::string_view line)>;
  reply_collector(std::size_t max_shown, show_fn show);

  void consume(std::string_view bytes);
  // Takes a final unterminated line as a line (the server closed mid-line).
  void finish();

  // `error line=...` replies: lines the server rejected and told us about.
  std::uint64_t error_lines() const { return error_lines_; }
  // Rejected lines the server did not describe (its per-connection rate limit).
  std::uint64_t suppressed() const { return suppressed_; }
  // Replies neither of the above (should not happen; shown like errors).
  std::uint64_t other_lines() const { return other_lines_; }
  std::uint64_t shown() const { return shown_; }
  // The server's `error: authentication ...` line when it refused the connection (a missing
  // or wrong token: nothing sent on it was stored), else "".
  const std::string& refusal() const { return refusal_; }
  std::uint64_t not_shown() const { return not_shown_; }

 private:
  void on_line(std::string_view line);

  std::size_t max_shown_;
  show_fn show_;
  std::string partial_;
  std::size_t shown_ = 0;
  std::uint64_t error_lines_ = 0;
  std::uint64_t suppressed_ = 0;
  std::uint64_t other_lines_ = 0;
  std::uint64_t not_shown_ = 0;
  std::string refusal_;
};

class ingest_connection {
 public:
  ingest_connection();
  ingest_connection(const ingest_connection&) = delete;
  ingest_connection& operator=(const ingest_connection&) = delete;
  ~ingest_connection();

  // Resolves `host` and connects, trying each address, within kConnectTimeout; then sends
  // `auth <token>` as the first line when `token` is not empty (docs/auth.md).
  [[nodiscard]] std::error_code connect(const std::string& host, std::uint16_t port,
                                        std::string_view token = {});
  // Writes every byte of `data`; blocks while the server's receive window is full.
  [[nodiscard]] std::error_code write_all(std::string_view data);
  // Reads what the server has sent, waiting up to `wait` for the first byte (zero: only what
  // has already arrived), into `replies`. The server closing its side is not an error: it
  // sets closed_by_server(), and later calls return at once.
  [[nodiscard]] std::error_code read_replies(std::chrono::milliseconds wait,
                                             reply_collector& replies);
  bool closed_by_server() const { return closed_by_server_; }
  // TCP_NODELAY: each write leaves at once instead of waiting for the server's ACK of the
  // previous one (up to the receiver's 40 ms delayed ACK). For a live feed of small batches;
  // a bulk sender's large writes do not need it. REQUIRES: connected.
  void set_no_delay();
  // Sends FIN: the server applies what it has, answers, and closes its side.
  void shutdown_send();
  // Any thread: shuts both directions down so that a blocked write_all() returns an error.
  void abort();
  // For poll() alongside other descriptors (the feed's input).
  int native_handle() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  bool closed_by_server_ = false;
};

}  // namespace tickring::cli
