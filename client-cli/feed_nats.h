// `tickring feed --nats URL FILE|-`: the same input as the TCP feed, published to JetStream
// instead (jetstream_publisher.h has the layout), one thread:
//
//   read (256 KiB) -> line_reassembler -> partition_batcher -> jetstream_publisher
//
// - A line that does not parse is not published; the first `shown_errors` are printed on
//   stderr as "line <n>, byte <b>: <reason>" (n counts every input line from 1) and all are
//   counted, as the server's replies are counted by the TCP feed.
// - An unterminated last line gets a newline (the TCP feed does the same).
// - When the input stalls (a slow pipe), batches older than --linger are published anyway.
// - The summary (lines, messages, bytes, rate until the last ack, acks, duplicates, retries)
//   goes to stdout; the rate counts the wait for every acknowledgment.
// - Exit status: 0 when every message was acknowledged (rejected lines included), 1 when NATS
//   cannot be reached, the stream cannot be ensured, or a message could not be stored.
#pragma once

#include <cstddef>
#include <string>

#include "client-cli/jetstream_publisher.h"

namespace tickring::cli {

int run_feed_nats(const std::string& path, const nats_settings& settings, std::size_t shown_errors,
                  bool no_progress);

}  // namespace tickring::cli
