#include "server/http/routes_series.h"

#include <charconv>
#include <limits>
#include <vector>

#include "core/candles.h"
#include "protocol/json_text.h"
#include "protocol/point_format.h"
#include "protocol/stream_messages.h"

namespace tickring::server {
namespace {

using core::stored_point;
using core::time_ns;
using protocol::field_column;
using protocol::time_format;

// An error message quotes at most this much of a client's name: enough to recognise it,
// and an answer never grows with a hostile parameter.
constexpr std::size_t kMaxEchoedName = 64;

http_reply too_large(std::size_t cap) {
  return error_reply(413, "answer exceeds " + std::to_string(cap) +
                              " bytes (--max-answer-bytes); narrow from/to, lower limit or "
                              "ask for fewer fields");
}

// Calls f(point) newest first from `to` until it returns false.
template <class F>
void scan(const core::series& s, time_ns to, F& f) {
  s.rows().scan_backward(
      to, [](void* ctx, const stored_point& p) { return (*static_cast<F*>(ctx))(p); }, &f);
}

// The first bad parameter of a request; handlers stop at it and answer 400 with its text.
struct param_error {
  std::string message;
  explicit operator bool() const { return !message.empty(); }
  void set(std::string m) {
    if (message.empty()) message = std::move(m);
  }
};

struct query {
  time_ns from = std::numeric_limits<time_ns>::min();
  time_ns to = std::numeric_limits<time_ns>::max();
  std::size_t limit = kDefaultLimit;
  bool desc = false;
  bool csv = false;
  time_format epoch = time_format::ns;
  std::vector<field_column> columns;
};

time_ns time_param(const protocol::parsed_target& t, std::string_view name, time_ns dflt,
                   param_error& err) {
  const auto v = t.param(name);
  if (!v) return dflt;
  const auto parsed = protocol::parse_time(*v);
  if (!parsed) {
    err.set("invalid '" + std::string(name) + "': '" + std::string(*v) +
            "' is neither integer nanoseconds nor an RFC 3339 time");
    return dflt;
  }
  return *parsed;
}

query parse_query(const core::series& s, const protocol::parsed_target& t, param_error& err) {
  query q;
  q.from = time_param(t, "from", q.from, err);
  q.to = time_param(t, "to", q.to, err);
  if (auto v = t.param("limit")) {
    std::size_t n = 0;
    const auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || p != v->data() + v->size() || n < 1 || n > kMaxLimit) {
      err.set("invalid 'limit': must be an integer from 1 to " + std::to_string(kMaxLimit));
    } else {
      q.limit = n;
    }
  }
  if (auto v = t.param("order")) {
    if (*v != "asc" && *v != "desc") err.set("invalid 'order': use asc or desc");
    q.desc = *v == "desc";
  }
  if (auto v = t.param("format")) {
    if (*v != "json" && *v != "csv") err.set("invalid 'format': use json or csv");
    q.csv = *v == "csv";
  }
  if (auto v = t.param("epoch")) {
    const auto f = protocol::parse_time_format(*v);
    if (!f) {
      err.set("invalid 'epoch': use ns, u, ms, s or rfc3339");
    } else {
      q.epoch = *f;
    }
  }
  const auto& fields = s.fields();
  if (auto v = t.param("fields")) {
    // A repeated name is one column: the answer has at most the series' field count columns,
    // however long the list (a hostile list would otherwise multiply the answer's size).
    std::string_view rest = *v;
    std::uint32_t seen = 0;  // bit i: field i is a column already (kMaxFieldsPerSeries <= 32)
    static_assert(core::kMaxFieldsPerSeries <= 32);
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const std::string_view name = rest.substr(0, comma);
      const int idx = s.field_index(name);
      if (idx < 0) {
        err.set("invalid 'fields': '" + std::string(name.substr(0, kMaxEchoedName)) +
                (name.size() > kMaxEchoedName ? "...'" : "'") + " is not a field of this series");
        break;
      }
      const auto i = static_cast<std::size_t>(idx);
      if ((seen & (1U << i)) == 0) {
        seen |= 1U << i;
        q.columns.push_back({fields[i].name, fields[i].kind, i});
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  } else {
    for (std::size_t i = 0; i < fields.size(); ++i)
      q.columns.push_back({fields[i].name, fields[i].kind, i});
  }
  return q;
}

void append_series_head(std::string& out, const core::series& s) {
  out += "{\"measurement\":";
  protocol::append_json_string(out, s.measurement());
  out += ",\"symbol\":";
  protocol::append_json_string(out, s.symbol());
}

// The newest `limit` points of [from, to], newest first: one backward walk, O(log N + limit).
std::vector<stored_point> newest_points(const core::series& s, const query& q,
                                        std::uint64_t& scanned) {
  std::vector<stored_point> got;
  got.reserve(std::min<std::size_t>(q.limit, 4096));
  auto visit = [&](const stored_point& p) {
    ++scanned;
    if (p.time < q.from) return false;
    got.push_back(p);
    return got.size() < q.limit;
  };
  if (q.from <= q.to) scan(s, q.to, visit);
  return got;
}

// The oldest `limit` points of [from, to], oldest first, without walking the whole range
// (the ring only iterates backwards). Invariant: `out` holds every point of [from, lo), and
// [lo, hi] holds more than `need` points unless hi is still the range's end. A probe walks
// back from t in [lo, hi] for at most need + 1 points: if it meets lo first, it holds every
// point of [lo, t], which is consumed (lo = t + 1); otherwise hi = t. Times are bisected, so
// there are at most ~64 probes that are not consumed, each O(log N + limit); the consumed
// ones add up to `limit` points. Each probe keeps the iterator's guarantees for its own
// time span and the spans are disjoint and ascending, so the answer still holds every
// point present for the whole query, in order.
std::vector<stored_point> oldest_points(const core::series& s, const query& q,
                                        std::uint64_t& scanned) {
  std::vector<stored_point> out;
  stored_point edge;
  if (q.from > q.to || !s.rows().lowest(edge)) return out;
  time_ns lo = std::max(q.from, edge.time);
  if (!s.rows().highest(edge)) return out;
  time_ns hi = std::min(q.to, edge.time);
  const time_ns end = hi;
  std::size_t need = q.limit;
  std::vector<stored_point> probe;  // newest first
  probe.reserve(std::min<std::size_t>(need + 1, 4096));
  time_ns t = hi;
  while (need > 0 && lo <= hi) {
    probe.clear();
    auto visit = [&](const stored_point& p) {
      ++scanned;
      if (p.time < lo) return false;
      probe.push_back(p);
      return probe.size() <= need;
    };
    scan(s, t, visit);
    if (probe.size() <= need) {
      out.insert(out.end(), probe.rbegin(), probe.rend());
      need -= probe.size();
      if (t >= end) break;
      lo = t + 1;
    } else {
      hi = t;
    }
    // The midpoint in unsigned arithmetic: hi - lo may exceed the int64 range.
    t = static_cast<time_ns>(static_cast<std::uint64_t>(lo) +
                             (static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo)) / 2);
  }
  return out;
}

http_reply points(const route_context& ctx, const core::series& s, const query& q) {
  const std::size_t max_bytes = ctx.config.max_answer_bytes;
  std::uint64_t scanned = 0;
  const std::vector<stored_point> got =
      q.desc ? newest_points(s, q, scanned) : oldest_points(s, q, scanned);
  ctx.metrics.add_points_scanned(scanned);
  http_reply r;
  // About 45 bytes of time and seq and 30 per field: one allocation for most answers.
  r.body.reserve(std::min(max_bytes, 128 + got.size() * (48 + 32 * q.columns.size())));
  if (q.csv) {
    r.content_type = "text/csv";
    protocol::append_csv_header(r.body, q.columns);
    for (const auto& p : got) {
      protocol::append_point_csv(r.body, p, q.columns, q.epoch);
      if (r.body.size() > max_bytes) return too_large(max_bytes);
    }
    return r;
  }
  append_series_head(r.body, s);
  r.body += ",\"points\":[";
  const auto keys = protocol::json_keys(q.columns);
  bool first = true;
  for (const auto& p : got) {
    if (!first) r.body.push_back(',');
    first = false;
    protocol::append_point_json(r.body, p, q.columns, keys, q.epoch);
    if (r.body.size() > max_bytes) return too_large(max_bytes);
  }
  r.body += "]}";
  return r;
}

http_reply one_point(const core::series& s, const query& q, const stored_point& p) {
  http_reply r;
  if (q.csv) {
    r.content_type = "text/csv";
    protocol::append_csv_header(r.body, q.columns);
    protocol::append_point_csv(r.body, p, q.columns, q.epoch);
    return r;
  }
  append_series_head(r.body, s);
  r.body += ",\"point\":";
  protocol::append_point_json(r.body, p, q.columns, protocol::json_keys(q.columns), q.epoch);
  r.body += "}";
  return r;
}

http_reply candles(const core::series& s, const protocol::parsed_target& t, const query& q) {
  param_error err;
  const auto interval = protocol::parse_candle_interval(t.param("interval").value_or("1m"));
  if (!interval) {
    return error_reply(400, "invalid 'interval': use <n>s, <n>m, <n>h or <n>d from 1s to 1d");
  }
  // Price: ?field=, else `price`, else the mid of bid/ask, else the first field (the same
  // rules as the stream's candles).
  const auto field = t.param("field");
  const auto fields = protocol::choose_candle_fields(s, field);
  if (!fields) {
    return error_reply(
        400, "invalid 'field': '" + std::string(*field) + "' is not a field of this series");
  }
  const std::string& field_name = fields->name;
  core::backward_candle_builder b(*interval, q.limit);
  auto visit = [&](const stored_point& p) {
    if (p.time < q.from) return false;
    return b.add(p.time, fields->price_of(s, p.words.data()), fields->volume_of(s, p.words.data()));
  };
  if (q.from <= q.to) scan(s, q.to, visit);
  http_reply r;
  append_series_head(r.body, s);
  r.body += ",\"interval_seconds\":";
  protocol::append_json_number(r.body, *interval / 1'000'000'000);
  r.body += ",\"field\":";
  protocol::append_json_string(r.body, field_name);
  r.body += ",\"candles\":[";
  bool first = true;
  for (const auto& c : b.take_ascending()) {
    if (!first) r.body.push_back(',');
    first = false;
    r.body += "{\"time\":";
    protocol::append_json_number(r.body, c.start / 1'000'000'000);
    r.body += ",\"open\":";
    protocol::append_json_number(r.body, c.open);
    r.body += ",\"high\":";
    protocol::append_json_number(r.body, c.high);
    r.body += ",\"low\":";
    protocol::append_json_number(r.body, c.low);
    r.body += ",\"close\":";
    protocol::append_json_number(r.body, c.close);
    r.body += ",\"volume\":";
    protocol::append_json_number(r.body, c.volume);
    r.body += ",\"ticks\":";
    protocol::append_json_number(r.body, static_cast<std::uint64_t>(c.ticks));
    r.body += "}";
  }
  r.body += "]}";
  return r;
}

}  // namespace

void handle_series_route(const route_context& ctx, const core::series& s,
                         const protocol::parsed_target& target, http_method method,
                         const responder& respond) {
  const auto& seg = target.segments;  // v1 series m s [rest...]
  const bool get = method == http_method::get || method == http_method::head;
  auto not_allowed = [&](const char* allow) {
    http_reply r = error_reply(405, std::string("method not allowed; use ") + allow);
    r.headers.emplace_back("Allow", allow);
    respond(std::move(r));
  };
  param_error err;
  const query q = parse_query(s, target, err);
  if (err) return respond(error_reply(400, err.message));
  {
    if (seg.size() == 4) {
      if (!get) return not_allowed("GET, HEAD");
      return respond(points(ctx, s, q));
    }
    if (seg.size() == 5 && seg[4] == "latest") {
      if (!get) return not_allowed("GET, HEAD");
      stored_point p;
      if (!s.rows().highest(p)) return respond(error_reply(404, "series has no points"));
      return respond(one_point(s, q, p));
    }
    if (seg.size() == 5 && seg[4] == "candles") {
      if (!get) return not_allowed("GET, HEAD");
      return respond(candles(s, target, q));
    }
    if (seg.size() == 6 && seg[4] == "at") {
      const auto t = protocol::parse_time(seg[5]);
      if (!t)
        return respond(
            error_reply(400, "invalid time '" + seg[5] + "': use integer nanoseconds or RFC 3339"));
      if (get) {
        stored_point p;
        if (!s.rows().find(*t, p))
          return respond(error_reply(404, "no point at " + std::to_string(*t)));
        return respond(one_point(s, q, p));
      }
      if (method != http_method::del) return not_allowed("GET, HEAD, DELETE");
      const time_ns when = *t;
      const bool queued =
          ctx.ingest.submit_remove(&s, when, [respond, when](std::optional<core::seq_no> seq) {
            if (!seq) return respond(error_reply(404, "no point at " + std::to_string(when)));
            http_reply r;
            r.body = "{\"deleted\":true,\"time\":" + std::to_string(when) +
                     ",\"seq\":" + std::to_string(*seq) + "}";
            respond(std::move(r));
          });
      if (!queued) respond(error_reply(503, "the server is stopping; nothing was deleted"));
      return;
    }
    respond(error_reply(404, "no such route under /v1/series/{measurement}/{symbol}"));
  }
}

}  // namespace tickring::server
