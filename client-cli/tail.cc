// `tickring tail SERIES`: follows a series (or `measurement/*`) over the WebSocket stream
// (docs/stream.md) and prints its snapshot, then every change as it arrives, one per line.
//
// - Readable lines by default (time as RFC 3339 with nanoseconds, series, seq, fields); --json
//   prints every server message as it came.
// - Reconnects by itself after a disconnect (backoff kFirstBackoff doubling to kMaxBackoff) and
//   resumes with since_seq = the last seq it processed, so nothing is missed or repeated while
//   the server still holds the changes; otherwise the server resets and a snapshot is reloaded.
//   A wildcard cannot resume: it is subscribed again with its snapshot. Both are said on
//   stderr.
// - Checks the gap-free contract itself: a live change whose seq is not last+1 (for bars, not
//   above last) gets a warning on stderr.
// - With --cluster FILE, one series is followed on the instance that owns it (cluster_route.h);
//   a wildcard, which spans instances, is refused.
// - Exit status: 0 after --count live points or bars, on Ctrl-C or SIGTERM; 1 when no
//   connection could be made at all at the start (kFirstStartAttempts tries) or the server
//   refused the subscription; 2 on a usage error, including options the server rejects.
// Threads: main only; one io_context runs the connection, the backoff timer and the signals.
#include <fmt/format.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "client-cli/cli_args.h"
#include "client-cli/cluster_route.h"
#include "client-cli/command.h"
#include "client-cli/stream_messages.h"
#include "client-cli/ws_client.h"

namespace tickring::cli {
namespace {

namespace asio = boost::asio;
// ordered: fields print in the server's (the series') order.
using json = nlohmann::ordered_json;

constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5000};
// At the start, a server that is not there is an error, not something to wait for: these tries
// take 100 + 200 + 400 + 800 ms of backoff.
constexpr unsigned kFirstStartAttempts = 5;
constexpr std::uint64_t kDefaultSnapshot = 10;
constexpr std::uint64_t kSubscriptionId = 1;
constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

constexpr std::string_view kDetails =
    "Subscribes to SERIES (measurement/symbol, or measurement/* for every symbol) on\n"
    "ws://HOST:HTTP-PORT/v1/stream, prints the newest --snapshot points (or bars with\n"
    "--candles), then every change as it happens, one line each:\n"
    "\n"
    "  2025-11-29T18:20:00.140000000Z quotes/EURUSD seq=1042 bid=1.0842 ask=1.0844\n"
    "\n"
    "Snapshot lines show seq<=S (the series' seq when the snapshot was taken); a deleted point\n"
    "shows 'deleted'; a live bar ends in final=false while it is still open. With --json\n"
    "every server message is printed as received. After a disconnect it reconnects by itself\n"
    "and resumes after the last seq it printed; warnings (gaps, lag, resets) go to stderr.\n"
    "\n"
    "Exit status: 0 after --count live messages or on Ctrl-C; 1 when the server cannot be\n"
    "reached at the start or refuses the subscription; 2 on a usage error.\n"
    "\n"
    "Examples:\n"
    "  tickring tail quotes/EURUSD --snapshot 5\n"
    "  tickring tail 'quotes/*' --candles 1m --json\n"
    "  tickring tail quotes/EURUSD --since-seq 1041 --count 10\n";

struct tail_options {
  stream_subscription subscription;
  std::uint64_t count = 0;  // 0: until stopped
  bool json = false;
};

std::string format_time_ns(std::int64_t ns) {
  std::int64_t seconds = ns / kNanosPerSecond;
  std::int64_t frac = ns % kNanosPerSecond;
  if (frac < 0) {
    frac += kNanosPerSecond;
    --seconds;
  }
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char when[32];
  std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:09}Z", when, frac);
}

std::string format_time_s(std::int64_t s) {
  const auto t = static_cast<std::time_t>(s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char when[32];
  std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return when;
}

std::string value_text(const json& v) {
  if (v.is_number_float()) return fmt::format("{}", v.get<double>());
  return v.dump();  // integers as they are; strings quoted, since they may hold blanks
}

// " key=value ..." for every member but those named in `skip`.
std::string fields_text(const json& object, std::initializer_list<std::string_view> skip) {
  std::string out;
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (std::find(skip.begin(), skip.end(), it.key()) != skip.end()) continue;
    out += fmt::format(" {}={}", it.key(), value_text(it.value()));
  }
  return out;
}

std::string time_of_point(const json& p) {
  const auto t = p.find("time");
  return t != p.end() && t->is_number_integer() ? format_time_ns(t->get<std::int64_t>()) : "-";
}

std::string time_of_bar(const json& b) {
  const auto t = b.find("time");
  return t != b.end() && t->is_number_integer() ? format_time_s(t->get<std::int64_t>()) : "-";
}

class tail_run {
 public:
  tail_run(asio::io_context& ioc, const global_options& g, tail_options o)
      : ioc_(ioc),
        globals_(g),
        options_(std::move(o)),
        url_(fmt::format("ws://{}:{}{}", g.host, g.http_port, kStreamTarget)),
        timer_(ioc),
        signals_(ioc, SIGINT, SIGTERM) {}

  void start() {
    signals_.async_wait([this](const boost::system::error_code& ec, int) {
      if (!ec) stop(kExitOk);
    });
    connect();
  }

  int exit_status() const { return status_; }

 private:
  bool wildcard() const { return is_wildcard_series(options_.subscription.series); }

  void connect() {
    ws_handlers h;
    h.on_open = [this] { on_open(); };
    h.on_message = [this](std::string_view text) { on_message(text); };
    h.on_close = [this](const std::error_code& ec, const std::string& reason, bool was_open) {
      on_close(ec, reason, was_open);
    };
    ws_ = make_ws_client(ioc_, std::move(h));
    ws_->connect(globals_.host, globals_.http_port, std::string(kStreamTarget), globals_.token);
    // What to ask for: the original request the first time, a resume after a disconnect.
    stream_subscription s = options_.subscription;
    resume_from_.reset();
    if (ever_open_) {
      s.since_seq.reset();
      if (const auto last = seqs_.last(s.series); last && !wildcard()) {
        s.since_seq = *last;
        resume_from_ = *last;
      }
      seqs_.clear();
    }
    ws_->send(subscribe_message(kSubscriptionId, s));
  }

  void on_open() {
    if (ever_open_) {
      if (wildcard()) {
        note("reconnected; a wildcard subscription cannot resume, reloading its snapshots");
      } else if (!resume_from_) {
        note("reconnected, subscribing again");
      }
    }
    ever_open_ = true;
    failed_attempts_ = 0;
    backoff_ = kFirstBackoff;
  }

  void on_close(const std::error_code& ec, const std::string& reason, bool was_open) {
    if (stopping_) return finish();
    if (!ever_open_) {
      if (++failed_attempts_ >= kFirstStartAttempts) {
        std::fprintf(stderr, "tickring tail: cannot connect to %s: %s%s\n", url_.c_str(),
                     reason.c_str(), std::string(no_server_hint(ec)).c_str());
        return stop(kExitFailure);
      }
    } else if (was_open) {
      note(fmt::format("connection lost ({}); reconnecting", reason));
    }
    timer_.expires_after(backoff_);
    backoff_ = std::min(backoff_ * 2, kMaxBackoff);
    timer_.async_wait([this](const boost::system::error_code& e) {
      if (!e && !stopping_) connect();
    });
  }

  void on_message(std::string_view text) {
    if (stopping_) return;
    if (options_.json) print_line(text);
    const json m = json::parse(text, nullptr, false);
    if (!m.is_object()) {
      note(fmt::format("ignoring a message that is not a JSON object: {:.200}", text));
      return;
    }
    const std::string type = m.value("type", "");
    const std::string series = m.value("series", "");
    const auto seq = m.value("seq", std::uint64_t{0});
    if (type == "point" || type == "delete" || type == "bar") {
      check_seq(series, seq, type != "bar");
      if (!options_.json) print_change(type, series, seq, m);
      if (type != "delete" && options_.count != 0 && ++live_ >= options_.count) stop(kExitOk);
    } else if (type == "snapshot") {
      seqs_.restart(series, seq);
      if (!options_.json) print_snapshot(series, seq, m);
    } else if (type == "subscribed") {
      if (m.contains("seq") && !wildcard()) {
        seqs_.restart(series, seq);
        if (resume_from_ && seq == *resume_from_) {
          note(fmt::format("reconnected, resumed after seq {}", seq));
        }
      }
    } else if (type == "reset") {
      seqs_.restart(series, seq);
      note(fmt::format("{}: server reset: {}, reloading snapshot", series,
                       m.value("reason", "no reason given")));
    } else if (type == "lagged") {
      note(fmt::format("{}: fell behind, the server dropped {} messages; a fresh snapshot follows",
                       series, m.value("dropped", std::uint64_t{0})));
    } else if (type == "error") {
      on_server_error(m);
    }
  }

  void on_server_error(const json& m) {
    const std::string code = m.value("code", "");
    std::fprintf(stderr, "tickring tail: the server says %s: %s\n", code.c_str(),
                 m.value("message", "").c_str());
    if (m.value("id", std::uint64_t{0}) != kSubscriptionId) return;
    // The subscription itself was refused. Most reasons are our own options, so a usage error.
    const bool usage = code == "bad_series" || code == "bad_interval" || code == "bad_field" ||
                       code == "snapshot_too_large" || code == "bad_request";
    stop(usage ? kExitUsage : kExitFailure);
  }

  void check_seq(const std::string& series, std::uint64_t seq, bool exact) {
    const seq_check c = seqs_.advance(series, seq, exact);
    if (c.verdict == seq_verdict::gap) {
      note(fmt::format("warning: {}: seq {} after {}: {} changes missing", series, seq, c.last,
                       seq - c.last - 1));
    } else if (c.verdict == seq_verdict::repeat) {
      note(fmt::format("warning: {}: seq {} after {}: repeated or out of order", series, seq,
                       c.last));
    }
  }

  void print_change(const std::string& type, const std::string& series, std::uint64_t seq,
                    const json& m) {
    if (type == "point") {
      print_line(fmt::format("{} {} seq={}{}", time_of_point(m), series, seq,
                             fields_text(m, {"type", "id", "series", "seq", "time"})));
    } else if (type == "delete") {
      print_line(fmt::format("{} {} seq={} deleted", time_of_point(m), series, seq));
    } else {
      const json bar = m.value("bar", json::object());
      print_line(fmt::format("{} {} seq={}{} {}", time_of_bar(bar), series, seq,
                             fields_text(bar, {"time"}),
                             m.value("final", false) ? "final=true" : "final=false"));
    }
  }

  void print_snapshot(const std::string& series, std::uint64_t seq, const json& m) {
    if (const auto points = m.find("points"); points != m.end() && points->is_array()) {
      for (const auto& p : *points) {
        print_line(fmt::format("{} {} seq<={}{}", time_of_point(p), series, seq,
                               fields_text(p, {"time"})));
      }
    }
    if (const auto bars = m.find("bars"); bars != m.end() && bars->is_array()) {
      for (const auto& b : *bars) {
        print_line(
            fmt::format("{} {} seq<={}{}", time_of_bar(b), series, seq, fields_text(b, {"time"})));
      }
    }
  }

  // Each line is flushed: tail is read by people and by pipes that wait for the next line.
  static void print_line(std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }

  static void note(std::string_view text) {
    std::fprintf(stderr, "tickring tail: %.*s\n", static_cast<int>(text.size()), text.data());
  }

  // Closes the connection (if any) and lets the io_context run out of work.
  void stop(int status) {
    if (stopping_) return;
    stopping_ = true;
    status_ = status;
    timer_.cancel();
    boost::system::error_code ignored;
    signals_.cancel(ignored);
    if (ws_) ws_->close();
  }

  void finish() { ws_.reset(); }

  asio::io_context& ioc_;
  const global_options& globals_;
  const tail_options options_;
  const std::string url_;
  asio::steady_timer timer_;
  asio::signal_set signals_;
  std::shared_ptr<ws_client> ws_;
  seq_tracker seqs_;
  std::optional<std::uint64_t> resume_from_;  // since_seq sent on the current connection
  std::chrono::milliseconds backoff_ = kFirstBackoff;
  unsigned failed_attempts_ = 0;
  bool ever_open_ = false;
  bool stopping_ = false;
  std::uint64_t live_ = 0;  // live points and bars printed
  int status_ = kExitOk;
};

std::vector<std::string> split_fields(const std::string& list) {
  std::vector<std::string> out;
  std::size_t from = 0;
  while (from <= list.size()) {
    const std::size_t comma = std::min(list.find(',', from), list.size());
    if (comma == from)
      throw usage_error("--fields is a comma-separated list of names, e.g. bid,ask");
    out.push_back(list.substr(from, comma - from));
    from = comma + 1;
  }
  return out;
}

int run_tail(const global_options& given, const std::vector<std::string>& args) {
  global_options g = given;
  tail_options t;
  std::uint64_t snapshot = kDefaultSnapshot;
  std::uint64_t since_seq = 0;
  std::string fields;
  command_options o;
  // clang-format off
  o.visible.add_options()
    ("snapshot", po::value(&snapshot)->value_name("N")->default_value(snapshot),
       "first print the newest N points (or bars); 0 with --since-seq unless given")
    ("candles", po::value(&t.subscription.candles)->value_name("INTERVAL"),
       "stream bars of this length instead of points: 1s, 5s, 1m, 5m, 15m, 1h, 4h, 1d, <n><unit>")
    ("since-seq", po::value(&since_seq)->value_name("K"),
       "start after the change with seq K (one series only)")
    ("fields", po::value(&fields)->value_name("a,b"), "only these fields")
    ("count", po::value(&t.count)->value_name("M")->default_value(t.count),
       "exit after M live points or bars (0: never)")
    ("json", po::bool_switch(&t.json), "print the server's messages as they come");
  // clang-format on
  o.hidden.add_options()("series", po::value(&t.subscription.series)->required(), "SERIES");
  o.positional.add("series", 1);
  po::variables_map vm;
  if (!parse_command_args(kTailCommand, kDetails, o, args, g, vm)) return kExitOk;
  stream_subscription& s = t.subscription;
  if (!is_stream_series(s.series)) {
    throw usage_error("SERIES is measurement/symbol or measurement/*, e.g. quotes/EURUSD; got '" +
                      s.series + "'");
  }
  if (vm.count("since-seq") != 0) {
    if (is_wildcard_series(s.series))
      throw usage_error("--since-seq needs one series: a wildcard cannot resume");
    s.since_seq = since_seq;
    if (vm["snapshot"].defaulted()) snapshot = 0;
  }
  s.snapshot = snapshot;
  if (!fields.empty()) s.fields = split_fields(fields);
  if (!g.cluster_file.empty()) {
    if (is_wildcard_series(s.series)) {
      throw usage_error("a wildcard spans every instance of a --cluster: tail one series");
    }
    const auto slash = s.series.find('/');
    g = route_to_owner(g, std::string_view(s.series).substr(0, slash),
                       std::string_view(s.series).substr(slash + 1));
  }

  asio::io_context ioc;
  tail_run run(ioc, g, std::move(t));
  run.start();
  ioc.run();
  return run.exit_status();
}

}  // namespace

constinit const command_entry kTailCommand{
    "tail", "[options] SERIES", "Follow a series live over the WebSocket stream", run_tail};

}  // namespace tickring::cli
