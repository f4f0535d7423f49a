#include "server/http/http_server.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <optional>
#include <vector>

namespace tickring::server {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
// How long a body may take to arrive once its header is in.
constexpr std::chrono::seconds kBodyTimeout{30};
// Time to write a response to a slow reader before the connection is dropped.
constexpr std::chrono::seconds kWriteTimeout{30};
constexpr const char* kServerName = "tickring/0.1";

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
}  // namespace

class http_session;

struct http_server::impl : std::enable_shared_from_this<http_server::impl> {
  impl(asio::io_context& i, const server_config& c, const router& r)
      : ioc(i), config(c), routes(r), acceptor(asio::make_strand(i)) {}
  void do_accept();

  asio::io_context& ioc;
  const server_config& config;
  const router& routes;
  tcp::acceptor acceptor;
  std::atomic<std::size_t> open{0};
  std::atomic<bool> stopping{false};
  std::mutex sessions_mutex;  // accept and shutdown only, never per request
  std::vector<std::weak_ptr<http_session>> sessions;
};

class http_session : public std::enable_shared_from_this<http_session> {
 public:
  http_session(tcp::socket&& socket, std::shared_ptr<http_server::impl> server)
      : stream_(std::move(socket)), server_(std::move(server)) {
    server_->open.fetch_add(1, std::memory_order_relaxed);
  }
  ~http_session() { server_->open.fetch_sub(1, std::memory_order_relaxed); }

  void run() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
  }
  // Shutdown: close now if waiting for a request; otherwise close after the current reply.
  void close_when_idle() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->idle_) {
        beast::error_code ec;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        self->stream_.close();
      }
    });
  }

 private:
  void do_read() {
    if (server_->stopping.load(std::memory_order_relaxed)) return do_close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->config.max_header_bytes));
    parser_->body_limit(server_->config.max_body_bytes);
    idle_ = true;
    stream_.expires_after(server_->config.header_timeout);
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
    stream_.expires_after(kBodyTimeout);
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
    const auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    head_ = req.method() == http::verb::head;
    const http_request_view view{method_of(req.method()), req.target(), req.body(),
                                 req[http::field::content_type]};
    auto self = shared_from_this();
    started_ = std::chrono::steady_clock::now();
    // A handler may answer before handle() returns (the common, synchronous case): hold
    // that reply until the route is known, so that metrics name it.
    in_handler_ = true;
    route_ = server_->routes.handle(view, [self](http_reply reply) {
      asio::dispatch(self->stream_.get_executor(), [self, reply = std::move(reply)]() mutable {
        if (self->in_handler_) {
          self->held_ = std::move(reply);
        } else {
          self->send(std::move(reply), self->keep_alive_);
        }
      });
    });
    in_handler_ = false;
    if (held_) {
      http_reply reply = std::move(*held_);
      held_.reset();
      send(std::move(reply), keep_alive_);
    }
  }

  void send(http_reply reply, bool keep_alive) {
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
      res->set(k, v);
    res->keep_alive(keep_alive);
    if (head_) {
      res->content_length(reply.body.size());
    } else {
      res->body() = std::move(reply.body);
      res->prepare_payload();
    }
    stream_.expires_after(kWriteTimeout);
    http::async_write(
        stream_, *res,
        [self = shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
          if (ec || !keep_alive) return self->do_close();
          self->do_read();
        });
  }

  void do_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http_server::impl> server_;
  bool keep_alive_ = false;
  route_id route_ = route_id::not_found;
  bool in_handler_ = false;
  std::optional<http_reply> held_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  bool head_ = false;
  bool idle_ = true;
};

void http_server::impl::do_accept() {
  acceptor.async_accept(asio::make_strand(ioc), [self = shared_from_this()](beast::error_code ec,
                                                                            tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
      spdlog::warn("http accept: {}", ec.message());
      return self->do_accept();
    }
    if (self->open.load(std::memory_order_relaxed) >= self->config.max_connections) {
      // Over the limit: a short 503 written synchronously (it fits any socket buffer).
      static constexpr std::string_view kBusy =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
          "Connection: close\r\nContent-Length: 76\r\n\r\n"
          "{\"error\":{\"code\":503,\"message\":\"too many connections; try again later\"}}";
      beast::error_code ignored;
      asio::write(socket, asio::buffer(kBusy), ignored);
      socket.shutdown(tcp::socket::shutdown_both, ignored);
      return self->do_accept();
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto session = std::make_shared<http_session>(std::move(socket), self);
    {
      std::lock_guard lock(self->sessions_mutex);
      std::erase_if(self->sessions, [](const auto& w) { return w.expired(); });
      self->sessions.push_back(session);
    }
    session->run();
    self->do_accept();
  });
}

http_server::http_server(asio::io_context& ioc, const server_config& config, const router& r)
    : impl_(std::make_shared<impl>(ioc, config, r)) {}

http_server::~http_server() = default;

void http_server::start() {
  const tcp::endpoint ep(asio::ip::make_address(impl_->config.http.host), impl_->config.http.port);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  impl_->do_accept();
}

void http_server::stop() {
  impl_->stopping.store(true);
  asio::dispatch(impl_->acceptor.get_executor(), [self = impl_] {
    beast::error_code ignored;
    self->acceptor.close(ignored);
  });
  std::lock_guard lock(impl_->sessions_mutex);
  for (auto& w : impl_->sessions) {
    if (auto s = w.lock()) s->close_when_idle();
  }
}

std::uint16_t http_server::port() const {
  beast::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

std::size_t http_server::open_connections() const {
  return impl_->open.load(std::memory_order_relaxed);
}

}  // namespace tickring::server
