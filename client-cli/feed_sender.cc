#include "client-cli/feed_sender.h"

#include <fmt/format.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <thread>

namespace tickring::cli {
namespace {

std::size_t count_newlines(const char* p, std::size_t n) {
  std::size_t count = 0;
  const char* end = p + n;
  while ((p = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p))))) {
    ++count;
    ++p;
  }
  return count;
}

// The length of the prefix of [p, p+n) that holds at most `lines` complete lines (and, when
// fewer newlines are there, the whole range: a trailing partial line costs nothing yet).
std::size_t prefix_with_lines(const char* p, std::size_t n, std::uint64_t lines) {
  const char* at = p;
  const char* end = p + n;
  for (std::uint64_t i = 0; i < lines; ++i) {
    at = static_cast<const char*>(std::memchr(at, '\n', static_cast<std::size_t>(end - at)));
    if (at == nullptr) return n;
    ++at;
  }
  return static_cast<std::size_t>(at - p);
}

}  // namespace

feed_sender::rate_limiter::rate_limiter(double lines_per_second)
    : rate_(lines_per_second), capacity_(std::max(1.0, lines_per_second * kBurstSeconds)) {}

std::uint64_t feed_sender::rate_limiter::available() {
  const auto now = clock::now();
  tokens_ = std::min(capacity_, tokens_ + std::chrono::duration<double>(now - at_).count() * rate_);
  at_ = now;
  return static_cast<std::uint64_t>(tokens_);
}

std::chrono::milliseconds feed_sender::rate_limiter::wait() const {
  const double seconds = std::max(0.0, (1.0 - tokens_) / rate_);
  return std::chrono::milliseconds(static_cast<long>(std::ceil(seconds * 1e3)));
}

feed_sender::feed_sender(ingest_connection& conn, progress_meter& meter,
                         std::optional<double> lines_per_second, std::size_t shown_errors)
    : conn_(conn), meter_(meter), replies_(shown_errors, [this](std::string_view line) {
        meter_.print_above(fmt::format("server: {}\n", line));
      }) {
  if (lines_per_second) limiter_.emplace(*lines_per_second);
}

bool feed_sender::wait_for_input(int fd) {
  for (;;) {
    pollfd p[2] = {{fd, POLLIN, 0}, {conn_.native_handle(), POLLIN, 0}};
    const nfds_t n = conn_.closed_by_server() ? 1 : 2;
    if (::poll(p, n, -1) < 0) {
      if (errno == EINTR) continue;
      return true;  // let read() report what is wrong with the input
    }
    if (n == 2 && p[1].revents != 0 && !drain(std::chrono::milliseconds(0))) return false;
    if (p[0].revents != 0) return true;
  }
}

bool feed_sender::send(const char* data, std::size_t n) {
  while (n > 0) {
    std::size_t piece = n;
    if (limiter_) {
      const std::uint64_t allowed = limiter_->available();
      if (allowed == 0) {
        if (!drain(limiter_->wait())) return false;
        continue;
      }
      piece = prefix_with_lines(data, n, allowed);
    }
    if (const auto ec = conn_.write_all({data, piece})) {
      error_ =
          conn_.closed_by_server()
              ? fmt::format("the server closed the connection after {} lines", format_count(lines_))
              : fmt::format("sending failed after {} lines: {}", format_count(lines_),
                            ec.message());
      return false;
    }
    const std::size_t lines = count_newlines(data, piece);
    if (limiter_) limiter_->take(lines);
    lines_ += lines;
    bytes_ += piece;
    ends_with_newline_ = data[piece - 1] == '\n';
    data += piece;
    n -= piece;
    meter_.update(bytes_, lines_);
    if (!drain(std::chrono::milliseconds(0))) return false;
  }
  return true;
}

// Reads replies for up to `wait`. False when the connection broke.
bool feed_sender::drain(std::chrono::milliseconds wait) {
  // Nothing more can arrive; keep the pacing of the caller's wait all the same.
  if (conn_.closed_by_server()) std::this_thread::sleep_for(wait);
  if (const auto ec = conn_.read_replies(wait, replies_)) {
    error_ = fmt::format("connection lost after {} lines: {}", format_count(lines_), ec.message());
    return false;
  }
  return true;
}

bool feed_sender::finish() {
  if (bytes_ > 0 && !ends_with_newline_ && !send("\n", 1)) return false;
  sent_at_ = clock::now();
  conn_.shutdown_send();
  const auto deadline = clock::now() + kReplyGrace;
  while (!conn_.closed_by_server()) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) break;
    if (!drain(left)) return false;
  }
  return true;
}

}  // namespace tickring::cli
