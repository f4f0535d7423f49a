#include "server/config.h"

#include <algorithm>
#include <boost/program_options.hpp>
#include <cctype>
#include <charconv>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "protocol/query_string.h"

namespace tickring::server {
namespace po = boost::program_options;

std::chrono::nanoseconds parse_duration(const std::string& text) {
  std::int64_t n = 0;
  const char* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, n);
  if (ec == std::errc::result_out_of_range) {
    throw std::invalid_argument("duration '" + text + "' is too large");
  }
  if (ec != std::errc() || p == text.data() || n < 0) {
    throw std::invalid_argument("invalid duration '" + text +
                                "' (examples: 500ms, 30s, 15m, 2h, 7d)");
  }
  const std::string unit(p, end);
  std::int64_t ns_per_unit = 0;
  if (unit.empty() || unit == "s") ns_per_unit = 1'000'000'000;
  if (unit == "ms") ns_per_unit = 1'000'000;
  if (unit == "us") ns_per_unit = 1'000;
  if (unit == "ns") ns_per_unit = 1;
  if (unit == "m") ns_per_unit = 60'000'000'000;
  if (unit == "h") ns_per_unit = 3'600'000'000'000;
  if (unit == "d") ns_per_unit = 86'400'000'000'000;
  if (ns_per_unit == 0) {
    throw std::invalid_argument("invalid duration unit in '" + text +
                                "' (use ns, us, ms, s, m, h, d)");
  }
  // Nanoseconds in an int64 reach about 292 years; past that the product would wrap.
  if (n > std::numeric_limits<std::int64_t>::max() / ns_per_unit) {
    throw std::invalid_argument("duration '" + text + "' is too large (at most about 292 years)");
  }
  return std::chrono::nanoseconds(n * ns_per_unit);
}

endpoint_spec parse_endpoint(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) {
    throw std::invalid_argument("invalid address '" + text + "' (expected host:port)");
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const bool every_interface = host.empty();
  if (every_interface) host = "::";
  unsigned port = 0;
  const std::string p = text.substr(colon + 1);
  const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc() || end != p.data() + p.size() || port > 65535) {
    throw std::invalid_argument("invalid port in '" + text + "'");
  }
  return {host, static_cast<std::uint16_t>(port), every_interface};
}

std::string to_string(const endpoint_spec& e) {
  return e.host.find(':') == std::string::npos ? e.host + ":" + std::to_string(e.port)
                                               : "[" + e.host + "]:" + std::to_string(e.port);
}

namespace {

std::string read_text_file(const std::string& path, const char* flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument(std::string(flag) + ": cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// --nats, --partitions, --partition-count, --cluster and friends (docs/scale-out.md).
void parse_cluster_flags(server_config& c, const po::variables_map& vm,
                         const std::string& partitions, const std::string& start_time) {
  auto& k = c.cluster;
  const bool explicit_count =
      vm.count("partition-count") != 0 && !vm["partition-count"].defaulted();
  if (!k.cluster_file.empty()) {
    std::string error;
    auto map = protocol::parse_cluster_file(read_text_file(k.cluster_file, "--cluster"), &error);
    if (!map) throw std::invalid_argument("--cluster " + k.cluster_file + ": " + error);
    if (explicit_count && map->partitions != k.partition_count) {
      throw std::invalid_argument("--partition-count " + std::to_string(k.partition_count) +
                                  " disagrees with --cluster " + k.cluster_file + " (partitions " +
                                  std::to_string(map->partitions) + ")");
    }
    k.partition_count = map->partitions;
    k.map = std::move(*map);
  }
  if (k.partition_count == 0 || k.partition_count > protocol::kMaxPartitions) {
    throw std::invalid_argument("--partition-count must be from 1 to " +
                                std::to_string(protocol::kMaxPartitions));
  }
  const bool given = vm.count("partitions") != 0;
  if (!k.consuming() && !k.map) {
    for (const char* flag : {"partitions", "stream", "subject-prefix", "replicas",
                             "nats-start-time", "partition-count"}) {
      if (vm.count(flag) != 0 && !vm[flag].defaulted()) {
        throw std::invalid_argument(std::string("--") + flag + " needs --nats or --cluster");
      }
    }
    return;
  }
  if (given) {
    std::string error;
    auto set = protocol::parse_partition_set(partitions, k.partition_count, &error);
    if (!set) throw std::invalid_argument("--partitions: " + error);
    k.owned = std::move(*set);
  } else if (k.map && k.map->instances.size() > 1) {
    throw std::invalid_argument(
        "--cluster " + k.cluster_file +
        " lists several instances: say which is this one with --partitions");
  } else {
    k.owned.owned.assign(k.partition_count, true);
  }
  if (k.map) {
    for (const auto& inst : k.map->instances) {
      if (inst.partitions.owned == k.owned.owned) k.self_url = inst.url;
    }
    if (k.self_url.empty()) {
      throw std::invalid_argument("--cluster " + k.cluster_file +
                                  " has no instance with partitions " + k.owned.to_string() +
                                  " (this server's --partitions)");
    }
  }
  if (!k.consuming()) {
    for (const char* flag : {"stream", "subject-prefix", "replicas", "nats-start-time"}) {
      if (vm.count(flag) != 0 && !vm[flag].defaulted()) {
        throw std::invalid_argument(std::string("--") + flag + " needs --nats");
      }
    }
    return;
  }
  // nats://host:port, comma-separated for the servers of one NATS cluster.
  for (std::size_t at = 0; at <= k.nats_url.size();) {
    const auto comma = std::min(k.nats_url.find(',', at), k.nats_url.size());
    std::string url = k.nats_url.substr(at, comma - at);
    std::erase(url, ' ');
    if (!url.starts_with("nats://") || url.size() == 7) {
      throw std::invalid_argument("--nats: '" + url +
                                  "' is not a NATS URL (nats://host:port, comma-separated for "
                                  "several servers)");
    }
    at = comma + 1;
  }
  if (k.stream.empty() || k.stream.find_first_of(" .*>\t") != std::string::npos) {
    throw std::invalid_argument(
        "--stream must be a non-empty name without spaces, '.', '*' or '>'");
  }
  if (k.subject_prefix.empty() || k.subject_prefix.find_first_of(" *>\t") != std::string::npos ||
      k.subject_prefix.front() == '.' || k.subject_prefix.back() == '.') {
    throw std::invalid_argument("--subject-prefix must be a subject without spaces, '*' or '>'");
  }
  if (k.replicas == 0 || k.replicas > cluster::kMaxReplicas) {
    throw std::invalid_argument("--replicas must be from 1 to " +
                                std::to_string(cluster::kMaxReplicas));
  }
  if (!start_time.empty()) {
    const auto t = protocol::parse_time(start_time);
    if (!t) {
      throw std::invalid_argument("--nats-start-time: '" + start_time +
                                  "' is not RFC 3339 nor integer nanoseconds");
    }
    k.start_time_ns = *t;
  }
}

}  // namespace

std::optional<server_config> parse_config(int argc, char** argv) {
  server_config c;
  std::string http = "127.0.0.1:8080";
  std::string ingest = "127.0.0.1:9009";
  std::string window = "10s";
  std::string retention = "0";
  std::string future_skew = "10m";
  std::string feed_idle = std::to_string(c.feed_idle_timeout.count()) + "s";
  std::string busy_poll = std::to_string(c.busy_poll.count()) + "us";
  std::string header_timeout = std::to_string(c.header_timeout.count()) + "s";
  std::string body_timeout = std::to_string(c.body_timeout.count()) + "s";
  std::string ws_policy = "conflate";
  std::string ws_idle = std::to_string(c.stream.idle_timeout.count()) + "s";
  std::string fsync = "everysec";
  std::string snapshot_interval = std::to_string(c.journal.snapshot_interval.count()) + "s";
  std::string partitions;
  std::string nats_start_time;
  po::options_description opts(
      "tickring-server: in-memory time-series server for market data\n\n"
      "Usage: tickring-server [options]\n\nOptions");
  // clang-format off
  opts.add_options()
    ("help,h", "show this help and exit")
    ("version", "show the version and exit")
    ("http", po::value(&http)->default_value(http), "HTTP address (host:port)")
    ("ingest", po::value(&ingest)->default_value(ingest), "line-protocol TCP feed address (host:port)")
    ("workers", po::value(&c.workers)->default_value(0), "HTTP worker threads (0: one per core)")
    ("busy-poll", po::value(&busy_poll)->default_value(busy_poll),
     "HTTP workers keep polling this long after their last event before they sleep: lower "
     "latency, at most this much CPU per event (0: off, for machines whose cores are shared)")
    ("window", po::value(&window)->default_value(window), "sliding-window store: entry lifetime")
    ("window-max-keys", po::value(&c.window_max_keys)->default_value(c.window_max_keys),
       "sliding-window store: maximum live keys (503 above)")
    ("retention", po::value(&retention)->default_value(retention),
       "drop points older than this before a series' newest point (0: keep by count only)")
    ("max-future-skew", po::value(&future_skew)->default_value(future_skew),
       "with --retention: reject a timestamp further than this ahead of the server's clock")
    ("max-points-per-series", po::value(&c.store.max_points_per_series)->default_value(c.store.max_points_per_series),
       "keep at most this many points per series (oldest evicted)")
    ("max-series", po::value(&c.store.max_series)->default_value(c.store.max_series),
       "maximum number of series; a line for a new series past it is rejected")
    ("max-body", po::value(&c.max_body_bytes)->default_value(c.max_body_bytes), "maximum HTTP request body, bytes (413 above)")
    ("max-answer-bytes", po::value(&c.max_answer_bytes)->default_value(c.max_answer_bytes),
       "largest answer of a /v1/series query, bytes (413 above)")
    ("max-header", po::value(&c.max_header_bytes)->default_value(c.max_header_bytes), "maximum HTTP request header, bytes")
    ("max-connections", po::value(&c.max_connections)->default_value(c.max_connections),
       "maximum concurrent HTTP connections (503 above)")
    ("max-response-bytes", po::value(&c.max_response_bytes)->default_value(c.max_response_bytes),
       "bytes of answers not yet written to their clients, all connections together (503 above)")
    ("max-queued-write-bytes", po::value(&c.max_queued_write_bytes)->default_value(c.max_queued_write_bytes),
       "bytes of /write bodies waiting for the writer, all connections together (503 above)")
    ("max-feed-connections", po::value(&c.max_feed_connections)->default_value(c.max_feed_connections),
       "maximum concurrent line-protocol TCP connections (refused above)")
    ("feed-idle-timeout", po::value(&feed_idle)->default_value(feed_idle),
       "close a line-protocol TCP connection that sends nothing for this long")
    ("header-timeout", po::value(&header_timeout)->default_value(header_timeout),
       "drop a connection that sends no complete request header for this long (slow clients, idle keep-alive)")
    ("body-timeout", po::value(&body_timeout)->default_value(body_timeout),
       "drop a connection whose request body has not fully arrived this long after its header")
    ("ws-max-subscriptions", po::value(&c.stream.max_subscriptions)->default_value(c.stream.max_subscriptions),
       "WebSocket: subscriptions per connection")
    ("ws-max-snapshot", po::value(&c.stream.max_snapshot)->default_value(c.stream.max_snapshot),
       "WebSocket: largest snapshot a subscription may ask for (points or bars)")
    ("ws-queue-messages", po::value(&c.stream.queue_messages)->default_value(c.stream.queue_messages),
       "WebSocket: messages queued per connection before the slow policy applies")
    ("ws-queue-bytes", po::value(&c.stream.queue_bytes)->default_value(c.stream.queue_bytes),
       "WebSocket: bytes queued per connection before the slow policy applies")
    ("ws-slow-policy", po::value(&ws_policy)->default_value(ws_policy),
       "WebSocket: conflate (lagged + fresh snapshot) or close (1008) a client past its queue bound")
    ("ws-replay", po::value(&c.stream.replay)->default_value(c.stream.replay),
       "WebSocket: changes kept per subscribed series for since_seq resume")
    ("ws-replay-bytes", po::value(&c.stream.replay_bytes)->default_value(c.stream.replay_bytes),
       "WebSocket: bytes all replay logs together may hold (oldest changes go first)")
    ("ws-inbox", po::value(&c.stream.inbox_capacity)->default_value(c.stream.inbox_capacity),
       "WebSocket: changes queued from the ingest thread to one connection before they are dropped and the subscription resynced")
    ("ws-idle-timeout", po::value(&ws_idle)->default_value(ws_idle),
       "WebSocket: ping after half of this without traffic, close after all of it")
    ("data-dir", po::value(&c.journal.dir),
       "keep a journal of every change in this directory and replay it at start (off by default: in memory only)")
    ("fsync", po::value(&fsync)->default_value(fsync),
       "with --data-dir: always (a /write is answered once on disk), everysec (fsync once a second), no (the OS decides)")
    ("journal-segment-bytes", po::value(&c.journal.segment_bytes)->default_value(c.journal.segment_bytes),
       "with --data-dir: size at which the journal starts a new segment file")
    ("snapshot-interval", po::value(&snapshot_interval)->default_value(snapshot_interval),
       "with --data-dir: write a snapshot of the store this often (0: not by time); replay then reads the newest snapshot and the journal after it")
    ("snapshot-bytes", po::value(&c.journal.snapshot_bytes)->default_value(c.journal.snapshot_bytes),
       "with --data-dir: also write a snapshot once the journal grew by this many bytes since the last (0: not by size)")
    ("journal-repair", po::bool_switch(&c.journal.repair),
       "with --data-dir: truncate the journal at a corrupt record instead of refusing to start (what follows it is lost)")
    ("nats", po::value(&c.cluster.nats_url)->value_name("URL"),
       "consume this instance's partitions from a NATS JetStream stream (nats://host:port; several comma-separated for a NATS cluster)")
    ("stream", po::value(&c.cluster.stream)->default_value(c.cluster.stream),
       "with --nats: the JetStream stream (created if absent)")
    ("subject-prefix", po::value(&c.cluster.subject_prefix)->default_value(c.cluster.subject_prefix),
       "with --nats: partition N is the subject PREFIX.N")
    ("partition-count", po::value(&c.cluster.partition_count)->default_value(c.cluster.partition_count),
       "total number of partitions P (series -> partition by the documented hash; --cluster also gives it)")
    ("partitions", po::value(&partitions)->value_name("SET"),
       "the partitions this instance consumes and owns, e.g. 0-3,6 (default: all of [0,P))")
    ("replicas", po::value(&c.cluster.replicas)->default_value(c.cluster.replicas),
       "with --nats: replicas of the stream when this server creates it (1-5)")
    ("nats-start-time", po::value(&nats_start_time)->value_name("TIME"),
       "with --nats: a partition without a journal position is replayed from this time (RFC 3339 or ns) instead of the stream's start")
    ("cluster", po::value(&c.cluster.cluster_file)->value_name("FILE"),
       "the cluster file (instances and their partitions): a read of another instance's series gets 421 naming it")
    ("auth-token-file", po::value(&c.auth_token_file)->value_name("FILE"),
       "writes (feed, /write, DELETE, window PUT/DELETE) need one of the tokens in FILE (one per line; SIGHUP reloads it)")
    ("auth-reads", po::bool_switch(&c.auth_reads),
       "with --auth-token-file: every request needs a token too, except /health and /ping")
    ("insecure-no-auth", po::bool_switch(&c.insecure_no_auth),
       "allow --http/--ingest beyond loopback without --auth-token-file: anyone who can connect may write")
    ("log-level", po::value(&c.log_level)->default_value(c.log_level), "trace, debug, info, warn, error, off")
    ("demo", po::bool_switch(&c.demo), "run a built-in synthetic quote feed")
    ("demo-rate", po::value(&c.demo_rate)->default_value(c.demo_rate), "demo feed: quotes per second")
    ("demo-symbols", po::value(&c.demo_symbols)->default_value(c.demo_symbols), "demo feed: number of symbols");
  // clang-format on
  // Boost reads "-1" into an unsigned option as 2^64 - 1: no flag takes a negative number, so
  // a value that starts with '-' and a digit is refused before parsing.
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto eq = arg.find("=-");
    const bool separate =
        arg.size() >= 2 && arg[0] == '-' && std::isdigit(static_cast<unsigned char>(arg[1])) != 0;
    const bool joined = eq != std::string_view::npos && eq + 2 < arg.size() &&
                        std::isdigit(static_cast<unsigned char>(arg[eq + 2])) != 0;
    if (separate || joined) {
      const std::string flag = joined  ? std::string(arg.substr(0, eq))
                               : i > 1 ? std::string(argv[i - 1])
                                       : std::string();
      throw std::invalid_argument(flag + ": negative value '" + std::string(arg) +
                                  "' (no flag takes a negative number)");
    }
  }
  // Not in --help: switches meant for tests only.
  po::options_description hidden("Test-only options");
  hidden.add_options()("test-clock", po::bool_switch(&c.test_clock),
                       "tests only: /v1/window takes the clock from a `time` parameter");
  po::options_description all;
  all.add(opts).add(hidden);
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, all), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw std::invalid_argument(e.what());
  }
  if (vm.count("help") != 0) {
    std::cout << opts << "\nExamples:\n"
              << "  tickring-server --demo                 # synthetic quotes; try curl "
                 "localhost:8080/v1/series\n"
              << "  tickring-server --http :8080 --auth-token-file tokens --retention 1d\n";
    return std::nullopt;
  }
  if (vm.count("version") != 0) {
    std::cout << "tickring-server 0.1.0\n";
    return std::nullopt;
  }
  c.http = parse_endpoint(http);
  c.ingest = parse_endpoint(ingest);
  auto duration_flag = [](const char* flag, const std::string& text) {
    try {
      return parse_duration(text);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(std::string(flag) + ": " + e.what());
    }
  };
  c.window = duration_flag("--window", window);
  if (c.window.count() <= 0 || c.window > kMaxWindow) {
    throw std::invalid_argument("--window must be from 1ns to 365d");
  }
  c.store.max_age = duration_flag("--retention", retention).count();
  c.max_future_skew = duration_flag("--max-future-skew", future_skew);
  if (c.max_future_skew.count() <= 0 || c.max_future_skew > kMaxWindow) {
    throw std::invalid_argument("--max-future-skew must be from 1ns to 365d");
  }
  c.header_timeout = std::chrono::duration_cast<std::chrono::seconds>(
      duration_flag("--header-timeout", header_timeout));
  if (c.header_timeout.count() < 1 || c.header_timeout > kMaxHeaderTimeout)
    throw std::invalid_argument("--header-timeout must be from 1s to 1h");
  c.body_timeout = std::chrono::duration_cast<std::chrono::seconds>(
      duration_flag("--body-timeout", body_timeout));
  if (c.body_timeout.count() < 1 || c.body_timeout > kMaxHeaderTimeout)
    throw std::invalid_argument("--body-timeout must be from 1s to 1h");
  const auto poll_window = duration_flag("--busy-poll", busy_poll);
  if (poll_window > std::chrono::seconds(1))
    throw std::invalid_argument("--busy-poll must be at most 1s");
  c.busy_poll = std::chrono::duration_cast<std::chrono::microseconds>(poll_window);
  c.feed_idle_timeout = std::chrono::duration_cast<std::chrono::seconds>(
      duration_flag("--feed-idle-timeout", feed_idle));
  if (c.feed_idle_timeout.count() < 1 || c.feed_idle_timeout > std::chrono::hours(24)) {
    throw std::invalid_argument("--feed-idle-timeout must be from 1s to 1d");
  }
  if (c.max_feed_connections == 0 || c.max_connections == 0) {
    throw std::invalid_argument("--max-connections and --max-feed-connections must be at least 1");
  }
  if (c.max_answer_bytes < 1024)
    throw std::invalid_argument("--max-answer-bytes must be at least 1024");
  if (c.max_header_bytes < kMinHeaderBytes || c.max_header_bytes > kMaxHeaderBytesLimit) {
    throw std::invalid_argument("--max-header must be from " + std::to_string(kMinHeaderBytes) +
                                " to " + std::to_string(kMaxHeaderBytesLimit) + " bytes");
  }
  if (c.auth_reads && c.auth_token_file.empty())
    throw std::invalid_argument("--auth-reads needs --auth-token-file");
  if (c.insecure_no_auth && !c.auth_token_file.empty()) {
    throw std::invalid_argument(
        "--insecure-no-auth and --auth-token-file contradict each other; give one");
  }
  if (ws_policy == "conflate") {
    c.stream.policy = stream::slow_policy::conflate;
  } else if (ws_policy == "close") {
    c.stream.policy = stream::slow_policy::close;
  } else {
    throw std::invalid_argument("--ws-slow-policy must be conflate or close");
  }
  c.stream.idle_timeout =
      std::chrono::duration_cast<std::chrono::seconds>(duration_flag("--ws-idle-timeout", ws_idle));
  if (c.stream.idle_timeout.count() < 2 || c.stream.idle_timeout > std::chrono::hours(24)) {
    throw std::invalid_argument("--ws-idle-timeout must be from 2s to 1d");
  }
  if (c.stream.inbox_capacity < 4 || c.stream.inbox_capacity > (1U << 24)) {
    throw std::invalid_argument("--ws-inbox must be from 4 to 16777216");
  }
  if (c.stream.queue_messages < 2 || c.stream.queue_bytes < 1024) {
    throw std::invalid_argument("--ws-queue-messages must be at least 2, --ws-queue-bytes 1024");
  }
  if (c.stream.max_subscriptions == 0 || c.stream.max_snapshot > 1'000'000) {
    throw std::invalid_argument(
        "--ws-max-subscriptions must be at least 1 and --ws-max-snapshot at most 1000000");
  }
  if (fsync == "always") {
    c.journal.fsync = journal::fsync_policy::always;
  } else if (fsync == "everysec") {
    c.journal.fsync = journal::fsync_policy::everysec;
  } else if (fsync == "no") {
    c.journal.fsync = journal::fsync_policy::no;
  } else {
    throw std::invalid_argument("--fsync must be always, everysec or no");
  }
  {
    const auto interval = duration_flag("--snapshot-interval", snapshot_interval);
    // Whole seconds: a snapshot walks the whole store, more often than that is no use.
    if (interval.count() < 0 || (interval.count() > 0 && interval < std::chrono::seconds(1)))
      throw std::invalid_argument("--snapshot-interval must be 0 (off) or at least 1s");
    c.journal.snapshot_interval = std::chrono::duration_cast<std::chrono::seconds>(interval);
  }
  if (c.journal.segment_bytes < journal::kMinSegmentBytes ||
      c.journal.segment_bytes > (std::size_t{1} << 40)) {
    throw std::invalid_argument("--journal-segment-bytes must be from " +
                                std::to_string(journal::kMinSegmentBytes) + " to 2^40");
  }
  if (vm.count("data-dir") != 0 && c.journal.dir.empty()) {
    throw std::invalid_argument("--data-dir must name a directory");
  }
  parse_cluster_flags(c, vm, partitions, nats_start_time);
  if (c.workers == 0) c.workers = std::max(1U, std::thread::hardware_concurrency());
  if (c.window_max_keys == 0 || c.window_max_keys > core::kMaxKeysLimit) {
    throw std::invalid_argument("--window-max-keys must be from 1 to " +
                                std::to_string(core::kMaxKeysLimit));
  }
  if (c.store.max_series == 0) throw std::invalid_argument("--max-series must be at least 1");
  if (c.store.max_series > 1'000'000'000)
    throw std::invalid_argument("--max-series must be at most 1000000000");
  if (c.store.max_points_per_series == 0) {
    throw std::invalid_argument("--max-points-per-series must be at least 1");
  }
  if (c.demo_rate <= 0 || c.demo_symbols == 0) {
    throw std::invalid_argument("--demo-rate and --demo-symbols must be positive");
  }
  return c;
}

}  // namespace tickring::server
