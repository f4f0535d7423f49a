#include "server/http/router.h"

#include <fmt/format.h>

#include "core/epoch.h"
#include "protocol/json_text.h"
#include "protocol/query_string.h"
#include "server/http/http_auth.h"
#include "server/http/routes_cluster.h"
#include "server/http/routes_influxql.h"
#include "server/http/routes_series.h"
#include "server/http/routes_ticks.h"
#include "server/http/routes_window.h"
#include "server/http/routes_write.h"
#include "server/static_assets.h"
#include "server/stream/hub.h"

namespace tickring::server {
namespace {

using protocol::append_json_number;
using protocol::append_json_string;

http_reply health(const route_context& ctx) {
  std::uint64_t points = 0;
  const std::size_t n = ctx.store.series_count();
  for (std::size_t i = 0; i < n; ++i)
    points += ctx.store.series_at(i).rows()->size();
  const auto& c = ctx.ingest.counters();
  http_reply r;
  // A journal that cannot write makes the server refuse writes: say so where monitors look.
  const bool failing = ctx.journal != nullptr && ctx.journal->counters().failing.load();
  // So does a log consumer cut off from NATS (reads are still served, from what it applied).
  r.body = failing || !consumer_healthy(ctx) ? "{\"status\":\"degraded\",\"series\":"
                                             : "{\"status\":\"ok\",\"series\":";
  append_json_number(r.body, static_cast<std::uint64_t>(n));
  r.body += ",\"points\":";
  append_json_number(r.body, points);
  r.body += ",\"lines_accepted\":";
  append_json_number(r.body, c.lines_accepted.load(std::memory_order_relaxed));
  r.body += ",\"lines_rejected\":";
  append_json_number(r.body, c.lines_rejected.load(std::memory_order_relaxed));
  if (ctx.journal != nullptr) {
    r.body += ",\"journal\":{\"writing\":";
    r.body += failing ? "false,\"error\":" : "true";
    if (failing) append_json_string(r.body, ctx.journal->last_error());
    r.body += ",\"replayed_records\":";
    append_json_number(r.body, ctx.journal->counters().replayed_records.load());
    r.body += '}';
  }
  append_consumer_health(r.body, ctx);
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
    append_json_number(r.body, static_cast<std::uint64_t>(s.rows()->size()));
    r.body += ",\"first\":";
    if (s.rows()->lowest(p)) {
      append_json_number(r.body, p.time);
    } else {
      r.body += "null";
    }
    r.body += ",\"last\":";
    if (s.rows()->highest(p)) {
      append_json_number(r.body, p.time);
    } else {
      r.body += "null";
    }
    r.body += '}';
  }
  r.body += ']';
  append_ownership(r.body, ctx);
  r.body += '}';
  return r;
}

http_reply metrics_page(const route_context& ctx) {
  const auto& c = ctx.ingest.counters();
  std::uint64_t points = 0;
  std::uint64_t bytes = 0;
  std::uint64_t relayouts = 0;
  const std::size_t n = ctx.store.series_count();
  for (std::size_t i = 0; i < n; ++i) {
    const core::series& s = ctx.store.series_at(i);
    const auto rows = s.rows();
    points += rows->size();
    bytes += rows->capacity_bytes();
    relayouts += s.relayouts();
  }
  http_reply r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  auto o = std::back_inserter(r.body);
  auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    fmt::format_to(o, "# HELP {0} {1}\n# TYPE {0} counter\n{0} {2}\n", name, help, v);
  };
  auto gauge = [&](const char* name, const char* help, std::uint64_t v) {
    fmt::format_to(o, "# HELP {0} {1}\n# TYPE {0} gauge\n{0} {2}\n", name, help, v);
  };
  counter("tickring_lines_accepted_total", "Line-protocol lines stored (TCP feed and /write).",
          c.lines_accepted.load(std::memory_order_relaxed));
  r.body +=
      "# HELP tickring_lines_rejected_total Line-protocol lines rejected, by reason.\n"
      "# TYPE tickring_lines_rejected_total counter\n";
  for (std::size_t i = 0; i < c.by_reason.size(); ++i) {
    fmt::format_to(o, "tickring_lines_rejected_total{{reason=\"{}\"}} {}\n",
                   to_string(static_cast<reject_reason>(i)),
                   c.by_reason[i].load(std::memory_order_relaxed));
  }
  counter("tickring_points_inserted_total", "Points inserted.",
          c.points_inserted.load(std::memory_order_relaxed));
  counter("tickring_points_overwritten_total", "Points overwritten (same series and time).",
          c.points_overwritten.load(std::memory_order_relaxed));
  counter("tickring_points_removed_total", "Points removed by DELETE.",
          c.points_removed.load(std::memory_order_relaxed));
  counter("tickring_evictions_total", "Points evicted by retention.", ctx.store.evictions());
  counter("tickring_ingest_bytes_total", "Bytes read from feed connections.",
          c.bytes_received.load(std::memory_order_relaxed));
  counter("tickring_feed_error_lines_sent_total", "Error lines written back to feed clients.",
          c.error_lines_sent.load(std::memory_order_relaxed));
  counter("tickring_feed_error_lines_suppressed_total",
          "Error lines not sent (rate limit or slow reader).",
          c.error_lines_suppressed.load(std::memory_order_relaxed));
  r.body +=
      "# HELP tickring_auth_failures_total Requests and feed connections refused for a missing "
      "or wrong token.\n# TYPE tickring_auth_failures_total counter\n";
  fmt::format_to(o, "tickring_auth_failures_total{{listener=\"http\"}} {}\n",
                 ctx.auth.http_refused.load(std::memory_order_relaxed));
  fmt::format_to(o, "tickring_auth_failures_total{{listener=\"feed\"}} {}\n",
                 ctx.auth.feed_refused.load(std::memory_order_relaxed));
  gauge("tickring_series", "Series stored.", n);
  gauge("tickring_points", "Points stored.", points);
  gauge("tickring_ring_bytes", "Bytes allocated to the series rings.", bytes);
  counter("tickring_series_relayouts_total",
          "Series whose ring was copied to widen a field (a value too wide for 4 bytes).",
          relayouts);
  gauge("tickring_resident_memory_bytes", "Resident memory of the process.",
        resident_memory_bytes());
  counter("tickring_writes_refused_busy_total",
          "/write answered 503: --max-queued-write-bytes of bodies waited for the writer.",
          c.writes_refused_busy.load(std::memory_order_relaxed));
  gauge("tickring_feed_connections", "Open feed connections.",
        c.feed_connections_open.load(std::memory_order_relaxed));
  gauge("tickring_retired_buffers", "Outgrown ring buffers waiting for readers to leave.",
        core::epoch_pending());
  if (ctx.streams != nullptr) {
    const auto& k = ctx.streams->counters;
    auto load = [](const std::atomic<std::uint64_t>& a) {
      return a.load(std::memory_order_relaxed);
    };
    gauge("tickring_ws_clients", "Open WebSocket stream connections.", load(k.clients));
    counter("tickring_ws_clients_total", "WebSocket stream connections accepted.",
            load(k.clients_total));
    gauge("tickring_ws_subscriptions", "Active stream subscriptions.", load(k.subscriptions));
    gauge("tickring_ws_queued_bytes", "Bytes queued toward WebSocket clients.",
          load(k.queued_bytes));
    counter("tickring_ws_messages_sent_total", "Messages written to WebSocket clients.",
            load(k.messages_sent));
    counter("tickring_ws_conflations_total",
            "Times a slow client's series was conflated (lagged + fresh snapshot).",
            load(k.conflations));
    counter("tickring_ws_dropped_total", "Messages dropped by conflation.", load(k.dropped));
    counter("tickring_ws_slow_closes_total", "Connections closed as too slow (1008).",
            load(k.slow_closes));
    counter("tickring_ws_bad_messages_total", "Client messages answered with an error.",
            load(k.bad_messages));
    counter("tickring_ws_abuse_closes_total", "Connections closed for too many bad messages.",
            load(k.abuse_closes));
    counter("tickring_ws_read_pauses_total",
            "Times a client's messages were left unread because its queue was full.",
            load(k.read_pauses));
    const auto& h = ctx.streams->the_hub.counters();
    counter("tickring_stream_records_total", "Changes serialised for the stream.", load(h.records));
    counter("tickring_stream_inbox_drops_total",
            "Changes not handed to a session whose inbox was full (resynced later).",
            load(h.inbox_drops));
    counter("tickring_stream_replayed_total", "Changes replayed for since_seq.", load(h.replayed));
    gauge("tickring_stream_replay_bytes", "Bytes held by the replay logs for since_seq.",
          load(h.log_bytes));
    counter("tickring_stream_resets_total", "Subscriptions whose since_seq could not be honoured.",
            load(h.resets));
  }
  if (ctx.journal != nullptr) {
    const auto& j = ctx.journal->counters();
    auto load = [](const auto& a) {
      return static_cast<std::uint64_t>(a.load(std::memory_order_relaxed));
    };
    gauge("tickring_journal_disk_bytes", "Bytes of journal segment files on disk.",
          load(j.disk_bytes));
    gauge("tickring_journal_segments", "Journal segment files on disk.", load(j.segments));
    counter("tickring_journal_segments_removed_total",
            "Journal segments deleted: a snapshot holds them, or retention evicted every point in "
            "them.",
            load(j.segments_removed));
    counter("tickring_journal_records_total", "Journal records written to the OS.",
            load(j.records));
    counter("tickring_journal_bytes_total", "Journal bytes written to the OS.",
            load(j.bytes_written));
    counter("tickring_journal_fsyncs_total", "fdatasync calls on journal segments.",
            load(j.fsyncs));
    gauge("tickring_journal_last_fsync_seconds",
          "Unix time of the last journal fdatasync (0: none yet).",
          load(j.last_fsync_unix_ns) / 1'000'000'000);
    counter("tickring_journal_write_errors_total",
            "Journal writes or syncs that failed (disk full, I/O error).", load(j.write_errors));
    gauge("tickring_journal_failing",
          "1 while the journal cannot write (writes are refused), else 0.", load(j.failing));
    gauge("tickring_journal_queued_bytes", "Journal bytes handed to the flusher, not yet written.",
          load(j.queued_bytes));
    gauge("tickring_journal_replayed_records", "Records replayed from the journal at start.",
          load(j.replayed_records));
    gauge("tickring_journal_snapshot_disk_bytes", "Bytes of snapshot files on disk.",
          load(j.snapshot_disk_bytes));
    counter("tickring_journal_snapshots_total", "Snapshots written since start.",
            load(j.snapshots));
    counter("tickring_journal_snapshot_errors_total", "Snapshots that failed (logged).",
            load(j.snapshot_errors));
    gauge("tickring_journal_last_snapshot_seconds",
          "Unix time of the last snapshot written (0: none since start).",
          load(j.last_snapshot_unix_ns) / 1'000'000'000);
    gauge("tickring_journal_last_snapshot_bytes", "Bytes of the last snapshot written.",
          load(j.last_snapshot_bytes));
    gauge("tickring_journal_last_snapshot_points", "Points in the last snapshot written.",
          load(j.last_snapshot_points));
    gauge("tickring_journal_last_snapshot_duration_ms",
          "Milliseconds the last snapshot took (walk, write, sync).",
          load(j.last_snapshot_ns) / 1'000'000);
    gauge("tickring_journal_snapshot_position",
          "Journal position of the newest snapshot: replay starts at this writer sequence.",
          load(j.snapshot_position));
    gauge("tickring_journal_snapshot_loaded_points",
          "Points loaded from the snapshot at start (before the journal after it).",
          load(j.snapshot_loaded_points));
    gauge("tickring_journal_replay_seconds", "Seconds the replay at start took (rounded down).",
          load(j.replay_ns) / 1'000'000'000);
  }
  append_consumer_metrics(r.body, ctx);
  ctx.metrics.append_prometheus(r.body);
  return r;
}

// ---- the route table ----

// Methods as bits, so that a route names several and a 405 can list them all.
constexpr unsigned kGet = 1U << 0;
constexpr unsigned kHead = 1U << 1;
constexpr unsigned kPost = 1U << 2;
constexpr unsigned kPut = 1U << 3;
constexpr unsigned kDelete = 1U << 4;
constexpr unsigned kAnyMethod = 0xFFU;  // the handler answers 405 itself (/write, /v1/window)

unsigned bit_of(http_method m) {
  switch (m) {
    case http_method::get:
      return kGet;
    case http_method::head:
      return kHead;
    case http_method::post:
      return kPost;
    case http_method::put:
      return kPut;
    case http_method::del:
      return kDelete;
    default:
      return 0;
  }
}

std::string allow_header(unsigned methods) {
  std::string out;
  constexpr std::pair<unsigned, const char*> kNames[] = {
      {kGet, "GET"}, {kHead, "HEAD"}, {kPost, "POST"}, {kPut, "PUT"}, {kDelete, "DELETE"}};
  for (const auto& [bit, name] : kNames) {
    if ((methods & bit) == 0) continue;
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

using route_handler = void (*)(const route_args&, const responder&);

struct route {
  // Path segments separated by '/': a literal, "{}" for any one segment, or a last "**" for
  // any number of further segments (none included).
  std::string_view pattern;
  unsigned methods;
  route_id id;
  route_handler handle;
  // Routes under /v1/series/{measurement}/{symbol}: the router looks the series up (404 when
  // absent) after the method check, so a wrong method is a 405 whether or not it exists.
  bool needs_series = false;
};

bool matches(std::string_view pattern, const std::vector<std::string>& seg) {
  std::size_t i = 0;
  while (!pattern.empty()) {
    const auto slash = pattern.find('/');
    const std::string_view part = pattern.substr(0, slash);
    pattern = slash == std::string_view::npos ? std::string_view{} : pattern.substr(slash + 1);
    if (part == "**") return true;
    if (i >= seg.size()) return false;
    if (part != "{}" && part != seg[i]) return false;
    ++i;
  }
  return i == seg.size();
}

template <http_reply (*F)(const route_context&)>
void reply_with(const route_args& a, const responder& respond) {
  respond(F(a.ctx));
}

// Order matters only where patterns overlap: the first route whose path and method match wins.
constexpr route kRoutes[] = {
    {"health", kGet | kHead, route_id::health, reply_with<health>},
    {"metrics", kGet | kHead, route_id::metrics, reply_with<metrics_page>},
    {"ping", kGet | kHead, route_id::ping,
     [](const route_args&, const responder& r) { r(ping_reply()); }},
    {"write", kAnyMethod, route_id::write,
     [](const route_args& a, const responder& r) { handle_write(a.ctx, a.target, a.req, r); }},
    {"v1/window/**", kAnyMethod, route_id::window,
     [](const route_args& a, const responder& r) {
       handle_window_route(a.ctx.window, a.ctx.config.test_clock, a.target, a.req, r);
     }},
    {"v1/series", kGet | kHead, route_id::series_list, reply_with<series_list>},
    {"v1/series/{}", kGet | kHead, route_id::not_found,
     [](const route_args&, const responder& r) {
       r(error_reply(404, "use /v1/series/{measurement}/{symbol}"));
     }},
    {"v1/series/{}/{}", kGet | kHead, route_id::points, get_points, true},
    {"v1/series/{}/{}/latest", kGet | kHead, route_id::latest, get_latest, true},
    {"v1/series/{}/{}/candles", kGet | kHead, route_id::candles, get_candles, true},
    {"v1/series/{}/{}/at/{}", kGet | kHead | kDelete, route_id::at, point_at, true},
    {"v1/series/{}/{}/asof", kGet | kHead | kPost, route_id::asof, get_asof, true},
    {"v1/series/{}/{}/asof/{}", kGet | kHead, route_id::asof, get_asof, true},
    {"v1/series/{}/{}/sample", kGet | kHead, route_id::sample, get_sample, true},
    {"v1/latest", kGet | kHead, route_id::latest_all, get_latest_all},
    {"query", kGet | kHead | kPost, route_id::query, handle_influx_query},
};

}  // namespace

http_reply error_reply(unsigned status, std::string_view message) {
  http_reply r;
  r.status = status;
  r.body = protocol::json_error(static_cast<int>(status), message);
  return r;
}

std::optional<http_reply> router::refuse_unauthorized(http_method method, std::string_view target,
                                                      std::string_view authorization) const {
  if (!ctx_.auth.enabled()) return std::nullopt;
  const auto parsed = protocol::parse_target(target);
  if (!parsed) return error_reply(400, "malformed request target (bad percent-encoding?)");
  return server::refuse_unauthorized(ctx_.auth, method, *parsed, authorization);
}

http_reply method_not_allowed(std::string_view allow) {
  http_reply r = error_reply(405, "method not allowed; use " + std::string(allow));
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

route_id router::handle(const http_request_view& req, const responder& respond) const {
  const auto target = protocol::parse_target(req.target);
  if (!target) {
    respond(error_reply(400, "malformed request target (bad percent-encoding?)"));
    return route_id::not_found;
  }
  if (auto denied =
          server::refuse_unauthorized(ctx_.auth, req.method, *target, req.authorization)) {
    respond(std::move(*denied));
    return route_id::not_found;
  }
  const auto& seg = target->segments;
  const unsigned method = bit_of(req.method);
  unsigned allowed = 0;  // methods of the routes whose path matched
  route_id path_id = route_id::not_found;
  for (const route& r : kRoutes) {
    if (!matches(r.pattern, seg)) continue;
    if (allowed == 0) path_id = r.id;
    allowed |= r.methods;
    if ((r.methods & method) == 0) continue;
    route_args args{ctx_, req, *target, nullptr};
    if (r.needs_series) {
      if (auto other = misdirected(ctx_, seg[2], seg[3])) {
        respond(std::move(*other));
        return r.id;
      }
      args.series = ctx_.store.find(seg[2], seg[3]);
      if (args.series == nullptr) {
        respond(error_reply(404, "no series " + seg[2] + "/" + seg[3]));
        return r.id;
      }
    }
    r.handle(args, respond);
    return r.id;
  }
  if (allowed != 0) {
    respond(method_not_allowed(allow_header(allowed)));
    return path_id;
  }
  if (auto page = serve_static(req.target)) {  // GET / and /ui/<file>: the chart page
    if ((method & (kGet | kHead)) == 0) {
      respond(method_not_allowed("GET, HEAD"));
    } else {
      respond(std::move(*page));
    }
    return route_id::page;
  }
  respond(error_reply(404,
                      "no such route: " + std::string(req.target.substr(0, req.target.find('?')))));
  return route_id::not_found;
}

}  // namespace tickring::server
