#include "client-cli/quote_gen.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <vector>

namespace tickring::cli {
namespace {

// Start prices spread over 80,000 .. 160,000 ticks (0.8 .. 1.6 with 5 decimals, 800 .. 1,600
// with 2) so symbols do not all look alike.
constexpr std::int64_t kStartTicksMin = 80'000;
constexpr std::int64_t kStartTicksRange = 80'000;
// The walk never goes below 1,000 ticks, so every price stays positive.
constexpr std::int64_t kMinTicks = 1'000;
// Each tick moves the bid by -kMaxStepTicks .. +kMaxStepTicks.
constexpr std::int64_t kMaxStepTicks = 2;
// Sizes are 1..kMaxSizeLots lots.
constexpr std::int64_t kMaxSizeLots = 8;
constexpr int kMinSymbolDigits = 4;
// Longest line: measurement, tags, four fields and a 19-digit time fit easily.
constexpr std::size_t kEstimatedLineBytes = 100;

// splitmix64: tiny, fast and good enough for a price walk; seeded per symbol.
struct splitmix64 {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::int64_t below(std::int64_t n) {
    return static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(n));
  }
};

struct symbol_state {
  std::string prefix;  // "quotes,sym=SYM0042 bid="
  splitmix64 rng;
  std::int64_t bid;  // ticks of the last decimal
};

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

std::int64_t ticks_per_unit(int decimals) {
  std::int64_t n = 1;
  for (int i = 0; i < decimals; ++i)
    n *= 10;
  return n;
}

// 108421 ticks, 5 decimals -> "1.08421": exact, and much cheaper than formatting a double.
void append_price(std::string& out, std::int64_t ticks, int decimals, std::int64_t per_unit) {
  append_int(out, ticks / per_unit);
  out += '.';
  char buf[kMaxPriceDecimals];
  std::int64_t frac = ticks % per_unit;
  for (int i = decimals - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  out.append(buf, static_cast<std::size_t>(decimals));
}

std::uint64_t points_of_symbol(const quote_gen_params& p, std::uint32_t s) {
  return p.points / p.symbols + (s < p.points % p.symbols ? 1 : 0);
}

}  // namespace

std::string quote_symbol(std::uint32_t s, std::uint32_t symbols) {
  const auto digits = std::max<std::size_t>(kMinSymbolDigits, std::to_string(symbols - 1).size());
  return fmt::format("SYM{:0{}}", s, digits);
}

std::uint64_t quote_part_points(const quote_gen_params& params, std::uint32_t part) {
  std::uint64_t n = 0;
  for (std::uint32_t s = part; s < params.symbols; s += params.parts)
    n += points_of_symbol(params, s);
  return n;
}

std::string generate_quote_part(const quote_gen_params& params, std::uint32_t part) {
  std::vector<symbol_state> symbols;
  for (std::uint32_t s = part; s < params.symbols; s += params.parts) {
    splitmix64 rng{s * 0x2545f4914f6cdd1dULL + 1};
    const std::int64_t start = kStartTicksMin + rng.below(kStartTicksRange);
    symbols.push_back(
        {fmt::format("{},sym={} bid=", params.measurement, quote_symbol(s, params.symbols)), rng,
         start});
  }
  const int decimals = params.price_decimals;
  const std::int64_t per_unit = ticks_per_unit(decimals);
  std::string out;
  out.reserve(quote_part_points(params, part) * kEstimatedLineBytes);
  // Round k holds points k*symbols .. (k+1)*symbols-1; walking rounds in order and the part's
  // symbols in ascending order visits its points in ascending time.
  for (std::uint64_t round = 0; round * params.symbols < params.points; ++round) {
    for (std::size_t i = 0; i < symbols.size(); ++i) {
      const std::uint64_t j = round * params.symbols + part + i * params.parts;
      if (j >= params.points) break;
      symbol_state& sym = symbols[i];
      sym.bid = std::max(kMinTicks, sym.bid + sym.rng.below(2 * kMaxStepTicks + 1) - kMaxStepTicks);
      const std::int64_t ask = sym.bid + 1 + sym.rng.below(kMaxSpreadTicks);
      out += sym.prefix;
      append_price(out, sym.bid, decimals, per_unit);
      out += ",ask=";
      append_price(out, ask, decimals, per_unit);
      out += ",bid_size=";
      append_int(out, (1 + sym.rng.below(kMaxSizeLots)) * kSizeLot);
      out += "i,ask_size=";
      append_int(out, (1 + sym.rng.below(kMaxSizeLots)) * kSizeLot);
      out += "i ";
      append_int(out, params.base_time_ns + static_cast<std::int64_t>(j));
      out += '\n';
    }
  }
  return out;
}

}  // namespace tickring::cli
