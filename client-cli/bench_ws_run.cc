#include "client-cli/bench_ws_run.h"

#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "client-cli/command.h"
#include "client-cli/http_client.h"
#include "client-cli/ingest_connection.h"
#include "client-cli/quote_gen.h"
#include "client-cli/server_api.h"
#include "client-cli/stream_messages.h"
#include "client-cli/ws_client.h"

namespace tickring::cli {
namespace {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Every connection upgraded and every subscription acknowledged within this, or the run fails.
constexpr auto kSubscribeTimeout = 30s;
// The priming quotes are stored within this, or the run fails.
constexpr auto kPrimeTimeout = 10s;
constexpr auto kPollInterval = 5ms;
// After the run, how long the connections get to finish their close handshakes.
constexpr auto kCloseTimeout = 5s;
// Descriptors besides the WebSockets: stdio, the feed, the HTTP poll, the io_context's own.
constexpr rlim_t kSpareDescriptors = 64;

std::int64_t realtime_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Latencies in ns; lock-free, so both io threads record into one. Log-linear buckets: exact
// below 64 ns, then 64 per power of two, so a reported percentile is within 1/64 (1.6%) of
// the true value. Cost: one atomic add per sample; 30 KB.
class latency_histogram {
 public:
  void add(std::int64_t ns) {
    const auto v = static_cast<std::uint64_t>(std::max<std::int64_t>(ns, 0));
    counts_[index(v)].fetch_add(1, std::memory_order_relaxed);
    total_.fetch_add(1, std::memory_order_relaxed);
    std::uint64_t m = max_.load(std::memory_order_relaxed);
    while (v > m && !max_.compare_exchange_weak(m, v, std::memory_order_relaxed)) {
    }
  }

  // The value below which a fraction p of the samples lie (the middle of its bucket), in ns.
  // Call once the recording threads are done.
  double percentile(double p) const {
    const std::uint64_t total = total_.load();
    if (total == 0) return 0;
    const auto rank = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::ceil(p * static_cast<double>(total))));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i].load();
      if (seen >= rank) {
        const double mid = static_cast<double>(lower(i)) + static_cast<double>(width(i)) / 2;
        return std::min(mid, static_cast<double>(max_.load()));
      }
    }
    return static_cast<double>(max_.load());
  }

  double max() const { return static_cast<double>(max_.load()); }

 private:
  static constexpr unsigned kSubBits = 6;
  static constexpr std::size_t kSub = std::size_t{1} << kSubBits;
  static constexpr std::size_t kBuckets = kSub + (64 - kSubBits) * kSub;

  static std::size_t index(std::uint64_t v) {
    if (v < kSub) return v;
    const unsigned e = 63 - static_cast<unsigned>(std::countl_zero(v));  // e >= kSubBits
    return kSub + (e - kSubBits) * kSub + ((v >> (e - kSubBits)) & (kSub - 1));
  }
  static std::uint64_t lower(std::size_t i) {
    if (i < kSub) return i;
    const std::size_t k = i - kSub;
    const unsigned e = static_cast<unsigned>(k / kSub) + kSubBits;
    return (std::uint64_t{1} << e) + (std::uint64_t{k % kSub} << (e - kSubBits));
  }
  static std::uint64_t width(std::size_t i) {
    return i < kSub ? 1 : std::uint64_t{1} << ((i - kSub) / kSub);
  }

  std::array<std::atomic<std::uint64_t>, kBuckets> counts_{};
  std::atomic<std::uint64_t> total_{0};
  std::atomic<std::uint64_t> max_{0};
};

// What every connection adds to; relaxed atomics: only totals are read, after the run.
struct totals {
  std::atomic<std::uint64_t> subscribed{0};
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> snapshots{0};
  std::atomic<std::uint64_t> lagged{0};
  std::atomic<std::uint64_t> dropped{0};
  std::atomic<std::uint64_t> resets{0};
  std::atomic<std::uint64_t> gaps{0};
  std::atomic<std::uint64_t> repeats{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint32_t> opened{0};
  std::atomic<std::uint32_t> closed{0};
  std::atomic<std::uint32_t> failed{0};        // closed without ever opening
  std::atomic<std::uint32_t> disconnected{0};  // closed after opening, before we closed it
  std::atomic<std::int64_t> last_point_at{0};  // steady clock, ns since its epoch
  std::atomic<bool> closing{false};
  latency_histogram latency;
  std::mutex problem_mutex;
  std::string first_problem;

  void problem(const std::string& text) {
    std::lock_guard lock(problem_mutex);
    if (first_problem.empty()) first_problem = text;
  }
};

// One WebSocket and its subscriptions. Its handlers run on its own strand, one at a time, so
// the trackers need no lock.
struct subscriber_connection {
  std::shared_ptr<ws_client> ws;
  std::vector<seq_tracker> seqs;  // by subscription id - 1
  std::vector<bool> wildcard;     // by subscription id - 1

  void on_message(std::string_view m, totals& t) {
    const auto type = peek_string(m, "type");
    if (!type) return t.problem(fmt::format("a message without a type: {:.200}", m));
    if (*type == "point") {
      on_point(m, peek_int(m, "id"), t);
    } else if (*type == "points") {
      // {"type":"points","id":N,"points":[{...},{...}]}: flat items, one per point.
      const auto id = peek_int(m, "id");
      constexpr std::string_view kItems = "\"points\":[";
      std::size_t pos = m.find(kItems);
      if (pos == std::string_view::npos) return t.problem(fmt::format("a bad batch: {:.200}", m));
      pos += kItems.size();
      while (pos < m.size() && m[pos] == '{') {
        const std::size_t end = m.find('}', pos);
        if (end == std::string_view::npos) break;
        on_point(m.substr(pos, end - pos + 1), id, t);
        pos = end + 1;
        if (pos < m.size() && m[pos] == ',') ++pos;
      }
    } else if (*type == "subscribed") {
      t.subscribed.fetch_add(1, std::memory_order_relaxed);
      const auto id = peek_int(m, "id");
      const auto seq = peek_int(m, "seq");
      const auto series = peek_string(m, "series");
      if (id && seq && series && valid(*id) && !wildcard[*id - 1])
        seqs[*id - 1].restart(*series, static_cast<std::uint64_t>(*seq));
    } else if (*type == "snapshot" || *type == "reset") {
      (*type == "snapshot" ? t.snapshots : t.resets).fetch_add(1, std::memory_order_relaxed);
      const auto id = peek_int(m, "id");
      const auto seq = peek_int(m, "seq");
      const auto series = peek_string(m, "series");
      if (id && seq && series && valid(*id))
        seqs[*id - 1].restart(*series, static_cast<std::uint64_t>(*seq));
    } else if (*type == "lagged") {
      t.lagged.fetch_add(1, std::memory_order_relaxed);
      t.dropped.fetch_add(static_cast<std::uint64_t>(peek_int(m, "dropped").value_or(0)),
                          std::memory_order_relaxed);
    } else if (*type == "error") {
      t.errors.fetch_add(1, std::memory_order_relaxed);
      t.problem(fmt::format("the server sent an error: {:.300}", m));
    }
  }

  void on_point(std::string_view m, std::optional<std::int64_t> id, totals& t) {
    const std::int64_t now = realtime_ns();
    const auto time = peek_int(m, "time");
    if (time) t.latency.add(now - *time);
    t.delivered.fetch_add(1, std::memory_order_relaxed);
    const std::int64_t at = clock::now().time_since_epoch().count();
    std::int64_t last = t.last_point_at.load(std::memory_order_relaxed);
    while (at > last && !t.last_point_at.compare_exchange_weak(last, at)) {
    }
    check(m, id, t);
  }

  void check(std::string_view m, std::optional<std::int64_t> id, totals& t) {
    const auto seq = peek_int(m, "seq");
    const auto series = peek_string(m, "series");
    if (!id || !seq || !series || !valid(*id)) {
      t.errors.fetch_add(1, std::memory_order_relaxed);
      return t.problem(fmt::format("a point without a valid id, seq or series: {:.200}", m));
    }
    const seq_check c = seqs[*id - 1].advance(*series, static_cast<std::uint64_t>(*seq), true);
    if (c.verdict == seq_verdict::gap) {
      t.gaps.fetch_add(1, std::memory_order_relaxed);
      t.problem(fmt::format("{}: seq {} after {}", *series, *seq, c.last));
    } else if (c.verdict == seq_verdict::repeat) {
      t.repeats.fetch_add(1, std::memory_order_relaxed);
      t.problem(fmt::format("{}: seq {} repeated after {}", *series, *seq, c.last));
    }
  }

  bool valid(std::int64_t id) const {
    return id >= 1 && static_cast<std::uint64_t>(id) <= seqs.size();
  }
};

// Enough descriptors for every connection: the soft limit is often 1,024.
void raise_descriptor_limit(std::uint32_t connections) {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return;
  const rlim_t want = connections + kSpareDescriptors;
  if (r.rlim_cur >= want) return;
  r.rlim_cur = std::min(want, r.rlim_max);
  (void)::setrlimit(RLIMIT_NOFILE, &r);
}

bool wait_until(const std::function<bool()>& done, std::chrono::nanoseconds timeout) {
  const auto deadline = clock::now() + timeout;
  while (!done()) {
    if (clock::now() > deadline) return false;
    std::this_thread::sleep_for(kPollInterval);
  }
  return true;
}

// The feed: live quotes, each stamped with the wall clock when its batch is written.
class quote_feed {
 public:
  explicit quote_feed(const bench_ws_params& p)
      : p_(p), last_time_(p.symbols, 0), replies_(3, [](std::string_view line) {
          std::fprintf(stderr, "server (feed): %.*s\n", static_cast<int>(line.size()), line.data());
        }) {
    for (std::uint32_t s = 0; s < p.symbols; ++s)
      prefixes_.push_back(fmt::format("{},sym={} ", p.measurement, quote_symbol(s, p.symbols)));
  }

  std::error_code connect() {
    const auto ec = conn_.connect(p_.host, p_.ingest_port, p_.token);
    // A batch every kFeedTick, each far below a segment: Nagle would hold each one until the
    // previous is acknowledged, adding the server's delayed ACK (tens of ms) to the latency.
    if (!ec) conn_.set_no_delay();
    return ec;
  }

  // Sends quotes number next_ .. next_ + n - 1 (symbol = number % symbols) in one write.
  std::error_code send(std::uint64_t n) {
    batch_.clear();
    const std::int64_t now = realtime_ns();
    for (std::uint64_t i = 0; i < n; ++i, ++next_) {
      const auto s = static_cast<std::uint32_t>(next_ % p_.symbols);
      const std::int64_t t = std::max(now, last_time_[s] + 1);
      last_time_[s] = t;
      // A small walk in pipettes, enough to look like quotes; the content is not measured.
      const std::uint64_t pipettes = 100'000 + (next_ * 7 + s * 13) % 5'000;
      batch_ += prefixes_[s];
      fmt::format_to(std::back_inserter(batch_), "bid={}.{:05},ask={}.{:05} {}\n",
                     pipettes / 100'000, pipettes % 100'000, (pipettes + 2) / 100'000,
                     (pipettes + 2) % 100'000, t);
    }
    if (auto ec = conn_.write_all(batch_)) return ec;
    return conn_.read_replies(0ms, replies_);
  }

  void finish() {
    conn_.shutdown_send();
    (void)conn_.read_replies(200ms, replies_);
  }

  std::uint64_t sent() const { return next_; }
  std::uint64_t rejected() const {
    return replies_.error_lines() + replies_.suppressed() + replies_.other_lines();
  }

 private:
  const bench_ws_params& p_;
  ingest_connection conn_;
  std::vector<std::string> prefixes_;
  std::vector<std::int64_t> last_time_;
  std::string batch_;
  reply_collector replies_;
  std::uint64_t next_ = 0;
};

// Lines the server has dealt with (accepted or not), from GET /health.
bool processed_lines(http_client& http, std::uint64_t& out, std::string& error) {
  server_health h;
  if (!fetch_health(http, h, error)) return false;
  out = h.lines_accepted + h.lines_rejected;
  return true;
}

std::uint64_t expected_points(const bench_ws_params& p, std::uint64_t sent) {
  std::uint64_t expected = sent * p.wildcards;
  for (std::uint32_t s = 0; s < p.symbols; ++s) {
    const std::uint64_t quotes = sent / p.symbols + (s < sent % p.symbols ? 1 : 0);
    const std::uint64_t subs = p.subscribers / p.symbols + (s < p.subscribers % p.symbols ? 1 : 0);
    expected += quotes * subs;
  }
  return expected;
}

}  // namespace

bool run_ws_benchmark(const bench_ws_params& p, bench_ws_result& r, std::string& error) {
  raise_descriptor_limit(p.connections);

  // 1. Priming: every series exists before anyone subscribes.
  http_client http(p.host, p.http_port);
  http.set_token(p.token);
  std::uint64_t baseline = 0;
  if (!processed_lines(http, baseline, error)) return false;
  quote_feed feed(p);
  if (const auto ec = feed.connect()) {
    error = fmt::format("cannot connect to the ingest port {}:{}: {}{}", p.host, p.ingest_port,
                        ec.message(), no_server_hint(ec));
    return false;
  }
  if (const auto ec = feed.send(p.symbols)) {
    error = fmt::format("feed: {}", ec.message());
    return false;
  }
  const std::uint64_t primed = feed.sent();
  std::uint64_t processed = 0;
  if (!wait_until(
          [&] { return processed_lines(http, processed, error) && processed >= baseline + primed; },
          kPrimeTimeout)) {
    if (error.empty()) error = "the priming quotes were not stored in time";
    return false;
  }
  if (feed.rejected() != 0) {
    error = "the server rejected the feed's quotes";
    return false;
  }

  // 2. Subscribers.
  asio::io_context ioc;
  auto work = asio::make_work_guard(ioc);
  totals t;
  std::vector<std::unique_ptr<subscriber_connection>> conns;
  const std::uint32_t total_subs = p.subscribers + p.wildcards;
  for (std::uint32_t c = 0; c < p.connections; ++c)
    conns.push_back(std::make_unique<subscriber_connection>());
  std::vector<std::vector<std::string>> requests(p.connections);
  for (std::uint32_t k = 0; k < total_subs; ++k) {
    subscriber_connection& c = *conns[k % p.connections];
    const bool wild = k >= p.subscribers;
    c.seqs.emplace_back();
    c.wildcard.push_back(wild);
    stream_subscription s;
    s.batch = p.batch;
    s.series =
        wild ? p.measurement + "/*" : p.measurement + "/" + quote_symbol(k % p.symbols, p.symbols);
    requests[k % p.connections].push_back(subscribe_message(c.seqs.size(), s));
  }
  for (std::uint32_t i = 0; i < p.connections; ++i) {
    subscriber_connection* c = conns[i].get();
    ws_handlers h;
    h.on_open = [&t] { t.opened.fetch_add(1); };
    h.on_message = [c, &t](std::string_view m) { c->on_message(m, t); };
    h.on_close = [&t](const std::error_code&, const std::string& reason, bool was_open) {
      if (!was_open) {
        t.failed.fetch_add(1);
        t.problem("a subscriber could not connect: " + reason);
      } else if (!t.closing.load()) {
        t.disconnected.fetch_add(1);
        t.problem("a subscriber was disconnected: " + reason);
      }
      t.closed.fetch_add(1);
    };
    c->ws = make_ws_client(ioc, std::move(h));
    c->ws->connect(p.host, p.http_port, std::string(kStreamTarget), p.token);
    for (auto& m : requests[i])
      c->ws->send(std::move(m));
  }
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < kIoThreads; ++i)
    threads.emplace_back([&ioc] { ioc.run(); });
  const auto shut_down = [&] {
    t.closing = true;
    for (auto& c : conns)
      c->ws->close();
    wait_until([&] { return t.closed.load() == p.connections; }, kCloseTimeout);
    work.reset();
    ioc.stop();
    for (auto& th : threads)
      th.join();
  };
  const bool all_subscribed = wait_until(
      [&] { return t.subscribed.load() >= total_subs || t.closed.load() != 0; }, kSubscribeTimeout);
  if (!all_subscribed || t.subscribed.load() < total_subs) {
    shut_down();
    error = fmt::format("{} of {} subscriptions acknowledged on {} of {} connections{}",
                        t.subscribed.load(), total_subs, t.opened.load(), p.connections,
                        t.first_problem.empty() ? "" : " (" + t.first_problem + ")");
    return false;
  }
  r.connections = t.opened.load();
  r.subscriptions = t.subscribed.load();

  // 3. Feed.
  const std::uint64_t total = static_cast<std::uint64_t>(p.rate * p.duration.count());
  const auto start = clock::now();
  auto tick = start;
  std::error_code feed_error;
  while (feed.sent() - primed < total) {
    tick += kFeedTick;
    std::this_thread::sleep_until(tick);
    const double elapsed = std::chrono::duration<double>(clock::now() - start).count();
    const auto due = std::min(total, static_cast<std::uint64_t>(p.rate * elapsed));
    const std::uint64_t done = feed.sent() - primed;
    if (due > done && (feed_error = feed.send(due - done))) break;
    // Behind by more than a tick (a blocked write): catch up from now, not in a burst.
    if (clock::now() - tick > kFeedTick) tick = clock::now();
  }
  const auto fed = clock::now();
  feed.finish();
  r.sent = feed.sent() - primed;
  r.feed_seconds = std::chrono::duration<double>(fed - start).count();
  r.rejected = feed.rejected();
  r.expected = expected_points(p, r.sent);

  // 4. Drain: until everything arrived or nothing more comes.
  std::uint64_t seen = t.delivered.load();
  auto quiet_since = clock::now();
  const auto drain_deadline = clock::now() + kDrainMax;
  while (t.delivered.load() < r.expected && clock::now() < drain_deadline &&
         clock::now() - quiet_since < kDrainQuiet) {
    std::this_thread::sleep_for(kPollInterval);
    if (const auto now_seen = t.delivered.load(); now_seen != seen) {
      seen = now_seen;
      quiet_since = clock::now();
    }
  }
  shut_down();

  r.delivered = t.delivered.load();
  const auto last = clock::time_point(clock::duration(t.last_point_at.load()));
  r.deliver_seconds = std::chrono::duration<double>(std::max(last, fed) - start).count();
  r.p50_us = t.latency.percentile(0.50) / 1e3;
  r.p99_us = t.latency.percentile(0.99) / 1e3;
  r.max_us = t.latency.max() / 1e3;
  r.snapshots = t.snapshots.load();
  r.lagged = t.lagged.load();
  r.dropped = t.dropped.load();
  r.resets = t.resets.load();
  r.gaps = t.gaps.load();
  r.repeats = t.repeats.load();
  r.errors = t.errors.load();
  r.disconnects = t.disconnected.load();
  r.first_problem = t.first_problem;
  if (feed_error) {
    error = fmt::format("feed: {}", feed_error.message());
    return false;
  }
  return true;
}

}  // namespace tickring::cli
