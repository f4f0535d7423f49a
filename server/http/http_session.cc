#include "server/http/http_session.h"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <charconv>
#include <optional>

#include "server/http/answer_buffer.h"
#include "server/stream/ws_session.h"

namespace tickring::server {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
// Time to write a response to a slow reader before the connection is dropped.
constexpr std::chrono::seconds kWriteTimeout{30};
// Lingering close (as nginx does): after the last answer the session reads and discards what
// the client still sends, for at most this long, before it closes. Closing with unread bytes
// makes the kernel send RST, and the client then loses the answer it has not read yet (a 413
// to a client still sending its body is the usual case).
constexpr std::chrono::seconds kLingerTime{2};
constexpr std::size_t kLingerChunk = 4096;
constexpr const char* kServerName = "tickring/0.1";
constexpr std::string_view kStreamPath = "/v1/stream";
// During shutdown, how long a connection that has not sent its first request may take to send
// it: its client connected before the stop and is sending now; well within kShutdownGrace.
constexpr std::chrono::seconds kStopReadTimeout{1};
// The status line and headers of one answer (grows for long header values).
constexpr std::size_t kHeadReserve = 256;

using std::chrono::steady_clock;

// The status line and headers of an answer, laid out as Beast serialises a response whose
// fields were set in this order (Server, Content-Type, the reply's own headers, Connection,
// Content-Length), so that the bytes on the wire do not depend on which writes them.
void write_head(std::string& out, const http_reply& reply, std::size_t content_length,
                bool keep_alive) {
  char digits[24];
  out.clear();
  out += "HTTP/1.1 ";
  out.append(digits, std::to_chars(digits, digits + sizeof(digits), reply.status).ptr);
  out.push_back(' ');
  const auto reason = http::obsolete_reason(static_cast<http::status>(reply.status));
  out.append(reason.data(), reason.size());
  out += "\r\nServer: ";
  out += kServerName;
  out += "\r\nContent-Type: ";
  out += reply.content_type;
  out += "\r\n";
  for (const auto& [k, v] : reply.headers) {
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  if (!keep_alive) out += "Connection: close\r\n";
  out += "Content-Length: ";
  out.append(digits, std::to_chars(digits, digits + sizeof(digits), content_length).ptr);
  out += "\r\n\r\n";
}

http_method method_of(http::verb v) {
  switch (v) {
    case http::verb::get:
      return http_method::get;
    case http::verb::head:
      return http_method::head;
    case http::verb::post:
      return http_method::post;
    case http::verb::put:
      return http_method::put;
    case http::verb::delete_:
      return http_method::del;
    default:
      return http_method::other;
  }
}

// Keeps one connection counted while a session (HTTP, then maybe WebSocket) holds it.
struct connection_slot {
  explicit connection_slot(std::atomic<std::size_t>& c) : count(c) {
    count.fetch_add(1, std::memory_order_relaxed);
  }
  ~connection_slot() { count.fetch_sub(1, std::memory_order_relaxed); }
  connection_slot(const connection_slot&) = delete;
  connection_slot& operator=(const connection_slot&) = delete;
  std::atomic<std::size_t>& count;
};

class http_session final : public http_session_base,
                           public std::enable_shared_from_this<http_session> {
 public:
  http_session(tcp::socket&& socket, std::shared_ptr<http_shared> shared)
      : socket_(std::move(socket)),
        deadline_timer_(socket_.get_executor()),
        stop_timer_(socket_.get_executor()),
        server_(std::move(shared)),
        slot_(std::make_shared<connection_slot>(server_->open)) {
    wire_head_.reserve(kHeadReserve);
  }

  void run() {
    // Synchronous writes (send()) must return would_block rather than wait.
    beast::error_code ec;
    socket_.non_blocking(true, ec);
    asio::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->do_read(); });
  }
  // Shutdown (http_session.h): answer what arrived, give a connection yet to send its first
  // request kStopReadTimeout, close any other waiting connection now.
  void close_when_idle() override {
    asio::dispatch(socket_.get_executor(), [self = shared_from_this()] {
      if (!self->idle_) return;  // inside a request: send() answers without keep-alive
      beast::error_code ec;
      if (self->socket_.available(ec) != 0 || self->buffer_.size() != 0) return;
      if (self->served_) return self->close_now();
      self->stop_timer_.expires_after(kStopReadTimeout);
      self->stop_timer_.async_wait([self](const boost::system::error_code& e) {
        if (!e && self->idle_) self->close_now();
      });
    });
  }

 private:
  // Timeouts without a timer syscall per request: each operation only moves deadline_, and
  // one timer per connection, armed for the earliest deadline it has seen, checks it when it
  // fires (re-arming for a deadline moved later). A keep-alive connection answering requests
  // back to back therefore sets the timer about once per timeout period instead of twice a
  // request (Beast's tcp_stream re-arms on every operation: a timerfd_settime each). When a
  // deadline passes the socket is closed, and the pending operation completes with an error.
  void expires_after(steady_clock::duration d) {
    deadline_ = steady_clock::now() + d;
    if (timer_at_ <= deadline_) return;  // the armed timer fires first and re-checks
    timer_at_ = deadline_;
    deadline_timer_.expires_at(deadline_);  // cancels a later wait, whose handler then ignores it
    deadline_timer_.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
      if (ec) return;  // replaced by an earlier deadline, or the session is closing
      if (auto self = w.lock()) self->on_deadline();
    });
  }
  void expires_never() { deadline_ = steady_clock::time_point::max(); }
  void on_deadline() {
    timer_at_ = steady_clock::time_point::max();
    if (deadline_ == steady_clock::time_point::max()) return;
    if (steady_clock::now() >= deadline_) {
      deadline_ = steady_clock::time_point::max();
      beast::error_code ec;
      socket_.close(ec);  // the pending read or write completes with operation_aborted
      return;
    }
    expires_after(deadline_ - steady_clock::now());
  }
  void close_socket() {
    deadline_ = steady_clock::time_point::max();
    deadline_timer_.cancel();
    beast::error_code ec;
    socket_.close(ec);
  }

  void close_now() {
    stop_timer_.cancel();
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    close_socket();
  }

  void do_read() {
    const bool stopping = server_->stopping.load(std::memory_order_relaxed);
    if (stopping && served_) return do_close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->config.max_header_bytes));
    parser_->body_limit(server_->config.max_body_bytes);
    idle_ = true;
    expires_after(stopping ? std::min<steady_clock::duration>(server_->config.header_timeout,
                                                              kStopReadTimeout)
                           : steady_clock::duration(server_->config.header_timeout));
    http::async_read_header(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    idle_ = false;
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
      return do_close();
    }
    if (ec == http::error::body_limit) {
      // Beast checks Content-Length against the limit while parsing the header.
      return send(error_reply(413, "request body exceeds the limit of " +
                                       std::to_string(server_->config.max_body_bytes) + " bytes"),
                  false);
    }
    if (ec == http::error::header_limit) {
      return send(error_reply(400, "request header too large"), false);
    }
    if (ec) return send(error_reply(400, "malformed HTTP request: " + ec.message()), false);
    const auto length = parser_->content_length();
    if (length && *length > server_->config.max_body_bytes) {
      return send(error_reply(413, "request body of " + std::to_string(*length) +
                                       " bytes exceeds the limit of " +
                                       std::to_string(server_->config.max_body_bytes)),
                  false);
    }
    if (parser_->is_done()) return on_body({});
    expires_after(server_->config.body_timeout);
    http::async_read(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_body(e); });
  }

  void on_body(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return send(error_reply(413, "request body exceeds the limit"), false);
    }
    if (ec) return do_close();
    expires_never();
    if (beast::websocket::is_upgrade(parser_->get()) && server_->streams != nullptr &&
        parser_->get().target().substr(0, parser_->get().target().find('?')) == kStreamPath) {
      // The upgrade is a read: with --auth-reads it needs a token like any other.
      if (auto denied =
              server_->routes.refuse_unauthorized(http_method::get, parser_->get().target(),
                                                  parser_->get()[http::field::authorization])) {
        route_ = route_id::stream;
        head_ = false;
        return send(std::move(*denied), false);
      }
      // The WebSocket session takes the socket and the request; this session ends here.
      deadline_timer_.cancel();
      beast::error_code blocking;
      socket_.non_blocking(false, blocking);  // as the WebSocket session was given it before
      stream::start_ws_session(std::move(socket_), parser_->release(), *server_->streams, slot_);
      return;
    }
    const auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    head_ = req.method() == http::verb::head;
    if (server_->response_bytes.load(std::memory_order_relaxed) >
        server_->config.max_response_bytes) {
      http_reply busy = error_reply(503,
                                    "answers waiting for slow readers fill "
                                    "--max-response-bytes; try again shortly");
      busy.headers.emplace_back("Retry-After", "1");
      return send(std::move(busy), keep_alive_);
    }
    const http_request_view view{method_of(req.method()),
                                 req.target(),
                                 req.body(),
                                 req[http::field::content_type],
                                 req[http::field::content_encoding],
                                 req[http::field::authorization],
                                 &parser_->get().body()};
    auto self = shared_from_this();
    started_ = std::chrono::steady_clock::now();
    // A handler may answer before handle() returns (the common, synchronous case): hold
    // that reply until the route is known, so that metrics name it.
    in_handler_ = true;
    awaiting_reply_ = true;
    auto answer = [self, id = ++request_id_](http_reply reply) {
      asio::dispatch(self->socket_.get_executor(), [self, id, reply = std::move(reply)]() mutable {
        // One reply per request: a second one (a handler that answered, then threw) is
        // dropped, also when it arrives while a later request of this connection waits.
        if (!self->awaiting_reply_ || id != self->request_id_) return;
        self->awaiting_reply_ = false;
        if (self->in_handler_) {
          self->held_ = std::move(reply);
        } else {
          self->send(std::move(reply), self->keep_alive_);
        }
      });
    };
    // A handler that throws (bad_alloc on a huge answer, a bug) costs its request a 500, never
    // the worker thread or the process.
    try {
      route_ = server_->routes.handle(view, answer);
    } catch (const std::exception& e) {
      spdlog::error("HTTP {} failed: {}", std::string_view(req.target()).substr(0, 200), e.what());
      answer(error_reply(500, "internal error while answering this request"));
    } catch (...) {
      spdlog::error("HTTP {} failed: unknown exception",
                    std::string_view(req.target()).substr(0, 200));
      answer(error_reply(500, "internal error while answering this request"));
    }
    in_handler_ = false;
    if (held_) {
      http_reply reply = std::move(*held_);
      held_.reset();
      send(std::move(reply), keep_alive_);
    }
  }

  // One gather write of the head and the body: a single sendmsg for an answer that fits the
  // socket buffer. The body is the handler's string, kept until written and then given back
  // to this thread's spare (answer_buffer.h), so busy connections stop allocating answers.
  void send(http_reply reply, bool keep_alive) {
    served_ = true;
    if (server_->stopping.load(std::memory_order_relaxed)) keep_alive = false;
    server_->routes.metrics().record(
        route_, reply.status,
        std::chrono::duration<double>(steady_clock::now() - started_).count());
    route_ = route_id::not_found;
    started_ = steady_clock::now();
    write_head(wire_head_, reply, reply.body.size(), keep_alive);
    body_ = std::move(reply.body);
    // Counted until written (or failed): see http_shared::response_bytes.
    const std::size_t held = head_ ? 0 : body_.size();
    server_->response_bytes.fetch_add(held, std::memory_order_relaxed);
    std::array<asio::const_buffer, 2> buffers{asio::buffer(wire_head_),
                                              asio::buffer(body_.data(), held)};
    // Most answers fit the socket's send buffer: write them now. Through async_write even an
    // immediate write would complete by a round of the event loop (a queued handler and one
    // more epoll_wait) before the next read could start.
    beast::error_code ec;
    std::size_t written = socket_.write_some(buffers, ec);  // non-blocking (run())
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      ec = {};
      written = 0;
    }
    if (ec || written == wire_head_.size() + held) return on_written(ec, keep_alive, held);
    for (auto& b : buffers) {
      const std::size_t done = std::min(written, b.size());
      b += done;
      written -= done;
    }
    expires_after(kWriteTimeout);
    asio::async_write(
        socket_, buffers,
        [self = shared_from_this(), keep_alive, held](beast::error_code e, std::size_t) {
          self->on_written(e, keep_alive, held);
        });
  }

  void on_written(beast::error_code ec, bool keep_alive, std::size_t held) {
    server_->response_bytes.fetch_sub(held, std::memory_order_relaxed);
    recycle_body();
    if (ec || !keep_alive) return do_close();
    do_read();
  }

  void recycle_body() {
    give_back_answer_buffer(std::move(body_));
    body_ = std::string();
  }

  void do_close() {
    stop_timer_.cancel();
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close_socket();
    buffer_.clear();
    expires_after(kLingerTime);
    linger();
  }

  void linger() {
    socket_.async_read_some(buffer_.prepare(kLingerChunk),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->close_socket();  // EOF, timeout, reset
                              self->linger();
                            });
  }

  tcp::socket socket_;
  asio::steady_timer deadline_timer_;                                    // see expires_after()
  steady_clock::time_point deadline_ = steady_clock::time_point::max();  // of the pending operation
  steady_clock::time_point timer_at_ =
      steady_clock::time_point::max();  // when the armed timer fires
  asio::steady_timer stop_timer_;       // shutdown: the last chance of a connection yet to send
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http_shared> server_;
  std::shared_ptr<connection_slot> slot_;
  bool keep_alive_ = false;
  route_id route_ = route_id::not_found;
  bool in_handler_ = false;
  bool awaiting_reply_ = false;   // a request was handed to the router and is not answered yet
  std::uint64_t request_id_ = 0;  // of the request awaiting its reply
  std::optional<http_reply> held_;
  std::string wire_head_;  // status line and headers of the answer being written
  std::string body_;       // body of the answer being written
  steady_clock::time_point started_ = steady_clock::now();
  bool head_ = false;
  bool idle_ = true;
  bool served_ = false;  // an answer was sent on this connection
};

}  // namespace

std::shared_ptr<http_session_base> start_http_session(tcp::socket&& socket,
                                                      std::shared_ptr<http_shared> shared) {
  auto s = std::make_shared<http_session>(std::move(socket), std::move(shared));
  s->run();
  return s;
}

}  // namespace tickring::server
