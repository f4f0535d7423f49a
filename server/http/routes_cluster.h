// What the HTTP routes say about running past one machine (docs/scale-out.md): the partitions
// this instance owns (GET /v1/series), the refusal of a series another instance owns, and
// the log consumer's state and lag in /health and /metrics.
//
// Threads: worker threads; reads the consumer's atomics only. Cost: O(owned partitions).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "server/http/router.h"

namespace tickring::server {

// With --nats or --cluster, a series whose partition this instance does not own: 421 naming
// the owner's URL when the cluster file is known, else 404 naming the partition. Nothing for
// an owned series (or without either flag).
std::optional<http_reply> misdirected(const route_context& ctx, std::string_view measurement,
                                      std::string_view symbol);
// `,"partition_count":P,"partitions":"0-3"` (and `"instance"` with --cluster) for GET
// /v1/series; nothing without --nats or --cluster.
void append_ownership(std::string& body, const route_context& ctx);
// `,"nats":{...}` for /health: state, and per partition the applied sequence and lag.
void append_consumer_health(std::string& body, const route_context& ctx);
// The tickring_nats_* families for /metrics.
void append_consumer_metrics(std::string& body, const route_context& ctx);
// False while the consumer is not connected to NATS (/health says "degraded").
bool consumer_healthy(const route_context& ctx);

}  // namespace tickring::server
