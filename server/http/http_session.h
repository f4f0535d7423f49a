// One HTTP/1.1 connection (Boost.Beast) on the worker pool, and the hand-off of a WebSocket
// upgrade on /v1/stream to the stream's session.
//
// Threads: the connection's strand only. One request handled at a time (keep-alive, no
// pipelining overlap); handlers answer through a responder that posts back to this strand.
// Limits (config.h): header bytes (400 and close), body bytes (413 from Content-Length before
// the body is read), header timeout (slow loris and idle keep-alive), body and write timeouts.
// Faults: an exception out of the router is logged and answered 500; exactly one reply is
// written per request (a later one from the same request is dropped).
// Shutdown: close_when_idle() lets a connection inside a request, or whose request bytes have
// arrived, answer it (without keep-alive); a connection that has not sent its first request
// yet (just accepted, e.g. from the backlog) gets kStopReadTimeout to send it; any other
// waiting connection is closed at once. A request that arrives after that close is the
// ordinary keep-alive race (the client sees the connection closed before its request).
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <memory>

#include "server/config.h"
#include "server/http/router.h"

namespace tickring::server {
namespace stream {
struct stream_context;
}

// What every session of one listener shares.
struct http_shared {
  http_shared(const server_config& c, const router& r, stream::stream_context* s)
      : config(c), routes(r), streams(s) {}
  const server_config& config;
  const router& routes;
  stream::stream_context* streams;   // nullptr: no WebSocket stream
  std::atomic<std::size_t> open{0};  // connections counted against --max-connections
  std::atomic<bool> stopping{false};
  // Bytes of answers built and not yet written, all connections together: past
  // --max-response-bytes a new request is answered 503 before its handler runs, so readers
  // that do not read cannot make the server hold answers without bound.
  std::atomic<std::size_t> response_bytes{0};
};

class http_session_base {
 public:
  virtual ~http_session_base() = default;
  virtual void close_when_idle() = 0;
};

// Starts a session on an accepted socket (its executor is the connection's strand).
std::shared_ptr<http_session_base> start_http_session(boost::asio::ip::tcp::socket&& socket,
                                                      std::shared_ptr<http_shared> shared);

}  // namespace tickring::server
