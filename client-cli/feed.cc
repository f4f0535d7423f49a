// `tickring feed FILE|-`: streams line protocol to the TCP ingest port, or with --nats publishes
// it to NATS JetStream (feed_nats.h).
//
// One thread: input is read in kFeedChunkBytes pieces and handed to a feed_sender (which
// throttles, writes and reads the server's replies); this file is the options, the input and
// the summary.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>
#include <vector>

#include "client-cli/cli_args.h"
#include "client-cli/command.h"
#include "client-cli/feed_input.h"
#include "client-cli/feed_nats.h"
#include "client-cli/feed_sender.h"
#include "client-cli/ingest_connection.h"
#include "client-cli/progress.h"

namespace tickring::cli {
namespace {

using clock = std::chrono::steady_clock;

// 256 KiB per write: ~2,500 quote lines, few syscalls, and the server reads the same size.
constexpr std::size_t kFeedChunkBytes = 256 * 1024;
constexpr std::size_t kDefaultShownErrors = 10;

constexpr std::string_view kDetails =
    "Reads FILE (or standard input for '-') and sends it unchanged to tickring-server's\n"
    "line-protocol port, in large writes. A progress line is drawn on stderr when it is a\n"
    "terminal. Error lines the server sends back (`error line=<n>: <reason>`) are counted and\n"
    "the first ones printed to stderr; the summary goes to stdout. A last line without a\n"
    "newline gets one (the server drops an unterminated last line).\n"
    "\n"
    "Exit status: 0 when everything was sent (even if the server rejected lines), 1 when the\n"
    "input cannot be read or the connection fails, 2 on a usage error.\n"
    "\n"
    "With --nats URL the lines go to NATS JetStream instead, for tickring-server --nats\n"
    "instances (docs/scale-out.md): each line to the subject <prefix>.<partition>\n"
    "of its series, in messages of up to 1 MiB with a message id JetStream deduplicates;\n"
    "lines that do not parse are reported here and not published. Exit status 1 also when a\n"
    "message could not be stored.\n"
    "\n"
    "Examples:\n"
    "  tickring feed quotes.lp\n"
    "  zcat day.lp.gz | tickring feed --rate 50000 -\n"
    "  tickring feed --nats nats://127.0.0.1:4222 --partition-count 8 quotes.lp\n";

void print_summary(const feed_sender& f, double seconds) {
  const double secs = std::max(seconds, 1e-9);
  std::string out =
      fmt::format("sent {} lines ({}) in {}: {} lines/s, {}/s\n", format_count(f.lines()),
                  format_bytes(static_cast<double>(f.bytes())), format_seconds(seconds),
                  format_count(static_cast<std::uint64_t>(static_cast<double>(f.lines()) / secs)),
                  format_bytes(static_cast<double>(f.bytes()) / secs));
  const reply_collector& r = f.replies();
  const std::uint64_t rejected = r.error_lines() + r.suppressed();
  if (rejected == 0 && r.other_lines() == 0) {
    out += "server reported no errors\n";
  } else if (rejected == 0) {
    out += fmt::format("server sent {} unexpected replies (first ones shown on stderr)\n",
                       format_count(r.other_lines()));
  } else {
    out +=
        fmt::format("server rejected {} line{}", format_count(rejected), rejected == 1 ? "" : "s");
    std::vector<std::string> notes;
    if (r.shown() != 0) {
      notes.push_back(r.not_shown() == 0
                          ? "shown on stderr"
                          : fmt::format("first {} replies shown on stderr", r.shown()));
    }
    if (r.suppressed() != 0) {
      notes.push_back(
          fmt::format("{} without details (server rate limit)", format_count(r.suppressed())));
    }
    if (r.other_lines() != 0) {
      notes.push_back(fmt::format("{} other replies", format_count(r.other_lines())));
    }
    if (!notes.empty()) out += fmt::format(" ({})", fmt::join(notes, "; "));
    out += '\n';
  }
  std::fputs(out.c_str(), stdout);
}

int run_feed(const global_options& given, const std::vector<std::string>& args) {
  global_options globals = given;
  std::string path;
  double rate = 0;
  std::size_t shown_errors = kDefaultShownErrors;
  bool no_progress = false;
  nats_settings nats;
  command_options options;
  // clang-format off
  options.visible.add_options()
    ("rate", po::value(&rate)->value_name("N")->default_value(0),
       "send at most N lines per second (0: as fast as possible)")
    ("show-errors", po::value(&shown_errors)->value_name("N")->default_value(shown_errors),
       "print the first N rejected lines (the server's replies; with --nats, the parser's)")
    ("no-progress", po::bool_switch(&no_progress), "never draw the progress line");
  po::options_description nats_options("NATS JetStream (instead of the TCP port)", kHelpWidth);
  add_nats_options(nats_options, nats);
  options.visible.add(nats_options);
  options.hidden.add_options()("input", po::value(&path));
  // clang-format on
  options.positional.add("input", 1);
  po::variables_map vm;
  if (!parse_command_args(kFeedCommand, kDetails, options, args, globals, vm)) return kExitOk;
  if (path.empty()) throw usage_error("missing FILE (or '-' for standard input)");
  if (!(rate >= 0) || !std::isfinite(rate)) throw usage_error("--rate must be a number >= 0");
  if (!nats.url.empty()) {
    if (rate > 0) throw usage_error("--rate is for the TCP feed, not --nats");
    check_nats_settings(nats);
    return run_feed_nats(path, nats, shown_errors, no_progress);
  }

  input_file in;
  std::string error;
  if (!open_input(path, in, error)) {
    std::fprintf(stderr, "tickring feed: %s\n", error.c_str());
    return kExitFailure;
  }
  ingest_connection conn;
  if (const auto ec = conn.connect(globals.host, globals.ingest_port, globals.token)) {
    std::fprintf(stderr, "tickring feed: cannot connect to %s:%u: %s%s\n", globals.host.c_str(),
                 globals.ingest_port, ec.message().c_str(),
                 std::string(no_server_hint(ec)).c_str());
    return kExitFailure;
  }

  progress_meter meter(no_progress ? std::nullopt : in.size);
  if (no_progress) meter.finish();
  feed_sender f(conn, meter, rate > 0 ? std::optional<double>(rate) : std::nullopt, shown_errors);
  std::vector<char> buf(kFeedChunkBytes);
  const auto start = clock::now();
  bool ok = true;
  for (;;) {
    if (!f.wait_for_input(in.fd)) {
      ok = false;
      break;
    }
    const ssize_t n = ::read(in.fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      meter.finish();
      std::fprintf(stderr, "tickring feed: reading %s: %s\n", path.c_str(), std::strerror(errno));
      return kExitFailure;
    }
    if (n == 0) break;
    if (!f.send(buf.data(), static_cast<std::size_t>(n))) {
      ok = false;
      break;
    }
  }
  if (ok) ok = f.finish();
  const double seconds =
      std::chrono::duration<double>((ok ? f.sent_at() : clock::now()) - start).count();
  meter.finish();
  if (!f.replies().refusal().empty()) {
    std::fprintf(stderr,
                 "tickring feed: the server refused the connection, nothing was stored: %s "
                 "(give --token or set TICKRING_TOKEN)\n",
                 f.replies().refusal().c_str());
    return kExitFailure;
  }
  print_summary(f, seconds);
  if (!ok) {
    std::fprintf(stderr, "tickring feed: %s\n", f.error().c_str());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

constinit const command_entry kFeedCommand{
    "feed", "[options] FILE|-",
    "Stream line protocol from a file or stdin to the ingest port (or NATS JetStream)", run_feed};

}  // namespace tickring::cli
