// One WebSocket client connection (text frames), asynchronous on a caller's io_context, for
// `tickring tail` and `tickring bench ws` (docs/stream.md).
//
//   auto ws = make_ws_client(ioc, {.on_open = ..., .on_message = ..., .on_close = ...});
//   ws->connect("127.0.0.1", 8080, "/v1/stream");
//   ws->send(R"({"op":"subscribe","id":1,"series":"quotes/EURUSD"})");
//   ioc.run();
//
// - connect() resolves, connects (bounded by kWsConnectTimeout) and does the upgrade (bounded by
//   kWsHandshakeTimeout). Messages given to send() before the upgrade is done wait for it.
// - One write in flight, the rest queued in order. A connection silent for half of
//   kWsIdleTimeout is pinged (WebSocket ping) and closed when nothing at all arrives for
//   kWsIdleTimeout: a dead server is noticed even when the network says nothing.
// - on_close is called exactly once per connect(): after a failed connect or upgrade, after the
//   server closed or the connection broke, or after close(). No handler runs after it.
// Threads: every handler runs on the connection's own strand, one at a time; with several
// threads running the io_context, different connections' handlers run in parallel. send() and
// close() may be called from any thread. Keep the returned pointer while the io_context runs;
// the connection keeps itself alive until on_close has returned.
// Beast stays inside ws_client.cc: this header is cheap to include.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

namespace boost::asio {
class io_context;
}

namespace tickring::cli {

// An unreachable host must not hang a command for the kernel's two minutes.
inline constexpr std::chrono::seconds kWsConnectTimeout{5};
inline constexpr std::chrono::seconds kWsHandshakeTimeout{10};
// The server's own deadline for a pong (docs/stream.md): it pings every 15 s, so a live server
// is never silent this long.
inline constexpr std::chrono::seconds kWsIdleTimeout{30};
// A snapshot of 10,000 points with a few fields is about 1 MB; 64 MiB leaves room for many
// fields without letting a broken server exhaust memory.
inline constexpr std::size_t kWsMaxMessageBytes = 64 * 1024 * 1024;

struct ws_handlers {
  // The upgrade succeeded; queued messages are being sent.
  std::function<void()> on_open;
  // One complete text message. The view is valid only during the call.
  std::function<void(std::string_view text)> on_message;
  // The end: `reason` is one sentence ("Connection refused", "closed by the server: 1001 going
  // away"); `was_open` says whether the upgrade had succeeded. `ec` is empty after our own
  // close().
  std::function<void(const std::error_code& ec, const std::string& reason, bool was_open)> on_close;
};

class ws_client {
 public:
  virtual ~ws_client() = default;
  // REQUIRES: called once. A non-empty `token` is sent as `Authorization: Bearer <token>`.
  virtual void connect(std::string host, std::uint16_t port, std::string target,
                       std::string token) = 0;
  virtual void send(std::string text) = 0;
  // Sends a normal close (1000) once the queued messages are written, or abandons a connection
  // still being made; on_close follows.
  virtual void close() = 0;
};

[[nodiscard]] std::shared_ptr<ws_client> make_ws_client(boost::asio::io_context& ioc,
                                                        ws_handlers handlers);

}  // namespace tickring::cli
