#include "server/http/routes_influxql.h"

#include <algorithm>
#include <bit>
#include <deque>
#include <map>
#include <set>

#include "core/candles.h"
#include "protocol/influxql.h"
#include "protocol/json_text.h"
#include "protocol/point_format.h"
#include "server/http/series_query.h"
#include "server/ingest/write_path.h"

namespace tickring::server {
namespace {

namespace iq = protocol::influxql;
using core::stored_point;
using core::time_ns;

constexpr const char* kInfluxVersion = "1.8.10-tickring";
constexpr std::string_view kDefaultDatabase = "tickring";

http_reply influx_reply(unsigned status, std::string body) {
  http_reply r;
  r.status = status;
  r.body = std::move(body);
  r.headers.emplace_back("X-Influxdb-Version", kInfluxVersion);
  r.headers.emplace_back("X-Influxdb-Build", "OSS");
  return r;
}

http_reply influx_error(unsigned status, std::string_view message) {
  std::string body = "{\"error\":";
  protocol::append_json_string(body, message);
  body += "}";
  return influx_reply(status, std::move(body));
}

// A statement's failure: its text becomes the statement's "error".
struct exec_error {
  std::string message;
};

// ---- time output ----

enum class epoch_unit { rfc3339, h, m, s, ms, us, ns };

std::optional<epoch_unit> parse_epoch(std::string_view v) {
  if (v.empty()) return epoch_unit::rfc3339;
  if (v == "h") return epoch_unit::h;
  if (v == "m") return epoch_unit::m;
  if (v == "s") return epoch_unit::s;
  if (v == "ms") return epoch_unit::ms;
  if (v == "u" || v == "us") return epoch_unit::us;
  if (v == "ns" || v == "n") return epoch_unit::ns;
  return std::nullopt;
}

// RFC 3339 with the fraction's trailing zeros cut, as InfluxDB writes (RFC3339Nano).
void append_influx_time(std::string& out, time_ns t, epoch_unit u) {
  constexpr std::int64_t kDiv[] = {
      0, 3'600'000'000'000, 60'000'000'000, 1'000'000'000, 1'000'000, 1'000, 1};
  if (u != epoch_unit::rfc3339) {
    protocol::append_json_number(out, t / kDiv[static_cast<int>(u)]);
    return;
  }
  std::string s = protocol::format_rfc3339(t);  // ...:SS.nnnnnnnnnZ
  s.pop_back();
  while (s.back() == '0')
    s.pop_back();
  if (s.back() == '.') s.pop_back();
  s.push_back('Z');
  protocol::append_json_string(out, s);
}

// ---- the store, seen as InfluxDB measurements ----

std::vector<const core::series*> series_of(const route_context& ctx, const iq::statement& st) {
  std::vector<const core::series*> out;
  if (st.contradiction) return out;
  if (st.symbol) {
    if (const auto* s = ctx.store.find(st.measurement, *st.symbol)) out.push_back(s);
    return out;
  }
  const std::size_t n = ctx.store.series_count();
  for (std::size_t i = 0; i < n; ++i) {
    const core::series& s = ctx.store.series_at(i);
    if (s.measurement() == st.measurement) out.push_back(&s);
  }
  std::sort(out.begin(), out.end(),
            [](const auto* x, const auto* y) { return x->symbol() < y->symbol(); });
  return out;
}

// Measurement names, sorted; only `only` when it is not empty.
std::vector<std::string> measurements(const route_context& ctx, const std::string& only) {
  std::set<std::string> names;
  const std::size_t n = ctx.store.series_count();
  for (std::size_t i = 0; i < n; ++i) {
    const auto& m = ctx.store.series_at(i).measurement();
    if (only.empty() || m == only) names.insert(m);
  }
  return {names.begin(), names.end()};
}

bool is_symbol_tag(std::string_view name) {
  return name == "sym" || name == "symbol";
}

// ---- answer writing ----

// Writes one series object; `rows` writes the values arrays (comma-separated).
template <class Rows>
void append_series(std::string& out, std::string_view name, const std::string* sym,
                   const std::vector<std::string>& columns, Rows&& rows) {
  out += "{\"name\":";
  protocol::append_json_string(out, name);
  if (sym != nullptr) {
    out += ",\"tags\":{\"sym\":";
    protocol::append_json_string(out, *sym);
    out += "}";
  }
  out += ",\"columns\":[";
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (i != 0) out.push_back(',');
    protocol::append_json_string(out, columns[i]);
  }
  out += "],\"values\":[";
  rows(out);
  out += "]}";
}

void append_string_rows(std::string& out, const std::vector<std::vector<std::string>>& rows) {
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i != 0) out.push_back(',');
    out.push_back('[');
    for (std::size_t c = 0; c < rows[i].size(); ++c) {
      if (c != 0) out.push_back(',');
      protocol::append_json_string(out, rows[i][c]);
    }
    out.push_back(']');
  }
}

struct exec_context {
  const route_context& ctx;
  epoch_unit epoch;
  std::string_view database;
  time_ns now;
  std::size_t max_bytes;
};

// ---- SHOW ----

bool measurement_matches(const iq::statement& st, std::string_view m) {
  if (st.measurement_filter.empty()) return st.measurement.empty() || m == st.measurement;
  if (!st.filter_case_insensitive) return m.find(st.measurement_filter) != std::string_view::npos;
  auto lower = [](std::string_view s) {
    std::string o(s);
    for (char& c : o)
      c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return o;
  };
  return lower(m).find(lower(st.measurement_filter)) != std::string::npos;
}

void show(const exec_context& x, const iq::statement& st, std::string& out) {
  const auto limit = st.limit.value_or(UINT64_MAX);
  switch (st.kind) {
    case iq::statement_kind::show_databases:
      out += ",\"series\":[";
      append_series(out, "databases", nullptr, {"name"},
                    [&](std::string& o) { append_string_rows(o, {{std::string(x.database)}}); });
      out += "]";
      return;
    case iq::statement_kind::show_retention_policies:
      // One policy, kept forever as far as InfluxDB's clients know (retention is tickring's
      // own --retention / --max-points-per-series).
      out +=
          ",\"series\":[{\"columns\":[\"name\",\"duration\",\"shardGroupDuration\",\"replicaN\","
          "\"default\"],\"values\":[[\"autogen\",\"0s\",\"168h0m0s\",1,true]]}]";
      return;
    case iq::statement_kind::show_measurements: {
      std::vector<std::vector<std::string>> rows;
      for (auto& m : measurements(x.ctx, {})) {
        if (rows.size() < limit && measurement_matches(st, m)) rows.push_back({m});
      }
      if (rows.empty()) return;
      out += ",\"series\":[";
      append_series(out, "measurements", nullptr, {"name"},
                    [&](std::string& o) { append_string_rows(o, rows); });
      out += "]";
      return;
    }
    default:
      break;
  }
  // Per measurement: tag keys, tag values, field keys.
  bool first = true;
  for (const auto& m : measurements(x.ctx, st.measurement)) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> columns;
    if (st.kind == iq::statement_kind::show_tag_keys) {
      columns = {"tagKey"};
      rows.push_back({"sym"});
    } else if (st.kind == iq::statement_kind::show_tag_values) {
      columns = {"key", "value"};
      if (!is_symbol_tag(st.tag_key)) continue;
      iq::statement all;
      all.measurement = m;
      for (const auto* s : series_of(x.ctx, all)) {
        if (rows.size() < limit) rows.push_back({st.tag_key, s->symbol()});
      }
    } else {  // field keys: the union over the measurement's series
      columns = {"fieldKey", "fieldType"};
      std::map<std::string, std::string> kinds;
      iq::statement all;
      all.measurement = m;
      for (const auto* s : series_of(x.ctx, all)) {
        for (const auto& f : s->fields())
          kinds.emplace(f.name, core::to_string(f.kind));
      }
      for (auto& [name, kind] : kinds) {
        if (rows.size() < limit) rows.push_back({name, kind});
      }
    }
    if (rows.empty()) continue;
    out += first ? ",\"series\":[" : ",";
    first = false;
    append_series(out, m, nullptr, columns, [&](std::string& o) { append_string_rows(o, rows); });
  }
  if (!first) out += "]";
}

// ---- SELECT ----

// A column of a SELECT: its name in the answer and, per series, where its value is.
struct column {
  std::string title;
  iq::aggregate agg = iq::aggregate::none;
  std::string field;  // a field name, or "sym"
};

// Column titles as InfluxDB makes them: the alias, else the field (raw) or the function's
// name; a repeated title gets _1, _2...
std::vector<column> resolve_columns(const iq::statement& st,
                                    const std::vector<const core::series*>& series) {
  std::vector<column> cols;
  for (const auto& f : st.fields) {
    if (f.name == "*") {
      std::set<std::string> names;
      for (const auto* s : series) {
        for (const auto& fs : s->fields())
          names.insert(fs.name);
      }
      if (!st.group_by_symbol) names.insert("sym");
      for (const auto& n : names)
        cols.push_back({n, iq::aggregate::none, n});
      continue;
    }
    std::string title = !f.alias.empty()               ? f.alias
                        : f.agg == iq::aggregate::none ? f.name
                                                       : std::string(iq::to_string(f.agg));
    cols.push_back({std::move(title), f.agg, f.name});
  }
  std::map<std::string, int> seen;
  for (auto& c : cols) {
    const int n = seen[c.title]++;
    if (n > 0) c.title += "_" + std::to_string(n);
  }
  return cols;
}

template <class F>
void walk(const core::series& s, time_ns from, time_ns to, std::uint64_t& scanned, bool& too_many,
          F&& f) {
  if (from > to) return;
  auto visit = [&](const stored_point& p) {
    if (p.time < from) return false;
    if (++scanned > kMaxQueryPointsScanned) {
      too_many = true;
      return false;
    }
    return f(p);
  };
  scan(s, to, visit);
}

std::string too_many_points() {
  return "query walks more than " + std::to_string(kMaxQueryPointsScanned) +
         " points; narrow the time range, add LIMIT or GROUP BY time()";
}

// One row of a raw SELECT: a point and the series it came from.
struct raw_row {
  const core::series* s;
  stored_point p;
};

void append_raw_value(std::string& out, const column& c, const raw_row& r) {
  if (is_symbol_tag(c.field) && r.s->field_index(c.field) < 0) {
    protocol::append_json_string(out, r.s->symbol());
    return;
  }
  const int f = r.s->field_index(c.field);
  if (f < 0) {
    out += "null";
    return;
  }
  const auto fi = static_cast<std::size_t>(f);
  protocol::append_field_json(out, r.s->fields()[fi].kind, r.p.words[fi]);
}

// Groups of series answered as one InfluxDB series each: one per symbol with GROUP BY sym,
// else one for the whole measurement.
std::vector<std::vector<const core::series*>> groups_of(
    const iq::statement& st, const std::vector<const core::series*>& series) {
  std::vector<std::vector<const core::series*>> g;
  if (st.group_by_symbol) {
    for (const auto* s : series)
      g.push_back({s});
  } else if (!series.empty()) {
    g.push_back(series);
  }
  return g;
}

// The answer's columns: "time", then each selected column's title.
std::vector<std::string> column_titles(const std::vector<column>& cols) {
  std::vector<std::string> titles{"time"};
  for (const auto& c : cols)
    titles.push_back(c.title);
  return titles;
}

std::optional<exec_error> select_raw(const exec_context& x, const iq::statement& st,
                                     const std::vector<const core::series*>& series,
                                     const std::vector<column>& cols, std::string& out) {
  std::uint64_t scanned = 0;
  bool too_many = false;
  bool first_series = true;
  const std::vector<std::string> titles = column_titles(cols);
  // A column that no series has as a field (nor is sym) makes InfluxDB leave it null; when
  // no selected column exists at all, the answer has no series.
  bool any_known = false;
  for (const auto& c : cols) {
    for (const auto* s : series)
      any_known = any_known || s->field_index(c.field) >= 0;
  }
  if (!any_known) return std::nullopt;
  for (const auto& group : groups_of(st, series)) {
    std::vector<raw_row> rows;
    std::deque<raw_row> oldest;  // ASC with LIMIT: the oldest `limit` points met so far
    for (const auto* s : group) {
      std::size_t taken = 0;
      oldest.clear();
      walk(*s, st.from, st.to, scanned, too_many, [&](const stored_point& p) {
        if (st.limit && !st.descending) {
          // The walk goes newest first: keep the last `limit` points met.
          if (oldest.size() == *st.limit) oldest.pop_front();
          oldest.push_back({s, p});
          return true;
        }
        if (rows.size() == kMaxQueryRows) {
          too_many = true;
          return false;
        }
        rows.push_back({s, p});
        // With DESC and LIMIT the newest `limit` of each series suffice.
        return !(st.descending && st.limit && ++taken >= *st.limit);
      });
      if (too_many && rows.size() == kMaxQueryRows) {
        return exec_error{"raw query selects more than " + std::to_string(kMaxQueryRows) +
                          " points; add LIMIT, narrow the time range or GROUP BY time()"};
      }
      if (too_many) return exec_error{too_many_points()};
      rows.insert(rows.end(), oldest.begin(), oldest.end());
    }
    std::stable_sort(rows.begin(), rows.end(), [&](const raw_row& a, const raw_row& b) {
      return st.descending ? a.p.time > b.p.time : a.p.time < b.p.time;
    });
    if (st.limit && rows.size() > *st.limit) rows.resize(*st.limit);
    if (rows.empty()) continue;
    out += first_series ? ",\"series\":[" : ",";
    first_series = false;
    const std::string* tag = st.group_by_symbol ? &group.front()->symbol() : nullptr;
    bool over = false;
    append_series(out, st.measurement, tag, titles, [&](std::string& o) {
      for (std::size_t i = 0; i < rows.size() && !over; ++i) {
        if (i != 0) o.push_back(',');
        o.push_back('[');
        append_influx_time(o, rows[i].p.time, x.epoch);
        for (const auto& c : cols) {
          o.push_back(',');
          append_raw_value(o, c, rows[i]);
        }
        o.push_back(']');
        over = o.size() > x.max_bytes;
      }
    });
    if (over) return exec_error{};  // the caller names the answer bound
  }
  x.ctx.metrics.add_points_scanned(scanned);
  if (!first_series) out += "]";
  return std::nullopt;
}

// The running aggregate of one column in one bucket.
struct cell {
  std::uint64_t count = 0;
  double sum = 0;
  std::int64_t isum = 0;
  bool all_int = true;  // every value an int64: sum stays an integer, as InfluxDB's
  double min = 0, max = 0;
  time_ns min_t = 0, max_t = 0;
  std::uint64_t min_w = 0, max_w = 0;
  core::field_kind min_k{}, max_k{};
  time_ns first_t = 0, last_t = 0;
  std::uint64_t first_w = 0, last_w = 0;
  core::field_kind first_k{}, last_k{};

  void add(time_ns t, core::field_kind k, std::uint64_t w) {
    const double v = protocol::field_as_double(k, w);
    if (count == 0 || v < min || (v == min && t < min_t)) {
      min = v, min_t = t, min_w = w, min_k = k;
    }
    if (count == 0 || v > max || (v == max && t < max_t)) {
      max = v, max_t = t, max_w = w, max_k = k;
    }
    if (count == 0 || t < first_t) first_t = t, first_w = w, first_k = k;
    if (count == 0 || t > last_t) last_t = t, last_w = w, last_k = k;
    ++count;
    sum += v;
    if (k == core::field_kind::int64) {
      isum += static_cast<std::int64_t>(w);
    } else {
      all_int = false;
    }
  }

  void append(std::string& out, iq::aggregate a) const {
    switch (a) {
      case iq::aggregate::count:
        protocol::append_json_number(out, count);
        return;
      case iq::aggregate::mean:
        protocol::append_json_number(out, sum / static_cast<double>(count));
        return;
      case iq::aggregate::sum:
        if (all_int) {
          protocol::append_json_number(out, isum);
        } else {
          protocol::append_json_number(out, sum);
        }
        return;
      case iq::aggregate::min:
        return protocol::append_field_json(out, min_k, min_w);
      case iq::aggregate::max:
        return protocol::append_field_json(out, max_k, max_w);
      case iq::aggregate::first:
        return protocol::append_field_json(out, first_k, first_w);
      case iq::aggregate::last:
        return protocol::append_field_json(out, last_k, last_w);
      case iq::aggregate::none:
        break;
    }
    out += "null";
  }
};

// fill(<number>) in an integer column: truncated toward zero, as Go's int64(float64) does
// for InfluxDB; clamped to the int64 range, where Go's conversion is undefined.
void append_int_fill(std::string& out, double v) {
  constexpr double kTwo63 = 9223372036854775808.0;
  std::int64_t i = 0;
  if (v >= kTwo63) {
    i = INT64_MAX;
  } else if (v <= -kTwo63) {
    i = INT64_MIN;
  } else if (v == v) {  // NaN stays 0
    i = static_cast<std::int64_t>(v);
  }
  protocol::append_json_number(out, i);
}

std::optional<exec_error> select_aggregate(const exec_context& x, const iq::statement& st,
                                           const std::vector<const core::series*>& series,
                                           const std::vector<column>& cols, std::string& out) {
  // Buckets: multiples of the interval since the epoch (as candles), from the one holding
  // `from` to the one holding `to` (now() when no upper bound is given, as InfluxDB does).
  const time_ns interval = st.group_interval;
  const time_ns to = interval != 0 && !st.has_to ? std::min(st.to, x.now) : st.to;
  if (st.from > to) return std::nullopt;
  time_ns first_bucket = st.from == INT64_MIN ? 0 : st.from;
  std::uint64_t buckets = 1;
  if (interval != 0) {
    first_bucket = core::backward_candle_builder::bar_start(st.from, interval);
    const time_ns last_bucket = core::backward_candle_builder::bar_start(to, interval);
    // Unsigned: the span may exceed the int64 range; last_bucket >= first_bucket.
    buckets = (static_cast<std::uint64_t>(last_bucket) - static_cast<std::uint64_t>(first_bucket)) /
                  static_cast<std::uint64_t>(interval) +
              1;
  }
  if (buckets > kMaxQueryCells || buckets * cols.size() > kMaxQueryCells) {
    return exec_error{"GROUP BY time() gives " + std::to_string(buckets) + " buckets x " +
                      std::to_string(cols.size()) + " fields, more than " +
                      std::to_string(kMaxQueryCells) + "; widen the interval or narrow the range"};
  }
  // With one selector and no GROUP BY time, InfluxDB answers the selected point's own time.
  const bool selector_time =
      interval == 0 && cols.size() == 1 &&
      (cols[0].agg == iq::aggregate::first || cols[0].agg == iq::aggregate::last ||
       cols[0].agg == iq::aggregate::min || cols[0].agg == iq::aggregate::max);
  std::uint64_t scanned = 0;
  bool too_many = false;
  bool first_series = true;
  const std::vector<std::string> titles = column_titles(cols);
  std::vector<cell> cells;
  for (const auto& group : groups_of(st, series)) {
    cells.assign(buckets * cols.size(), cell{});
    std::uint64_t points = 0;
    std::vector<int> index(cols.size());
    // A column whose values are integers (count, or a sum or selector of an integer field):
    // InfluxDB casts a fill(<number>) to an integer there, truncating it.
    std::vector<bool> int_column(cols.size(), false);
    for (std::size_t c = 0; c < cols.size(); ++c)
      int_column[c] = cols[c].agg == iq::aggregate::count;
    for (const auto* s : group) {
      for (std::size_t c = 0; c < cols.size(); ++c) {
        index[c] = s->field_index(cols[c].field);
        if (index[c] >= 0 && cols[c].agg != iq::aggregate::mean &&
            s->fields()[static_cast<std::size_t>(index[c])].kind == core::field_kind::int64) {
          int_column[c] = true;
        }
      }
      walk(*s, st.from, to, scanned, too_many, [&](const stored_point& p) {
        const std::uint64_t b =
            interval == 0
                ? 0
                : (static_cast<std::uint64_t>(p.time) - static_cast<std::uint64_t>(first_bucket)) /
                      static_cast<std::uint64_t>(interval);
        for (std::size_t c = 0; c < cols.size(); ++c) {
          if (index[c] < 0) continue;
          const auto fi = static_cast<std::size_t>(index[c]);
          cells[b * cols.size() + c].add(p.time, s->fields()[fi].kind, p.words[fi]);
          ++points;
        }
        return true;
      });
      if (too_many) return exec_error{too_many_points()};
    }
    if (points == 0) continue;  // no data in range: no series, as InfluxDB
    out += first_series ? ",\"series\":[" : ",";
    first_series = false;
    const std::string* tag = st.group_by_symbol ? &group.front()->symbol() : nullptr;
    bool over = false;
    append_series(out, st.measurement, tag, titles, [&](std::string& o) {
      std::vector<std::uint64_t> order;
      for (std::uint64_t b = 0; b < buckets; ++b)
        order.push_back(b);
      if (st.descending) std::reverse(order.begin(), order.end());
      std::vector<std::string> previous(cols.size(), "null");
      std::uint64_t written = 0;
      std::string value;
      // fill(previous) repeats the value of the row answered before, in the answer's order:
      // with ORDER BY time DESC that is the newer bucket's, as InfluxDB's fill iterator does.
      for (const std::uint64_t b : order) {
        if (st.limit && written == *st.limit) break;
        bool empty = true;
        for (std::size_t c = 0; c < cols.size(); ++c)
          empty = empty && cells[b * cols.size() + c].count == 0;
        if (empty && st.fill == iq::fill_kind::none) continue;
        if (written != 0) o.push_back(',');
        ++written;
        o.push_back('[');
        if (selector_time) {
          const cell& k = cells[b * cols.size()];
          const time_ns t = cols[0].agg == iq::aggregate::first  ? k.first_t
                            : cols[0].agg == iq::aggregate::last ? k.last_t
                            : cols[0].agg == iq::aggregate::min  ? k.min_t
                                                                 : k.max_t;
          append_influx_time(o, t, x.epoch);
        } else {
          append_influx_time(o, first_bucket + static_cast<time_ns>(b) * interval, x.epoch);
        }
        for (std::size_t c = 0; c < cols.size(); ++c) {
          o.push_back(',');
          const cell& k = cells[b * cols.size() + c];
          if (k.count != 0) {
            value.clear();
            k.append(value, cols[c].agg);
            o += value;
            previous[c] = value;
            continue;
          }
          switch (st.fill) {
            case iq::fill_kind::number:
              if (int_column[c]) {
                append_int_fill(o, st.fill_value);
              } else {
                protocol::append_json_number(o, st.fill_value);
              }
              break;
            case iq::fill_kind::previous:
              o += previous[c];
              break;
            default:  // null (none left only rows where every column is empty)
              o += cols[c].agg == iq::aggregate::count ? "0" : "null";
              break;
          }
        }
        o.push_back(']');
        if (o.size() > x.max_bytes) {
          over = true;
          break;
        }
      }
    });
    if (over) return exec_error{};
  }
  x.ctx.metrics.add_points_scanned(scanned);
  if (!first_series) out += "]";
  return std::nullopt;
}

std::optional<exec_error> select(const exec_context& x, const iq::statement& st, std::string& out) {
  const auto series = series_of(x.ctx, st);
  if (series.empty()) return std::nullopt;
  // `*` is every field of the measurement, as in InfluxDB, whose schema is per measurement:
  // a symbol without one of them answers null in that column.
  iq::statement whole;
  whole.measurement = st.measurement;
  const auto cols = resolve_columns(st, st.symbol ? series_of(x.ctx, whole) : series);
  const bool aggregate = !cols.empty() && cols.front().agg != iq::aggregate::none;
  return aggregate ? select_aggregate(x, st, series, cols, out)
                   : select_raw(x, st, series, cols, out);
}

// The 1-based line and column of a byte position, as InfluxDB words its parse errors.
std::string where_in(std::string_view q, std::size_t pos) {
  std::size_t line = 1;
  std::size_t col = 1;
  for (std::size_t i = 0; i < pos && i < q.size(); ++i) {
    if (q[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return " at line " + std::to_string(line) + ", char " + std::to_string(col);
}

}  // namespace

void handle_influx_query(const route_args& a, const responder& respond) {
  // A form-encoded POST carries the parameters in its body (Grafana's POST mode); they are
  // read after the URL's, so the body wins when both give one.
  std::optional<protocol::parsed_target> form;
  if (a.req.method == http_method::post &&
      a.req.content_type.starts_with("application/x-www-form-urlencoded")) {
    form = protocol::parse_target("/?" + std::string(a.req.body));
    if (!form) return respond(influx_error(400, "malformed form body (bad percent-encoding?)"));
  }
  auto param = [&](std::string_view name) -> std::optional<std::string_view> {
    if (form) {
      if (auto v = form->param(name)) return v;
    }
    return a.target.param(name);
  };
  const auto q = param("q");
  if (!q || q->empty()) return respond(influx_error(400, "missing required parameter \"q\""));
  const auto epoch = parse_epoch(param("epoch").value_or(""));
  if (!epoch) {
    return respond(influx_error(400,
                                "invalid 'epoch': use h, m, s, ms, u or ns (or leave it "
                                "out for RFC 3339 times)"));
  }
  const auto db = param("db").value_or(kDefaultDatabase);
  const exec_context x{a.ctx, *epoch, db.empty() ? kDefaultDatabase : db, wall_clock_ns(),
                       a.ctx.config.max_answer_bytes};
  const auto parsed = iq::parse(*q, x.now);
  if (parsed.error) {
    return respond(influx_error(
        400, "error parsing query: " + parsed.error.message + where_in(*q, parsed.error.position)));
  }
  std::string body = "{\"results\":[";
  for (std::size_t i = 0; i < parsed.statements.size(); ++i) {
    const auto& st = parsed.statements[i];
    if (i != 0) body.push_back(',');
    const std::size_t start = body.size();
    body += "{\"statement_id\":";
    protocol::append_json_number(body, static_cast<std::uint64_t>(i));
    std::optional<exec_error> err;
    if (st.kind == iq::statement_kind::select) {
      err = select(x, st, body);
    } else {
      show(x, st, body);
    }
    if (!err && body.size() > x.max_bytes) err = exec_error{};
    if (err) {
      if (err->message.empty()) {
        err->message = "answer exceeds " + std::to_string(x.max_bytes) +
                       " bytes (--max-answer-bytes); narrow the time range, add LIMIT or "
                       "GROUP BY time()";
      }
      body.resize(start);
      body += "{\"statement_id\":";
      protocol::append_json_number(body, static_cast<std::uint64_t>(i));
      body += ",\"error\":";
      protocol::append_json_string(body, err->message);
    }
    body += "}";
  }
  body += "]}";
  respond(influx_reply(200, std::move(body)));
}

}  // namespace tickring::server
