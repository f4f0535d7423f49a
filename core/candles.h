// OHLCV candle aggregation over a series walked newest first.
//
// Bars are aligned to multiples of the interval since the Unix epoch (a 1m bar starts at a
// whole minute, a 1d bar at 00:00 UTC), as lightweight-charts and most exchanges expect.
// Walking newest first fits the ring's backward iterator: the first price seen in a bar is its
// close, the last its open. The builder keeps at most `limit` bars: once a point belongs to an
// older bar than the limit allows, the caller can stop.
//
// Threads: a builder is single-threaded, used for one query. Cost: O(1) per point; bars are
// stored in a vector of at most `limit` entries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/ring_cell.h"

namespace tickring::core {

inline constexpr time_ns kMinCandleInterval = 1'000'000'000LL;             // 1 s
inline constexpr time_ns kMaxCandleInterval = 86'400LL * 1'000'000'000LL;  // 1 d

struct candle {
  time_ns start;  // bar start, ns since the epoch
  double open, high, low, close;
  double volume;  // sum of the volume field, 0 without one
  std::uint64_t ticks;
};

class backward_candle_builder {
 public:
  // REQUIRES: interval in [kMinCandleInterval, kMaxCandleInterval]; limit >= 1.
  backward_candle_builder(time_ns interval, std::size_t limit);

  // Feeds the next point (times strictly decreasing). Returns false when the point falls in a
  // bar older than the `limit` newest bars: the caller should stop feeding.
  bool add(time_ns t, double price, double volume);

  // Bars oldest first (lightweight-charts wants ascending time).
  std::vector<candle> take_ascending();

  // Floor of t to a multiple of interval, correct for negative times.
  static time_ns bar_start(time_ns t, time_ns interval);

 private:
  time_ns interval_;
  std::size_t limit_;
  std::vector<candle> bars_;  // newest first while building
};

}  // namespace tickring::core
