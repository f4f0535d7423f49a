// Shared-token authentication of writes (and, with --auth-reads, of reads): docs/auth.md.
//
// Tokens come from --auth-token-file, one per line. Several may be valid at once so that
// clients can move to a new token without a restart (the store is in memory: a restart
// loses it): add the new line, SIGHUP, move the clients, delete the old line, SIGHUP.
//
// Threads: accepts() and the counters from any thread (workers, the ingest thread); reload()
// from any thread. The token set is swapped as a whole under a mutex held only to copy or
// replace one shared_ptr: a check sees the old set or the new one, never a mix.
// (Not std::atomic<std::shared_ptr>: libstdc++ 12 guards it with a lock bit that
// ThreadSanitizer does not see, so a reload beside a request was reported as a race.)
// Cost: accepts() compares the presented token with every token, in time that depends on the
// tokens' lengths and the presented length only, never on where the bytes differ.
// Errors: load() throws std::runtime_error naming the file and the problem (start-up);
// reload() returns the same text and keeps the previous tokens.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace tickring::server {

// A token shorter than this is guessable over the network; `openssl rand -hex 32` gives 64.
inline constexpr std::size_t kMinTokenBytes = 16;
// Longer tokens buy nothing and would make every comparison longer.
inline constexpr std::size_t kMaxTokenBytes = 256;
// A token file is a handful of lines; anything larger is the wrong file.
inline constexpr std::size_t kMaxTokenFileBytes = 64 * 1024;

using token_list = std::vector<std::string>;

// Reads and checks a token file: a regular file, not writable by others (anyone could add a
// token), at most kMaxTokenFileBytes; one token per line, surrounding spaces trimmed, blank
// lines and lines starting with '#' ignored; each token kMinTokenBytes..kMaxTokenBytes of
// printable ASCII without spaces; at least one. A file readable by group or others is
// accepted with a warning in `warning`.
token_list load_token_file(const std::string& path, std::string& warning);

// True when `presented` equals one of `tokens`; constant time as described above.
bool token_matches(const token_list& tokens, std::string_view presented) noexcept;

class token_auth {
 public:
  // Disabled (every request allowed) when `path` is empty; otherwise loads it (throws).
  token_auth(std::string path, bool reads_need_token);

  bool enabled() const { return !path_.empty(); }
  bool reads_need_token() const { return reads_; }
  const std::string& path() const { return path_; }
  // False when disabled or when `presented` is not a current token.
  bool accepts(std::string_view presented) const;
  // Reads the file again; on an error keeps the current tokens and returns the reason ("" on
  // success). `count` receives the number of tokens now valid.
  std::string reload(std::size_t& count);

  // Requests and feed connections refused for a missing or wrong token (/metrics).
  mutable std::atomic<std::uint64_t> http_refused{0};
  mutable std::atomic<std::uint64_t> feed_refused{0};

 private:
  std::string path_;
  bool reads_;
  std::shared_ptr<const token_list> current() const;

  mutable std::mutex tokens_mu_;
  std::shared_ptr<const token_list> tokens_;  // guarded by tokens_mu_
};

}  // namespace tickring::server
