// `tickring bench query`: the read-path load tool. Each of C keep-alive connections (one
// thread each) asks for the newest `limit` points of a random series
// (/v1/series/{m}/{s}?order=desc&limit=100) as fast as it can; every request's latency is
// measured from before it is written to after its whole answer is read, the way wrk does.
// The requests go through bench_http.h (one send() and, for a newest-100 answer, one recv()
// each), so the figures are the server's plus the loopback's, not this tool's.
//
// Output: p50, p90, p99, p99.9 and max latency in µs, requests/s and errors; the last line is
// '<rps> requests/s', or one JSON object with --json. Warm-up requests are not measured.
// A transport error or an answer other than 200 with a body counts as an error (the
// connection is then reopened for the next request); any error makes the exit status 1.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <vector>

#include "client-cli/bench_http.h"
#include "client-cli/cli_args.h"
#include "client-cli/command.h"
#include "client-cli/http_client.h"
#include "client-cli/server_api.h"

namespace tickring::cli {
namespace {

// Enough to open the connection and warm the server's caches; not measured.
constexpr unsigned kWarmupPerConnection = 200;
// One blocking thread per connection; more than this only measures the scheduler.
constexpr unsigned kMaxConnections = 256;
// Per send() and recv(): catches a hung server; a newest-100 answer takes microseconds.
constexpr std::chrono::milliseconds kRequestTimeout{10'000};

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1));
  return sorted[i];
}

int run_bench_query(const global_options& given, const std::vector<std::string>& args) {
  global_options g = given;
  unsigned connections = 1;
  unsigned long requests = 20000;
  unsigned limit = 100;
  std::vector<std::string> only;
  bool json_out = false;
  command_options o;
  // clang-format off
  o.visible.add_options()
    ("connections", po::value(&connections)->default_value(connections), "keep-alive connections, one thread each")
    ("requests", po::value(&requests)->default_value(requests), "measured requests in all")
    ("limit", po::value(&limit)->default_value(limit), "points per answer (newest first)")
    ("series", po::value(&only)->value_name("m/s"), "query only this series (repeatable); default: every series")
    ("json", po::bool_switch(&json_out), "print the figures as one JSON object");
  // clang-format on
  po::variables_map vm;
  if (!parse_command_args(kBenchQueryCommand,
                          "Targets: p50 <= 50 us and p99 <= 300 us on one connection; >= 50,000\n"
                          "requests/s with 32 connections.\n\nExample:\n"
                          "  tickring bench query --connections 32 --requests 200000\n"
                          "  tickring bench query --series quotes/EURUSD   # one symbol, as wrk\n",
                          o, args, g, vm)) {
    return kExitOk;
  }
  if (connections < 1 || connections > kMaxConnections)
    throw usage_error("--connections must be 1..256");
  if (requests < connections) throw usage_error("--requests must be at least --connections");

  std::vector<std::string> targets;
  if (only.empty()) {
    http_client http(g.host, g.http_port);
    http.set_token(g.token);
    http_response r;
    if (auto ec = http.get("/v1/series", r)) {
      std::fprintf(stderr, "tickring bench query: %s\n",
                   describe_transport_error(http, "/v1/series", ec).c_str());
      return kExitFailure;
    }
    for (const auto& s :
         nlohmann::json::parse(r.body, nullptr, false).value("series", nlohmann::json::array())) {
      only.push_back(s["measurement"].get<std::string>() + "/" + s["symbol"].get<std::string>());
    }
  }
  for (const auto& s : only) {
    const auto slash = s.find('/');
    if (slash == std::string::npos)
      throw usage_error("--series is measurement/symbol, got '" + s + "'");
    targets.push_back("/v1/series/" + url_encode(s.substr(0, slash)) + "/" +
                      url_encode(s.substr(slash + 1)) +
                      "?order=desc&limit=" + std::to_string(limit));
  }
  if (targets.empty()) {
    std::fprintf(stderr,
                 "tickring bench query: the server has no series to query (feed some first)\n");
    return kExitFailure;
  }

  std::vector<std::vector<double>> latencies(connections);
  std::atomic<unsigned long> errors{0};
  std::atomic<unsigned long> calls{0};
  std::atomic<unsigned> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  const unsigned long per = requests / connections;
  const std::string authorization = g.token.empty() ? std::string() : "Bearer " + g.token;
  for (unsigned c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      bench_http_connection http(g.host, g.http_port, kRequestTimeout);
      // Built before the clock: the loop only sends them.
      std::vector<std::string> requests_text;
      requests_text.reserve(targets.size());
      for (const auto& t : targets)
        requests_text.push_back(http.make_get(t, authorization));
      std::mt19937_64 rng(c + 1);
      std::uniform_int_distribution<std::size_t> pick(0, targets.size() - 1);
      bench_http_answer r;
      for (unsigned i = 0; i < kWarmupPerConnection; ++i)
        (void)http.exchange(requests_text[pick(rng)], r);
      auto& lat = latencies[c];
      lat.reserve(per);
      unsigned long my_errors = 0, my_calls = 0;
      ready.fetch_add(1);
      while (!go.load())
        std::this_thread::yield();
      for (unsigned long i = 0; i < per; ++i) {
        const auto& req = requests_text[pick(rng)];
        const auto start = std::chrono::steady_clock::now();
        const auto ec = http.exchange(req, r);
        const auto end = std::chrono::steady_clock::now();
        if (ec || r.status != 200 || r.body.empty()) ++my_errors;
        my_calls += http.last_calls();
        lat.push_back(std::chrono::duration<double, std::micro>(end - start).count());
      }
      errors.fetch_add(my_errors);
      calls.fetch_add(my_calls);
    });
  }
  while (ready.load() < connections)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto start = std::chrono::steady_clock::now();
  go = true;
  for (auto& t : threads)
    t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : latencies)
    all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  const double rps = static_cast<double>(all.size()) / seconds;
  // send() + recv() calls per request: 2 when each answer arrived in one piece.
  const double calls_per_request =
      all.empty() ? 0 : static_cast<double>(calls.load()) / static_cast<double>(all.size());
  if (json_out) {
    const nlohmann::json j = {{"connections", connections},
                              {"requests", all.size()},
                              {"seconds", seconds},
                              {"requests_per_second", rps},
                              {"p50_us", percentile(all, 0.5)},
                              {"p90_us", percentile(all, 0.9)},
                              {"p99_us", percentile(all, 0.99)},
                              {"p999_us", percentile(all, 0.999)},
                              {"max_us", all.empty() ? 0 : all.back()},
                              {"calls_per_request", calls_per_request},
                              {"errors", errors.load()}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("%zu requests over %u connections in %.2f s, %lu errors\n", all.size(), connections,
                seconds, errors.load());
    std::printf("latency us: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
                percentile(all, 0.5), percentile(all, 0.9), percentile(all, 0.99),
                percentile(all, 0.999), all.empty() ? 0 : all.back());
    std::printf("system calls per request: %.2f (send + recv)\n", calls_per_request);
    std::printf("%.0f requests/s\n", rps);
  }
  return errors.load() == 0 ? kExitOk : kExitFailure;
}

}  // namespace

constinit const command_entry kBenchQueryCommand{
    "bench query", "[options]",
    "Measure reads: newest 100 points of random series over keep-alive HTTP", run_bench_query};

}  // namespace tickring::cli
