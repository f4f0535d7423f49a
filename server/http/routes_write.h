// POST /write: InfluxDB 1.x compatible line-protocol writes (and GET|HEAD /ping, which the
// InfluxDB client libraries call first).
//
// The body is handed to the ingest thread; the answer is sent when it has been applied:
// 204 when every line was stored; 400 with InfluxDB's partial-write message when some lines
// were rejected (the good ones are stored); 503 once shutdown has stopped the ingest thread
// (nothing stored); 413 over the body limit (sent by the session from
// Content-Length, before the body is read); 401 without a valid token when a token file is
// given (checked by the router before this route, http_auth.h: `p` may carry the token).
// `db`, `rp`, `u` are accepted and ignored; `precision` is n|ns|u|us|ms|s (default ns).
// Errors on this route use InfluxDB's shape {"error":"<message>"} instead of tickring's
// {"error":{"code":..,"message":..}}: existing client libraries parse that string.
#pragma once

#include "protocol/query_string.h"
#include "server/http/router.h"

namespace tickring::server {

void handle_write(const route_context& ctx, const protocol::parsed_target& target,
                  const http_request_view& req, const responder& respond);
http_reply ping_reply();

}  // namespace tickring::server
