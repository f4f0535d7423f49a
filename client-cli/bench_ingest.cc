// `tickring bench ingest`: its options and output. The measurement itself is bench_run.h.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <tuple>

#include "client-cli/bench_run.h"
#include "client-cli/cli_args.h"
#include "client-cli/command.h"
#include "client-cli/progress.h"

namespace tickring::cli {
namespace {

constexpr std::uint64_t kDefaultPoints = 2'000'000;
constexpr std::uint32_t kDefaultSymbols = 1'000;
constexpr std::uint32_t kDefaultConnections = 4;
constexpr double kDefaultTimeoutSeconds = 120;
// ~100 bytes a point are held in memory before sending: 100M points is 10 GB already.
constexpr std::uint64_t kMaxPoints = 100'000'000;
// Symbols are series on the server; its default --max-series is 100,000.
constexpr std::uint32_t kMaxSymbols = 1'000'000;
// One blocking thread per connection; more than this only measures the scheduler.
constexpr std::uint32_t kMaxConnections = 256;

constexpr std::string_view kDetails =
    "Generates N synthetic 4-field quotes over S symbols in memory, sends them over C TCP\n"
    "connections (each owning a disjoint set of symbols) as fast as possible, and measures\n"
    "from the first byte sent until GET /health reports every point stored. Timestamps start\n"
    "at the current time, so each run adds N new points. Use a server without --demo (its\n"
    "points would count as ours) and with --max-points-per-series >= N/S.\n"
    "\n"
    "Output: the send-only and until-stored figures, then a last line '<rate> quotes/s'\n"
    "(until stored, an integer); or, with --json, one JSON object.\n"
    "\n"
    "Exit status: 0 on success, 1 when the server cannot be reached, rejects points or does\n"
    "not store them all within --timeout, 2 on a usage error.\n"
    "\n"
    "With --file F, the lines of F (e.g. from 'tickring bench gen-quotes') are sent instead:\n"
    "read into memory first, dealt out over the connections by series, and counted as the\n"
    "points to wait for; the server must not hold the file's points already.\n"
    "\n"
    "Examples:\n"
    "  tickring bench ingest --points 2000000 --symbols 1000 --connections 4\n"
    "  tickring bench gen-quotes --out quotes.lp && tickring bench ingest --connections 1 --file "
    "quotes.lp\n";

void print_text(const bench_ingest_params& p, const bench_ingest_result& r) {
  const double n = static_cast<double>(r.points);
  if (p.file.empty()) {
    std::printf("points        %s over %s symbols, %u connections (%s)\n",
                format_count(r.points).c_str(), format_count(p.symbols).c_str(), p.connections,
                format_bytes(static_cast<double>(r.bytes)).c_str());
  } else {
    std::printf("points        %s from %s, %u connections (%s)\n", format_count(r.points).c_str(),
                p.file.c_str(), p.connections, format_bytes(static_cast<double>(r.bytes)).c_str());
  }
  std::printf("send only     %-10s %13s quotes/s  %s/s\n", format_seconds(r.send_seconds).c_str(),
              format_count(static_cast<std::uint64_t>(n / r.send_seconds)).c_str(),
              format_bytes(static_cast<double>(r.bytes) / r.send_seconds).c_str());
  std::printf("until stored  %-10s %13s quotes/s\n", format_seconds(r.seconds).c_str(),
              format_count(static_cast<std::uint64_t>(n / r.seconds)).c_str());
  std::printf("%llu quotes/s\n", static_cast<unsigned long long>(n / r.seconds));
}

void print_json(const bench_ingest_params& p, const bench_ingest_result& r) {
  const double n = static_cast<double>(r.points);
  nlohmann::json j = {
      {"points", r.points},
      {"connections", p.connections},
      {"seconds", r.seconds},
      {"quotes_per_second", static_cast<std::uint64_t>(n / r.seconds)},
      {"send_seconds", r.send_seconds},
      {"send_quotes_per_second", static_cast<std::uint64_t>(n / r.send_seconds)},
      {"bytes", r.bytes},
  };
  if (p.file.empty()) {
    j["symbols"] = p.symbols;
  } else {
    j["file"] = p.file;
  }
  std::printf("%s\n", j.dump().c_str());
}

int run_bench_ingest(const global_options& given, const std::vector<std::string>& args) {
  global_options globals = given;
  std::uint64_t points = kDefaultPoints;
  std::uint32_t symbols = kDefaultSymbols;
  std::uint32_t connections = kDefaultConnections;
  double timeout = kDefaultTimeoutSeconds;
  bool json = false;
  std::string file;
  command_options options;
  // clang-format off
  options.visible.add_options()
    ("points", po::value(&points)->value_name("N")->default_value(points), "quotes to send")
    ("symbols", po::value(&symbols)->value_name("S")->default_value(symbols), "distinct symbols (series)")
    ("connections", po::value(&connections)->value_name("C")->default_value(connections),
       "TCP connections, one sending thread each")
    ("timeout", po::value(&timeout)->value_name("SECONDS")->default_value(timeout),
       "give up when not every point is stored this long after the start")
    ("file", po::value(&file)->value_name("F"), "send the lines of F instead of generated quotes")
    ("json", po::bool_switch(&json), "print the figures as one JSON object");
  // clang-format on
  po::variables_map vm;
  if (!parse_command_args(kBenchIngestCommand, kDetails, options, args, globals, vm)) {
    return kExitOk;
  }
  for (const auto& [value, name, max] : {std::tuple{points, "--points", kMaxPoints},
                                         {symbols, "--symbols", kMaxSymbols},
                                         {connections, "--connections", kMaxConnections}}) {
    if (value < 1 || value > max) {
      throw usage_error(fmt::format("{} must be 1..{}, not {}", name, format_count(max), value));
    }
  }
  if (!(timeout > 0)) throw usage_error("--timeout must be positive");
  if (!file.empty() && (!vm["points"].defaulted() || !vm["symbols"].defaulted()))
    throw usage_error("--file sends the file's lines: --points and --symbols do not apply");

  bench_ingest_params p;
  p.host = globals.host;
  p.token = globals.token;
  p.ingest_port = globals.ingest_port;
  p.http_port = globals.http_port;
  p.points = points;
  p.symbols = symbols;
  p.file = file;
  // More connections than symbols would leave some idle.
  p.connections = file.empty() ? std::min(connections, symbols) : connections;
  p.timeout = std::chrono::duration<double>(timeout);
  bench_ingest_result r;
  std::string error;
  if (!run_ingest_benchmark(p, r, error)) {
    std::fprintf(stderr, "tickring bench ingest: %s\n", error.c_str());
    return kExitFailure;
  }
  if (json) {
    print_json(p, r);
  } else {
    print_text(p, r);
  }
  return kExitOk;
}

}  // namespace

constinit const command_entry kBenchIngestCommand{
    "bench ingest", "[options]",
    "Measure ingest: synthetic quotes over TCP until every one is stored", run_bench_ingest};

}  // namespace tickring::cli
