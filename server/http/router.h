// Routes HTTP requests to handlers. Handlers run on a worker thread inside the connection's
// strand; they read the store without locks and hand writes to the ingest thread, replying
// when it has applied them (through the responder, never by blocking the worker).
//
// Errors are JSON {"error":{"code":..,"message":..}}: 400 names the bad parameter, 404 an
// unknown route or series, 405 a known route with the wrong method, 413 an answer past
// --max-answer-bytes, 421 a series of a partition another instance owns (--cluster: the
// message names its URL; without the file, a 404 names the partition), 415 a compressed /write
// body, 401 a request without a valid token where one is needed (http_auth.h). handle() may throw
// (out of memory): the session answers 500 and keeps serving.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

#include "core/series_store.h"
#include "core/window_store.h"
#include "protocol/query_string.h"
#include "server/auth.h"
#include "server/cluster/log_consumer.h"
#include "server/config.h"
#include "server/http/http_metrics.h"
#include "server/http/http_types.h"
#include "server/ingest/ingest.h"
#include "server/stream/stream_context.h"

namespace tickring::server {

struct route_context {
  core::series_store& store;
  ingest_service& ingest;
  const server_config& config;
  http_metrics& metrics;
  core::window_store& window;
  const stream::stream_context* streams;  // for /metrics; may be nullptr
  const token_auth& auth;
  const journal::journal* journal = nullptr;        // --data-dir; for /health and /metrics
  const cluster::log_consumer* consumer = nullptr;  // --nats; for /health and /metrics
};

// What a route handler gets: the parsed target and the request, and for routes under
// /v1/series/{measurement}/{symbol} the series (never null there).
struct route_args {
  const route_context& ctx;
  const http_request_view& req;
  const protocol::parsed_target& target;
  const core::series* series;
};

// Routes are a table of (method set, path pattern) -> handler (router.cc): a path that matches
// no pattern is a 404, a path that matches with another method a 405 listing the methods.
class router {
 public:
  explicit router(route_context ctx) : ctx_(ctx) {}
  // Answers through `respond` (now or later) and returns the route, for metrics.
  route_id handle(const http_request_view& req, const responder& respond) const;
  http_metrics& metrics() const { return ctx_.metrics; }
  // For a request the router does not see (the WebSocket upgrade): the 401 to send, if any.
  std::optional<http_reply> refuse_unauthorized(http_method method, std::string_view target,
                                                std::string_view authorization) const;

 private:
  route_context ctx_;
};

}  // namespace tickring::server
