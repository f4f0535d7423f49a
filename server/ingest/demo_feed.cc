#include "server/ingest/demo_feed.h"

#include <bit>
#include <cmath>

namespace tickring::server {

namespace {
struct seed_instrument {
  const char* symbol;
  double price;
  double spread;
};
constexpr seed_instrument kSeeds[] = {
    {"EURUSD", 1.0842, 0.0001}, {"GBPUSD", 1.2655, 0.0002}, {"USDJPY", 151.32, 0.01},
    {"AUDUSD", 0.6571, 0.0001}, {"BTCUSD", 67250.0, 5.0},   {"ETHUSD", 3520.0, 0.5},
    {"AAPL", 189.25, 0.01},     {"MSFT", 415.10, 0.02},
};
}  // namespace

demo_feed::demo_feed(boost::asio::io_context& ioc, write_path& path, double rate,
                     std::size_t symbols)
    : timer_(ioc), path_(path), rate_(rate) {
  constexpr std::size_t kSeedCount = std::size(kSeeds);
  for (std::size_t i = 0; i < symbols; ++i) {
    const auto& s = kSeeds[i % kSeedCount];
    std::string name = s.symbol;
    if (i >= kSeedCount) name += "_" + std::to_string(i / kSeedCount);
    instruments_.push_back({name, s.price, s.spread});
  }
}

void demo_feed::start() {
  timer_.expires_after(kDemoTick);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !stopped_) on_tick();
  });
}

void demo_feed::stop() {
  stopped_ = true;
  timer_.cancel();
}

void demo_feed::on_tick() {
  carry_ += rate_ * std::chrono::duration<double>(kDemoTick).count();
  const auto n = static_cast<std::size_t>(carry_);
  carry_ -= static_cast<double>(n);
  std::normal_distribution<double> step(0.0, 1.0);
  std::uniform_int_distribution<std::size_t> pick(0, instruments_.size() - 1);
  std::uniform_int_distribution<std::int64_t> size(1, 50);
  const core::time_ns now = wall_clock_ns();
  for (std::size_t i = 0; i < n; ++i) {
    instrument& in = instruments_[pick(rng_)];
    // Geometric random walk, a few basis points per quote.
    in.mid *= std::exp(0.00005 * step(rng_));
    const core::time_ns t = std::max(now, in.last_time + 1);
    in.last_time = t;
    const double bid = in.mid - in.spread / 2;
    const double ask = in.mid + in.spread / 2;
    const core::field_input fields[] = {
        {"bid", core::field_kind::float64, std::bit_cast<std::uint64_t>(bid)},
        {"ask", core::field_kind::float64, std::bit_cast<std::uint64_t>(ask)},
        {"bid_size", core::field_kind::int64, static_cast<std::uint64_t>(size(rng_) * 100000)},
        {"ask_size", core::field_kind::int64, static_cast<std::uint64_t>(size(rng_) * 100000)},
    };
    (void)path_.apply({"quotes", in.symbol, fields, t});
  }
  start();
}

}  // namespace tickring::server
