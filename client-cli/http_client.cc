// The only Beast translation unit of the CLI. Synchronous on the outside, asynchronous inside:
// Beast's tcp_stream enforces timeouts only on asynchronous operations, so each request starts
// them and runs the private io_context until they finish.
#include "client-cli/http_client.h"

#include <fmt/format.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace tickring::cli {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr int kHttpVersion = 11;

// Errors that mean "the server closed the kept-alive connection before this request", after
// which sending the request again on a new connection is the right thing to do.
bool is_stale_connection(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == http::error::end_of_stream;
}

bool is_idempotent(http::verb v) {
  return v != http::verb::post && v != http::verb::patch;
}

}  // namespace

struct http_client::impl {
  std::string host;
  std::uint16_t port;
  std::chrono::milliseconds timeout;
  std::string authorization;  // "Bearer <token>", or empty
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  bool connected = false;
  bool reused = false;  // a response has already come back on this connection

  void close() {
    error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
    buffer.clear();
    connected = false;
    reused = false;
  }

  error_code connect() {
    error_code ec;
    tcp::resolver resolver(ioc);
    const auto endpoints = resolver.resolve(host, std::to_string(port), ec);
    if (ec) return ec;
    stream.async_connect(endpoints,
                         [&ec](const error_code& result, const tcp::endpoint&) { ec = result; });
    ioc.restart();
    ioc.run();
    if (ec) return ec;
    // Requests are small and answered at once: Nagle plus delayed ACK would add 40 ms.
    error_code ignored;
    stream.socket().set_option(tcp::no_delay(true), ignored);
    connected = true;
    return {};
  }

  error_code exchange(const http::request<http::string_body>& req, http_response& out) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxResponseBodyBytes);
    if (req.method() == http::verb::head) parser.skip(true);
    error_code ec;
    http::async_write(stream, req, [&](const error_code& wrote, std::size_t) {
      if (wrote) {
        ec = wrote;
        return;
      }
      http::async_read(stream, buffer, parser,
                       [&ec](const error_code& read, std::size_t) { ec = read; });
    });
    ioc.restart();
    ioc.run();
    if (ec) return ec;
    auto res = parser.release();
    out.status = res.result_int();
    out.content_type = std::string(res[http::field::content_type]);
    out.body = std::move(res.body());
    reused = true;
    if (!res.keep_alive()) close();
    return {};
  }

  // One attempt on the current (or a new) connection, within one deadline.
  error_code attempt(const http::request<http::string_body>& req, http_response& out) {
    stream.expires_after(timeout);
    if (!connected) {
      if (auto ec = connect()) {
        close();
        return ec;
      }
    }
    const error_code ec = exchange(req, out);
    if (ec) close();
    return ec;
  }
};

http_client::http_client(std::string host, std::uint16_t port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->timeout = timeout;
}

http_client::~http_client() = default;

void http_client::set_token(std::string token) {
  impl_->authorization = token.empty() ? std::string() : "Bearer " + token;
}

std::string http_client::base_url() const {
  const bool ipv6 = impl_->host.find(':') != std::string::npos;
  return ipv6 ? fmt::format("http://[{}]:{}", impl_->host, impl_->port)
              : fmt::format("http://{}:{}", impl_->host, impl_->port);
}

std::error_code http_client::get(std::string_view target, http_response& out) {
  return request("GET", target, {}, {}, out);
}

std::error_code http_client::request(std::string_view method, std::string_view target,
                                     std::string_view body, std::string_view content_type,
                                     http_response& out) {
  const http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) return std::make_error_code(std::errc::invalid_argument);
  http::request<http::string_body> req{verb, target, kHttpVersion};
  req.set(http::field::host, fmt::format("{}:{}", impl_->host, impl_->port));
  req.set(http::field::user_agent, "tickring/" TICKRING_VERSION);
  if (!impl_->authorization.empty()) req.set(http::field::authorization, impl_->authorization);
  if (!body.empty()) {
    req.set(http::field::content_type, content_type.empty() ? "text/plain" : content_type);
    req.body() = std::string(body);
  }
  req.prepare_payload();

  const bool was_reused = impl_->reused;
  error_code ec = impl_->attempt(req, out);
  if (ec && was_reused && is_idempotent(verb) && is_stale_connection(ec)) {
    ec = impl_->attempt(req, out);
  }
  return ec;
}

}  // namespace tickring::cli
