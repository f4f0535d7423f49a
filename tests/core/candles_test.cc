#include "core/candles.h"

#include <gtest/gtest.h>

namespace tickring::core {
namespace {

constexpr time_ns kSec = 1'000'000'000;

TEST(Candles, BarStartAlignsToEpochMultiplesIncludingNegativeTimes) {
  EXPECT_EQ(backward_candle_builder::bar_start(61 * kSec, 60 * kSec), 60 * kSec);
  EXPECT_EQ(backward_candle_builder::bar_start(60 * kSec, 60 * kSec), 60 * kSec);
  EXPECT_EQ(backward_candle_builder::bar_start(-1, 60 * kSec), -60 * kSec);
}

TEST(Candles, OpenHighLowCloseVolumeFromBackwardWalk) {
  backward_candle_builder b(60 * kSec, 10);
  // Newest first: bar [60s,120s) gets 3 points, bar [0,60s) gets 2.
  EXPECT_TRUE(b.add(100 * kSec, 5.0, 1));  // close of bar 2
  EXPECT_TRUE(b.add(90 * kSec, 7.0, 2));
  EXPECT_TRUE(b.add(61 * kSec, 4.0, 3));  // open of bar 2
  EXPECT_TRUE(b.add(30 * kSec, 2.0, 0));
  EXPECT_TRUE(b.add(0, 3.0, 0));
  const auto bars = b.take_ascending();
  ASSERT_EQ(bars.size(), 2U);
  EXPECT_EQ(bars[0].start, 0);
  EXPECT_EQ(bars[0].open, 3.0);
  EXPECT_EQ(bars[0].close, 2.0);
  EXPECT_EQ(bars[1].start, 60 * kSec);
  EXPECT_EQ(bars[1].open, 4.0);
  EXPECT_EQ(bars[1].high, 7.0);
  EXPECT_EQ(bars[1].low, 4.0);
  EXPECT_EQ(bars[1].close, 5.0);
  EXPECT_EQ(bars[1].volume, 6.0);
  EXPECT_EQ(bars[1].ticks, 3U);
}

TEST(Candles, LimitKeepsNewestBarsAndTellsCallerToStop) {
  backward_candle_builder b(kSec, 2);
  EXPECT_TRUE(b.add(5 * kSec, 1, 0));
  EXPECT_TRUE(b.add(4 * kSec, 1, 0));
  EXPECT_FALSE(b.add(3 * kSec, 1, 0));
  const auto bars = b.take_ascending();
  ASSERT_EQ(bars.size(), 2U);
  EXPECT_EQ(bars[0].start, 4 * kSec);
}

}  // namespace
}  // namespace tickring::core
