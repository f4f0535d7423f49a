// GET|POST /query: InfluxDB 1.x's query endpoint for the InfluxQL subset of
// protocol/influxql.h, so that Grafana's InfluxDB data source and the InfluxDB client
// libraries read tickring unchanged (docs/queries.md).
//
// Parameters (URL, or a form-encoded POST body): q (required), db (any name: tickring has one
// database, answered under the name the client uses), epoch (h, m, s, ms, u or ns; default
// RFC 3339 strings), chunked (accepted; the answer is always one chunk).
//
// Answer: InfluxDB's shape, {"results":[{"statement_id":0,"series":[{"name":..,"tags":..,
// "columns":[..],"values":[[..],..]}]}]}. A query that does not parse, or asks for something
// outside the subset, is a 400 {"error":"error parsing query: <what> at line 1, char <n>"};
// an error met while running a statement is that statement's "error" (status 200), as
// InfluxDB does. The data model: measurement = measurement, the tag `sym` = the symbol, the
// fields = the series' fields.
//
// Threads: worker threads; reads without locks. Bounds: at most kMaxQueryPointsScanned points
// walked, kMaxQueryRows raw points kept and kMaxQueryCells aggregate cells per statement, and
// --max-answer-bytes for the answer; past any of them the statement's error says which, never a
// truncated answer.
#pragma once

#include "server/http/router.h"

namespace tickring::server {

inline constexpr std::uint64_t kMaxQueryPointsScanned = 20'000'000;
// Buckets x selected fields of one aggregate statement (each cell ~80 bytes: ~80 MB at most).
inline constexpr std::uint64_t kMaxQueryCells = 1'000'000;

// Points one raw SELECT keeps in memory before answering (~150 bytes each: ~150 MB); with
// LIMIT n at most n per series are kept, whatever the range.
inline constexpr std::size_t kMaxQueryRows = 1'000'000;

void handle_influx_query(const route_args& a, const responder& respond);

}  // namespace tickring::server
