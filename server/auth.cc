#include "server/auth.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace tickring::server {

token_list load_token_file(const std::string& path, std::string& warning) {
  auto fail = [&](const std::string& why) {
    return std::runtime_error(fmt::format("--auth-token-file {}: {}", path, why));
  };
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw fail(std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw fail("not a regular file");
  if ((st.st_mode & S_IWOTH) != 0) {
    throw fail("is writable by every user, who could add a token (chmod o-w, better 600)");
  }
  if (static_cast<std::uint64_t>(st.st_size) > kMaxTokenFileBytes) {
    throw fail(fmt::format("larger than {} bytes; a token file holds one token per line",
                           kMaxTokenFileBytes));
  }
  warning.clear();
  if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
    warning = fmt::format("--auth-token-file {} is readable by other users (chmod 600)", path);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw fail(std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  token_list tokens;
  std::istringstream lines(text.str());
  std::string line;
  for (std::size_t number = 1; std::getline(lines, line); ++number) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    const auto last = line.find_last_not_of(" \t\r");
    std::string token = line.substr(first, last - first + 1);
    for (const char c : token) {
      if (c <= ' ' || c > '~') {
        throw fail(fmt::format("line {}: a token is printable ASCII without spaces", number));
      }
    }
    if (token.size() < kMinTokenBytes || token.size() > kMaxTokenBytes) {
      throw fail(fmt::format("line {}: a token has {} to {} characters (try: openssl rand -hex 32)",
                             number, kMinTokenBytes, kMaxTokenBytes));
    }
    tokens.push_back(std::move(token));
  }
  if (tokens.empty()) throw fail("holds no token (one per line; '#' starts a comment)");
  return tokens;
}

bool token_matches(const token_list& tokens, std::string_view presented) noexcept {
  // No early exit anywhere: every token is compared over its whole length, and the only
  // branch depends on the presented length, which the client knows anyway.
  unsigned any = 0;
  for (const auto& token : tokens) {
    unsigned diff = token.size() != presented.size() ? 1U : 0U;
    for (std::size_t i = 0; i < token.size(); ++i) {
      const auto theirs = static_cast<unsigned char>(i < presented.size() ? presented[i] : 0);
      diff |= static_cast<unsigned char>(token[i]) ^ theirs;
    }
    any |= static_cast<unsigned>(diff == 0);
  }
  return any != 0;
}

token_auth::token_auth(std::string path, bool reads_need_token)
    : path_(std::move(path)), reads_(reads_need_token) {
  if (path_.empty()) return;
  std::string warning;
  auto loaded = std::make_shared<const token_list>(load_token_file(path_, warning));
  std::lock_guard lk(tokens_mu_);
  tokens_ = std::move(loaded);
  if (!warning.empty()) spdlog::warn("{}", warning);
}

std::shared_ptr<const token_list> token_auth::current() const {
  std::lock_guard lk(tokens_mu_);
  return tokens_;
}

bool token_auth::accepts(std::string_view presented) const {
  if (!enabled() || presented.empty() || presented.size() > kMaxTokenBytes) return false;
  const auto tokens = current();
  return tokens && token_matches(*tokens, presented);
}

std::string token_auth::reload(std::size_t& count) {
  count = 0;
  if (!enabled()) return "no --auth-token-file to reload";
  try {
    std::string warning;
    auto fresh = std::make_shared<const token_list>(load_token_file(path_, warning));
    if (!warning.empty()) spdlog::warn("{}", warning);
    count = fresh->size();
    std::lock_guard lk(tokens_mu_);
    tokens_ = std::move(fresh);
    return {};
  } catch (const std::exception& e) {
    count = current()->size();
    return e.what();
  }
}

}  // namespace tickring::server
