// `tickring bench gen-quotes`: writes the standard quote file that `bench ingest --file` and
// bench/vs_redis.sh stream: N quotes over S symbols, 4 fields (bid and ask with --decimals
// decimals, two integer sizes), 19-digit nanosecond times base, base+1, ... (strictly
// increasing over the whole file, so also within each symbol). The same arguments always give
// the same bytes (quote_gen.h), so a file can be regenerated instead of kept.
#include <fmt/format.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <tuple>

#include "client-cli/cli_args.h"
#include "client-cli/command.h"
#include "client-cli/progress.h"
#include "client-cli/quote_gen.h"

namespace tickring::cli {
namespace {

constexpr std::uint64_t kDefaultQuotes = 2'000'000;
constexpr std::uint32_t kDefaultSymbols = 1'000;
constexpr int kDefaultDecimals = 2;
// 2023-11-14T22:13:20Z in ns: 19 digits, and far enough below 2^63 for any --quotes.
constexpr std::int64_t kDefaultBaseTimeNs = 1'700'000'000'000'000'000;
// The file is built in memory first (~90 bytes a quote).
constexpr std::uint64_t kMaxQuotes = 100'000'000;
constexpr std::uint32_t kMaxSymbols = 1'000'000;

int run_bench_gen_quotes(const global_options& given, const std::vector<std::string>& args) {
  global_options globals = given;
  std::string out_path;
  std::uint64_t quotes = kDefaultQuotes;
  std::uint32_t symbols = kDefaultSymbols;
  int decimals = kDefaultDecimals;
  std::int64_t base_time = kDefaultBaseTimeNs;
  command_options options;
  // clang-format off
  options.visible.add_options()
    ("out", po::value(&out_path)->value_name("FILE"), "where to write (- for stdout); required")
    ("quotes", po::value(&quotes)->value_name("N")->default_value(quotes), "quotes (lines) to write")
    ("symbols", po::value(&symbols)->value_name("S")->default_value(symbols), "distinct symbols (series)")
    ("decimals", po::value(&decimals)->value_name("D")->default_value(decimals), "decimals of the bid and ask prices")
    ("base-time", po::value(&base_time)->value_name("NS")->default_value(base_time),
       "time of the first quote, ns since the epoch");
  // clang-format on
  po::variables_map vm;
  if (!parse_command_args(kBenchGenQuotesCommand,
                          "Line i (from 0) is symbol i % S at time base + i. Stream the file with\n"
                          "'tickring bench ingest --file FILE' into a server that does not hold\n"
                          "these times yet (a second run only overwrites the same points).\n\n"
                          "Example:\n"
                          "  tickring bench gen-quotes --out quotes.lp --quotes 2000000 --symbols "
                          "1000\n",
                          options, args, globals, vm)) {
    return kExitOk;
  }
  if (out_path.empty()) throw usage_error("--out FILE is required");
  for (const auto& [value, name, max] :
       {std::tuple{quotes, "--quotes", kMaxQuotes}, {symbols, "--symbols", kMaxSymbols}}) {
    if (value < 1 || value > max) {
      throw usage_error(fmt::format("{} must be 1..{}, not {}", name, format_count(max), value));
    }
  }
  if (decimals < 1 || decimals > kMaxPriceDecimals)
    throw usage_error(fmt::format("--decimals must be 1..{}", kMaxPriceDecimals));
  if (base_time < 0 || base_time > INT64_MAX - static_cast<std::int64_t>(quotes))
    throw usage_error("--base-time must be >= 0 and leave room for --quotes");

  quote_gen_params q;
  q.points = quotes;
  q.symbols = symbols;
  q.parts = 1;
  q.base_time_ns = base_time;
  q.price_decimals = decimals;
  const std::string text = generate_quote_part(q, 0);

  std::FILE* f = out_path == "-" ? stdout : std::fopen(out_path.c_str(), "wb");
  if (f == nullptr) {
    std::fprintf(stderr, "tickring bench gen-quotes: cannot open %s: %s\n", out_path.c_str(),
                 std::strerror(errno));
    return kExitFailure;
  }
  const bool wrote = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool closed = f == stdout ? std::fflush(f) == 0 : std::fclose(f) == 0;
  if (!wrote || !closed) {
    std::fprintf(stderr, "tickring bench gen-quotes: writing %s failed: %s\n", out_path.c_str(),
                 std::strerror(errno));
    return kExitFailure;
  }
  if (out_path != "-") {
    std::fprintf(stderr, "wrote %s quotes over %s symbols to %s (%s)\n",
                 format_count(quotes).c_str(), format_count(symbols).c_str(), out_path.c_str(),
                 format_bytes(static_cast<double>(text.size())).c_str());
  }
  return kExitOk;
}

}  // namespace

constinit const command_entry kBenchGenQuotesCommand{
    "bench gen-quotes", "[options]",
    "Write the standard quote file (line protocol) for bench ingest --file", run_bench_gen_quotes};

}  // namespace tickring::cli
