// The HTTP listener (Boost.Asio): accepts connections on the first worker io_context and gives
// each, in turn, to one of the worker io_contexts (one thread each), on a strand of it, with an
// http_session (http_session.h), which may hand a WebSocket upgrade on /v1/stream to the stream.
// A connection stays on its worker thread: its read, handler and write run there without a
// hand-off between threads (a shared io_context run by several threads woke another thread,
// with a futex and an epoll_ctl, for nearly every step of every request). The cost: a long
// request (a large /query) delays the other connections of its thread, not those of the others.
//
// Limits: --max-connections counts HTTP and WebSocket connections together; past it a new
// connection gets a short 503 and is closed. When accept fails for lack of descriptors or
// memory, the loop waits kAcceptBackoff (listen.h) before the next try instead of spinning.
// Shutdown: stop() (any thread) serves the connections waiting in the listen backlog (one
// request each), closes the listener, and lets every connection answer the request it is in
// or whose bytes have arrived (without keep-alive) before closing (http_session.h); WebSocket
// sessions are closed by the stream (1001).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "server/config.h"
#include "server/http/router.h"

namespace boost::asio {
class io_context;
}

namespace tickring::server {
namespace stream {
struct stream_context;
}

class http_listener {
 public:
  // `streams` may be nullptr (no WebSocket stream). REQUIRES: `workers` is not empty; each
  // io_context outlives the listener and its connections.
  http_listener(std::vector<boost::asio::io_context*> workers, const server_config& config,
                const router& r, stream::stream_context* streams);
  ~http_listener();
  http_listener(const http_listener&) = delete;
  http_listener& operator=(const http_listener&) = delete;

  void start();  // binds and listens; throws std::runtime_error naming --http and the address
  void stop();   // any thread
  std::uint16_t port() const;
  std::size_t open_connections() const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace tickring::server
