// The load tools' own HTTP/1.1 client: it must measure the server, not itself.
//
// http_client.h (Beast, an io_context round and a deadline timer per request, the body read in
// pieces of a few hundred bytes) costs ~45 µs and ~60 system calls per newest-100 request;
// this one costs what the wire needs: one send() of a request built once, and recv() into a
// buffer kept across requests until the answer is complete (one call for a 10–13 KB answer
// over loopback, a few when the server writes it in several pieces). TCP_NODELAY is set, so a
// request never waits for the previous answer's ACK.
//
//   bench_socket s;                         // also used by bench/ for other wire protocols
//   s.connect("127.0.0.1", 8080, 5s);
//   bench_http_connection c("127.0.0.1", 8080, 5s);
//   const std::string req = c.make_get("/v1/series/quotes/EURUSD?order=desc&limit=100");
//   bench_http_answer a;
//   if (auto ec = c.exchange(req, a)) ...; else if (a.status != 200) ...
//
// - Answers are framed by Content-Length, by chunked transfer coding (decoded into `body`),
//   or, with neither, by the server closing the connection; 1xx interim answers are skipped;
//   204, 304 and HEAD answers have no body. At most kMaxBenchAnswerBytes per answer.
// - Only the status line and the three headers that frame the answer (Content-Length,
//   Transfer-Encoding, Connection) are looked at; header names are compared without case.
// - Timeouts: SO_RCVTIMEO / SO_SNDTIMEO bound each send() and recv() (not a whole request:
//   that would need a timer, i.e. more calls); they catch a hung server, nothing finer.
// - One request at a time (no pipelining); bytes after an answer are an error.
// - Errors: std::error_code; after one the connection is closed and the next exchange()
//   reconnects. No exceptions.
// - Threads: one object per thread. POSIX sockets only (no Boost), so bench/ can compile it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace tickring::cli {

// Far above any newest-N answer; a range of millions of points should use http_client.
inline constexpr std::size_t kMaxBenchAnswerBytes = 256 * 1024 * 1024;
// The receive buffer's first size: a newest-100 answer (~13 KB) fits with room to spare, so
// a recv() is never cut short by the buffer.
inline constexpr std::size_t kBenchRecvBufferBytes = 256 * 1024;
// Status line and headers together; a server sending more is not one we benchmark.
inline constexpr std::size_t kMaxBenchHeaderBytes = 64 * 1024;

// A blocking TCP connection with TCP_NODELAY and per-call timeouts, and a receive buffer.
class bench_socket {
 public:
  bench_socket() = default;
  bench_socket(const bench_socket&) = delete;
  bench_socket& operator=(const bench_socket&) = delete;
  ~bench_socket();

  // Resolves `host` (numeric or a name) and connects to the first address that answers.
  [[nodiscard]] std::error_code connect(const std::string& host, std::uint16_t port,
                                        std::chrono::milliseconds timeout);
  bool connected() const { return fd_ >= 0; }
  void close();
  // Writes all of `data` (one send() unless the socket buffer is full).
  [[nodiscard]] std::error_code send_all(std::string_view data);
  // One recv() of at most `capacity` bytes into `dst`; `got` is the byte count, 0 when the
  // peer closed its side.
  [[nodiscard]] std::error_code recv_some(char* dst, std::size_t capacity, std::size_t& got);

 private:
  int fd_ = -1;
};

struct bench_http_answer {
  unsigned status = 0;
  std::string body;  // kept across calls so that its capacity is reused
};

class bench_http_connection {
 public:
  bench_http_connection(std::string host, std::uint16_t port, std::chrono::milliseconds timeout);

  // "GET <target> HTTP/1.1" with Host, keep-alive and, when not empty, `authorization` (the
  // whole header value, e.g. "Bearer abc"): build once, send many times.
  std::string make_get(std::string_view target, std::string_view authorization = {}) const;
  // Sends `request` (connecting first when needed) and reads one whole answer.
  [[nodiscard]] std::error_code exchange(std::string_view request, bench_http_answer& out,
                                         bool head = false);
  // System calls of the last exchange(): sends + receives (for the tool's own report).
  unsigned last_calls() const { return last_calls_; }

 private:
  std::error_code read_answer(bench_http_answer& out, bool head);
  // Receives more bytes after the `size_` held, first making room for at least `want` more.
  std::error_code fill(std::size_t want, std::size_t& got);
  // fill() until at least `bytes` are held; the peer closing first is an error.
  std::error_code fill_to(std::size_t bytes);

  std::string host_;
  std::uint16_t port_;
  std::chrono::milliseconds timeout_;
  bench_socket socket_;
  std::vector<char> buffer_;
  std::size_t size_ = 0;  // bytes of buffer_ holding received data
  bool close_after_ = false;
  unsigned last_calls_ = 0;
};

}  // namespace tickring::cli
