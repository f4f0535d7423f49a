// `tickring gateway --listen 127.0.0.1:9009 --nats URL`: an ILP-over-TCP → JetStream bridge, so
// that feeders written for tickring-server's line-protocol port publish to JetStream unchanged.
//
// - Accepts connections speaking newline-delimited line protocol, as the server's feed port
//   does: lines are joined across reads (protocol/line_reassembler.h), a line over
//   protocol::kMaxLineBytes is skipped, an unterminated last line is dropped at EOF. A first
//   line `auth <word>` (no '=': not line protocol) is skipped, so a feeder configured with a
//   token works; the gateway itself checks no token, which is why it binds loopback only
//   unless --allow-remote is given.
// - Every line is routed and batched (partition_batcher.h) and published (jetstream_publisher.h)
//   exactly as `tickring feed --nats` does; nothing is answered on the socket. A line that
//   does not parse is counted, and the first kShownErrorsPerConnection of a connection are
//   logged on stderr.
// - Memory is bounded: the one thread that reads the sockets also publishes, and a publish
//   waits while --max-pending messages are unacknowledged, so no socket is read meanwhile and
//   TCP pushes back on the feeders. Connections beyond --max-connections are closed at once.
// - SIGINT/SIGTERM: stops accepting, closes the connections, publishes the open batches,
//   waits for every acknowledgment and prints the counts; exit 0, or 1 when a message could
//   not be stored (or NATS is unreachable at the start).
// Threads: one io_context on the main thread; libnats acknowledges on its own.
#include <fmt/format.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <memory>
#include <set>

#include "client-cli/cli_args.h"
#include "client-cli/command.h"
#include "client-cli/jetstream_publisher.h"
#include "client-cli/partition_batcher.h"
#include "client-cli/progress.h"
#include "protocol/line_reassembler.h"

namespace tickring::cli {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;

// Per connection the reassembler holds a line plus one read: 64 KiB reads keep that at
// 128 KiB, so --max-connections x 128 KiB bounds the sockets' share of memory.
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kDefaultMaxConnections = 256;
constexpr std::uint64_t kShownErrorsPerConnection = 5;
constexpr std::string_view kDefaultListen = "127.0.0.1:9009";

constexpr std::string_view kDetails =
    "Listens for line-protocol feeds (the protocol of tickring-server's ingest port) and\n"
    "publishes every line to NATS JetStream, routed and batched like `tickring feed --nats`.\n"
    "Nothing is answered on the socket; lines that do not parse are counted and logged.\n"
    "A first line `auth <token>` is accepted and ignored: the gateway checks no token, so it\n"
    "listens on loopback only unless --allow-remote. Runs until SIGINT or SIGTERM, then\n"
    "publishes what it holds, waits for every acknowledgment and prints the counts.\n"
    "\n"
    "Exit status: 0 after a clean stop, 1 when NATS cannot be reached or a message could not\n"
    "be stored, 2 on a usage error.\n"
    "\n"
    "Example:\n"
    "  tickring gateway --listen 127.0.0.1:9009 --nats nats://127.0.0.1:4222 --partition-count 8\n";

tcp::endpoint parse_listen(const std::string& text, bool allow_remote) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) throw usage_error("--listen is HOST:PORT, not '" + text + "'");
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  const std::string_view p = std::string_view(text).substr(colon + 1);
  const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc() || end != p.data() + p.size() || port > 65535) {
    throw usage_error("--listen: bad port in '" + text + "'");
  }
  boost::system::error_code bad;
  const auto address = asio::ip::make_address(host.empty() ? "0.0.0.0" : host, bad);
  if (bad) throw usage_error("--listen: '" + host + "' is not an IP address");
  if (!address.is_loopback() && !allow_remote) {
    throw usage_error("--listen " + text +
                      " is not loopback and the gateway checks no token: give --allow-remote");
  }
  return {address, static_cast<std::uint16_t>(port)};
}

class gateway;

class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, gateway& gw);
  void start() { do_read(); }
  void stop() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  void do_read();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void on_line(std::string_view line);

  tcp::socket socket_;
  gateway& gw_;
  std::string peer_;
  protocol::line_reassembler lines_{protocol::kMaxLineBytes, kReadChunk};
  std::uint64_t line_no_ = 0;
  std::uint64_t accepted_ = 0;
  std::uint64_t rejected_ = 0;
  bool first_ = true;
  protocol::parse_error err_;
};

class gateway {
 public:
  gateway(asio::io_context& io, jetstream_publisher& pub, std::size_t max_connections)
      : pub_(pub),
        max_connections_(max_connections),
        acceptor_(io),
        signals_(io, SIGINT, SIGTERM),
        timer_(io),
        linger_(pub.settings().linger_ms),
        batcher_(pub.settings().partition_count, pub.max_message_bytes(),
                 [&pub](std::uint32_t p, std::string_view payload, std::uint64_t lines) {
                   return pub.publish(p, payload, lines);
                 }) {}

  bool listen(const tcp::endpoint& ep, std::string& error) {
    boost::system::error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      error = fmt::format("cannot listen on {}:{}: {}", ep.address().to_string(), ep.port(),
                          ec.message());
      return false;
    }
    const auto at = acceptor_.local_endpoint(ec);
    std::fprintf(stderr,
                 "tickring gateway: listening on %s:%u, publishing to stream %s (%u partitions) "
                 "at %s\n",
                 at.address().to_string().c_str(), at.port(), pub_.settings().stream.c_str(),
                 pub_.settings().partition_count, pub_.settings().url.c_str());
    signals_.async_wait([this](const boost::system::error_code& e, int) {
      if (!e) stop();
    });
    do_accept();
    arm_timer();
    return true;
  }

  // Runs in the io thread: what a session hands over.
  partition_batcher::add_result add(std::string_view line, std::uint64_t line_no,
                                    protocol::parse_error& err) {
    const auto r = batcher_.add(line, line_no, err);
    if (r == partition_batcher::add_result::added) ++lines_;
    if (r == partition_batcher::add_result::rejected) ++rejected_;
    if (r == partition_batcher::add_result::failed) fail();
    return r;
  }
  bool failed() const { return failed_; }
  void closed(const std::shared_ptr<session>& s) { sessions_.erase(s); }

  // After io.run(): publish the rest and wait for the acks. False when something was lost.
  bool finish() {
    if (!failed_ && (!batcher_.flush_all() || !pub_.finish())) failed_ = true;
    const publish_counts c = pub_.counts();
    std::printf(
        "tickring gateway: %s connections, %s lines received, %s rejected; published %s lines "
        "in %s messages: %s acknowledged (%s duplicates), %s retries\n",
        format_count(connections_).c_str(), format_count(lines_ + rejected_).c_str(),
        format_count(rejected_).c_str(), format_count(c.lines).c_str(),
        format_count(c.messages).c_str(), format_count(c.acked).c_str(),
        format_count(c.duplicates).c_str(), format_count(c.retries).c_str());
    std::fflush(stdout);
    if (failed_) std::fprintf(stderr, "tickring gateway: %s\n", pub_.error().c_str());
    return !failed_;
  }

 private:
  void do_accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || stopping_) return;
      if (!ec) {
        if (sessions_.size() >= max_connections_) {
          std::fprintf(stderr, "tickring gateway: refused a connection: %zu already open\n",
                       sessions_.size());
        } else {
          ++connections_;
          auto s = std::make_shared<session>(std::move(socket), *this);
          sessions_.insert(s);
          s->start();
        }
      }
      do_accept();
    });
  }

  void arm_timer() {
    timer_.expires_after(linger_ / 2 + std::chrono::milliseconds(1));
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping_) return;
      if (!batcher_.flush_older_than(linger_, clock::now()) || !pub_.service()) {
        fail();
        return;
      }
      arm_timer();
    });
  }

  void fail() {
    failed_ = true;
    stop();
  }

  void stop() {
    if (stopping_) return;
    stopping_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    timer_.cancel();
    signals_.cancel();
    for (const auto& s : std::set(sessions_))
      s->stop();
  }

  jetstream_publisher& pub_;
  std::size_t max_connections_;
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::steady_timer timer_;
  std::chrono::milliseconds linger_;
  partition_batcher batcher_;
  std::set<std::shared_ptr<session>> sessions_;
  std::uint64_t connections_ = 0;
  std::uint64_t lines_ = 0;
  std::uint64_t rejected_ = 0;
  bool stopping_ = false;
  bool failed_ = false;
};

session::session(tcp::socket socket, gateway& gw) : socket_(std::move(socket)), gw_(gw) {
  boost::system::error_code ec;
  const auto peer = socket_.remote_endpoint(ec);
  peer_ = ec ? "?" : fmt::format("{}:{}", peer.address().to_string(), peer.port());
}

void session::do_read() {
  const auto room = lines_.space();
  socket_.async_read_some(asio::buffer(room.data(), room.size()),
                          [self = shared_from_this()](const boost::system::error_code& ec,
                                                      std::size_t n) { self->on_read(ec, n); });
}

void session::on_read(const boost::system::error_code& ec, std::size_t n) {
  lines_.commit(
      n, static_cast<bool>(ec), [this](std::string_view line) { on_line(line); },
      [this] {
        ++line_no_;
        ++rejected_;
        if (rejected_ <= kShownErrorsPerConnection) {
          std::fprintf(stderr, "tickring gateway: %s: line %llu: longer than %zu bytes\n",
                       peer_.c_str(), static_cast<unsigned long long>(line_no_),
                       protocol::kMaxLineBytes);
        }
      });
  if (!ec && !gw_.failed()) {
    do_read();
    return;
  }
  if (ec && ec != asio::error::eof && ec != asio::error::operation_aborted) {
    std::fprintf(stderr, "tickring gateway: %s: %s\n", peer_.c_str(), ec.message().c_str());
  }
  std::fprintf(stderr, "tickring gateway: %s closed: %llu lines, %llu rejected\n", peer_.c_str(),
               static_cast<unsigned long long>(accepted_),
               static_cast<unsigned long long>(rejected_));
  gw_.closed(shared_from_this());
}

void session::on_line(std::string_view line) {
  if (first_) {
    first_ = false;
    // The server's rule without --auth-token-file (docs/auth.md): not line protocol, skipped.
    if (line.starts_with("auth ") && line.find('=') == std::string_view::npos) return;
  }
  if (gw_.failed()) return;
  ++line_no_;
  switch (gw_.add(line, line_no_, err_)) {
    case partition_batcher::add_result::added:
      ++accepted_;
      break;
    case partition_batcher::add_result::rejected:
      ++rejected_;
      if (rejected_ <= kShownErrorsPerConnection) {
        std::fprintf(stderr, "tickring gateway: %s: %s\n", peer_.c_str(), err_.to_string().c_str());
      }
      break;
    default:
      break;
  }
}

int run_gateway(const global_options& given, const std::vector<std::string>& args) {
  global_options globals = given;
  std::string listen{kDefaultListen};
  bool allow_remote = false;
  std::size_t max_connections = kDefaultMaxConnections;
  nats_settings nats;
  command_options options;
  // clang-format off
  options.visible.add_options()
    ("listen", po::value(&listen)->value_name("IP:PORT")->default_value(listen),
       "where feeders connect")
    ("allow-remote", po::bool_switch(&allow_remote),
       "allow a --listen address that is not loopback (no token is checked)")
    ("max-connections", po::value(&max_connections)->value_name("N")->default_value(max_connections),
       "connections open at once; more are closed at once");
  // clang-format on
  add_nats_options(options.visible, nats);
  po::variables_map vm;
  if (!parse_command_args(kGatewayCommand, kDetails, options, args, globals, vm)) return kExitOk;
  if (nats.url.empty()) throw usage_error("--nats URL is required");
  check_nats_settings(nats);
  if (max_connections < 1) throw usage_error("--max-connections must be at least 1");
  const tcp::endpoint ep = parse_listen(listen, allow_remote);

  jetstream_publisher pub(nats, [](std::string_view line) {
    std::fprintf(stderr, "tickring gateway: %.*s", static_cast<int>(line.size()), line.data());
  });
  std::string error;
  if (!pub.connect(error)) {
    std::fprintf(stderr, "tickring gateway: %s\n", error.c_str());
    return kExitFailure;
  }
  asio::io_context io;
  gateway gw(io, pub, max_connections);
  if (!gw.listen(ep, error)) {
    std::fprintf(stderr, "tickring gateway: %s\n", error.c_str());
    return kExitFailure;
  }
  io.run();
  return gw.finish() ? kExitOk : kExitFailure;
}

}  // namespace

constinit const command_entry kGatewayCommand{
    "gateway", "[options] --nats URL",
    "Bridge line-protocol TCP feeds to NATS JetStream (for tickring-server --nats)", run_gateway};

}  // namespace tickring::cli
