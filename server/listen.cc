#include "server/listen.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <cerrno>
#include <stdexcept>

namespace tickring::server {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

bool is_resource_exhaustion(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
         ec == asio::error::no_memory || ec == boost::system::errc::too_many_files_open_in_system;
}

void fit_descriptor_limit(server_config& config) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  if (lim.rlim_cur == RLIM_INFINITY) return;
  const auto limit = static_cast<std::size_t>(lim.rlim_cur);
  if (limit < kReservedDescriptors + 2) {
    throw std::runtime_error(
        fmt::format("the descriptor limit (ulimit -n) is {}; tickring-server needs at least {}",
                    limit, kReservedDescriptors + 2));
  }
  const std::size_t budget = limit - kReservedDescriptors;
  if (config.max_feed_connections >= budget) {
    config.max_feed_connections = budget / 2;
    spdlog::warn("--max-feed-connections lowered to {} to fit the descriptor limit of {}",
                 config.max_feed_connections, limit);
  }
  if (config.max_connections + config.max_feed_connections > budget) {
    config.max_connections = budget - config.max_feed_connections;
    spdlog::warn("--max-connections lowered to {} to fit the descriptor limit of {} (ulimit -n)",
                 config.max_connections, limit);
  }
}

void open_listener(tcp::acceptor& acceptor, const endpoint_spec& where, std::string_view what) {
  const std::string address = where.host.find(':') == std::string::npos
                                  ? fmt::format("{}:{}", where.host, where.port)
                                  : fmt::format("[{}]:{}", where.host, where.port);
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(where.host, ec);
  if (ec) {
    throw std::runtime_error(
        fmt::format("{} address {}: '{}' is not an IP address", what, address, where.host));
  }
  const tcp::endpoint ep(ip, where.port);
  auto fail = [&](std::string_view step) {
    const std::string why = ec == asio::error::address_in_use ? "is already in use"
                            : ec == asio::error::access_denied
                                ? "needs privileges to bind (ports below 1024)"
                                : "cannot be used";
    std::runtime_error e(
        fmt::format("{} address {} {} ({}: {})", what, address, why, step, ec.message()));
    boost::system::error_code ignored;
    acceptor.close(ignored);
    return e;
  };
  acceptor.open(ep.protocol(), ec);
  if (ec) throw fail("socket");
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) throw fail("setsockopt");
  acceptor.bind(ep, ec);
  if (ec) throw fail("bind");
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw fail("listen");
}

}  // namespace tickring::server
