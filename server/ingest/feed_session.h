// One TCP feed connection: reads line protocol in large chunks on the feed thread, parses every
// complete line into a feed_batch there, hands the batch to the ingest thread to be applied,
// and answers each bad line with `error line=<n>: <reason>\n`.
//
// Threads: the feed io_context (one thread, so no strand and no lock), except apply_batch,
// which runs on the ingest thread with the batch it was handed (feed_batch.h).
// Pipeline: at most kMaxBatchesInFlight batches wait for or sit in the ingest thread while the
// session parses the next read; past that it stops reading until one comes back, so a writer
// slower than the feed pushes back through the socket (TCP flow control), never into memory.
// Rules:
// - Lines split across reads are joined (protocol::line_reassembler: any split gives the same
//   lines); a line longer than protocol::kMaxLineBytes is rejected and the connection
//   resynchronises at the next newline.
// - A connection that drops mid-line loses only that partial line.
// - Error lines are rate-limited (kErrorLinesPerSecond per connection) and buffered at most
//   kMaxPendingErrorBytes while a write is in flight; beyond that they are counted as
//   suppressed. A client that never reads can therefore never stall the ingest thread.
// - A connection that sends nothing for `idle_timeout` is closed (--feed-idle-timeout). The
//   timer is not re-armed per read: when it fires it checks the time of the last read and
//   waits for the rest, so a busy connection costs one clock read per chunk.
// - Authentication (docs/auth.md): with --auth-token-file the first line must be
//   `auth <token>`; it is not counted in line numbers and nothing is applied before it. A
//   missing or wrong token, or none within kFeedAuthTimeout, gets one `error: ...` line, the
//   connection's sending side is shut, what the client still sends is read and discarded for
//   kRefusedLinger (closing with unread bytes would reset the connection and could lose the
//   error line), then it is closed; counted in token_auth::feed_refused. Without a token file
//   a first line `auth <word>` that is not line protocol is ignored, so that a client
//   configured with a token also works against an open server.
// Cost: per read, one memmove of the partial last line and one handoff to the ingest thread
// and back; per line, its parse and one copy into the batch (feed thread), its apply (ingest).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "protocol/line_reassembler.h"
#include "server/auth.h"
#include "server/ingest/line_applier.h"

namespace tickring::server {

// 32 KiB reads amortise the syscall over ~350 quote lines; the buffer must hold one maximal
// line plus a read. A batch holds the lines of one read (~300 bytes each once parsed).
inline constexpr std::size_t kFeedReadChunk = 32 * 1024;
// Batches of one connection with the ingest thread while the next is parsed. One was not
// enough: each stage then waited for the other at every handoff, and one connection ran at
// 2.0-2.4 M quotes/s with both threads half idle; four keep both busy (3.0-4.0 M/s, the same
// machine and hour). Smaller reads keep the pipeline's memory small: a connection holds its
// read buffer and at most five batches (four out, one filling), ~0.3 MiB for quotes and
// ~1 MiB at worst (batches of maximal lines).
inline constexpr std::size_t kMaxBatchesInFlight = 4;
inline constexpr std::size_t kErrorLinesPerSecond = 100;
inline constexpr std::size_t kMaxPendingErrorBytes = 64 * 1024;
// A publisher sends its auth line at once; a connection without one holds a descriptor and a
// buffer that real feeds need (--max-feed-connections), so it is refused after this.
inline constexpr std::chrono::seconds kFeedAuthTimeout{10};
inline constexpr std::chrono::seconds kRefusedLinger{2};

class feed_session : public std::enable_shared_from_this<feed_session> {
 public:
  // `applier` is used on `ingest` only (apply_batch); everything else on the socket's executor.
  feed_session(boost::asio::ip::tcp::socket socket, boost::asio::io_context& ingest,
               line_applier& applier, ingest_counters& counters,
               std::chrono::nanoseconds idle_timeout, const token_auth& auth);
  ~feed_session();
  void start();
  // Shutdown: applies what the kernel has already received, then closes. Asynchronous: the
  // pending read is cancelled first, and the draining happens in its completion, because that
  // read may already hold bytes (completed, its handler queued) that a read here would
  // overwrite.
  void drain_and_close();

 private:
  void do_read();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void finish_drain();
  void process(std::size_t n, bool at_eof);
  // Hands the filled batch to the ingest thread; on_applied runs here when it is back.
  void dispatch();
  void on_applied(std::unique_ptr<feed_batch> b);
  void maybe_finish();
  void reject(std::size_t line_number, std::string_view reason);
  // The first line: true when it was the auth line (or refused); false to apply it.
  bool take_first_line(std::string_view line);
  void refuse(std::string_view why);
  void flush();
  void finish();
  void arm_idle_timer(std::chrono::steady_clock::duration after);

  boost::asio::ip::tcp::socket socket_;
  boost::asio::io_context& ingest_;
  boost::asio::steady_timer idle_timer_;
  std::chrono::nanoseconds idle_timeout_;
  std::chrono::steady_clock::time_point last_read_ = std::chrono::steady_clock::now();
  line_applier& applier_;
  ingest_counters& counters_;
  const token_auth& auth_;
  bool authed_;              // no token needed, or the auth line was accepted
  bool first_line_ = true;   // the next line is the first (maybe an auth line)
  bool refused_ = false;     // auth failed: discard input, close after kRefusedLinger
  bool half_close_ = false;  // shut the sending side once the pending replies are written
  std::chrono::steady_clock::time_point refused_at_;
  protocol::line_reassembler lines_;
  protocol::line_parser parser_;
  std::unique_ptr<feed_batch> batch_;  // being filled
  // Batches back from the ingest thread, reused (at most kMaxBatchesInFlight): a batch's
  // buffers are allocated once per connection, not once per read.
  std::vector<std::unique_ptr<feed_batch>> spares_;
  std::size_t batches_out_ = 0;  // batches handed to the ingest thread
  bool paused_ = false;          // not reading: kMaxBatchesInFlight are out
  bool finished_ = false;        // finish() or finish_drain() ran
  std::size_t line_number_ = 0;
  bool closed_ = false;    // no more reads
  bool draining_ = false;  // drain_and_close() was called: the next read completion drains
  bool closing_ = false;   // close once the pending error replies are written
  // Error replies.
  std::string pending_;
  std::string in_flight_;
  bool writing_ = false;
  double tokens_ = kErrorLinesPerSecond;
  std::chrono::steady_clock::time_point refill_at_ = std::chrono::steady_clock::now();
  std::uint64_t suppressed_ = 0;
};

}  // namespace tickring::server
