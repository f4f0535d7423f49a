#include "client-cli/bench_http.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "protocol/text.h"

namespace tickring::cli {
namespace {

std::error_code last_error() {
  return {errno, std::system_category()};
}

std::error_code bad_answer() {
  return std::make_error_code(std::errc::protocol_error);
}

timeval to_timeval(std::chrono::milliseconds t) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(t.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
  return tv;
}

using protocol::iequals;
using protocol::trim;

// Whether the comma-separated header value lists `token` (any case).
bool lists_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

bench_socket::~bench_socket() {
  close();
}

void bench_socket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::error_code bench_socket::connect(const std::string& host, std::uint16_t port,
                                      std::chrono::milliseconds timeout) {
  close();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return std::make_error_code(rc == EAI_NONAME ? std::errc::address_not_available
                                                 : std::errc::invalid_argument);
  }
  std::error_code ec = std::make_error_code(std::errc::address_not_available);
  const timeval tv = to_timeval(timeout);
  const int one = 1;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      ec = last_error();
      continue;
    }
    // SO_SNDTIMEO bounds connect() too (it then fails with EINPROGRESS).
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    // Each request is one small write answered at once: Nagle would hold it back until the
    // previous answer's ACK, which the server's delayed ACK can keep for 40 ms.
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      fd_ = fd;
      ec.clear();
      break;
    }
    ec = errno == EINPROGRESS ? std::make_error_code(std::errc::timed_out) : last_error();
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return ec;
}

std::error_code bench_socket::send_all(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return std::make_error_code(std::errc::timed_out);
      return last_error();
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

std::error_code bench_socket::recv_some(char* dst, std::size_t capacity, std::size_t& got) {
  for (;;) {
    const ssize_t n = ::recv(fd_, dst, capacity, 0);
    if (n >= 0) {
      got = static_cast<std::size_t>(n);
      return {};
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::make_error_code(std::errc::timed_out);
    return last_error();
  }
}

bench_http_connection::bench_http_connection(std::string host, std::uint16_t port,
                                             std::chrono::milliseconds timeout)
    : host_(std::move(host)), port_(port), timeout_(timeout), buffer_(kBenchRecvBufferBytes) {}

std::string bench_http_connection::make_get(std::string_view target,
                                            std::string_view authorization) const {
  const bool ipv6 = host_.find(':') != std::string::npos;
  std::string r = "GET ";
  r += target;
  r += " HTTP/1.1\r\nHost: ";
  r += ipv6 ? "[" + host_ + "]" : host_;
  r += ":" + std::to_string(port_) + "\r\nUser-Agent: tickring-bench\r\n";
  if (!authorization.empty()) {
    r += "Authorization: ";
    r += authorization;
    r += "\r\n";
  }
  r += "\r\n";
  return r;
}

std::error_code bench_http_connection::exchange(std::string_view request, bench_http_answer& out,
                                                bool head) {
  last_calls_ = 0;
  if (!socket_.connected()) {
    size_ = 0;
    if (auto ec = socket_.connect(host_, port_, timeout_)) return ec;
  }
  ++last_calls_;
  std::error_code ec = socket_.send_all(request);
  if (!ec) ec = read_answer(out, head);
  if (ec || close_after_) {
    socket_.close();
    size_ = 0;
    close_after_ = false;
  }
  return ec;
}

std::error_code bench_http_connection::fill(std::size_t want, std::size_t& got) {
  if (buffer_.size() - size_ < want) {
    const std::size_t need = size_ + want;
    if (need > kMaxBenchAnswerBytes) return std::make_error_code(std::errc::message_size);
    buffer_.resize(std::min(kMaxBenchAnswerBytes, std::max(need, 2 * buffer_.size())));
  }
  ++last_calls_;
  if (auto ec = socket_.recv_some(buffer_.data() + size_, buffer_.size() - size_, got)) return ec;
  size_ += got;
  return {};
}

std::error_code bench_http_connection::fill_to(std::size_t bytes) {
  while (size_ < bytes) {
    std::size_t got = 0;
    if (auto ec = fill(bytes - size_, got)) return ec;
    if (got == 0) return std::make_error_code(std::errc::connection_reset);
  }
  return {};
}

std::error_code bench_http_connection::read_answer(bench_http_answer& out, bool head) {
  out.body.clear();
  std::size_t scanned = 0;
  for (;;) {
    // The header: status line and fields up to the empty line.
    std::size_t end;
    for (;;) {
      const std::string_view held(buffer_.data(), size_);
      end = held.find("\r\n\r\n", scanned);
      if (end != std::string_view::npos) break;
      scanned = size_ < 3 ? 0 : size_ - 3;
      if (size_ > kMaxBenchHeaderBytes) return bad_answer();
      std::size_t got = 0;
      if (auto ec = fill(1, got)) return ec;
      if (got == 0) return std::make_error_code(std::errc::connection_reset);
    }
    const std::size_t header_bytes = end + 4;
    std::string_view header(buffer_.data(), end + 2);  // each line ends with \r\n

    // "HTTP/1.1 200 OK"
    const auto line_end = header.find("\r\n");
    const std::string_view status_line = header.substr(0, line_end);
    if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12 || status_line[8] != ' ')
      return bad_answer();
    unsigned status = 0;
    if (std::from_chars(status_line.data() + 9, status_line.data() + 12, status).ec !=
            std::errc{} ||
        status < 100)
      return bad_answer();
    const bool http10 = status_line[7] == '0';
    header.remove_prefix(line_end + 2);

    std::size_t content_length = 0;
    bool has_length = false, chunked = false, close = http10, keep_alive = false;
    while (!header.empty()) {
      const auto eol = header.find("\r\n");
      const std::string_view field = header.substr(0, eol);
      header.remove_prefix(eol + 2);
      const auto colon = field.find(':');
      if (colon == std::string_view::npos) return bad_answer();
      const std::string_view name = field.substr(0, colon);
      const std::string_view value = trim(field.substr(colon + 1));
      if (iequals(name, "content-length")) {
        if (std::from_chars(value.data(), value.data() + value.size(), content_length).ec !=
            std::errc{})
          return bad_answer();
        has_length = true;
      } else if (iequals(name, "transfer-encoding")) {
        chunked = lists_token(value, "chunked");
      } else if (iequals(name, "connection")) {
        if (lists_token(value, "close")) close = true;
        if (lists_token(value, "keep-alive")) keep_alive = true;
      }
    }
    if (http10 && keep_alive) close = false;

    if (status < 200) {  // 100 Continue and the like: the real answer follows
      std::memmove(buffer_.data(), buffer_.data() + header_bytes, size_ - header_bytes);
      size_ -= header_bytes;
      scanned = 0;
      continue;
    }
    out.status = status;
    std::size_t consumed = header_bytes;
    if (head || status == 204 || status == 304) {
      // no body
    } else if (chunked) {
      std::size_t p = header_bytes;
      for (;;) {
        // "<hex size>[;extensions]\r\n"
        std::size_t eol;
        while ((eol = std::string_view(buffer_.data(), size_).find("\r\n", p)) ==
               std::string_view::npos) {
          if (auto ec = fill_to(size_ + 1)) return ec;
        }
        std::size_t chunk = 0;
        const char* first = buffer_.data() + p;
        const auto r = std::from_chars(first, buffer_.data() + eol, chunk, 16);
        if (r.ec != std::errc{} || r.ptr == first) return bad_answer();
        p = eol + 2;
        if (chunk == 0) {
          // Trailer fields, then the empty line.
          for (;;) {
            while ((eol = std::string_view(buffer_.data(), size_).find("\r\n", p)) ==
                   std::string_view::npos) {
              if (auto ec = fill_to(size_ + 1)) return ec;
            }
            const bool empty = eol == p;
            p = eol + 2;
            if (empty) break;
          }
          break;
        }
        if (out.body.size() + chunk > kMaxBenchAnswerBytes)
          return std::make_error_code(std::errc::message_size);
        if (auto ec = fill_to(p + chunk + 2)) return ec;
        out.body.append(buffer_.data() + p, chunk);
        if (buffer_[p + chunk] != '\r' || buffer_[p + chunk + 1] != '\n') return bad_answer();
        p += chunk + 2;
      }
      consumed = p;
    } else if (has_length) {
      if (content_length > kMaxBenchAnswerBytes)
        return std::make_error_code(std::errc::message_size);
      if (auto ec = fill_to(header_bytes + content_length)) return ec;
      out.body.assign(buffer_.data() + header_bytes, content_length);
      consumed = header_bytes + content_length;
    } else {
      // Neither: the body ends when the server closes the connection.
      for (;;) {
        std::size_t got = 0;
        if (auto ec = fill(1, got)) return ec;
        if (got == 0) break;
      }
      out.body.assign(buffer_.data() + header_bytes, size_ - header_bytes);
      consumed = size_;
      close = true;
    }
    // One request in flight: anything after its answer is the server's mistake.
    if (consumed != size_) return bad_answer();
    size_ = 0;
    close_after_ = close;
    return {};
  }
}

}  // namespace tickring::cli
