// Joins a byte stream that arrives in pieces of any size (TCP reads) into lines.
//
// Usage:
//   line_reassembler lines(kMaxLineBytes, kReadChunk);
//   auto room = lines.space();                       // read into room.data(), room.size()
//   lines.commit(n, /*at_eof=*/false,
//                [&](std::string_view line) { ... },  // each complete line, without '\n'
//                [&] { ... });                        // a line over max_line: skipped
//
// Contract
// - Any split of the same bytes gives the same calls in the same order: every line of at
//   most `max_line` bytes reaches on_line once; every longer line gives one on_too_long and
//   nothing of it reaches on_line (the stream resynchronises at its newline, whether the line
//   arrived in one read or many).
// - At end of input (at_eof) an unterminated last line is dropped, by the feed's contract (a
//   connection that drops mid-line loses only that line).
// - Memory: one buffer of max_line + read_chunk bytes, allocated once. space() is never
//   empty after commit() returns.
// - Cost: O(bytes) to find newlines plus one memmove of the partial last line per commit.
// Threads: one owner; no synchronisation.
#pragma once

#include <cstddef>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "protocol/line_protocol.h"

namespace tickring::protocol {

class line_reassembler {
 public:
  line_reassembler(std::size_t max_line, std::size_t read_chunk)
      : max_line_(max_line), buf_(max_line + read_chunk) {}

  // Where the next read goes.
  std::span<char> space() { return {buf_.data() + used_, buf_.size() - used_}; }

  // `n` bytes were written at the start of space(); hands out what is now complete.
  template <typename OnLine, typename OnTooLong>
  void commit(std::size_t n, bool at_eof, OnLine&& on_line, OnTooLong&& on_too_long) {
    used_ += n;
    const std::string_view data(buf_.data(), used_);
    std::size_t start = 0;
    if (discarding_) {
      const auto nl = data.find('\n');
      if (nl == std::string_view::npos) {
        used_ = 0;
        return;
      }
      discarding_ = false;
      start = nl + 1;
    }
    start += for_each_line(data.substr(start), [&](std::string_view line) {
      if (line.size() > max_line_) {
        on_too_long();
      } else {
        on_line(line);
      }
    });
    const std::size_t rest = used_ - start;
    if (rest > max_line_) {
      on_too_long();
      discarding_ = true;
      used_ = 0;
      return;
    }
    if (at_eof) {
      used_ = 0;
      return;
    }
    if (start != 0 && rest != 0) std::memmove(buf_.data(), buf_.data() + start, rest);
    used_ = rest;
  }

 private:
  std::size_t max_line_;
  std::vector<char> buf_;
  std::size_t used_ = 0;
  bool discarding_ = false;  // inside an over-long line: skip to the next newline
};

}  // namespace tickring::protocol
