#include "server/ingest/feed_session.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

namespace tickring::server {
namespace asio = boost::asio;

namespace {
// A batch takes the lines of one commit of the reassembler: at most its whole buffer.
constexpr std::size_t kBatchTextBytes = protocol::kMaxLineBytes + kFeedReadChunk;
}  // namespace

feed_session::feed_session(asio::ip::tcp::socket socket, asio::io_context& ingest,
                           line_applier& applier, ingest_counters& counters,
                           std::chrono::nanoseconds idle_timeout, const token_auth& auth)
    : socket_(std::move(socket)),
      ingest_(ingest),
      idle_timer_(socket_.get_executor()),
      idle_timeout_(idle_timeout),
      applier_(applier),
      counters_(counters),
      auth_(auth),
      authed_(!auth.enabled()),
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
  arm_idle_timer(authed_ ? idle_timeout_ : std::chrono::nanoseconds(kFeedAuthTimeout));
  do_read();
}

void feed_session::arm_idle_timer(std::chrono::steady_clock::duration after) {
  idle_timer_.expires_after(after);
  idle_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->closed_) return;
    if (self->refused_) {
      const auto left = self->refused_at_ + kRefusedLinger - std::chrono::steady_clock::now();
      if (left > std::chrono::steady_clock::duration::zero()) return self->arm_idle_timer(left);
      boost::system::error_code ignored;
      self->socket_.close(ignored);  // the pending read ends the session
      return;
    }
    if (!self->authed_) {
      self->refuse("authentication required: no 'auth <token>' line within " +
                   std::to_string(kFeedAuthTimeout.count()) + " s");
      return;
    }
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
  if (draining_) {
    process(n, false);
    return finish_drain();
  }
  process(n, static_cast<bool>(ec));
  if (ec) {
    if (ec != asio::error::eof && ec != asio::error::operation_aborted) {
      spdlog::debug("feed connection closed: {}", ec.message());
    }
    closed_ = true;
    idle_timer_.cancel();
    maybe_finish();
    return;
  }
  if (batches_out_ >= kMaxBatchesInFlight) {
    paused_ = true;  // on_applied reads on
    return;
  }
  do_read();
}

void feed_session::dispatch() {
  if (!batch_ || batch_->empty()) return;
  ++batches_out_;
  asio::post(ingest_, [self = shared_from_this(), b = std::move(batch_)]() mutable {
    self->applier_.apply_batch(*b);
    feed_session& s = *self;
    asio::post(s.socket_.get_executor(), [self = std::move(self), b = std::move(b)]() mutable {
      self->on_applied(std::move(b));
    });
  });
}

void feed_session::on_applied(std::unique_ptr<feed_batch> b) {
  --batches_out_;
  for (const auto& r : b->replies)
    reject(r.line_number, r.reason);
  spares_.push_back(std::move(b));
  if (paused_ && !closed_ && !draining_) {
    paused_ = false;
    do_read();
  }
  maybe_finish();
}

// The client closed its side: once every batch is back (its error lines are owed), finish.
void feed_session::maybe_finish() {
  if (closed_ && batches_out_ == 0 && !finished_) {
    finished_ = true;
    finish();
  }
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
  if (!batch_) {
    if (spares_.empty()) {
      batch_ = std::make_unique<feed_batch>();
    } else {
      batch_ = std::move(spares_.back());
      spares_.pop_back();
    }
    batch_->reset(kBatchTextBytes);
  }
  const core::time_ns skew = applier_.max_future_skew();
  lines_.commit(
      n, at_eof,
      [&](std::string_view line) {
        if (refused_) return;
        if (first_line_ && take_first_line(line)) return;
        ++line_number_;
        batch_->add_line(line, line_number_, now, skew, parser_);
      },
      [&] {
        if (refused_) return;
        ++line_number_;
        batch_->add_rejection(line_number_, reject_reason::line_too_long,
                              fmt::format("line longer than {} bytes; skipped to the next newline",
                                          protocol::kMaxLineBytes));
      });
  dispatch();
}

bool feed_session::take_first_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
    line.remove_suffix(1);
  if (line.empty()) return false;  // a keep-alive: still waiting for the first line
  first_line_ = false;
  constexpr std::string_view kAuth = "auth ";
  const bool is_auth = line.starts_with(kAuth);
  std::string_view token = is_auth ? line.substr(kAuth.size()) : std::string_view{};
  while (!token.empty() && token.front() == ' ')
    token.remove_prefix(1);
  if (auth_.enabled()) {
    if (is_auth && auth_.accepts(token)) {
      authed_ = true;
      return true;
    }
    refuse(is_auth ? "authentication failed: invalid token"
                   : "authentication required: the first line must be 'auth <token>'");
    return true;
  }
  // Line protocol needs '=' between a field and its value: `auth <word>` without one (or
  // with only base64 padding at its end) is never a point.
  const auto eq = token.find('=');
  return is_auth && !token.empty() && token.find(' ') == std::string_view::npos &&
         (eq == std::string_view::npos ||
          token.find_first_not_of('=', eq) == std::string_view::npos);
}

void feed_session::refuse(std::string_view why) {
  refused_ = true;
  refused_at_ = std::chrono::steady_clock::now();
  auth_.feed_refused.fetch_add(1, std::memory_order_relaxed);
  spdlog::debug("feed connection refused: {}", why);
  fmt::format_to(std::back_inserter(pending_), "error: {}\n", why);
  half_close_ = true;
  flush();
  arm_idle_timer(kRefusedLinger);
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
                      } else if (self->half_close_) {
                        boost::system::error_code ignored;
                        self->socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
                      }
                    });
}

void feed_session::drain_and_close() {
  if (closed_ || draining_) return;
  draining_ = true;
  if (paused_) return finish_drain();  // no read is pending
  boost::system::error_code ignored;
  socket_.cancel(ignored);  // the pending read completes now, with or without bytes
}

// Shutdown: every batch is handed over (whatever the bound), so the ingest thread applies
// them before it stops (ingest.cc runs this before queueing its own end).
void feed_session::finish_drain() {
  if (closed_) return;
  finished_ = true;
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
