#include "client-cli/feed_nats.h"

#include <fmt/format.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "client-cli/command.h"
#include "client-cli/feed_input.h"
#include "client-cli/partition_batcher.h"
#include "client-cli/progress.h"
#include "protocol/line_reassembler.h"

namespace tickring::cli {
namespace {

using clock = std::chrono::steady_clock;

// The TCP feed's read size: a few syscalls per MiB message.
constexpr std::size_t kReadChunk = 256 * 1024;
// With nothing to publish, how often the loop still looks at due retries.
constexpr std::chrono::milliseconds kIdleService{100};

void print_summary(const jetstream_publisher& pub, std::uint64_t rejected, double seconds) {
  const publish_counts c = pub.counts();
  const double secs = std::max(seconds, 1e-9);
  const nats_settings& s = pub.settings();
  std::string out = fmt::format(
      "published {} lines ({}) in {} messages to stream {} ({} partition{}) in {}: {} lines/s, "
      "{}/s\n",
      format_count(c.lines), format_bytes(static_cast<double>(c.bytes)), format_count(c.messages),
      s.stream, s.partition_count, s.partition_count == 1 ? "" : "s", format_seconds(seconds),
      format_count(static_cast<std::uint64_t>(static_cast<double>(c.lines) / secs)),
      format_bytes(static_cast<double>(c.bytes) / secs));
  out += fmt::format(
      "acknowledged {} messages: {} stored, {} duplicates (already stored); {} retries; "
      "publisher id {}\n",
      format_count(c.acked), format_count(c.acked - c.duplicates), format_count(c.duplicates),
      format_count(c.retries), pub.publisher_id());
  out += rejected == 0 ? std::string("every line parsed\n")
                       : fmt::format("rejected {} line{} (not published)\n", format_count(rejected),
                                     rejected == 1 ? "" : "s");
  std::fputs(out.c_str(), stdout);
}

}  // namespace

int run_feed_nats(const std::string& path, const nats_settings& settings, std::size_t shown_errors,
                  bool no_progress) {
  input_file in;
  std::string error;
  if (!open_input(path, in, error)) {
    std::fprintf(stderr, "tickring feed: %s\n", error.c_str());
    return kExitFailure;
  }
  progress_meter meter(no_progress ? std::nullopt : in.size);
  if (no_progress) meter.finish();
  jetstream_publisher pub(settings, [&meter](std::string_view line) {
    meter.print_above(fmt::format("tickring feed: {}", line));
  });
  if (!pub.connect(error)) {
    meter.finish();
    std::fprintf(stderr, "tickring feed: %s\n", error.c_str());
    return kExitFailure;
  }
  partition_batcher batcher(settings.partition_count, pub.max_message_bytes(),
                            [&pub](std::uint32_t p, std::string_view payload, std::uint64_t lines) {
                              return pub.publish(p, payload, lines);
                            });
  const auto linger = std::chrono::milliseconds(settings.linger_ms);
  protocol::line_reassembler reassembler(protocol::kMaxLineBytes, kReadChunk);
  std::uint64_t line_no = 0;
  std::uint64_t rejected = 0;
  std::uint64_t bytes = 0;
  bool failed = false;
  protocol::parse_error err;
  const auto report = [&](const std::string& what) {
    ++rejected;
    if (rejected <= shown_errors) meter.print_above(what + "\n");
  };
  const auto on_line = [&](std::string_view line) {
    ++line_no;
    switch (batcher.add(line, line_no, err)) {
      case partition_batcher::add_result::rejected:
        report(err.to_string());
        break;
      case partition_batcher::add_result::failed:
        failed = true;
        break;
      default:
        break;
    }
  };
  const auto on_too_long = [&] {
    ++line_no;
    report(fmt::format("line {}: line longer than {} bytes", line_no, protocol::kMaxLineBytes));
  };

  const auto start = clock::now();
  bool ends_with_newline = true;
  while (!failed) {
    const auto oldest = batcher.oldest();
    auto wait = kIdleService;
    if (oldest != clock::time_point::max()) {
      wait = std::clamp(
          std::chrono::duration_cast<std::chrono::milliseconds>(oldest + linger - clock::now()),
          std::chrono::milliseconds(0), kIdleService);
    }
    pollfd p{in.fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(wait.count()));
    if (ready < 0 && errno != EINTR) break;  // let read() say what is wrong
    if (ready <= 0) {
      failed = !batcher.flush_older_than(linger, clock::now()) || !pub.service();
      continue;
    }
    const auto room = reassembler.space();
    const ssize_t n = ::read(in.fd, room.data(), room.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      meter.finish();
      std::fprintf(stderr, "tickring feed: reading %s: %s\n", path.c_str(), std::strerror(errno));
      return kExitFailure;
    }
    if (n == 0) break;
    ends_with_newline = room[static_cast<std::size_t>(n) - 1] == '\n';
    bytes += static_cast<std::uint64_t>(n);
    reassembler.commit(static_cast<std::size_t>(n), false, on_line, on_too_long);
    meter.update(bytes, line_no);
  }
  if (!failed && !ends_with_newline) {
    reassembler.space()[0] = '\n';
    reassembler.commit(1, false, on_line, on_too_long);
  }
  if (!failed) failed = !batcher.flush_all() || !pub.finish();
  const double seconds = std::chrono::duration<double>(clock::now() - start).count();
  meter.finish();
  print_summary(pub, rejected, seconds);
  if (failed) {
    std::fprintf(stderr, "tickring feed: %s\n", pub.error().c_str());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace tickring::cli
