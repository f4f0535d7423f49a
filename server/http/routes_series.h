// Handlers of /v1/series/{measurement}/{symbol}[/latest|/at/{time}|/candles] (docs/design.md).
//
// Threads: worker threads; reads go straight to the rings without locks; the DELETE of a
// point is handed to the ingest thread and answered from its completion.
// Query parameters (a bad one gets 400 naming it):
//   from, to   integer ns or RFC 3339; inclusive; default: everything
//   limit      1..kMaxLimit points (default kDefaultLimit) or candles
//   order      asc (default: oldest first, the oldest `limit` points of the range: a bisection
//              over the range's times, at most ~64 probes of O(log N + limit)) or desc
//              (newest first, walks the backward iterator: O(log N + limit))
//   fields     comma-separated subset of the series' fields; a repeated name is one column
//   format     json (default) or csv
//   epoch      ns (default), u, ms, s or rfc3339: the unit of times in the answer
//   interval   candles: 1s..1d as <n>s|m|h|d (default 1m); field: the price field
// Answer size: past config.max_answer_bytes (--max-answer-bytes) the answer is a 413, never a
// truncated list; building stops as soon as it passes the bound.
#pragma once

#include "core/series.h"
#include "protocol/query_string.h"
#include "server/http/router.h"

namespace tickring::server {

// Route handlers (router.cc's table); a.series is the series named by the path.
void get_points(const route_args& a, const responder& respond);   // GET .../{s}
void get_latest(const route_args& a, const responder& respond);   // GET .../latest
void get_candles(const route_args& a, const responder& respond);  // GET .../candles
void point_at(const route_args& a, const responder& respond);     // GET|DELETE .../at/{time}

}  // namespace tickring::server
