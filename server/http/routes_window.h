// Handlers of /v1/window (docs/design.md): the sliding-window key/value store.
//
//   PUT    /v1/window/{key}   body {"value": 12.5} or a bare number -> {"key":..,"value":..}
//   GET    /v1/window/{key}   -> {"key":..,"value":..} or 404
//   DELETE /v1/window/{key}   -> {"key":..,"value":<removed>} or 404
//   GET    /v1/window         -> {"average":..,"count":..,"window_seconds":..}
// Every call uses the server's wall clock: the store's clock only moves forward, so a client
// that could set it (a `time` far in the future) would expire every entry for good. Only a
// server started with the hidden --test-clock flag (for tests, never production) takes
// `time` (integer ns or RFC 3339); otherwise `time` is answered 400. Threads: any worker; the store
// has its own reader/writer lock (core/window_store.h), independent of the rings and the ingest
// thread. Errors: 400 for a bad body, key or value (NaN, infinite, too large), 404 for an absent or
// expired key, 405 for another method, 503 when the store holds its maximum of keys.
#pragma once

#include "core/window_store.h"
#include "protocol/query_string.h"
#include "server/http/http_types.h"

namespace tickring::server {

// `client_clock`: --test-clock was given (the `time` parameter is honoured).
void handle_window_route(core::window_store& store, bool client_clock,
                         const protocol::parsed_target& target, const http_request_view& req,
                         const responder& respond);

}  // namespace tickring::server
