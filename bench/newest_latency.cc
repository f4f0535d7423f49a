// newest_latency: one client for "the newest N quotes of a symbol" against tickring (HTTP) and
// Redis (RESP, XREVRANGE key + - COUNT N), so that bench/vs_redis.sh compares the servers and
// not two clients.
//
//   newest_latency http HOST PORT TARGET [--requests R] [--warmup W] [--token T]
//   newest_latency redis HOST PORT KEY   [--requests R] [--warmup W] [--count N]
//
// One keep-alive connection, one request at a time; each latency runs from before the request
// is sent to after its whole answer is in (as wrk and `tickring bench query` measure). Both
// protocols use the same socket code (client-cli/bench_http.h: TCP_NODELAY, one send(), recv()
// into a reused buffer until the answer is complete), and each answer is only framed, not
// decoded, on either side. An HTTP status other than 200, an empty body, a Redis error reply
// or an empty array counts as an error.
//
// Output: one JSON object: requests, errors, p50/p90/p99/p99.9/max in µs, requests/s,
// system calls per request and the size of the last answer. Exit status 1 when any request
// failed, 2 on a usage error.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client-cli/bench_http.h"

namespace {

using tickring::cli::bench_http_answer;
using tickring::cli::bench_http_connection;
using tickring::cli::bench_socket;
using clock_type = std::chrono::steady_clock;

constexpr unsigned long kDefaultRequests = 20'000;
constexpr unsigned long kDefaultWarmup = 500;
constexpr unsigned kDefaultCount = 100;
// Per send() and recv(): catches a hung server.
constexpr std::chrono::milliseconds kTimeout{10'000};
constexpr std::size_t kMaxAnswerBytes = 64 * 1024 * 1024;
// Nesting of RESP arrays: XREVRANGE answers two levels deep.
constexpr int kMaxRespDepth = 8;

// Where the RESP value starting at `p` ends: its end offset, std::nullopt when more bytes are
// needed, or SIZE_MAX when the bytes are not RESP. `is_error` is set for a '-' reply at the top.
constexpr std::size_t kBad = static_cast<std::size_t>(-1);
std::optional<std::size_t> resp_end(std::string_view s, std::size_t p, int depth,
                                    long long* top_elements, bool* is_error) {
  if (depth > kMaxRespDepth) return kBad;
  if (p >= s.size()) return std::nullopt;
  const auto eol = s.find("\r\n", p);
  if (eol == std::string_view::npos) return std::nullopt;
  const char type = s[p];
  long long n = 0;
  if (type == '$' || type == '*' || type == ':') {
    const auto r = std::from_chars(s.data() + p + 1, s.data() + eol, n);
    if (r.ec != std::errc{} || r.ptr != s.data() + eol) return kBad;
  }
  switch (type) {
    case '+':
    case ':':
      return eol + 2;
    case '-':
      if (is_error != nullptr) *is_error = true;
      return eol + 2;
    case '$': {
      if (n < 0) return eol + 2;  // null
      const std::size_t end = eol + 2 + static_cast<std::size_t>(n) + 2;
      if (end > s.size()) return std::nullopt;
      return end;
    }
    case '*': {
      if (top_elements != nullptr) *top_elements = n;
      std::size_t q = eol + 2;
      for (long long i = 0; i < n; ++i) {
        const auto e = resp_end(s, q, depth + 1, nullptr, nullptr);
        if (!e || *e == kBad) return e;
        q = *e;
      }
      return q;
    }
    default:
      return kBad;
  }
}

// One RESP command at a time over a bench_socket.
class resp_connection {
 public:
  resp_connection(std::string host, std::uint16_t port)
      : host_(std::move(host)), port_(port), buffer_(tickring::cli::kBenchRecvBufferBytes) {}

  // false on a transport or protocol failure, an error reply or an empty array.
  bool exchange(std::string_view command, std::size_t& answer_bytes, unsigned& calls) {
    calls = 0;
    if (!socket_.connected() && socket_.connect(host_, port_, kTimeout)) return false;
    ++calls;
    if (socket_.send_all(command)) return fail();
    std::size_t size = 0;
    for (;;) {
      if (buffer_.size() == size) {
        if (size >= kMaxAnswerBytes) return fail();
        buffer_.resize(2 * size);
      }
      std::size_t got = 0;
      ++calls;
      if (socket_.recv_some(buffer_.data() + size, buffer_.size() - size, got) || got == 0)
        return fail();
      size += got;
      long long elements = -1;
      bool error = false;
      const auto end = resp_end(std::string_view(buffer_.data(), size), 0, 0, &elements, &error);
      if (!end) continue;
      if (*end != size) return fail();  // not RESP, or bytes after the one answer
      answer_bytes = size;
      return !error && elements > 0;
    }
  }

 private:
  bool fail() {
    socket_.close();
    return false;
  }

  std::string host_;
  std::uint16_t port_;
  bench_socket socket_;
  std::vector<char> buffer_;
};

std::string resp_command(const std::vector<std::string>& words) {
  std::string out = "*" + std::to_string(words.size()) + "\r\n";
  for (const auto& w : words)
    out += "$" + std::to_string(w.size()) + "\r\n" + w + "\r\n";
  return out;
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  return sorted[static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1))];
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "newest_latency: %s\n"
               "usage: newest_latency http HOST PORT TARGET [--requests R] [--warmup W] "
               "[--token T]\n"
               "       newest_latency redis HOST PORT KEY [--requests R] [--warmup W] "
               "[--count N]\n",
               why);
  std::exit(2);
}

template <typename T>
T parse_number(const char* text, const char* name) {
  T v{};
  const char* end = text + std::strlen(text);
  const auto r = std::from_chars(text, end, v);
  if (r.ec != std::errc{} || r.ptr != end) usage((std::string(name) + " needs a number").c_str());
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) usage("too few arguments");
  const std::string mode = argv[1];
  if (mode != "http" && mode != "redis") usage("the first argument is http or redis");
  const std::string host = argv[2];
  const auto port = parse_number<std::uint16_t>(argv[3], "PORT");
  const std::string what = argv[4];
  unsigned long requests = kDefaultRequests, warmup = kDefaultWarmup;
  unsigned count = kDefaultCount;
  std::string token;
  for (int i = 5; i < argc; i += 2) {
    const std::string_view opt = argv[i];
    if (i + 1 >= argc) usage("an option without its value");
    if (opt == "--requests") {
      requests = parse_number<unsigned long>(argv[i + 1], "--requests");
    } else if (opt == "--warmup") {
      warmup = parse_number<unsigned long>(argv[i + 1], "--warmup");
    } else if (opt == "--count") {
      count = parse_number<unsigned>(argv[i + 1], "--count");
    } else if (opt == "--token") {
      token = argv[i + 1];
    } else {
      usage("unknown option");
    }
  }
  if (requests < 1) usage("--requests must be at least 1");

  std::optional<bench_http_connection> http;
  std::optional<resp_connection> redis;
  std::string request;
  bench_http_answer answer;
  if (mode == "http") {
    http.emplace(host, port, kTimeout);
    request = http->make_get(what, token.empty() ? std::string() : "Bearer " + token);
  } else {
    redis.emplace(host, port);
    request = resp_command({"XREVRANGE", what, "+", "-", "COUNT", std::to_string(count)});
  }
  std::size_t answer_bytes = 0;
  unsigned calls = 0;
  auto one = [&]() -> bool {
    if (http) {
      const bool ok =
          !http->exchange(request, answer) && answer.status == 200 && !answer.body.empty();
      calls = http->last_calls();
      answer_bytes = answer.body.size();
      return ok;
    }
    return redis->exchange(request, answer_bytes, calls);
  };

  for (unsigned long i = 0; i < warmup; ++i)
    (void)one();
  std::vector<double> latencies;
  latencies.reserve(requests);
  unsigned long errors = 0, total_calls = 0;
  const auto start = clock_type::now();
  for (unsigned long i = 0; i < requests; ++i) {
    const auto t0 = clock_type::now();
    const bool ok = one();
    const auto t1 = clock_type::now();
    if (!ok) ++errors;
    total_calls += calls;
    latencies.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  std::sort(latencies.begin(), latencies.end());
  const nlohmann::json j = {
      {"server", mode == "http" ? "tickring" : "redis"},
      {"requests", requests},
      {"errors", errors},
      {"p50_us", percentile(latencies, 0.5)},
      {"p90_us", percentile(latencies, 0.9)},
      {"p99_us", percentile(latencies, 0.99)},
      {"p999_us", percentile(latencies, 0.999)},
      {"max_us", latencies.back()},
      {"requests_per_second", static_cast<double>(requests) / seconds},
      {"calls_per_request", static_cast<double>(total_calls) / static_cast<double>(requests)},
      {"answer_bytes", answer_bytes}};
  std::printf("%s\n", j.dump().c_str());
  return errors == 0 ? 0 : 1;
}
