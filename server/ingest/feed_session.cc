#include "server/ingest/feed_session.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/write.hpp>
#include <cstring>

namespace tickring::server {
namespace asio = boost::asio;

feed_session::feed_session(asio::ip::tcp::socket socket, line_applier& applier,
                           ingest_counters& counters, std::chrono::nanoseconds idle_timeout)
    : socket_(std::move(socket)),
      idle_timer_(socket_.get_executor()),
      idle_timeout_(idle_timeout),
      applier_(applier),
      counters_(counters),
      lines_(protocol::kMaxLineBytes, kFeedReadChunk) {
  bump(counters_.feed_connections_open);
  bump(counters_.feed_connections_total);
}

feed_session::~feed_session() {
  counters_.feed_connections_open.store(
      counters_.feed_connections_open.load(std::memory_order_relaxed) - 1,
      std::memory_order_relaxed);
}

void feed_session::start() {
  arm_idle_timer(idle_timeout_);
  do_read();
}

void feed_session::arm_idle_timer(std::chrono::steady_clock::duration after) {
  idle_timer_.expires_after(after);
  idle_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->closed_) return;
    const auto idle = std::chrono::steady_clock::now() - self->last_read_;
    if (idle < self->idle_timeout_) return self->arm_idle_timer(self->idle_timeout_ - idle);
    spdlog::info("feed connection idle for {} s: closed (--feed-idle-timeout)",
                 std::chrono::duration_cast<std::chrono::seconds>(idle).count());
    // The pending read completes with operation_aborted and finishes the session.
    boost::system::error_code ignored;
    self->socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    self->socket_.close(ignored);
  });
}

void feed_session::do_read() {
  if (closed_) return;
  const auto room = lines_.space();
  socket_.async_read_some(asio::buffer(room.data(), room.size()),
                          [self = shared_from_this()](const boost::system::error_code& ec,
                                                      std::size_t n) { self->on_read(ec, n); });
}

void feed_session::on_read(const boost::system::error_code& ec, std::size_t n) {
  last_read_ = std::chrono::steady_clock::now();
  bump(counters_.bytes_received, n);
  process(n, static_cast<bool>(ec));
  if (ec) {
    if (ec != asio::error::eof && ec != asio::error::operation_aborted) {
      spdlog::debug("feed connection closed: {}", ec.message());
    }
    closed_ = true;
    idle_timer_.cancel();
    finish();
    return;
  }
  do_read();
}

void feed_session::finish() {
  // The client closed its sending side: answer what is still owed (including how many error
  // lines the rate limit swallowed), then close.
  if (suppressed_ != 0) {
    pending_ += fmt::format("error: {} error lines suppressed (rate limit)\n", suppressed_);
    suppressed_ = 0;
  }
  if (writing_ || !pending_.empty()) {
    closing_ = true;
    flush();
    return;
  }
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  socket_.close(ignored);
}

void feed_session::process(std::size_t n, bool at_eof) {
  const auto now = wall_clock_ns();
  lines_.commit(
      n, at_eof,
      [&](std::string_view line) {
        ++line_number_;
        if (!applier_.apply(line, line_number_, now, reason_)) reject(line_number_, reason_);
      },
      [&] {
        ++line_number_;
        applier_.count_rejected(reject_reason::line_too_long);
        reject(line_number_, fmt::format("line longer than {} bytes; skipped to the next newline",
                                         protocol::kMaxLineBytes));
      });
}

void feed_session::reject(std::size_t line_number, std::string_view reason) {
  static std::chrono::steady_clock::time_point last_log;
  static std::uint64_t unlogged = 0;
  const auto now = std::chrono::steady_clock::now();
  // Server log: at most one bad-line message per second for all connections.
  if (now - last_log >= std::chrono::seconds(1)) {
    spdlog::warn("rejected feed line {}: {}{}", line_number, reason,
                 unlogged ? fmt::format(" ({} more since the last report)", unlogged) : "");
    last_log = now;
    unlogged = 0;
  } else {
    ++unlogged;
  }
  const double elapsed = std::chrono::duration<double>(now - refill_at_).count();
  refill_at_ = now;
  tokens_ = std::min<double>(kErrorLinesPerSecond, tokens_ + elapsed * kErrorLinesPerSecond);
  if (tokens_ < 1 || pending_.size() > kMaxPendingErrorBytes) {
    ++suppressed_;
    bump(counters_.error_lines_suppressed);
    return;
  }
  tokens_ -= 1;
  if (suppressed_ != 0) {
    pending_ += fmt::format("error: {} error lines suppressed (rate limit)\n", suppressed_);
    suppressed_ = 0;
  }
  fmt::format_to(std::back_inserter(pending_), "error line={}: {}\n", line_number, reason);
  bump(counters_.error_lines_sent);
  flush();
}

void feed_session::flush() {
  if (writing_ || pending_.empty() || !socket_.is_open()) return;
  writing_ = true;
  in_flight_.swap(pending_);
  pending_.clear();
  asio::async_write(socket_, asio::buffer(in_flight_),
                    [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                      self->writing_ = false;
                      self->in_flight_.clear();
                      if (!ec && !self->pending_.empty()) return self->flush();
                      if (self->closing_ || ec) {
                        boost::system::error_code ignored;
                        self->socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
                        self->socket_.close(ignored);
                      }
                    });
}

void feed_session::drain_and_close() {
  if (closed_) return;
  // Only what the kernel holds now: a client that keeps sending must not keep shutdown going.
  boost::system::error_code ec;
  std::size_t owed = socket_.available(ec);
  socket_.non_blocking(true, ec);
  while (owed != 0 && !ec) {
    const auto room = lines_.space();
    const std::size_t n =
        socket_.read_some(asio::buffer(room.data(), std::min(room.size(), owed)), ec);
    owed -= std::min(owed, n);
    bump(counters_.bytes_received, n);
    process(n, false);
  }
  process(0, true);
  closed_ = true;
  idle_timer_.cancel();
  socket_.close(ec);
}

}  // namespace tickring::server
