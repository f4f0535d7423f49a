#include "server/http/http_auth.h"

#include <array>

#include "protocol/json_text.h"
#include "protocol/text.h"

namespace tickring::server {
namespace {

using protocol::iequals;
using protocol::trim;

// Standard base64 (RFC 4648 §4), padding optional; nothing on any other byte.
std::optional<std::string> base64_decode(std::string_view in) {
  static constexpr std::array<signed char, 256> kValue = [] {
    std::array<signed char, 256> t{};
    t.fill(-1);
    constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (std::size_t i = 0; i < kAlphabet.size(); ++i)
      t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<signed char>(i);
    return t;
  }();
  while (!in.empty() && in.back() == '=')
    in.remove_suffix(1);
  std::string out;
  out.reserve(in.size() * 3 / 4);
  unsigned acc = 0;
  int bits = 0;
  for (const char c : in) {
    const int v = kValue[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

// Longest Authorization header looked at: a Basic header of a maximal token and a user name.
constexpr std::size_t kMaxAuthorizationBytes = 2 * kMaxTokenBytes + 64;

}  // namespace

bool request_needs_token(const token_auth& auth, http_method method,
                         const protocol::parsed_target& target) {
  if (!auth.enabled()) return false;
  const auto& seg = target.segments;
  // POST of a query too long for a URL: InfluxQL /query, and the list of times of asof.
  const bool read_post =
      method == http_method::post &&
      ((seg.size() == 1 && seg[0] == "query") ||
       (seg.size() == 5 && seg[0] == "v1" && seg[1] == "series" && seg[4] == "asof"));
  const bool read = method == http_method::get || method == http_method::head || read_post;
  if (!read) return true;
  if (!auth.reads_need_token()) return false;
  return !(seg.size() == 1 && (seg[0] == "health" || seg[0] == "ping"));
}

std::string presented_token(std::string_view authorization, const protocol::parsed_target& target) {
  authorization = trim(authorization.substr(0, kMaxAuthorizationBytes));
  if (!authorization.empty()) {
    const auto space = authorization.find(' ');
    const std::string_view scheme = authorization.substr(0, space);
    const std::string_view value =
        space == std::string_view::npos ? std::string_view{} : trim(authorization.substr(space));
    if (iequals(scheme, "Bearer") || iequals(scheme, "Token")) return std::string(value);
    if (iequals(scheme, "Basic")) {
      const auto decoded = base64_decode(value);
      if (!decoded) return {};
      const auto colon = decoded->find(':');
      return colon == std::string::npos ? std::string() : decoded->substr(colon + 1);
    }
    return {};
  }
  if (auto p = target.param("p")) return std::string(*p);
  return {};
}

std::optional<http_reply> refuse_unauthorized(const token_auth& auth, http_method method,
                                              const protocol::parsed_target& target,
                                              std::string_view authorization) {
  if (!request_needs_token(auth, method, target)) return std::nullopt;
  const std::string token = presented_token(authorization, target);
  if (auth.accepts(token)) return std::nullopt;
  auth.http_refused.fetch_add(1, std::memory_order_relaxed);
  const std::string message =
      token.empty() ? "this request needs a token: send 'Authorization: Bearer <token>' (or "
                      "Token, or Basic with the token as password, or the query parameter p)"
                    : "invalid token";
  http_reply r;
  r.status = 401;
  const bool influx = target.segments.size() == 1 && target.segments[0] == "write";
  if (influx) {
    // InfluxDB's shape on /write (routes_write.h): its client libraries print that string.
    r.body = "{\"error\":";
    protocol::append_json_string(r.body, message);
    r.body += "}";
  } else {
    r.body = protocol::json_error(401, message);
  }
  // Basic lets a browser ask for the token (as the password) once and send it on every
  // request of the page, the WebSocket upgrade included.
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"tickring\"");
  r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"tickring\", charset=\"UTF-8\"");
  return r;
}

}  // namespace tickring::server
