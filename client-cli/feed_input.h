// The input of `tickring feed`: a file, or standard input for "-". Both the TCP feed and the
// JetStream publisher (feed_nats.cc) read it the same way. Single-threaded; closes what it
// opened.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <optional>
#include <string>

namespace tickring::cli {

struct input_file {
  input_file() = default;
  input_file(const input_file&) = delete;
  input_file& operator=(const input_file&) = delete;
  ~input_file() {
    if (fd > STDIN_FILENO) ::close(fd);
  }
  int fd = -1;
  std::optional<std::uint64_t> size;  // what is left to read, for regular files only
};

// Opens `path` ("-": standard input). False with "cannot open <path>: <reason>".
[[nodiscard]] bool open_input(const std::string& path, input_file& in, std::string& error);

}  // namespace tickring::cli
