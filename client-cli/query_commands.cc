// `tickring health | latest | range | candles | series | window`: the read and window commands,
// thin wrappers over the HTTP API that print a readable table (or the server's JSON with --json).
//
// With --cluster FILE, a read of one series goes to the instance that owns it and `series` and
// `health` ask every instance (cluster_route.h); `window` is per instance and refuses it.
//
// Errors: an unreachable server or an HTTP error prints the server's message and exits 1; a bad
// command line exits 2. Threads: main only.
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "client-cli/cli_args.h"
#include "client-cli/cluster_route.h"
#include "client-cli/command.h"
#include "client-cli/http_client.h"
#include "client-cli/server_api.h"

namespace tickring::cli {
namespace {

// ordered: fields print in the server's (the series') order.
using json = nlohmann::ordered_json;

// "quotes/EURUSD" -> {"quotes", "EURUSD"}
std::pair<std::string, std::string> split_series(const std::string& series) {
  const auto slash = series.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == series.size()) {
    throw usage_error("SERIES is measurement/symbol, e.g. quotes/EURUSD; got '" + series + "'");
  }
  return {series.substr(0, slash), series.substr(slash + 1)};
}

// "quotes/EURUSD" -> "/v1/series/quotes/EURUSD"
std::string series_path(const std::string& series) {
  const auto [measurement, symbol] = split_series(series);
  return "/v1/series/" + url_encode(measurement) + "/" + url_encode(symbol);
}

// The globals of the instance that owns `series` (g itself without --cluster).
global_options owner_of(const global_options& g, const std::string& series) {
  const auto [measurement, symbol] = split_series(series);
  return route_to_owner(g, measurement, symbol);
}

// Runs one request; on success returns true with the body. Prints the error otherwise.
bool call(const global_options& g, std::string_view cmd, std::string_view method,
          const std::string& target, std::string_view body, std::string& out) {
  http_client http(g.host, g.http_port);
  http.set_token(g.token);
  http_response r;
  if (auto ec = http.request(method, target, body, body.empty() ? "" : "application/json", r)) {
    std::fprintf(stderr, "tickring %s: %s\n", std::string(cmd).c_str(),
                 describe_transport_error(http, target, ec).c_str());
    return false;
  }
  if (r.status >= 300) {
    const auto j = json::parse(r.body, nullptr, false);
    std::string msg = r.body;
    if (j.is_object() && j.contains("error") && j["error"].is_object()) {
      msg = j["error"].value("message", r.body);
    }
    std::fprintf(stderr, "tickring %s: HTTP %u: %s\n", std::string(cmd).c_str(), r.status,
                 msg.c_str());
    return false;
  }
  out = std::move(r.body);
  return true;
}

std::string cell(const json& v) {
  if (v.is_number_float()) return fmt::format("{}", v.get<double>());
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// Prints points as a table: time (RFC 3339) then the fields in the server's order.
void print_points(const json& points) {
  if (points.empty()) {
    std::printf("(no points)\n");
    return;
  }
  std::vector<std::string> keys;
  for (auto it = points[0].begin(); it != points[0].end(); ++it) {
    if (it.key() != "time" && it.key() != "seq") keys.push_back(it.key());
  }
  std::printf("%-31s", "time");
  for (const auto& k : keys)
    std::printf(" %16s", k.c_str());
  std::printf("\n");
  for (const auto& p : points) {
    std::printf("%-31s", cell(p["time"]).c_str());
    for (const auto& k : keys)
      std::printf(" %16s", cell(p.value(k, json())).c_str());
    std::printf("\n");
  }
}

// Client-side relative times: "-5m" means five minutes ago, in integer ns.
std::string resolve_time(const std::string& t) {
  if (t.size() < 3 || t[0] != '-') return t;
  // -<digits><unit>: unit ns, us, ms, s, m, h or d; anything else goes to the server as is.
  std::size_t digits = 1;
  while (digits < t.size() && t[digits] >= '0' && t[digits] <= '9')
    ++digits;
  const std::string unit = t.substr(digits);
  const long long mult = unit == "ns"   ? 1LL
                         : unit == "us" ? 1'000LL
                         : unit == "ms" ? 1'000'000LL
                         : unit == "s"  ? 1'000'000'000LL
                         : unit == "m"  ? 60'000'000'000LL
                         : unit == "h"  ? 3'600'000'000'000LL
                         : unit == "d"  ? 86'400'000'000'000LL
                                        : 0;
  if (mult == 0 || digits == 1 || digits > 13)
    throw usage_error("invalid relative time '" + t + "' (e.g. -500ms, -5m, -2h)");
  const long long n = std::stoll(t.substr(1, digits - 1));
  const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return std::to_string(now - n * mult);
}

int run_latest(const global_options& given, const std::vector<std::string>& args) {
  global_options g = given;
  std::string series;
  bool raw = false;
  command_options o;
  o.visible.add_options()("json", po::bool_switch(&raw), "print the server's JSON");
  o.hidden.add_options()("series", po::value(&series)->required(), "SERIES");
  o.positional.add("series", 1);
  po::variables_map vm;
  if (!parse_command_args(kLatestCommand, "Example:\n  tickring latest quotes/EURUSD\n", o, args, g,
                          vm))
    return kExitOk;
  g = owner_of(g, series);
  std::string body;
  if (!call(g, "latest", "GET", series_path(series) + (raw ? "/latest" : "/latest?epoch=rfc3339"),
            "", body))
    return kExitFailure;
  if (raw) return std::printf("%s\n", body.c_str()), kExitOk;
  print_points(json::array({json::parse(body)["point"]}));
  return kExitOk;
}

int run_range(const global_options& given, const std::vector<std::string>& args) {
  global_options g = given;
  std::string series, from, to, fields;
  unsigned limit = 1000;
  bool desc = false, csv = false, raw = false;
  command_options o;
  // clang-format off
  o.visible.add_options()
    ("from", po::value(&from)->value_name("T"), "oldest time: ns, RFC 3339 or relative (-5m, -1h, -2d)")
    ("to", po::value(&to)->value_name("T"), "newest time, same forms")
    ("limit", po::value(&limit)->default_value(limit), "at most this many points")
    ("desc", po::bool_switch(&desc), "newest first (the newest `limit` points)")
    ("fields", po::value(&fields)->value_name("a,b"), "only these fields")
    ("csv", po::bool_switch(&csv), "print CSV")
    ("json", po::bool_switch(&raw), "print the server's JSON");
  // clang-format on
  o.hidden.add_options()("series", po::value(&series)->required(), "SERIES");
  o.positional.add("series", 1);
  po::variables_map vm;
  if (!parse_command_args(kRangeCommand,
                          "Example:\n  tickring range quotes/EURUSD --from -5m --limit 20\n", o,
                          args, g, vm)) {
    return kExitOk;
  }
  std::string target = series_path(series) + "?limit=" + std::to_string(limit);
  if (!from.empty()) target += "&from=" + url_encode(resolve_time(from));
  if (!to.empty()) target += "&to=" + url_encode(resolve_time(to));
  if (desc) target += "&order=desc";
  if (!fields.empty()) target += "&fields=" + url_encode(fields);
  target += csv ? "&format=csv" : raw ? "" : "&epoch=rfc3339";
  g = owner_of(g, series);
  std::string body;
  if (!call(g, "range", "GET", target, "", body)) return kExitFailure;
  if (raw || csv) return std::printf("%s%s", body.c_str(), raw ? "\n" : ""), kExitOk;
  print_points(json::parse(body)["points"]);
  return kExitOk;
}

int run_candles(const global_options& given, const std::vector<std::string>& args) {
  global_options g = given;
  std::string series, interval = "1m", field, from, to;
  unsigned limit = 100;
  bool raw = false;
  command_options o;
  // clang-format off
  o.visible.add_options()
    ("interval", po::value(&interval)->default_value(interval), "bar length: <n>s, <n>m, <n>h or <n>d (1s..1d)")
    ("field", po::value(&field), "price field (default: price, else mid of bid/ask, else the first)")
    ("from", po::value(&from)->value_name("T"), "oldest time")
    ("to", po::value(&to)->value_name("T"), "newest time")
    ("limit", po::value(&limit)->default_value(limit), "the newest this many bars")
    ("json", po::bool_switch(&raw), "print the server's JSON");
  // clang-format on
  o.hidden.add_options()("series", po::value(&series)->required(), "SERIES");
  o.positional.add("series", 1);
  po::variables_map vm;
  if (!parse_command_args(kCandlesCommand,
                          "Example:\n  tickring candles quotes/EURUSD --interval 5m\n", o, args, g,
                          vm)) {
    return kExitOk;
  }
  std::string target = series_path(series) + "/candles?interval=" + url_encode(interval) +
                       "&limit=" + std::to_string(limit);
  if (!field.empty()) target += "&field=" + url_encode(field);
  if (!from.empty()) target += "&from=" + url_encode(resolve_time(from));
  if (!to.empty()) target += "&to=" + url_encode(resolve_time(to));
  g = owner_of(g, series);
  std::string body;
  if (!call(g, "candles", "GET", target, "", body)) return kExitFailure;
  if (raw) return std::printf("%s\n", body.c_str()), kExitOk;
  const auto j = json::parse(body);
  std::printf("%-20s %14s %14s %14s %14s %12s %8s\n", "time (UTC)", "open", "high", "low", "close",
              "volume", "ticks");
  for (const auto& c : j["candles"]) {
    const std::time_t t = c["time"].get<std::time_t>();
    std::tm tm{};
    gmtime_r(&t, &tm);
    char when[32];
    std::strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    std::printf("%-20s %14s %14s %14s %14s %12s %8s\n", when, cell(c["open"]).c_str(),
                cell(c["high"]).c_str(), cell(c["low"]).c_str(), cell(c["close"]).c_str(),
                cell(c["volume"]).c_str(), cell(c["ticks"]).c_str());
  }
  return kExitOk;
}

int run_series(const global_options& given, const std::vector<std::string>& args) {
  global_options g = given;
  bool raw = false;
  command_options o;
  o.visible.add_options()("json", po::bool_switch(&raw), "print the server's JSON");
  po::variables_map vm;
  if (!parse_command_args(kSeriesCommand,
                          "With --cluster, every instance is asked in turn (--json: one answer "
                          "per line).\n",
                          o, args, g, vm)) {
    return kExitOk;
  }
  for (const cluster_target& t : every_instance(g)) {
    std::string body;
    if (!call(t.globals, "series", "GET", "/v1/series", "", body)) return kExitFailure;
    if (raw) {
      std::printf("%s\n", body.c_str());
      continue;
    }
    const auto all = json::parse(body);  // kept alive: the loop walks into it
    for (const auto& s : all["series"]) {
      std::string fields;
      for (const auto& f : s["fields"])
        fields += (fields.empty() ? "" : ",") + f.get<std::string>();
      std::printf("%s/%s  %llu points  fields %s\n", s["measurement"].get<std::string>().c_str(),
                  s["symbol"].get<std::string>().c_str(), s["count"].get<unsigned long long>(),
                  fields.c_str());
    }
  }
  return kExitOk;
}

// Exit status 0 only when GET /health answers 200: what a container's HEALTHCHECK runs (the
// runtime image has no curl). The HTTP client's own timeout bounds it.
int run_health(const global_options& given, const std::vector<std::string>& args) {
  global_options g = given;
  command_options o;
  po::variables_map vm;
  if (!parse_command_args(kHealthCommand,
                          "With --cluster, every instance is asked; exit 0 only when all answer.\n",
                          o, args, g, vm)) {
    return kExitOk;
  }
  const auto targets = every_instance(g);
  int status = kExitOk;
  for (const cluster_target& t : targets) {
    std::string body;
    if (!call(t.globals, "health", "GET", "/health", "", body)) {
      status = kExitFailure;
      continue;
    }
    if (targets.size() > 1) std::printf("%s ", t.url.c_str());
    std::printf("%s\n", body.c_str());
  }
  return status;
}

int run_window(const global_options& given, const std::vector<std::string>& args) {
  global_options g = given;
  std::vector<std::string> words;
  std::string time;
  command_options o;
  o.visible.add_options()("time", po::value(&time)->value_name("T"),
                          "act at this time instead of the server's clock");
  o.hidden.add_options()("words", po::value(&words), "ACTION [KEY [VALUE]]");
  o.positional.add("words", -1);
  po::variables_map vm;
  if (!parse_command_args(kWindowCommand,
                          "Actions:\n  put KEY VALUE   get KEY   delete KEY   stats\n", o, args, g,
                          vm)) {
    return kExitOk;
  }
  if (!g.cluster_file.empty()) {
    throw usage_error("the window store is per instance: give --host/--http-port, not --cluster");
  }
  const std::string q = time.empty() ? "" : "?time=" + url_encode(resolve_time(time));
  std::string body;
  const std::string action = words.empty() ? "" : words[0];
  bool ok = false;
  if (action == "stats" && words.size() == 1) {
    ok = call(g, "window", "GET", "/v1/window" + q, "", body);
  } else if (action == "put" && words.size() == 3) {
    ok = call(g, "window", "PUT", "/v1/window/" + url_encode(words[1]) + q, words[2], body);
  } else if ((action == "get" || action == "delete") && words.size() == 2) {
    ok = call(g, "window", action == "get" ? "GET" : "DELETE",
              "/v1/window/" + url_encode(words[1]) + q, "", body);
  } else {
    throw usage_error("use: window put KEY VALUE | get KEY | delete KEY | stats");
  }
  if (!ok) return kExitFailure;
  const auto j = json::parse(body);
  for (auto it = j.begin(); it != j.end(); ++it)
    std::printf("%s %s\n", it.key().c_str(), cell(it.value()).c_str());
  return kExitOk;
}

}  // namespace

constinit const command_entry kLatestCommand{"latest", "[options] SERIES",
                                             "Show the newest point of a series", run_latest};
constinit const command_entry kRangeCommand{
    "range", "[options] SERIES", "Show the points of a series in a time range", run_range};
constinit const command_entry kCandlesCommand{"candles", "[options] SERIES",
                                              "Show OHLCV candles of a series", run_candles};
constinit const command_entry kSeriesCommand{"series", "[options]", "List every series",
                                             run_series};
constinit const command_entry kHealthCommand{
    "health", "[options]", "Check that the server answers /health (exit 0 when it does)",
    run_health};
constinit const command_entry kWindowCommand{"window",
                                             "put KEY VALUE | get KEY | delete KEY | stats",
                                             "Use the sliding-window key/value store", run_window};

}  // namespace tickring::cli
