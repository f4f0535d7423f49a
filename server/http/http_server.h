// The HTTP listener and its sessions (Boost.Beast), on the worker io_context.
//
// One strand per connection; one request handled at a time per connection (HTTP/1.1
// keep-alive, no pipelining overlap). Limits, each a flag (config.h): header bytes (431 is
// not used; an oversized header gets 400 and the connection closes), body bytes (413 from
// Content-Length before the body is read), connections (503 and close), header timeout
// (a client that does not finish its header in time is dropped: slow loris), body timeout.
//
// Shutdown: stop() closes the listener, closes idle connections and lets a connection that
// is inside a request answer it (without keep-alive) before closing.
#pragma once

#include <cstdint>
#include <memory>

#include "server/config.h"
#include "server/http/router.h"

namespace boost::asio {
class io_context;
}

namespace tickring::server {

class http_server {
 public:
  http_server(boost::asio::io_context& ioc, const server_config& config, const router& r);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  void start();  // binds and listens; throws std::system_error
  void stop();   // any thread
  std::uint16_t port() const;
  std::size_t open_connections() const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace tickring::server
