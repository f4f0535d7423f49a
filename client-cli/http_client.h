// A small synchronous HTTP/1.1 client with one keep-alive connection, for the CLI's requests to
// tickring-server (health polls in `bench ingest`, queries in later commands).
//
//   http_client http("127.0.0.1", 8080);
//   http_response r;
//   if (auto ec = http.get("/health", r)) { ... ec.message() ... }
//   else if (r.status == 200) { ... r.body ... }
//
// - Connects on the first request; keeps the connection while the server allows (Connection:
//   keep-alive) and reconnects once, transparently, when a kept connection turns out to have
//   been closed by the server (idle timeout) — for idempotent methods only.
// - Every request is bounded by the timeout given at construction (connect, send and receive
//   together); a timed-out connection is dropped.
// - Responses up to kMaxResponseBodyBytes; larger ones fail with an error.
// - Errors: std::error_code (transport); an HTTP error status is not an error here, the caller
//   reads `status`. No exceptions.
// - Threads: one http_client per thread. Beast and Asio stay in the .cc: this header is cheap.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

namespace tickring::cli {

// Long enough for a big range query on a busy 2-core machine; short enough to notice a hang.
inline constexpr std::chrono::seconds kDefaultHttpTimeout{30};
// A range query of a few million points as JSON is well under this.
inline constexpr std::size_t kMaxResponseBodyBytes = 1024 * 1024 * 1024;

struct http_response {
  unsigned status = 0;
  std::string content_type;
  std::string body;
};

class http_client {
 public:
  http_client(std::string host, std::uint16_t port,
              std::chrono::milliseconds timeout = kDefaultHttpTimeout);
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;
  ~http_client();

  [[nodiscard]] std::error_code get(std::string_view target, http_response& out);
  // method: "GET", "PUT", "POST", "DELETE", ... `body` is sent when non-empty.
  [[nodiscard]] std::error_code request(std::string_view method, std::string_view target,
                                        std::string_view body, std::string_view content_type,
                                        http_response& out);
  // Sends `Authorization: Bearer <token>` with every request from now on (empty: none).
  void set_token(std::string token);
  // "http://127.0.0.1:8080", for messages.
  std::string base_url() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tickring::cli
