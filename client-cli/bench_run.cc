#include "client-cli/bench_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "client-cli/command.h"
#include "client-cli/ingest_connection.h"
#include "client-cli/progress.h"
#include "client-cli/quote_gen.h"
#include "client-cli/server_api.h"

namespace tickring::cli {
namespace {

using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// 1 MiB per write: a few syscalls per 10,000 quotes; reading replies between writes is cheap.
constexpr std::size_t kBenchWriteBytes = 1024 * 1024;
// How often /health is asked once sending is done: the figure is late by at most this much.
constexpr auto kPollInterval = 2ms;
// A /health answer takes microseconds; this only catches a server that hangs.
constexpr auto kHealthTimeout = 5s;
// The server's error replies shown per connection; a benchmark should have none.
constexpr std::size_t kShownErrorsPerConnection = 3;
// When every line has been accepted but points stop short of the target for this long, some
// are being evicted (--max-points-per-series, --retention) and waiting longer is pointless.
constexpr auto kSettleGrace = 1s;
// After a failure, how long the server gets to send the replies that explain it.
constexpr auto kReplyDrain = 200ms;

void note(const std::string& text) {
  std::fprintf(stderr, "%s\n", text.c_str());
}

struct sender {
  explicit sender(std::size_t number)
      : replies(kShownErrorsPerConnection, [number](std::string_view line) {
          std::fprintf(stderr, "server (connection %zu): %.*s\n", number,
                       static_cast<int>(line.size()), line.data());
        }) {}

  ingest_connection conn;
  std::string text;
  reply_collector replies;
  std::error_code ec;
  clock::time_point done_at;

  void send() {
    std::string_view rest = text;
    while (!rest.empty()) {
      const std::string_view piece = rest.substr(0, kBenchWriteBytes);
      if ((ec = conn.write_all(piece))) break;
      if ((ec = conn.read_replies(0ms, replies))) break;
      rest.remove_prefix(piece.size());
    }
    done_at = clock::now();
  }
};

void generate(const bench_ingest_params& p, std::vector<std::unique_ptr<sender>>& senders) {
  quote_gen_params q;
  q.points = p.points;
  q.symbols = p.symbols;
  q.parts = p.connections;
  q.base_time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  std::vector<std::thread> threads;
  for (std::uint32_t c = 0; c < p.connections; ++c) {
    threads.emplace_back([&, c] { senders[c]->text = generate_quote_part(q, c); });
  }
  for (auto& t : threads)
    t.join();
}

// The series key of a line-protocol line: measurement and tags, up to the first space that is
// not escaped.
std::string_view series_key(std::string_view line) {
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\\') {
      ++i;
    } else if (line[i] == ' ') {
      return line.substr(0, i);
    }
  }
  return line;
}

bool counts_as_point(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return !line.empty() && line.front() != '#';
}

// Reads p.file into the senders' buffers; `points` = its point lines.
bool load_file(const bench_ingest_params& p, std::vector<std::unique_ptr<sender>>& senders,
               std::uint64_t& points, std::string& error) {
  std::FILE* f = std::fopen(p.file.c_str(), "rb");
  if (f == nullptr) {
    error = fmt::format("cannot open {}: {}", p.file, std::strerror(errno));
    return false;
  }
  std::string text;
  // One allocation of the file's size: no copies while growing (0 for a pipe: grows).
  std::error_code size_ec;
  const auto file_size = std::filesystem::file_size(p.file, size_ec);
  if (!size_ec) text.reserve(file_size + 1);
  char buf[1 << 16];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
    text.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) {
    error = fmt::format("reading {} failed", p.file);
    return false;
  }
  if (!text.empty() && text.back() != '\n') text += '\n';
  points = 0;
  if (senders.size() == 1) {
    for (std::size_t at = 0; at < text.size();) {
      const std::size_t nl = text.find('\n', at);
      if (counts_as_point(std::string_view(text).substr(at, nl - at))) ++points;
      at = nl + 1;
    }
    senders[0]->text = std::move(text);
  } else {
    const std::hash<std::string_view> hash;
    for (std::size_t at = 0; at < text.size();) {
      const std::size_t nl = text.find('\n', at);
      const std::string_view line = std::string_view(text).substr(at, nl + 1 - at);
      at = nl + 1;
      if (!counts_as_point(line.substr(0, line.size() - 1))) continue;
      ++points;
      senders[hash(series_key(line)) % senders.size()]->text.append(line);
    }
  }
  if (points == 0) {
    error = fmt::format("{} holds no line-protocol lines", p.file);
    return false;
  }
  return true;
}

// Sends every buffer, one thread per connection released together. Returns the start time;
// false (with `error`) on a send failure or when sending alone outlasts the timeout.
bool send_all(const bench_ingest_params& p, std::vector<std::unique_ptr<sender>>& senders,
              clock::time_point& start, std::string& error) {
  std::mutex mu;
  std::condition_variable cv;
  std::size_t running = senders.size();
  std::latch go(1);
  std::vector<std::thread> threads;
  for (auto& s : senders) {
    threads.emplace_back([&, snd = s.get()] {
      go.wait();
      snd->send();
      const std::lock_guard lock(mu);
      --running;
      cv.notify_one();
    });
  }
  start = clock::now();
  go.count_down();
  bool finished;
  {
    std::unique_lock lock(mu);
    finished = cv.wait_until(lock, start + std::chrono::duration_cast<clock::duration>(p.timeout),
                             [&] { return running == 0; });
  }
  // A server that stopped reading leaves writers blocked; shutting the sockets frees them.
  if (!finished) {
    for (auto& s : senders)
      s->conn.abort();
  }
  for (auto& t : threads)
    t.join();
  if (!finished) {
    error = fmt::format("timed out after {:.0f} s while sending: the server stopped reading",
                        p.timeout.count());
    return false;
  }
  for (std::size_t i = 0; i < senders.size(); ++i) {
    if (senders[i]->ec) {
      error = fmt::format("connection {}: sending failed: {}", i + 1, senders[i]->ec.message());
      return false;
    }
  }
  return true;
}

void drain_replies(std::vector<std::unique_ptr<sender>>& senders, std::chrono::milliseconds wait) {
  for (auto& s : senders)
    (void)s->conn.read_replies(wait, s->replies);
}

}  // namespace

bool run_ingest_benchmark(const bench_ingest_params& p, bench_ingest_result& result,
                          std::string& error) {
  http_client http(p.host, p.http_port, kHealthTimeout);
  http.set_token(p.token);
  server_health before;
  if (!fetch_health(http, before, error)) return false;

  std::vector<std::unique_ptr<sender>> senders;
  for (std::uint32_t c = 0; c < p.connections; ++c)
    senders.push_back(std::make_unique<sender>(c + 1));
  const auto gen_start = clock::now();
  if (p.file.empty()) {
    note(fmt::format("generating {} quotes over {} symbols for {} connections ...",
                     format_count(p.points), format_count(p.symbols), p.connections));
    generate(p, senders);
    result.points = p.points;
  } else if (!load_file(p, senders, result.points, error)) {
    return false;
  }
  result.bytes = 0;
  for (const auto& s : senders)
    result.bytes += s->text.size();
  note(
      fmt::format("{} {} lines ({}) in {}", p.file.empty() ? "generated" : "read",
                  format_count(result.points), format_bytes(static_cast<double>(result.bytes)),
                  format_seconds(std::chrono::duration<double>(clock::now() - gen_start).count())));

  for (auto& s : senders) {
    if (const auto ec = s->conn.connect(p.host, p.ingest_port, p.token)) {
      error = fmt::format("cannot connect to {}:{}: {}{}", p.host, p.ingest_port, ec.message(),
                          no_server_hint(ec));
      return false;
    }
  }
  server_health base;
  if (!fetch_health(http, base, error)) return false;
  if (base.points != before.points) {
    note(
        fmt::format("warning: the server's point count moved by {} while we were idle (a --demo "
                    "feed or another writer?): the figures will be too good",
                    static_cast<std::int64_t>(base.points - before.points)));
  }

  note(fmt::format("sending over {} connections ...", p.connections));
  clock::time_point start;
  if (!send_all(p, senders, start, error)) return false;
  clock::time_point sent = start;
  for (const auto& s : senders)
    sent = std::max(sent, s->done_at);
  result.send_seconds = std::chrono::duration<double>(sent - start).count();

  const auto deadline = start + std::chrono::duration_cast<clock::duration>(p.timeout);
  const std::uint64_t target = base.points + result.points;
  std::optional<clock::time_point> all_accepted_at;
  for (;;) {
    server_health h;
    if (!fetch_health(http, h, error)) return false;
    const auto now = clock::now();
    if (h.points >= target) {
      result.seconds = std::chrono::duration<double>(now - start).count();
      break;
    }
    const std::uint64_t accepted = h.lines_accepted - base.lines_accepted;
    const std::uint64_t rejected = h.lines_rejected - base.lines_rejected;
    if (rejected != 0 && accepted + rejected >= result.points) {
      drain_replies(senders, kReplyDrain);
      error = fmt::format("the server rejected {} of {} lines", format_count(rejected),
                          format_count(result.points));
      return false;
    }
    if (accepted >= result.points && !all_accepted_at) all_accepted_at = now;
    if (all_accepted_at && now - *all_accepted_at > kSettleGrace) {
      error = fmt::format(
          "the server accepted all {} lines but holds only {} new points: is it evicting "
          "(--max-points-per-series below points/symbols, or --retention){}?",
          format_count(result.points), format_count(h.points - base.points),
          p.file.empty() ? "" : ", or did it hold the file's points already (an earlier run)");
      return false;
    }
    if (now > deadline) {
      error = fmt::format("timed out after {:.0f} s: the server stored {} of {} points",
                          p.timeout.count(), format_count(h.points - base.points),
                          format_count(result.points));
      return false;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  drain_replies(senders, 0ms);
  std::uint64_t errors = 0;
  for (const auto& s : senders)
    errors += s->replies.error_lines() + s->replies.suppressed();
  if (errors != 0) {
    note(
        fmt::format("warning: the server rejected {} lines, yet the point count was reached "
                    "(another writer?)",
                    format_count(errors)));
  }
  return true;
}

}  // namespace tickring::cli
