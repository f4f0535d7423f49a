#include "server/listen.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <boost/asio/ip/v6_only.hpp>
#include <cerrno>
#include <stdexcept>
#include <utility>

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
  const std::size_t reserved = kReservedDescriptors + kDescriptorsPerWorker * config.workers;
  if (limit < reserved + 2) {
    throw std::runtime_error(
        fmt::format("the descriptor limit (ulimit -n) is {}; tickring-server needs at least {}",
                    limit, reserved + 2));
  }
  const std::size_t budget = limit - reserved;
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

bool is_loopback_address(const std::string& host) {
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(host, ec);
  if (ec) return false;
  if (ip.is_v4()) return ip.to_v4().is_loopback();
  const auto v6 = ip.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).is_loopback();
  return v6.is_loopback();
}

void check_exposure(const server_config& config, bool writes_need_token) {
  if (writes_need_token) return;
  const std::pair<const endpoint_spec*, std::string_view> listeners[] = {
      {&config.http, "--http"}, {&config.ingest, "--ingest"}};
  for (const auto& [where, flag] : listeners) {
    if (is_loopback_address(where->host)) continue;
    const std::string address = where->every_interface
                                    ? fmt::format(":{} (every interface)", where->port)
                                    : to_string(*where);
    if (config.insecure_no_auth) {
      spdlog::warn(
          "{} {}: writes need no token (--insecure-no-auth); anyone who can connect "
          "may write and delete",
          flag, address);
      continue;
    }
    throw std::runtime_error(fmt::format(
        "refusing to listen on {} for {} without write authentication: anyone who can reach it "
        "could write and delete. Give --auth-token-file FILE (docs/auth.md), or "
        "--insecure-no-auth to accept that, or listen on 127.0.0.1",
        address, flag));
  }
}

void open_listener(tcp::acceptor& acceptor, const endpoint_spec& where, std::string_view what) {
  if (where.every_interface) {
    // The kernel may have no IPv6 at all (ipv6.disable=1, some containers): then IPv4 only.
    tcp::acceptor probe(acceptor.get_executor());
    boost::system::error_code ec;
    probe.open(tcp::v6(), ec);
    if (ec == asio::error::address_family_not_supported) {
      spdlog::warn("{}: no IPv6 on this machine; :{} listens on IPv4 only (0.0.0.0)", what,
                   where.port);
      endpoint_spec v4 = where;
      v4.host = "0.0.0.0";
      v4.every_interface = false;
      return open_listener(acceptor, v4, what);
    }
  }
  const std::string address = to_string(where);
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
  if (ip.is_v6() && ip.is_unspecified()) {
    // "::" means every interface, IPv4 included, whatever net.ipv6.bindv6only says.
    acceptor.set_option(asio::ip::v6_only(false), ec);
    if (ec) throw fail("setsockopt IPV6_V6ONLY");
  }
  acceptor.bind(ep, ec);
  if (ec) throw fail("bind");
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw fail("listen");
}

}  // namespace tickring::server
