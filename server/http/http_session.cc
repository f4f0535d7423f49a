#include "server/http/http_session.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <optional>

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
      : stream_(std::move(socket)),
        stop_timer_(stream_.get_executor()),
        server_(std::move(shared)),
        slot_(std::make_shared<connection_slot>(server_->open)) {}

  void run() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
  }
  // Shutdown (http_session.h): answer what arrived, give a connection yet to send its first
  // request kStopReadTimeout, close any other waiting connection now.
  void close_when_idle() override {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->idle_) return;  // inside a request: send() answers without keep-alive
      beast::error_code ec;
      if (self->stream_.socket().available(ec) != 0 || self->buffer_.size() != 0) return;
      if (self->served_) return self->close_now();
      self->stop_timer_.expires_after(kStopReadTimeout);
      self->stop_timer_.async_wait([self](const boost::system::error_code& e) {
        if (!e && self->idle_) self->close_now();
      });
    });
  }

 private:
  void close_now() {
    stop_timer_.cancel();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  void do_read() {
    const bool stopping = server_->stopping.load(std::memory_order_relaxed);
    if (stopping && served_) return do_close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->config.max_header_bytes));
    parser_->body_limit(server_->config.max_body_bytes);
    idle_ = true;
    stream_.expires_after(stopping ? std::min<std::chrono::steady_clock::duration>(
                                         server_->config.header_timeout, kStopReadTimeout)
                                   : server_->config.header_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
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
    stream_.expires_after(server_->config.body_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_body(e); });
  }

  void on_body(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return send(error_reply(413, "request body exceeds the limit"), false);
    }
    if (ec) return do_close();
    stream_.expires_never();
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
      stream::start_ws_session(stream_.release_socket(), parser_->release(), *server_->streams,
                               slot_);
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
      asio::dispatch(self->stream_.get_executor(), [self, id, reply = std::move(reply)]() mutable {
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

  void send(http_reply reply, bool keep_alive) {
    served_ = true;
    if (server_->stopping.load(std::memory_order_relaxed)) keep_alive = false;
    server_->routes.metrics().record(
        route_, reply.status,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
    route_ = route_id::not_found;
    started_ = std::chrono::steady_clock::now();
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(reply.status), 11);
    res->set(http::field::server, kServerName);
    res->set(http::field::content_type, reply.content_type);
    for (auto& [k, v] : reply.headers)
      res->insert(k, v);  // insert: a header may come twice (WWW-Authenticate)
    res->keep_alive(keep_alive);
    if (head_) {
      res->content_length(reply.body.size());
    } else {
      res->body() = std::move(reply.body);
      res->prepare_payload();
    }
    // Counted until written (or failed): see http_shared::response_bytes.
    const std::size_t held = res->body().size();
    server_->response_bytes.fetch_add(held, std::memory_order_relaxed);
    stream_.expires_after(kWriteTimeout);
    http::async_write(
        stream_, *res,
        [self = shared_from_this(), res, keep_alive, held](beast::error_code ec, std::size_t) {
          self->server_->response_bytes.fetch_sub(held, std::memory_order_relaxed);
          if (ec || !keep_alive) return self->do_close();
          self->do_read();
        });
  }

  void do_close() {
    stop_timer_.cancel();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return stream_.close();
    buffer_.clear();
    stream_.expires_after(kLingerTime);
    linger();
  }

  void linger() {
    stream_.async_read_some(buffer_.prepare(kLingerChunk),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->stream_.close();  // EOF, timeout, reset
                              self->linger();
                            });
  }

  beast::tcp_stream stream_;
  asio::steady_timer stop_timer_;  // shutdown: the last chance of a connection yet to send
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
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
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
