// `tickring bench ws`: its options and output. The measurement itself is bench_ws_run.h.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <tuple>

#include "client-cli/bench_ws_run.h"
#include "client-cli/cli_args.h"
#include "client-cli/command.h"
#include "client-cli/progress.h"

namespace tickring::cli {
namespace {

constexpr std::uint32_t kDefaultSubscribers = 1'000;
constexpr std::uint32_t kDefaultSymbols = 1'000;
constexpr double kDefaultRate = 50'000;
constexpr double kDefaultDurationSeconds = 10;
// One WebSocket per subscriber up to this many by default: realistic fan-out without running
// into a default descriptor limit on either side.
constexpr std::uint32_t kDefaultMaxConnections = 1'000;
// The server's default --max-connections; more would only be refused.
constexpr std::uint32_t kMaxConnections = 10'000;
constexpr std::uint32_t kMaxSubscribers = 1'000'000;
// Symbols are series on the server; its default --max-series is 100,000.
constexpr std::uint32_t kMaxSymbols = 100'000;
// One feed connection formats every quote on this thread; beyond this it measures itself.
constexpr double kMaxRate = 2'000'000;
constexpr double kMaxDurationSeconds = 3'600;

constexpr std::string_view kDetails =
    "Runs a feed and S + W subscribers against the server: the feed sends R quotes a second\n"
    "for D seconds over one line-protocol connection, round robin over N symbols of a fresh\n"
    "measurement, each stamped with the wall clock; subscriber i follows symbol i % N, and W\n"
    "more follow the whole measurement (measurement/*). Subscribers share C WebSockets\n"
    "(round robin, at most 256 subscriptions each). Latency is measured from the quote's\n"
    "timestamp to its arrival as a `point` message (same machine, same clock).\n"
    "\n"
    "Output: latency p50/p99/max, point messages delivered per second and out of how many\n"
    "expected, the server's lagged and reset messages, the feed's achieved rate; the last\n"
    "line is '<n> messages/s'. With --json, one JSON object.\n"
    "\n"
    "Exit status: 0 when the run completed; 1 when the server cannot be reached, a subscriber\n"
    "cannot connect or subscribe, or the stream broke its contract (a gap or a repeated seq,\n"
    "an error message); 2 on a usage error.\n"
    "\n"
    "Example:\n"
    "  tickring bench ws --subscribers 1000 --symbols 1000 --rate 50000 --duration 10\n";

void print_text(const bench_ws_params& p, const bench_ws_result& r) {
  std::printf("subscribers   %s to one symbol + %s to %s/*, over %s symbols, %s connections\n",
              format_count(p.subscribers).c_str(), format_count(p.wildcards).c_str(),
              p.measurement.c_str(), format_count(p.symbols).c_str(),
              format_count(r.connections).c_str());
  std::printf("feed          %s quotes in %s: %s quotes/s (asked %s), %s rejected\n",
              format_count(r.sent).c_str(), format_seconds(r.feed_seconds).c_str(),
              format_count(static_cast<std::uint64_t>(static_cast<double>(r.sent) / r.feed_seconds))
                  .c_str(),
              format_count(static_cast<std::uint64_t>(p.rate)).c_str(),
              format_count(r.rejected).c_str());
  std::printf(
      "delivered     %s of %s points in %s: %s messages/s\n", format_count(r.delivered).c_str(),
      format_count(r.expected).c_str(), format_seconds(r.deliver_seconds).c_str(),
      format_count(static_cast<std::uint64_t>(static_cast<double>(r.delivered) / r.deliver_seconds))
          .c_str());
  std::printf("latency us    p50 %.1f  p99 %.1f  max %.1f\n", r.p50_us, r.p99_us, r.max_us);
  std::printf("lagged        %s (%s messages dropped), resets %s, snapshots %s\n",
              format_count(r.lagged).c_str(), format_count(r.dropped).c_str(),
              format_count(r.resets).c_str(), format_count(r.snapshots).c_str());
  std::printf("contract      gaps %s, repeats %s, errors %s, disconnects %s\n",
              format_count(r.gaps).c_str(), format_count(r.repeats).c_str(),
              format_count(r.errors).c_str(), format_count(r.disconnects).c_str());
  std::printf("%llu messages/s\n", static_cast<unsigned long long>(
                                       static_cast<double>(r.delivered) / r.deliver_seconds));
}

void print_json(const bench_ws_params& p, const bench_ws_result& r) {
  const nlohmann::ordered_json j = {
      {"measurement", p.measurement},
      {"subscribers", p.subscribers},
      {"wildcards", p.wildcards},
      {"symbols", p.symbols},
      {"connections", r.connections},
      {"subscriptions", r.subscriptions},
      {"rate", p.rate},
      {"batch", p.batch},
      {"duration_seconds", p.duration.count()},
      {"sent", r.sent},
      {"feed_seconds", r.feed_seconds},
      {"feed_quotes_per_second", static_cast<double>(r.sent) / r.feed_seconds},
      {"rejected", r.rejected},
      {"expected", r.expected},
      {"delivered", r.delivered},
      {"deliver_seconds", r.deliver_seconds},
      {"messages_per_second", static_cast<double>(r.delivered) / r.deliver_seconds},
      {"p50_us", r.p50_us},
      {"p99_us", r.p99_us},
      {"max_us", r.max_us},
      {"lagged", r.lagged},
      {"dropped", r.dropped},
      {"resets", r.resets},
      {"snapshots", r.snapshots},
      {"gaps", r.gaps},
      {"repeats", r.repeats},
      {"errors", r.errors},
      {"disconnects", r.disconnects},
  };
  std::printf("%s\n", j.dump().c_str());
}

int run_bench_ws(const global_options& given, const std::vector<std::string>& args) {
  global_options globals = given;
  bench_ws_params p;
  p.subscribers = kDefaultSubscribers;
  p.symbols = kDefaultSymbols;
  p.rate = kDefaultRate;
  double duration = kDefaultDurationSeconds;
  p.measurement = fmt::format("wsbench_{}", ::getpid());
  bool json = false;
  command_options options;
  // clang-format off
  options.visible.add_options()
    ("subscribers", po::value(&p.subscribers)->value_name("S")->default_value(p.subscribers),
       "subscribers to one symbol each (subscriber i: symbol i % N)")
    ("symbols", po::value(&p.symbols)->value_name("N")->default_value(p.symbols), "distinct symbols (series)")
    ("wildcards", po::value(&p.wildcards)->value_name("W")->default_value(p.wildcards),
       "more subscribers, each to every symbol (measurement/*)")
    ("rate", po::value(&p.rate)->value_name("R")->default_value(p.rate), "quotes per second, all symbols together")
    ("duration", po::value(&duration)->value_name("D")->default_value(duration), "seconds of feed")
    ("batch", po::value(&p.batch)->value_name("B")->default_value(p.batch),
       "ask the server for `points` frames of up to B points (0: one message per point)")
    ("connections", po::value(&p.connections)->value_name("C"),
       "WebSockets the subscribers share (default: one per subscriber, at most 1,000)")
    ("measurement", po::value(&p.measurement)->value_name("NAME")->default_value(p.measurement),
       "measurement to feed (fresh by default, so that runs do not collide)")
    ("json", po::bool_switch(&json), "print the figures as one JSON object");
  // clang-format on
  po::variables_map vm;
  if (!parse_command_args(kBenchWsCommand, kDetails, options, args, globals, vm)) return kExitOk;
  const std::uint32_t total = p.subscribers + p.wildcards;
  if (p.subscribers > kMaxSubscribers || p.wildcards > kMaxSubscribers || total < 1) {
    throw usage_error(fmt::format("--subscribers and --wildcards must be 0..{}, not both 0",
                                  format_count(kMaxSubscribers)));
  }
  if (p.symbols < 1 || p.symbols > kMaxSymbols)
    throw usage_error(fmt::format("--symbols must be 1..{}", format_count(kMaxSymbols)));
  if (!(p.rate > 0) || p.rate > kMaxRate)
    throw usage_error(fmt::format("--rate must be above 0 and at most {}",
                                  format_count(static_cast<std::uint64_t>(kMaxRate))));
  if (!(duration > 0) || duration > kMaxDurationSeconds)
    throw usage_error("--duration must be above 0 and at most 3600 seconds");
  if (p.measurement.empty() || p.measurement.find_first_of(" ,=/*\\\"") != std::string::npos)
    throw usage_error("--measurement must be a plain name (no blanks, commas, '=', '/' or '*')");
  const std::uint32_t min_connections =
      (total + kMaxSubscriptionsPerConnection - 1) / kMaxSubscriptionsPerConnection;
  if (vm.count("connections") == 0) {
    p.connections = std::max(std::min(total, kDefaultMaxConnections), min_connections);
  }
  if (p.connections < min_connections || p.connections > std::min(total, kMaxConnections)) {
    throw usage_error(fmt::format(
        "--connections must be {}..{}: at most {} subscriptions each, at most one per subscriber",
        min_connections, std::min(total, kMaxConnections), kMaxSubscriptionsPerConnection));
  }
  p.host = globals.host;
  p.token = globals.token;
  p.ingest_port = globals.ingest_port;
  p.http_port = globals.http_port;
  p.duration = std::chrono::duration<double>(duration);

  bench_ws_result r;
  std::string error;
  if (!run_ws_benchmark(p, r, error)) {
    std::fprintf(stderr, "tickring bench ws: %s\n", error.c_str());
    return kExitFailure;
  }
  if (json) {
    print_json(p, r);
  } else {
    print_text(p, r);
  }
  if (r.gaps + r.repeats + r.errors != 0 || r.disconnects != 0) {
    std::fprintf(stderr, "tickring bench ws: the stream broke its contract: %s\n",
                 r.first_problem.c_str());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

constinit const command_entry kBenchWsCommand{
    "bench ws", "[options]",
    "Measure the live stream: feed-to-subscriber latency and fan-out over WebSockets",
    run_bench_ws};

}  // namespace tickring::cli
