// Synthetic FX-style quotes in line protocol, for load generation:
//
//   quotes,sym=SYM0042 bid=1.08421,ask=1.08432,bid_size=1000000i,ask_size=750000i
//   1700000000000000123
//
// (one line each; with price_decimals = 2, as `tickring bench gen-quotes` writes them:
// bid=1084.21,ask=1084.32, the same walk in units of 0.01).
//
// Point j (0 <= j < points) belongs to symbol j % symbols and has time base_time + j, so every
// point has its own timestamp, times rise strictly within each symbol, and a server that
// starts empty ends with exactly `points` stored points. Prices are a per-symbol random walk in
// whole ticks (1e-5 by default) with a spread of 1..kMaxSpreadTicks pipettes; sizes are multiples
// of kSizeLot. The walk is seeded from the symbol number only, so the text for a symbol does not
// depend on how symbols are split over connections.
//
// The points are split over `parts` (the load generator's connections) by symbol: part p owns
// the symbols with s % parts == p, so each symbol's points travel in order on one connection.
// Pure functions; thread-safe (one thread per part is the intended use). Cost: ~100 ns and
// ~100 bytes per point, no floating-point formatting.
#pragma once

#include <cstdint>
#include <string>

namespace tickring::cli {

inline constexpr std::int64_t kMaxSpreadTicks = 3;  // in ticks of the last decimal
inline constexpr std::int64_t kSizeLot = 250'000;

struct quote_gen_params {
  std::uint64_t points = 0;
  std::uint32_t symbols = 1;
  std::uint32_t parts = 1;        // REQUIRES: 1 <= parts <= symbols
  std::int64_t base_time_ns = 0;  // time of point 0
  std::string measurement = "quotes";
  int price_decimals = 5;  // REQUIRES: 1 <= price_decimals <= kMaxPriceDecimals
};

inline constexpr int kMaxPriceDecimals = 9;

// The symbol name of symbol number s: "SYM0042" (at least 4 digits, more when needed).
std::string quote_symbol(std::uint32_t s, std::uint32_t symbols);

// How many of the points belong to part p.
std::uint64_t quote_part_points(const quote_gen_params& params, std::uint32_t part);

// The line-protocol text of part p, one '\n'-terminated line per point, in time order.
std::string generate_quote_part(const quote_gen_params& params, std::uint32_t part);

}  // namespace tickring::cli
