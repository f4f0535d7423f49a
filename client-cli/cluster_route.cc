#include "client-cli/cluster_route.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "protocol/partition.h"

namespace tickring::cli {
namespace {

constexpr std::string_view kScheme = "http://";

struct host_port {
  std::string host;
  std::uint16_t port = 0;
};

bool parse_base_url(std::string_view url, host_port& out) {
  if (!url.starts_with(kScheme)) return false;
  url.remove_prefix(kScheme.size());
  if (url.ends_with('/')) url.remove_suffix(1);
  std::size_t colon = url.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view host = url.substr(0, colon);
  if (host.starts_with('[')) {
    if (!host.ends_with(']') || host.size() < 3) return false;
    host = host.substr(1, host.size() - 2);
  } else if (host.find_first_of("/[]@") != std::string_view::npos) {
    return false;
  }
  const std::string_view port = url.substr(colon + 1);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
    return false;
  }
  out.host = std::string(host);
  out.port = static_cast<std::uint16_t>(value);
  return true;
}

// Where `url` is written in `text`: the line number of its first instance line, for messages.
std::size_t line_of(std::string_view text, std::string_view url) {
  const auto at = text.find(url);
  if (at == std::string_view::npos) return 0;
  return static_cast<std::size_t>(std::count(text.begin(), text.begin() + at, '\n')) + 1;
}

struct loaded_cluster {
  protocol::cluster_map map;
  std::vector<host_port> addresses;  // parallel to map.instances
};

loaded_cluster load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw cluster_error(fmt::format("cluster file {}: cannot be read", path));
  std::ostringstream text;
  text << in.rdbuf();
  std::string error;
  auto map = protocol::parse_cluster_file(text.str(), &error);
  if (!map) throw cluster_error(fmt::format("cluster file {}: {}", path, error));
  loaded_cluster c{std::move(*map), {}};
  for (const auto& instance : c.map.instances) {
    host_port hp;
    if (!parse_base_url(instance.url, hp)) {
      throw cluster_error(
          fmt::format("cluster file {}: line {}: instance URL must be http://HOST:PORT, not '{}'",
                      path, line_of(text.str(), instance.url), instance.url));
    }
    c.addresses.push_back(std::move(hp));
  }
  return c;
}

global_options at(const global_options& g, const host_port& hp) {
  global_options out = g;
  out.host = hp.host;
  out.http_port = hp.port;
  return out;
}

}  // namespace

global_options route_to_owner(const global_options& g, std::string_view measurement,
                              std::string_view symbol) {
  if (g.cluster_file.empty()) return g;
  const loaded_cluster c = load(g.cluster_file);
  const protocol::cluster_instance& owner = c.map.owner_of(measurement, symbol);
  const auto i = static_cast<std::size_t>(&owner - c.map.instances.data());
  return at(g, c.addresses[i]);
}

std::vector<cluster_target> every_instance(const global_options& g) {
  if (g.cluster_file.empty()) {
    return {{g, fmt::format("http://{}:{}", g.host, g.http_port)}};
  }
  const loaded_cluster c = load(g.cluster_file);
  std::vector<cluster_target> out;
  for (std::size_t i = 0; i < c.addresses.size(); ++i) {
    out.push_back({at(g, c.addresses[i]), c.map.instances[i].url});
  }
  return out;
}

}  // namespace tickring::cli
