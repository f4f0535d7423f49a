// Which HTTP requests need a token, where a request carries one, and the 401 it gets without
// (docs/auth.md). The token check itself is server/auth.h.
//
// A token is needed, when --auth-token-file is set, by every request that is not a read (POST
// /write, DELETE of a point, PUT/DELETE of a window key, and any other method, so that a
// future write route cannot be left open by mistake). Reads are GET and HEAD, and the POSTs
// that only carry a query too long for a URL: /query (InfluxQL) and
// /v1/series/{m}/{s}/asof. With --auth-reads every request needs one
// (the page, /metrics and the WebSocket upgrade of /v1/stream included) except GET /health and
// GET /ping, which load balancers and InfluxDB clients call without credentials and which
// reveal no data.
// A request presents its token as `Authorization: Bearer <t>` or `Token <t>` (InfluxDB 2),
// `Authorization: Basic base64(<any user>:<t>)` (InfluxDB 1.x clients, browsers), or the
// query parameter `p=<t>` (InfluxDB 1.x `u`/`p`; `u` is ignored).
// Threads: any; no state beyond token_auth's counters.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "protocol/query_string.h"
#include "server/auth.h"
#include "server/http/http_types.h"

namespace tickring::server {

bool request_needs_token(const token_auth& auth, http_method method,
                         const protocol::parsed_target& target);

// The token a request presents (see above), or "" when it presents none.
std::string presented_token(std::string_view authorization, const protocol::parsed_target& target);

// Nothing when the request may proceed; otherwise the 401 to send (JSON error, in InfluxDB's
// shape on /write, with WWW-Authenticate), counted in auth.http_refused.
std::optional<http_reply> refuse_unauthorized(const token_auth& auth, http_method method,
                                              const protocol::parsed_target& target,
                                              std::string_view authorization);

}  // namespace tickring::server
