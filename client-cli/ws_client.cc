// The CLI's only Beast WebSocket translation unit. The session follows Beast's client examples:
// resolve -> connect -> upgrade -> a read always pending; one write (or the close) in flight
// with a queue behind it; every step on the connection's strand.
#include "client-cli/ws_client.h"

#include <fmt/format.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <deque>

namespace tickring::cli {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::string_view kUserAgent = "tickring-cli/" TICKRING_VERSION;

class session final : public ws_client, public std::enable_shared_from_this<session> {
 public:
  session(asio::io_context& ioc, ws_handlers handlers)
      : strand_(asio::make_strand(ioc)),
        resolver_(strand_),
        ws_(strand_),
        handlers_(std::move(handlers)) {}

  void connect(std::string host, std::uint16_t port, std::string target,
               std::string token) override {
    asio::post(strand_, [self = shared_from_this(), host = std::move(host), port,
                         target = std::move(target), token = std::move(token)]() mutable {
      if (!token.empty()) self->authorization_ = "Bearer " + token;
      self->started_ = true;
      if (self->closing_) return self->finish(asio::error::operation_aborted);
      self->host_header_ = fmt::format("{}:{}", host, port);
      self->target_ = std::move(target);
      self->resolver_.async_resolve(
          host, std::to_string(port),
          [self](const error_code& ec, const tcp::resolver::results_type& endpoints) {
            self->on_resolve(ec, endpoints);
          });
    });
  }

  void send(std::string text) override {
    asio::post(strand_, [self = shared_from_this(), text = std::move(text)]() mutable {
      if (self->finished_ || self->close_sent_) return;
      self->queue_.push_back(std::move(text));
      if (self->open_ && !self->writing_) self->do_write();
    });
  }

  void close() override {
    asio::post(strand_, [self = shared_from_this()] {
      if (self->finished_ || self->closing_) return;
      self->closing_ = true;
      if (!self->started_) return;  // connect() will see closing_
      if (!self->open_) {
        // Still resolving, connecting or upgrading: abandon it; the pending handler ends it.
        self->resolver_.cancel();
        error_code ignored;
        beast::get_lowest_layer(self->ws_).socket().close(ignored);
        return;
      }
      if (!self->writing_) self->do_close();
    });
  }

 private:
  void on_resolve(const error_code& ec, const tcp::resolver::results_type& endpoints) {
    if (ec) return finish(ec);
    if (closing_) return finish(asio::error::operation_aborted);
    beast::get_lowest_layer(ws_).expires_after(kWsConnectTimeout);
    beast::get_lowest_layer(ws_).async_connect(
        endpoints, [self = shared_from_this()](const error_code& e, const tcp::endpoint&) {
          self->on_connect(e);
        });
  }

  void on_connect(const error_code& ec) {
    if (ec) return finish(ec);
    if (closing_) return finish(asio::error::operation_aborted);
    // The WebSocket stream has its own timeouts (below); the TCP one must be off.
    beast::get_lowest_layer(ws_).expires_never();
    error_code ignored;
    // Small messages both ways: Nagle plus delayed ACK would add 40 ms to a subscribe.
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ignored);
    websocket::stream_base::timeout t{};
    t.handshake_timeout = kWsHandshakeTimeout;
    t.idle_timeout = kWsIdleTimeout;
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.set_option(websocket::stream_base::decorator(
        [authorization = authorization_](websocket::request_type& req) {
          req.set(beast::http::field::user_agent, kUserAgent);
          if (!authorization.empty()) req.set(beast::http::field::authorization, authorization);
        }));
    ws_.read_message_max(kWsMaxMessageBytes);
    ws_.text(true);
    ws_.async_handshake(
        upgrade_response_, host_header_, target_,
        [self = shared_from_this()](const error_code& e) { self->on_handshake(e); });
  }

  void on_handshake(const error_code& ec) {
    if (ec) return finish(ec);
    open_ = true;
    if (handlers_.on_open) handlers_.on_open();
    if (finished_) return;
    do_read();
    if (!queue_.empty() && !writing_) {
      do_write();
    } else if (closing_ && !writing_) {
      do_close();
    }
  }

  void do_read() {
    ws_.async_read(buffer_, [self = shared_from_this()](const error_code& ec, std::size_t) {
      self->on_read(ec);
    });
  }

  void on_read(const error_code& ec) {
    if (finished_) return;
    if (ec) return finish(ec);
    const auto data = buffer_.cdata();
    if (handlers_.on_message) {
      handlers_.on_message(std::string_view(static_cast<const char*>(data.data()), data.size()));
    }
    buffer_.consume(buffer_.size());
    if (!finished_) do_read();
  }

  void do_write() {
    writing_ = true;
    ws_.async_write(
        asio::buffer(queue_.front()),
        [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(const error_code& ec) {
    writing_ = false;
    if (finished_) return;
    if (ec) return finish(ec);
    queue_.pop_front();
    if (!queue_.empty()) {
      do_write();
    } else if (closing_) {
      do_close();
    }
  }

  void do_close() {
    if (close_sent_) return;
    close_sent_ = true;
    writing_ = true;  // the close frame is a write: nothing else may start meanwhile
    // The pending read completes with websocket::error::closed once the server answers.
    ws_.async_close(websocket::close_code::normal,
                    [self = shared_from_this()](const error_code& e) {
                      if (e) self->finish(e);
                    });
  }

  std::string describe(const error_code& ec) const {
    if (ec == websocket::error::closed) {
      const auto& r = ws_.reason();
      return r.reason.empty() ? fmt::format("closed by the server ({})", r.code)
                              : fmt::format("closed by the server ({} {})", r.code,
                                            std::string_view(r.reason.data(), r.reason.size()));
    }
    if (ec == asio::error::eof || ec == asio::error::connection_reset) {
      return fmt::format("the connection was closed without a WebSocket close ({})", ec.message());
    }
    if (ec == websocket::error::upgrade_declined) {
      return fmt::format("the server refused the WebSocket upgrade to {}: HTTP {} {}", target_,
                         upgrade_response_.result_int(),
                         std::string_view(upgrade_response_.reason()));
    }
    return ec.message();
  }

  // Ends the connection once: reports, drops the handlers (they may hold this session) and
  // closes the socket so that a pending operation returns.
  void finish(const error_code& ec) {
    if (finished_) return;
    finished_ = true;
    const bool ours = close_sent_ && ec == websocket::error::closed;
    const std::error_code reported = ours ? std::error_code() : std::error_code(ec);
    const std::string reason = ours ? "closed" : describe(ec);
    ws_handlers h = std::move(handlers_);
    handlers_ = {};
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    if (h.on_close) h.on_close(reported, reason, open_);
  }

  asio::strand<asio::io_context::executor_type> strand_;
  tcp::resolver resolver_;
  websocket::stream<beast::tcp_stream> ws_;
  websocket::response_type upgrade_response_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  ws_handlers handlers_;
  std::string host_header_;
  std::string target_;
  std::string authorization_;  // "Bearer <token>", or empty
  bool started_ = false;
  bool open_ = false;
  bool writing_ = false;
  bool closing_ = false;  // close() was called
  bool close_sent_ = false;
  bool finished_ = false;  // on_close has been called
};

}  // namespace

std::shared_ptr<ws_client> make_ws_client(asio::io_context& ioc, ws_handlers handlers) {
  return std::make_shared<session>(ioc, std::move(handlers));
}

}  // namespace tickring::cli
