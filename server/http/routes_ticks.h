// The queries tick-data users ask for every day, on the lock-free read path (docs/queries.md):
//
//   GET  /v1/series/{m}/{s}/asof/{time}          the point in force at `time`: the newest at or
//                                                 before it (kdb+'s aj, QuestDB's ASOF JOIN)
//   GET  /v1/series/{m}/{s}/asof?times=t1,t2,..  the same for up to kMaxAsofTimesInQuery times
//   POST /v1/series/{m}/{s}/asof                 body: a JSON list of times (integer ns or
//                                                 RFC 3339 strings), up to kMaxAsofTimes
//   GET  /v1/latest?measurement=quotes           the newest point of every series of a
//                                                 measurement (kdb+'s select last by sym)
//   GET  /v1/series/{m}/{s}/sample?interval=1s&agg=last|first|mean|min|max
//                                                 one value per field and bucket; buckets are
//                                                 aligned like candles (multiples of the
//                                                 interval since the epoch)
//
// Threads: worker threads, reads without locks. Cost and bounds:
// - as-of for n times: the times are sorted newest first and answered by one backward walk
//   from the newest; when the next time lies more than kAsofWalkBeforeSearch points further
//   back, the walk searches again from it (O(log N)) instead of stepping there. So one time is
//   O(log N), and n times O(n log n + n min(gap, kAsofWalkBeforeSearch + log N)).
// - latest: one O(1)-ish read (the ring's highest) per series of the measurement.
// - sample: one backward walk over [from, to]; agg=last jumps from bucket to bucket (one
//   search per bucket). At most kMaxSamplePointsScanned points are walked; past that the
//   answer is a 413 (narrow from/to or widen the interval), never a partial list.
// - every answer stops at --max-answer-bytes with a 413, as the other routes do.
#pragma once

#include "server/http/router.h"

namespace tickring::server {

inline constexpr std::size_t kMaxAsofTimesInQuery = 100;  // a URL stays short
inline constexpr std::size_t kMaxAsofTimes = 10'000;      // a POSTed list (~200 KB of JSON)
// Past this many points without meeting the next time, a search is cheaper than stepping.
inline constexpr std::size_t kAsofWalkBeforeSearch = 64;
// A day of a busy symbol's ticks (~100 ms of walking); more is a 413.
inline constexpr std::uint64_t kMaxSamplePointsScanned = 20'000'000;

void get_asof(const route_args& a, const responder& respond);        // GET|POST .../asof[/{time}]
void get_sample(const route_args& a, const responder& respond);      // GET .../sample
void get_latest_all(const route_args& a, const responder& respond);  // GET /v1/latest

}  // namespace tickring::server
