#include "server/http/routes_window.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "protocol/json_text.h"
#include "server/ingest/line_applier.h"

namespace tickring::server {
namespace {

// A window value's body is a number or {"value": <number>}: this is room for either with
// generous whitespace, and keeps a large body from ever reaching the JSON parser's DOM.
constexpr std::size_t kMaxWindowBody = 1024;

// The body is a number, or an object whose "value" is one; nothing else.
std::optional<double> parse_value(std::string_view body) {
  while (!body.empty() && (body.front() == ' ' || body.front() == '\n' || body.front() == '\r' ||
                           body.front() == '\t')) {
    body.remove_prefix(1);
  }
  while (!body.empty() && (body.back() == ' ' || body.back() == '\n' || body.back() == '\r' ||
                           body.back() == '\t')) {
    body.remove_suffix(1);
  }
  double v = 0;
  const auto [p, ec] = std::from_chars(body.data(), body.data() + body.size(), v);
  if (ec == std::errc() && p == body.data() + body.size() && !body.empty()) return v;
  const auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_object() && doc.contains("value") && doc["value"].is_number()) {
    return doc["value"].get<double>();
  }
  return std::nullopt;
}

unsigned status_of(core::window_error e) {
  switch (e) {
    case core::window_error::not_found:
      return 404;
    case core::window_error::full:
      return 503;
    default:
      return 400;
  }
}

http_reply key_value(std::string_view key, double value) {
  http_reply r;
  r.body = "{\"key\":";
  protocol::append_json_string(r.body, key);
  r.body += ",\"value\":";
  protocol::append_json_number(r.body, value);
  r.body += "}";
  return r;
}

http_reply not_allowed(const char* allow) {
  http_reply r = error_reply(405, std::string("method not allowed; use ") + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}

}  // namespace

void handle_window_route(core::window_store& store, bool client_clock,
                         const protocol::parsed_target& target, const http_request_view& req,
                         const responder& respond) {
  core::time_ns now = wall_clock_ns();
  if (auto t = target.param("time")) {
    if (!client_clock) {
      return respond(error_reply(
          400, "invalid 'time': the window store uses the server's clock (no 'time' parameter)"));
    }
    const auto parsed = protocol::parse_time(*t);
    if (!parsed)
      return respond(error_reply(400, "invalid 'time': use integer nanoseconds or RFC 3339"));
    now = *parsed;
  }
  const auto& seg = target.segments;  // v1 window [key]
  if (seg.size() == 2) {
    if (req.method != http_method::get && req.method != http_method::head) {
      return respond(not_allowed("GET, HEAD"));
    }
    const auto s = store.stats(now);
    http_reply r;
    r.body = "{\"average\":";
    protocol::append_json_number(r.body, s.average);
    r.body += ",\"count\":";
    protocol::append_json_number(r.body, static_cast<std::uint64_t>(s.count));
    r.body += ",\"window_seconds\":";
    protocol::append_json_number(r.body, static_cast<double>(store.window()) / 1e9);
    r.body += "}";
    return respond(std::move(r));
  }
  if (seg.size() != 3) return respond(error_reply(404, "use /v1/window or /v1/window/{key}"));
  const std::string& key = seg[2];
  switch (req.method) {
    case http_method::put: {
      if (req.body.size() > kMaxWindowBody) {
        return respond(error_reply(413, "a window value's body is at most " +
                                            std::to_string(kMaxWindowBody) +
                                            " bytes: a number or {\"value\": <number>}"));
      }
      const auto value = parse_value(req.body);
      if (!value) {
        return respond(error_reply(400, "body must be a number or {\"value\": <number>}"));
      }
      const auto res = store.put(key, *value, now);
      if (!res) return respond(error_reply(status_of(res.error()), core::describe(res.error())));
      return respond(key_value(key, *value));
    }
    case http_method::get:
    case http_method::head: {
      const auto res = store.get(key, now);
      if (!res) return respond(error_reply(status_of(res.error()), core::describe(res.error())));
      return respond(key_value(key, res.value()));
    }
    case http_method::del: {
      const auto res = store.remove(key, now);
      if (!res) return respond(error_reply(status_of(res.error()), core::describe(res.error())));
      return respond(key_value(key, res.value()));
    }
    default:
      return respond(not_allowed("GET, HEAD, PUT, DELETE"));
  }
}

}  // namespace tickring::server
