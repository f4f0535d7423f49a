// A spare answer buffer per worker thread, so that a connection answering request after
// request stops allocating (and freeing) a 10-20 KB string for each answer.
//
// Threads: thread-local; each worker thread has its own spare. A handler takes it to build an
// answer body; the session gives the body back once written. Both run on the connection's
// worker thread (listener.h: a connection stays on one), so the buffer goes round one thread;
// an answer built elsewhere (the ingest thread's replies) is simply not recycled.
// Cost: at most kKeptAnswerBuffer bytes held per worker thread.
#pragma once

#include <cstddef>
#include <string>
#include <utility>

namespace tickring::server {

// A buffer above this is freed rather than kept (a newest-100 answer is ~10-20 KB).
inline constexpr std::size_t kKeptAnswerBuffer = 64 * 1024;

namespace detail {
inline thread_local std::string spare_answer_buffer;
}

// An empty string, with room when an earlier answer of this thread left its buffer.
inline std::string take_answer_buffer() {
  std::string out = std::move(detail::spare_answer_buffer);
  detail::spare_answer_buffer = std::string();
  out.clear();
  return out;
}

// Keeps `used` (its contents are dropped) for the next take, if it is larger than the spare
// and not above kKeptAnswerBuffer.
inline void give_back_answer_buffer(std::string&& used) {
  if (used.capacity() > kKeptAnswerBuffer ||
      used.capacity() <= detail::spare_answer_buffer.capacity()) {
    return;
  }
  used.clear();
  detail::spare_answer_buffer = std::move(used);
}

}  // namespace tickring::server
