#include "server/router.h"

#include "protocol/json_text.h"
#include "protocol/query_string.h"

namespace tickring::server {
namespace {

using protocol::append_json_number;
using protocol::append_json_string;

http_reply health(const route_context& ctx) {
  std::uint64_t points = 0;
  const std::size_t n = ctx.store.series_count();
  for (std::size_t i = 0; i < n; ++i) points += ctx.store.series_at(i).rows().size();
  const auto& c = ctx.ingest.counters();
  http_reply r;
  r.body = "{\"status\":\"ok\",\"series\":";
  append_json_number(r.body, static_cast<std::uint64_t>(n));
  r.body += ",\"points\":";
  append_json_number(r.body, points);
  r.body += ",\"lines_accepted\":";
  append_json_number(r.body, c.lines_accepted.load(std::memory_order_relaxed));
  r.body += ",\"lines_rejected\":";
  append_json_number(r.body, c.lines_rejected.load(std::memory_order_relaxed));
  r.body += "}";
  return r;
}

http_reply series_list(const route_context& ctx) {
  http_reply r;
  r.body = "{\"series\":[";
  const std::size_t n = ctx.store.series_count();
  core::stored_point p;
  for (std::size_t i = 0; i < n; ++i) {
    const core::series& s = ctx.store.series_at(i);
    if (i != 0) r.body += ',';
    r.body += "{\"measurement\":";
    append_json_string(r.body, s.measurement());
    r.body += ",\"symbol\":";
    append_json_string(r.body, s.symbol());
    r.body += ",\"fields\":[";
    for (std::size_t f = 0; f < s.field_count(); ++f) {
      if (f != 0) r.body += ',';
      append_json_string(r.body, s.fields()[f].name);
    }
    r.body += "],\"types\":[";
    for (std::size_t f = 0; f < s.field_count(); ++f) {
      if (f != 0) r.body += ',';
      append_json_string(r.body, core::to_string(s.fields()[f].kind));
    }
    r.body += "],\"count\":";
    append_json_number(r.body, static_cast<std::uint64_t>(s.rows().size()));
    r.body += ",\"first\":";
    if (s.rows().lowest(p)) {
      append_json_number(r.body, p.time);
    } else {
      r.body += "null";
    }
    r.body += ",\"last\":";
    if (s.rows().highest(p)) {
      append_json_number(r.body, p.time);
    } else {
      r.body += "null";
    }
    r.body += '}';
  }
  r.body += "]}";
  return r;
}

}  // namespace

http_reply error_reply(unsigned status, std::string_view message) {
  http_reply r;
  r.status = status;
  r.body = protocol::json_error(static_cast<int>(status), message);
  return r;
}

void router::handle(const http_request_view& req, const responder& respond) const {
  const auto target = protocol::parse_target(req.target);
  if (!target) {
    respond(error_reply(400, "malformed request target (bad percent-encoding?)"));
    return;
  }
  const auto& seg = target->segments;
  const bool get = req.method == http_method::get || req.method == http_method::head;
  auto only_get = [&](auto&& make) {
    if (!get) {
      http_reply r = error_reply(405, "method not allowed; use GET");
      r.headers.emplace_back("Allow", "GET, HEAD");
      respond(std::move(r));
      return;
    }
    respond(make());
  };
  if (seg.size() == 1 && seg[0] == "health") return only_get([&] { return health(ctx_); });
  if (seg.size() == 2 && seg[0] == "v1" && seg[1] == "series") {
    return only_get([&] { return series_list(ctx_); });
  }
  respond(error_reply(404, "no such route: " + std::string(req.target.substr(0, req.target.find('?')))));
}

}  // namespace tickring::server
