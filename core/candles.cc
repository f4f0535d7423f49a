#include "core/candles.h"

#include <algorithm>

namespace tickring::core {

backward_candle_builder::backward_candle_builder(time_ns interval, std::size_t limit)
    : interval_(interval), limit_(limit) {
  bars_.reserve(std::min<std::size_t>(limit, 4096));
}

time_ns backward_candle_builder::bar_start(time_ns t, time_ns interval) {
  time_ns q = t / interval;
  if (t % interval < 0) --q;
  return q * interval;
}

bool backward_candle_builder::add(time_ns t, double price, double volume) {
  const time_ns start = bar_start(t, interval_);
  if (bars_.empty() || start < bars_.back().start) {
    if (bars_.size() == limit_) return false;
    bars_.push_back({start, price, price, price, price, volume, 1});
    return true;
  }
  candle& c = bars_.back();
  c.open = price;  // walking backwards: the latest seen is the earliest in time
  c.high = std::max(c.high, price);
  c.low = std::min(c.low, price);
  c.volume += volume;
  ++c.ticks;
  return true;
}

std::vector<candle> backward_candle_builder::take_ascending() {
  std::reverse(bars_.begin(), bars_.end());
  return std::move(bars_);
}

}  // namespace tickring::core
