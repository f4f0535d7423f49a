// A built-in synthetic quote feed (--demo): random-walk bid/ask quotes for a few symbols,
// applied on the ingest thread through the write path like feed lines, stamped with the wall clock.
//
// Threads: ingest io_context only. Cost: rate/100 quotes every 10 ms tick.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/series_store.h"
#include "server/ingest/write_path.h"

namespace tickring::server {

// 100 ticks per second: smooth for a chart, cheap for the ingest thread.
inline constexpr std::chrono::milliseconds kDemoTick{10};

class demo_feed {
 public:
  demo_feed(boost::asio::io_context& ioc, write_path& path, double rate, std::size_t symbols);
  void start();
  void stop();

 private:
  struct instrument {
    std::string symbol;
    double mid;
    double spread;
    core::time_ns last_time = 0;
  };
  void on_tick();

  boost::asio::steady_timer timer_;
  write_path& path_;
  double rate_;
  double carry_ = 0;
  std::vector<instrument> instruments_;
  std::mt19937_64 rng_{20261123};
  bool stopped_ = false;
};

}  // namespace tickring::server
