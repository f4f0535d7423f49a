#include "server/http/listener.h"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <mutex>
#include <string>
#include <vector>

#include "protocol/json_text.h"
#include "server/http/http_session.h"
#include "server/listen.h"

namespace tickring::server {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct http_listener::impl : std::enable_shared_from_this<http_listener::impl> {
  impl(std::vector<asio::io_context*> w, const server_config& c, const router& r,
       stream::stream_context* streams)
      : workers(std::move(w)),
        shared(std::make_shared<http_shared>(c, r, streams)),
        acceptor(asio::make_strand(*workers.front())),
        backoff(acceptor.get_executor()) {}
  // The worker io_context of the next connection, in turn. On the acceptor's strand.
  asio::io_context& next_worker() { return *workers[next++ % workers.size()]; }
  void do_accept();
  // On the acceptor's strand: a session for `socket`, or a short 503 past --max-connections.
  void start_session(tcp::socket socket);

  std::vector<asio::io_context*> workers;
  std::size_t next = 0;
  std::shared_ptr<http_shared> shared;
  tcp::acceptor acceptor;
  asio::steady_timer backoff;  // on the acceptor's strand
  std::mutex sessions_mutex;   // accept and shutdown only, never per request
  std::vector<std::weak_ptr<http_session_base>> sessions;
};

void http_listener::impl::do_accept() {
  acceptor.async_accept(
      asio::make_strand(next_worker()),
      [self = shared_from_this()](boost::system::error_code ec, tcp::socket socket) {
        if (ec) {
          if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
          spdlog::warn("http accept: {}", ec.message());
          if (!is_resource_exhaustion(ec)) return self->do_accept();
          // Out of descriptors: retrying at once would spin (the connection stays in the backlog).
          self->backoff.expires_after(kAcceptBackoff);
          return self->backoff.async_wait([self](const boost::system::error_code& e) {
            if (!e && self->acceptor.is_open()) self->do_accept();
          });
        }
        self->start_session(std::move(socket));
        self->do_accept();
      });
}

void http_listener::impl::start_session(tcp::socket socket) {
  if (shared->open.load(std::memory_order_relaxed) >= shared->config.max_connections) {
    // Over the limit: a short 503 written synchronously (it fits any socket buffer).
    static const std::string busy = [] {
      const std::string body = protocol::json_error(503, "too many connections; try again later");
      return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
             "Connection: close\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body;
    }();
    boost::system::error_code ignored;
    asio::write(socket, asio::buffer(busy), ignored);
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    // Read what the client already sent: closing with unread bytes sends RST, which can
    // destroy the 503 before the client reads it. Only what is there now: a refused
    // connection is not held.
    std::array<char, 4096> sink{};
    socket.non_blocking(true, ignored);
    for (int i = 0; i < 4 && !ignored; ++i) {
      if (socket.read_some(asio::buffer(sink), ignored) == 0) break;
    }
    return;
  }
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  auto session = start_http_session(std::move(socket), shared);
  std::lock_guard lock(sessions_mutex);
  std::erase_if(sessions, [](const auto& w) { return w.expired(); });
  sessions.push_back(session);
}

http_listener::http_listener(std::vector<asio::io_context*> workers, const server_config& config,
                             const router& r, stream::stream_context* streams)
    : impl_(std::make_shared<impl>(std::move(workers), config, r, streams)) {}

http_listener::~http_listener() = default;

void http_listener::start() {
  open_listener(impl_->acceptor, impl_->shared->config.http, "HTTP (--http)");
  impl_->do_accept();
}

void http_listener::stop() {
  impl_->shared->stopping.store(true);
  asio::dispatch(impl_->acceptor.get_executor(), [self = impl_] {
    // Connections the kernel completed before the stop wait in the backlog, and their clients
    // have sent, or are sending, a request: closing the listener over them would reset them.
    // Each gets a session that answers one request (without keep-alive) instead.
    boost::system::error_code ec;
    self->acceptor.non_blocking(true, ec);
    while (!ec && self->acceptor.is_open()) {
      tcp::socket socket(asio::make_strand(self->next_worker()));
      self->acceptor.accept(socket, ec);
      if (!ec) self->start_session(std::move(socket));
    }
    boost::system::error_code ignored;
    self->acceptor.close(ignored);
    self->backoff.cancel();
  });
  std::lock_guard lock(impl_->sessions_mutex);
  for (auto& w : impl_->sessions) {
    if (auto s = w.lock()) s->close_when_idle();
  }
}

std::uint16_t http_listener::port() const {
  boost::system::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

std::size_t http_listener::open_connections() const {
  return impl_->shared->open.load(std::memory_order_relaxed);
}

}  // namespace tickring::server
