#include "server/http/routes_series.h"

#include <charconv>
#include <limits>
#include <vector>

#include "core/candles.h"
#include "protocol/json_text.h"
#include "protocol/json_writer.h"
#include "protocol/point_format.h"
#include "protocol/stream_messages.h"
#include "server/http/answer_buffer.h"
#include "server/http/series_query.h"

namespace tickring::server {
namespace {

using core::stored_point;
using core::time_ns;
using protocol::field_column;
using protocol::json_writer;
using protocol::time_format;

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
  if (q.from > q.to || !s.rows()->lowest(edge)) return out;
  time_ns lo = std::max(q.from, edge.time);
  if (!s.rows()->highest(edge)) return out;
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
  http_reply r;
  r.body = take_answer_buffer();
  if (q.csv) r.content_type = "text/csv";
  // Newest first is the ring's own order: each point is written as the walk meets it, with
  // no copy of the points in between. About 45 bytes of time and seq and 30 per field: one
  // allocation for most answers (none when the connection's buffer is reused).
  const std::size_t expected = std::min<std::size_t>(q.limit, 4096);
  r.body.reserve(std::min(max_bytes, 128 + expected * (48 + 32 * q.columns.size())));
  const auto keys = q.csv ? std::vector<std::string>{} : protocol::json_keys(q.columns);
  json_writer w(r.body);
  if (q.csv) {
    protocol::append_csv_header(r.body, q.columns);
  } else {
    w.begin_object().key("measurement").value(s.measurement()).key("symbol").value(s.symbol());
    w.key("points").begin_array();
  }
  bool too_big = false;
  auto write = [&](const stored_point& p) {
    if (q.csv) {
      protocol::append_point_csv(r.body, p, q.columns, q.epoch);
    } else {
      w.value_with(
          [&](std::string& out) { protocol::append_point_json(out, p, q.columns, keys, q.epoch); });
    }
    too_big = r.body.size() > max_bytes;
    return !too_big;
  };
  if (q.desc) {
    std::size_t taken = 0;
    auto visit = [&](const stored_point& p) {
      ++scanned;
      if (p.time < q.from) return false;
      return write(p) && ++taken < q.limit;
    };
    if (q.from <= q.to) scan(s, q.to, visit);
  } else {
    for (const auto& p : oldest_points(s, q, scanned)) {
      if (!write(p)) break;
    }
  }
  ctx.metrics.add_points_scanned(scanned);
  if (too_big) return too_large(max_bytes);
  if (!q.csv) w.end_array().end_object();
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
  json_writer w(r.body);
  w.begin_object().key("measurement").value(s.measurement()).key("symbol").value(s.symbol());
  w.key("point").value_with([&](std::string& out) {
    protocol::append_point_json(out, p, q.columns, protocol::json_keys(q.columns), q.epoch);
  });
  w.end_object();
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
  json_writer w(r.body);
  w.begin_object().key("measurement").value(s.measurement()).key("symbol").value(s.symbol());
  w.key("interval_seconds").value(static_cast<std::int64_t>(*interval / 1'000'000'000));
  w.key("field").value(field_name);
  w.key("candles").begin_array();
  for (const auto& c : b.take_ascending()) {
    w.begin_object().key("time").value(static_cast<std::int64_t>(c.start / 1'000'000'000));
    w.key("open").value(c.open).key("high").value(c.high).key("low").value(c.low);
    w.key("close").value(c.close).key("volume").value(c.volume);
    w.key("ticks").value(static_cast<std::uint64_t>(c.ticks)).end_object();
  }
  w.end_array().end_object();
  return r;
}

}  // namespace

void get_points(const route_args& a, const responder& respond) {
  if (const auto q = query_or_reply(a, respond)) respond(points(a.ctx, *a.series, *q));
}

void get_latest(const route_args& a, const responder& respond) {
  const auto q = query_or_reply(a, respond);
  if (!q) return;
  stored_point p;
  if (!a.series->rows()->highest(p)) return respond(error_reply(404, "series has no points"));
  respond(one_point(*a.series, *q, p));
}

void get_candles(const route_args& a, const responder& respond) {
  if (const auto q = query_or_reply(a, respond)) respond(candles(*a.series, a.target, *q));
}

void point_at(const route_args& a, const responder& respond) {
  const auto q = query_or_reply(a, respond);
  if (!q) return;
  const std::string& text = a.target.segments[5];
  const auto t = protocol::parse_time(text);
  if (!t) {
    return respond(
        error_reply(400, "invalid time '" + text + "': use integer nanoseconds or RFC 3339"));
  }
  if (a.req.method != http_method::del) {
    stored_point p;
    if (!a.series->rows()->find(*t, p))
      return respond(error_reply(404, "no point at " + std::to_string(*t)));
    return respond(one_point(*a.series, *q, p));
  }
  const time_ns when = *t;
  const bool queued =
      a.ctx.ingest.submit_remove(a.series, when, [respond, when](remove_outcome out) {
        // 507 Insufficient Storage: the journal cannot take the change (disk full, I/O error).
        if (!out.journal_error.empty()) return respond(error_reply(507, out.journal_error));
        if (!out.seq) return respond(error_reply(404, "no point at " + std::to_string(when)));
        http_reply r;
        json_writer w(r.body);
        w.begin_object().key("deleted").value(true).key("time").value(std::int64_t{when});
        w.key("seq").value(static_cast<std::uint64_t>(*out.seq)).end_object();
        respond(std::move(r));
      });
  if (!queued) respond(error_reply(503, "the server is stopping; nothing was deleted"));
}

}  // namespace tickring::server
