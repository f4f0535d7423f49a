#include "server/http/routes_ticks.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <numeric>
#include <variant>

#include "core/candles.h"
#include "protocol/json_text.h"
#include "protocol/point_format.h"
#include "protocol/stream_messages.h"
#include "server/http/series_query.h"

namespace tickring::server {
namespace {

using core::stored_point;
using core::time_ns;

// ---- as-of ----

// Answers[i] for times[i]: the newest point at or before it, if any.
struct asof_answer {
  bool found = false;
  stored_point point;
};

std::vector<asof_answer> asof_walk(const core::series& s, const std::vector<time_ns>& times,
                                   std::uint64_t& scanned) {
  std::vector<asof_answer> out(times.size());
  std::vector<std::size_t> order(times.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](std::size_t x, std::size_t y) { return times[x] > times[y]; });
  std::size_t next = 0;  // the newest time not answered yet (index into order)
  while (next < order.size()) {
    bool exhausted = true;  // the walk reached the oldest point
    std::size_t since_hit = 0;
    auto visit = [&](const stored_point& p) {
      ++scanned;
      if (times[order[next]] < p.time) {
        // The point is newer than the next time: step on, or search again if that is far.
        if (++since_hit > kAsofWalkBeforeSearch) {
          exhausted = false;
          return false;
        }
        return true;
      }
      since_hit = 0;
      while (next < order.size() && times[order[next]] >= p.time) {
        out[order[next]] = {true, p};
        ++next;
      }
      return next < order.size();
    };
    scan(s, times[order[next]], visit);
    if (exhausted) break;  // every time left is older than the oldest point: not found
  }
  return out;
}

// A time given in a list: integer ns or an RFC 3339 string.
std::optional<time_ns> json_time(const nlohmann::json& j) {
  if (j.is_number_integer()) return j.get<time_ns>();
  if (j.is_string()) return protocol::parse_time(j.get_ref<const std::string&>());
  return std::nullopt;
}

// The times of a request, or an error text.
std::variant<std::vector<time_ns>, std::string> asof_times(const route_args& a) {
  std::vector<time_ns> times;
  const auto& seg = a.target.segments;
  if (a.req.method == http_method::post) {
    if (seg.size() != 5)
      return std::string("POST the list of times to .../asof, not .../asof/{time}");
    const auto doc = nlohmann::json::parse(a.req.body, nullptr, false);
    const nlohmann::json* list = &doc;
    if (doc.is_object() && doc.contains("times")) list = &doc["times"];
    if (!list->is_array() || list->empty() || list->size() > kMaxAsofTimes) {
      return "body must be a JSON list of 1 to " + std::to_string(kMaxAsofTimes) +
             " times (integer nanoseconds or RFC 3339 strings), or {\"times\": [...]}";
    }
    for (const auto& j : *list) {
      const auto t = json_time(j);
      if (!t) {
        return "invalid time in the list: " + j.dump().substr(0, kMaxEchoedName) +
               " (use integer nanoseconds or an RFC 3339 string)";
      }
      times.push_back(*t);
    }
    return times;
  }
  if (seg.size() == 6) {
    const auto t = protocol::parse_time(seg[5]);
    if (!t) {
      return "invalid time '" + seg[5].substr(0, kMaxEchoedName) +
             "': use integer nanoseconds or RFC 3339";
    }
    times.push_back(*t);
    return times;
  }
  const auto list = a.target.param("times");
  if (!list || list->empty()) {
    return std::string("missing 'times': use .../asof/{time}, ?times=t1,t2,.. or POST a list");
  }
  std::string_view rest = *list;
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    const auto t = protocol::parse_time(item);
    if (!t) {
      return "invalid 'times': '" + std::string(item.substr(0, kMaxEchoedName)) +
             "' is neither integer nanoseconds nor an RFC 3339 time";
    }
    if (times.size() == kMaxAsofTimesInQuery) {
      return "invalid 'times': at most " + std::to_string(kMaxAsofTimesInQuery) +
             " times in a URL; POST a list for more";
    }
    times.push_back(*t);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return times;
}

}  // namespace

void get_asof(const route_args& a, const responder& respond) {
  const auto q = query_or_reply(a, respond);
  if (!q) return;
  auto parsed = asof_times(a);
  if (auto* e = std::get_if<std::string>(&parsed)) return respond(error_reply(400, *e));
  const auto& times = std::get<std::vector<time_ns>>(parsed);
  const core::series& s = *a.series;
  std::uint64_t scanned = 0;
  const auto answers = asof_walk(s, times, scanned);
  a.ctx.metrics.add_points_scanned(scanned);
  const std::size_t max_bytes = a.ctx.config.max_answer_bytes;
  http_reply r;
  if (a.target.segments.size() == 6) {  // one time: the point itself, as .../at/{time}
    if (!answers[0].found) {
      return respond(error_reply(404, "no point at or before " + std::to_string(times[0])));
    }
    if (q->csv) {
      r.content_type = "text/csv";
      protocol::append_csv_header(r.body, q->columns);
      protocol::append_point_csv(r.body, answers[0].point, q->columns, q->epoch);
      return respond(std::move(r));
    }
    append_series_head(r.body, s);
    r.body += ",\"point\":";
    protocol::append_point_json(r.body, answers[0].point, q->columns,
                                protocol::json_keys(q->columns), q->epoch);
    r.body += "}";
    return respond(std::move(r));
  }
  // Many times: one row per asked time, in the order asked; `point` null when none.
  if (q->csv) {
    r.content_type = "text/csv";
    r.body += "asof,";
    protocol::append_csv_header(r.body, q->columns);
    for (std::size_t i = 0; i < times.size(); ++i) {
      protocol::append_time(r.body, times[i], q->epoch, false);
      r.body.push_back(',');
      if (answers[i].found) {
        protocol::append_point_csv(r.body, answers[i].point, q->columns, q->epoch);
      } else {
        r.body.append(q->columns.size(), ',');  // empty time and field cells
        r.body.push_back('\n');
      }
      if (r.body.size() > max_bytes) return respond(too_large(max_bytes));
    }
    return respond(std::move(r));
  }
  append_series_head(r.body, s);
  r.body += ",\"asof\":[";
  const auto keys = protocol::json_keys(q->columns);
  for (std::size_t i = 0; i < times.size(); ++i) {
    if (i != 0) r.body.push_back(',');
    r.body += "{\"at\":";
    protocol::append_time(r.body, times[i], q->epoch, true);
    r.body += ",\"point\":";
    if (answers[i].found) {
      protocol::append_point_json(r.body, answers[i].point, q->columns, keys, q->epoch);
    } else {
      r.body += "null";
    }
    r.body += "}";
    if (r.body.size() > max_bytes) return respond(too_large(max_bytes));
  }
  r.body += "]}";
  respond(std::move(r));
}

// ---- latest of every series ----

void get_latest_all(const route_args& a, const responder& respond) {
  const auto measurement = a.target.param("measurement");
  if (!measurement || measurement->empty()) {
    return respond(error_reply(400, "missing 'measurement': use /v1/latest?measurement=<name>"));
  }
  bool csv = false;
  if (auto v = a.target.param("format")) {
    if (*v != "json" && *v != "csv")
      return respond(error_reply(400, "invalid 'format': use json or csv"));
    csv = *v == "csv";
  }
  auto epoch = protocol::time_format::ns;
  if (auto v = a.target.param("epoch")) {
    const auto f = protocol::parse_time_format(*v);
    if (!f) return respond(error_reply(400, "invalid 'epoch': use ns, u, ms, s or rfc3339"));
    epoch = *f;
  }
  // Columns by name: each series of the measurement has its own field list (fixed by its
  // first point), usually the same. `fields=` picks names; by default the first series'.
  std::vector<std::string> names;
  if (auto v = a.target.param("fields")) {
    std::string_view rest = *v;
    while (!rest.empty() && names.size() < core::kMaxFieldsPerSeries) {
      const auto comma = rest.find(',');
      const std::string name(rest.substr(0, comma));
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  const std::size_t max_bytes = a.ctx.config.max_answer_bytes;
  const std::size_t n = a.ctx.store.series_count();
  http_reply r;
  std::vector<protocol::field_column> columns;
  std::vector<int> index;  // column c of this series' row, -1 when it lacks the field
  bool header_done = false;
  bool first = true;
  std::uint64_t scanned = 0;
  if (!csv) {
    r.body = "{\"measurement\":";
    protocol::append_json_string(r.body, *measurement);
    r.body += ",\"series\":[";
  }
  stored_point p;
  for (std::size_t i = 0; i < n; ++i) {
    const core::series& s = a.ctx.store.series_at(i);
    if (s.measurement() != *measurement) continue;
    ++scanned;
    if (!s.rows()->highest(p)) continue;  // every point deleted
    if (names.empty()) {
      for (const auto& f : s.fields())
        names.push_back(f.name);
    }
    if (csv && !header_done) {
      header_done = true;
      r.content_type = "text/csv";
      r.body += "symbol,time";
      for (const auto& name : names) {
        r.body.push_back(',');
        protocol::append_csv_text(r.body, name);
      }
      r.body.push_back('\n');
    }
    if (csv) {
      protocol::append_csv_text(r.body, s.symbol());
      r.body.push_back(',');
      protocol::append_time(r.body, p.time, epoch, false);
      for (const auto& name : names) {
        r.body.push_back(',');
        const int f = s.field_index(name);
        if (f >= 0) {
          const auto fi = static_cast<std::size_t>(f);
          protocol::append_csv_value(r.body, s.fields()[fi].kind, p.words[fi]);
        }
      }
      r.body.push_back('\n');
    } else {
      if (!first) r.body.push_back(',');
      first = false;
      columns.clear();
      for (const auto& name : names) {
        const int f = s.field_index(name);
        if (f < 0) continue;  // a series without the field leaves it out
        const auto fi = static_cast<std::size_t>(f);
        columns.push_back({s.fields()[fi].name, s.fields()[fi].kind, fi});
      }
      r.body += "{\"symbol\":";
      protocol::append_json_string(r.body, s.symbol());
      r.body += ",\"point\":";
      protocol::append_point_json(r.body, p, columns, protocol::json_keys(columns), epoch);
      r.body += "}";
    }
    if (r.body.size() > max_bytes) return respond(too_large(max_bytes));
  }
  a.ctx.metrics.add_points_scanned(scanned);
  if (!csv) {
    r.body += "]}";
  } else if (!header_done) {
    r.content_type = "text/csv";
    r.body = "symbol,time\n";
  }
  respond(std::move(r));
}

// ---- sample ----

namespace {

enum class sample_agg { last, first, mean, min, max };

std::optional<sample_agg> parse_agg(std::string_view v) {
  if (v == "last") return sample_agg::last;
  if (v == "first") return sample_agg::first;
  if (v == "mean") return sample_agg::mean;
  if (v == "min") return sample_agg::min;
  if (v == "max") return sample_agg::max;
  return std::nullopt;
}

struct bucket {
  time_ns start = 0;
  std::uint64_t count = 0;
  stored_point newest;  // the first point met walking backward
  stored_point oldest;  // the last one met
  std::array<double, core::kMaxFieldsPerSeries> sum{}, min{}, max{};
};

}  // namespace

void get_sample(const route_args& a, const responder& respond) {
  const auto q = query_or_reply(a, respond);
  if (!q) return;
  const auto interval = protocol::parse_candle_interval(a.target.param("interval").value_or("1m"));
  if (!interval) {
    return respond(
        error_reply(400, "invalid 'interval': use <n>s, <n>m, <n>h or <n>d from 1s to 1d"));
  }
  const auto agg = parse_agg(a.target.param("agg").value_or("last"));
  if (!agg) return respond(error_reply(400, "invalid 'agg': use last, first, mean, min or max"));
  const core::series& s = *a.series;
  std::vector<bucket> buckets;  // newest first while walking
  std::uint64_t scanned = 0;
  bool too_many = false;
  time_ns cursor = q->to;
  bool jumped = true;
  while (jumped && q->from <= cursor) {
    jumped = false;
    auto visit = [&](const stored_point& p) {
      if (p.time < q->from) return false;
      if (++scanned > kMaxSamplePointsScanned) {
        too_many = true;
        return false;
      }
      const time_ns start = core::backward_candle_builder::bar_start(p.time, *interval);
      if (buckets.empty() || buckets.back().start != start) {
        if (buckets.size() == q->limit) return false;  // the `limit` newest buckets are full
        bucket b;
        b.start = start;
        b.newest = p;
        for (const auto& c : q->columns) {
          const double v = protocol::field_as_double(c.kind, p.words[c.index]);
          b.min[c.index] = v;
          b.max[c.index] = v;
        }
        buckets.push_back(b);
      }
      bucket& b = buckets.back();
      ++b.count;
      b.oldest = p;
      for (const auto& c : q->columns) {
        const double v = protocol::field_as_double(c.kind, p.words[c.index]);
        b.sum[c.index] += v;
        b.min[c.index] = std::min(b.min[c.index], v);
        b.max[c.index] = std::max(b.max[c.index], v);
      }
      if (*agg == sample_agg::last && start > std::numeric_limits<time_ns>::min()) {
        // The bucket's answer is known: search from the one before instead of stepping.
        cursor = start - 1;
        jumped = true;
        return false;
      }
      return true;
    };
    scan(s, cursor, visit);
  }
  a.ctx.metrics.add_points_scanned(scanned);
  if (too_many) {
    return respond(error_reply(413, "sample would walk more than " +
                                        std::to_string(kMaxSamplePointsScanned) +
                                        " points; narrow from/to or widen the interval"));
  }
  const std::size_t max_bytes = a.ctx.config.max_answer_bytes;
  http_reply r;
  stored_point row;
  auto fill_row = [&](const bucket& b) {
    row.time = b.start;
    row.seq = b.newest.seq;
    for (const auto& c : q->columns) {
      switch (*agg) {
        case sample_agg::last:
          row.words[c.index] = b.newest.words[c.index];
          break;
        case sample_agg::first:
          row.words[c.index] = b.oldest.words[c.index];
          break;
        case sample_agg::mean:
          row.words[c.index] =
              std::bit_cast<std::uint64_t>(b.sum[c.index] / static_cast<double>(b.count));
          break;
        case sample_agg::min:
          row.words[c.index] = std::bit_cast<std::uint64_t>(b.min[c.index]);
          break;
        case sample_agg::max:
          row.words[c.index] = std::bit_cast<std::uint64_t>(b.max[c.index]);
          break;
      }
    }
  };
  // first/last keep each field's kind; mean/min/max are doubles.
  auto columns = q->columns;
  if (*agg != sample_agg::last && *agg != sample_agg::first) {
    for (auto& c : columns)
      c.kind = core::field_kind::float64;
  }
  if (q->csv) {
    r.content_type = "text/csv";
    protocol::append_csv_header(r.body, columns);
    for (auto it = buckets.rbegin(); it != buckets.rend(); ++it) {
      fill_row(*it);
      protocol::append_point_csv(r.body, row, columns, q->epoch);
      if (r.body.size() > max_bytes) return respond(too_large(max_bytes));
    }
    return respond(std::move(r));
  }
  append_series_head(r.body, s);
  r.body += ",\"interval_seconds\":";
  protocol::append_json_number(r.body, *interval / 1'000'000'000);
  r.body += ",\"agg\":";
  protocol::append_json_string(r.body, a.target.param("agg").value_or("last"));
  r.body += ",\"points\":[";
  const auto keys = protocol::json_keys(columns);
  for (auto it = buckets.rbegin(); it != buckets.rend(); ++it) {
    if (it != buckets.rbegin()) r.body.push_back(',');
    fill_row(*it);
    r.body += "{\"time\":";
    protocol::append_time(r.body, row.time, q->epoch, true);
    for (std::size_t c = 0; c < columns.size(); ++c) {
      r.body += keys[c];
      protocol::append_field_json(r.body, columns[c].kind, row.words[columns[c].index]);
    }
    r.body += "}";
    if (r.body.size() > max_bytes) return respond(too_large(max_bytes));
  }
  r.body += "]}";
  respond(std::move(r));
}

}  // namespace tickring::server
