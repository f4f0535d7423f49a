#include "client-cli/ingest_connection.h"

#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <charconv>

namespace tickring::cli {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr std::string_view kErrorLinePrefix = "error line=";
constexpr std::string_view kSuppressedPrefix = "error: ";
constexpr std::string_view kSuppressedSuffix = " error lines suppressed";
// One read takes whatever the kernel holds, up to this much.
constexpr std::size_t kReplyReadBytes = 16 * 1024;

}  // namespace

reply_collector::reply_collector(std::size_t max_shown, show_fn show)
    : max_shown_(max_shown), show_(std::move(show)) {}

void reply_collector::consume(std::string_view bytes) {
  while (!bytes.empty()) {
    const auto nl = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, nl);
    if (partial_.size() < kMaxReplyLineBytes) {
      partial_.append(piece.substr(0, kMaxReplyLineBytes - partial_.size()));
    }
    if (nl == std::string_view::npos) return;
    on_line(partial_);
    partial_.clear();
    bytes.remove_prefix(nl + 1);
  }
}

void reply_collector::finish() {
  if (!partial_.empty()) on_line(partial_);
  partial_.clear();
}

void reply_collector::on_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return;
  if (line.starts_with(kErrorLinePrefix)) {
    ++error_lines_;
  } else if (line.starts_with(kSuppressedPrefix) &&
             line.find(kSuppressedSuffix) != std::string_view::npos) {
    // "error: <k> error lines suppressed (rate limit)": count them; the line itself is shown.
    std::uint64_t k = 0;
    const char* first = line.data() + kSuppressedPrefix.size();
    std::from_chars(first, line.data() + line.size(), k);
    suppressed_ += k;
  } else {
    ++other_lines_;
    if (line.starts_with(kAuthRefusalPrefix) && refusal_.empty()) refusal_ = std::string(line);
  }
  if (shown_ < max_shown_) {
    ++shown_;
    if (show_) show_(line);
  } else {
    ++not_shown_;
  }
}

struct ingest_connection::impl {
  asio::io_context ioc;
  tcp::socket socket{ioc};
};

ingest_connection::ingest_connection() : impl_(std::make_unique<impl>()) {}
ingest_connection::~ingest_connection() = default;

std::error_code ingest_connection::connect(const std::string& host, std::uint16_t port,
                                           std::string_view token) {
  boost::system::error_code ec;
  tcp::resolver resolver(impl_->ioc);
  const auto endpoints = resolver.resolve(host, std::to_string(port), ec);
  if (ec) return ec;
  // Asynchronous only to bound the time: a blocking connect to a silent host waits minutes.
  ec = asio::error::timed_out;
  asio::async_connect(
      impl_->socket, endpoints,
      [&ec](const boost::system::error_code& result, const tcp::endpoint&) { ec = result; });
  impl_->ioc.restart();
  impl_->ioc.run_for(kConnectTimeout);
  if (!impl_->ioc.stopped()) {
    // Timed out: cancel and let the handler run so that nothing refers to `ec` afterwards.
    boost::system::error_code ignored;
    impl_->socket.close(ignored);
    impl_->ioc.run();
    return std::make_error_code(std::errc::timed_out);
  }
  if (ec || token.empty()) return ec;
  return write_all("auth " + std::string(token) + "\n");
}

std::error_code ingest_connection::write_all(std::string_view data) {
  boost::system::error_code ec;
  asio::write(impl_->socket, asio::buffer(data.data(), data.size()), ec);
  return ec;
}

std::error_code ingest_connection::read_replies(std::chrono::milliseconds wait,
                                                reply_collector& replies) {
  if (closed_by_server_) return {};
  char buf[kReplyReadBytes];
  int timeout_ms = static_cast<int>(wait.count());
  for (;;) {
    pollfd p{impl_->socket.native_handle(), POLLIN, 0};
    const int ready = ::poll(&p, 1, timeout_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return {errno, std::system_category()};
    }
    if (ready == 0) return {};
    // Readable: this read does not block. Later rounds only take what is already there.
    timeout_ms = 0;
    boost::system::error_code ec;
    const std::size_t n = impl_->socket.read_some(asio::buffer(buf), ec);
    replies.consume(std::string_view(buf, n));
    if (ec == asio::error::eof) {
      replies.finish();
      closed_by_server_ = true;
      return {};
    }
    if (ec) return ec;
  }
}

void ingest_connection::set_no_delay() {
  boost::system::error_code ignored;
  impl_->socket.set_option(tcp::no_delay(true), ignored);
}

void ingest_connection::shutdown_send() {
  boost::system::error_code ignored;
  impl_->socket.shutdown(tcp::socket::shutdown_send, ignored);
}

void ingest_connection::abort() {
  // The raw call, not the socket object's: this runs while another thread is inside write().
  ::shutdown(impl_->socket.native_handle(), SHUT_RDWR);
}

int ingest_connection::native_handle() const {
  return impl_->socket.native_handle();
}

}  // namespace tickring::cli
