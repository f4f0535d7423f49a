#include "server/http/routes_cluster.h"

#include <fmt/format.h>

#include "protocol/json_text.h"
#include "protocol/partition.h"
#include "server/ingest/write_path.h"

namespace tickring::server {
namespace {

using protocol::append_json_number;
using protocol::append_json_string;

// Seconds behind the log: how old the last applied message is while more wait after it; 0
// once the consumer has applied everything it was told about (a quiet feed is not a lag).
double lag_seconds(const cluster::partition_status& p, std::int64_t now_ns) {
  if (p.pending.load(std::memory_order_relaxed) == 0) return 0;
  const std::int64_t t = p.applied_time_ns.load(std::memory_order_relaxed);
  if (t == 0 || now_ns <= t) return 0;
  return static_cast<double>(now_ns - t) / 1e9;
}

}  // namespace

std::optional<http_reply> misdirected(const route_context& ctx, std::string_view measurement,
                                      std::string_view symbol) {
  const auto& k = ctx.config.cluster;
  if (!k.partitioned()) return std::nullopt;
  const std::uint32_t p = protocol::partition_of(measurement, symbol, k.partition_count);
  if (k.owned.contains(p)) return std::nullopt;
  const std::string series = fmt::format("{}/{}", measurement, symbol);
  if (k.map) {
    const std::string& owner = k.map->owner(p).url;
    http_reply r = error_reply(
        421, fmt::format("series {} is in partition {} of {}, owned by {} (this instance owns {})",
                         series, p, k.partition_count, owner, k.owned.to_string()));
    r.headers.emplace_back("X-Tickring-Owner", owner);
    return r;
  }
  return error_reply(404, fmt::format("no series {}: it is in partition {} of {}, which this "
                                      "instance does not own (it owns {})",
                                      series, p, k.partition_count, k.owned.to_string()));
}

void append_ownership(std::string& body, const route_context& ctx) {
  const auto& k = ctx.config.cluster;
  if (!k.partitioned()) return;
  body += ",\"partition_count\":";
  append_json_number(body, static_cast<std::uint64_t>(k.partition_count));
  body += ",\"partitions\":";
  append_json_string(body, k.owned.to_string());
  if (!k.self_url.empty()) {
    body += ",\"instance\":";
    append_json_string(body, k.self_url);
  }
}

bool consumer_healthy(const route_context& ctx) {
  return ctx.consumer == nullptr || ctx.consumer->state() == cluster::link_state::connected;
}

void append_consumer_health(std::string& body, const route_context& ctx) {
  if (ctx.consumer == nullptr) return;
  const auto& c = *ctx.consumer;
  const std::int64_t now = wall_clock_ns();
  body += ",\"nats\":{\"state\":";
  append_json_string(body, cluster::to_string(c.state()));
  body += ",\"stream\":";
  append_json_string(body, c.options().stream);
  body += ",\"reconnects\":";
  append_json_number(body, c.reconnects());
  const std::string error = c.last_error();
  if (!error.empty()) {
    body += ",\"error\":";
    append_json_string(body, error);
  }
  body += ",\"partitions\":[";
  bool first = true;
  for (const auto& p : c.partitions()) {
    if (!first) body += ',';
    first = false;
    body += "{\"partition\":";
    append_json_number(body, static_cast<std::uint64_t>(p->partition));
    body += ",\"subscribed\":";
    body += p->subscribed.load(std::memory_order_relaxed) ? "true" : "false";
    body += ",\"applied_seq\":";
    append_json_number(body, p->applied_seq.load(std::memory_order_relaxed));
    body += ",\"messages\":";
    append_json_number(body, p->messages.load(std::memory_order_relaxed));
    body += ",\"pending\":";
    if (p->known_pending.load(std::memory_order_relaxed)) {
      append_json_number(body, p->pending.load(std::memory_order_relaxed));
    } else {
      body += "null";
    }
    body += ",\"lag_seconds\":";
    append_json_number(body, lag_seconds(*p, now));
    body += '}';
  }
  body += "]}";
}

void append_consumer_metrics(std::string& body, const route_context& ctx) {
  if (ctx.consumer == nullptr) return;
  const auto& c = *ctx.consumer;
  const std::int64_t now = wall_clock_ns();
  auto o = std::back_inserter(body);
  auto family = [&](const char* name, const char* type, const char* help) {
    fmt::format_to(o, "# HELP {0} {1}\n# TYPE {0} {2}\n", name, help, type);
  };
  family("tickring_nats_connected", "gauge",
         "1 while connected to NATS, else 0 (reads are served either way).");
  fmt::format_to(o, "tickring_nats_connected {}\n",
                 c.state() == cluster::link_state::connected ? 1 : 0);
  family("tickring_nats_reconnects_total", "counter", "Reconnections to NATS since start.");
  fmt::format_to(o, "tickring_nats_reconnects_total {}\n", c.reconnects());
  family("tickring_nats_errors_total", "counter",
         "Consumer errors: failed stream or subscription setups, slow-consumer drops (repaired).");
  fmt::format_to(o, "tickring_nats_errors_total {}\n", c.consumer_errors());
  family("tickring_nats_inflight_bytes", "gauge",
         "Bytes of messages handed to the ingest thread, not yet applied.");
  fmt::format_to(o, "tickring_nats_inflight_bytes {}\n", c.inflight_bytes());
  family("tickring_nats_stalled_messages", "gauge",
         "Messages waiting because the journal refuses changes.");
  fmt::format_to(o, "tickring_nats_stalled_messages {}\n", c.stalled_messages());
  auto per_partition = [&](const char* name, const char* type, const char* help, auto value) {
    family(name, type, help);
    for (const auto& p : c.partitions())
      fmt::format_to(o, "{}{{partition=\"{}\"}} {}\n", name, p->partition, value(*p));
  };
  using ps = cluster::partition_status;
  per_partition("tickring_nats_applied_sequence", "gauge",
                "Last JetStream stream sequence applied, per partition.",
                [](const ps& p) { return p.applied_seq.load(std::memory_order_relaxed); });
  per_partition("tickring_nats_pending_messages", "gauge",
                "Messages of the partition in the stream after the last one applied.",
                [](const ps& p) { return p.pending.load(std::memory_order_relaxed); });
  per_partition("tickring_nats_lag_seconds", "gauge",
                "Age of the last applied message while more are pending (0 when caught up).",
                [now](const ps& p) { return lag_seconds(p, now); });
  per_partition("tickring_nats_applied_timestamp_seconds", "gauge",
                "JetStream time (Unix seconds) of the last applied message: now minus it is how "
                "old the newest applied data is, while a feed runs.",
                [](const ps& p) {
                  return static_cast<double>(p.applied_time_ns.load(std::memory_order_relaxed)) /
                         1e9;
                });
  per_partition("tickring_nats_messages_total", "counter", "Messages applied since start.",
                [](const ps& p) { return p.messages.load(std::memory_order_relaxed); });
  per_partition("tickring_nats_lines_accepted_total", "counter",
                "Lines of the partition's messages stored.",
                [](const ps& p) { return p.lines_accepted.load(std::memory_order_relaxed); });
  per_partition("tickring_nats_lines_rejected_total", "counter",
                "Lines of the partition's messages rejected (misrouted included).",
                [](const ps& p) { return p.lines_rejected.load(std::memory_order_relaxed); });
  per_partition("tickring_nats_duplicates_total", "counter",
                "Messages delivered again at or below the applied sequence: skipped.",
                [](const ps& p) { return p.duplicates.load(std::memory_order_relaxed); });
}

}  // namespace tickring::server
