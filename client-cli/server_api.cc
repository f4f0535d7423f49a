#include "client-cli/server_api.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "client-cli/command.h"

namespace tickring::cli {
namespace {

constexpr unsigned kHttpOk = 200;
// An error body is quoted in the message up to this length.
constexpr std::size_t kMaxQuotedBody = 200;

// The server's error body is {"error":{"code":..,"message":..}}; quote the message if it is one.
std::string error_body_message(const std::string& body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object() &&
      j["error"].contains("message") && j["error"]["message"].is_string()) {
    return j["error"]["message"].get<std::string>();
  }
  return body.substr(0, kMaxQuotedBody);
}

bool read_count(const nlohmann::json& j, const char* key, std::uint64_t& out) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) return false;
  out = it->get<std::uint64_t>();
  return true;
}

}  // namespace

std::string describe_transport_error(const http_client& http, std::string_view target,
                                     const std::error_code& ec) {
  return fmt::format("cannot reach {}{}: {}{}", http.base_url(), target, ec.message(),
                     no_server_hint(ec));
}

bool fetch_health(http_client& http, server_health& out, std::string& error) {
  constexpr std::string_view kTarget = "/health";
  http_response r;
  if (const auto ec = http.get(kTarget, r)) {
    error = describe_transport_error(http, kTarget, ec);
    return false;
  }
  if (r.status != kHttpOk) {
    error = fmt::format("GET {}: HTTP {}: {}", kTarget, r.status, error_body_message(r.body));
    return false;
  }
  const auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_object() || !read_count(j, "series", out.series) ||
      !read_count(j, "points", out.points) ||
      !read_count(j, "lines_accepted", out.lines_accepted) ||
      !read_count(j, "lines_rejected", out.lines_rejected)) {
    error = fmt::format("GET {}: unexpected answer: {}", kTarget, r.body.substr(0, kMaxQuotedBody));
    return false;
  }
  return true;
}

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

}  // namespace tickring::cli
