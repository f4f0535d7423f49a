#include "client-cli/stream_messages.h"

#include <charconv>
#include <nlohmann/json.hpp>

namespace tickring::cli {
namespace {

// Where the value of the first `"name":` starts (after blanks), or npos.
std::size_t value_at(std::string_view message, std::string_view name) {
  std::size_t from = 0;
  for (;;) {
    const std::size_t q = message.find(name, from);
    if (q == std::string_view::npos) return q;
    from = q + 1;
    // The name must be a whole key: "name" followed by ':'.
    if (q == 0 || message[q - 1] != '"') continue;
    std::size_t i = q + name.size();
    if (i >= message.size() || message[i] != '"') continue;
    ++i;
    while (i < message.size() && (message[i] == ' ' || message[i] == '\t'))
      ++i;
    if (i >= message.size() || message[i] != ':') continue;
    ++i;
    while (i < message.size() && (message[i] == ' ' || message[i] == '\t'))
      ++i;
    return i;
  }
}

}  // namespace

bool is_stream_series(std::string_view series) {
  const std::size_t slash = series.find('/');
  return slash != std::string_view::npos && slash != 0 && slash + 1 < series.size() &&
         series.find('/', slash + 1) == std::string_view::npos;
}

std::string subscribe_message(std::uint64_t id, const stream_subscription& s) {
  nlohmann::ordered_json j = {{"op", "subscribe"}, {"id", id}, {"series", s.series}};
  if (s.snapshot != 0) j["snapshot"] = s.snapshot;
  if (s.since_seq) j["since_seq"] = *s.since_seq;
  if (!s.candles.empty()) j["candles"] = s.candles;
  if (!s.fields.empty()) j["fields"] = s.fields;
  if (s.batch > 1) j["batch"] = s.batch;
  return j.dump();
}

std::optional<std::int64_t> peek_int(std::string_view message, std::string_view name) {
  const std::size_t at = value_at(message, name);
  if (at == std::string_view::npos) return std::nullopt;
  std::int64_t v = 0;
  const auto r = std::from_chars(message.data() + at, message.data() + message.size(), v);
  if (r.ec != std::errc()) return std::nullopt;
  // 1.5 or 1e9 is not an integer: refuse rather than truncate.
  if (r.ptr != message.data() + message.size() && (*r.ptr == '.' || *r.ptr == 'e' || *r.ptr == 'E'))
    return std::nullopt;
  return v;
}

std::optional<std::string_view> peek_string(std::string_view message, std::string_view name) {
  const std::size_t at = value_at(message, name);
  if (at == std::string_view::npos || message[at] != '"') return std::nullopt;
  std::size_t end = at + 1;
  while (end < message.size() && message[end] != '"') {
    end += message[end] == '\\' ? 2 : 1;
  }
  if (end >= message.size()) return std::nullopt;
  return message.substr(at + 1, end - at - 1);
}

seq_check seq_tracker::advance(std::string_view series, std::uint64_t seq, bool exact) {
  auto it = last_.find(series);
  if (it == last_.end()) {
    last_.emplace(std::string(series), seq);
    return {seq_verdict::first, 0};
  }
  const std::uint64_t last = it->second;
  if (seq > last) it->second = seq;
  if (seq <= last) return {seq_verdict::repeat, last};
  if (exact && seq != last + 1) return {seq_verdict::gap, last};
  return {seq_verdict::in_order, last};
}

void seq_tracker::restart(std::string_view series, std::uint64_t seq) {
  auto it = last_.find(series);
  if (it == last_.end()) {
    last_.emplace(std::string(series), seq);
  } else {
    it->second = seq;
  }
}

std::optional<std::uint64_t> seq_tracker::last(std::string_view series) const {
  const auto it = last_.find(series);
  if (it == last_.end()) return std::nullopt;
  return it->second;
}

}  // namespace tickring::cli
