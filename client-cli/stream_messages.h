// The client's half of the stream protocol (docs/stream.md), without any I/O: building the
// `subscribe` request, pulling the few values a hot loop needs out of a server message without
// a full JSON parse, and checking the gap-free sequence contract.
//
//   stream_subscription s{.series = "quotes/EURUSD", .snapshot = 5};
//   ws->send(subscribe_message(1, s));
//   ...
//   seq_tracker seqs;
//   seqs.restart("quotes/EURUSD", 1041);                   // from `subscribed` or `snapshot`
//   auto c = seqs.advance("quotes/EURUSD", 1043, true);    // c.verdict == seq_verdict::gap
//
// Pure functions and plain values; thread-compatible (one tracker per thread or connection).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tickring::cli {

// The request path of the stream, on the HTTP port.
inline constexpr std::string_view kStreamTarget = "/v1/stream";

struct stream_subscription {
  std::string series;                      // "measurement/symbol" or "measurement/*"
  std::uint64_t snapshot = 0;              // newest points (or bars) first sent
  std::optional<std::uint64_t> since_seq;  // resume after this change
  std::string candles;                     // "1m": bars instead of points; empty: points
  std::vector<std::string> fields;         // empty: every field
  std::uint64_t batch = 0;                 // > 1: up to this many points per `points` frame
};

// "measurement/symbol" or "measurement/*", neither part empty, no second '/'.
[[nodiscard]] bool is_stream_series(std::string_view series);
[[nodiscard]] inline bool is_wildcard_series(std::string_view series) {
  return series.ends_with("/*");
}

// {"op":"subscribe","id":1,"series":...} with only the options that differ from the defaults.
std::string subscribe_message(std::uint64_t id, const stream_subscription& s);

// Fast reads of a top-level member of a compact, flat server message (`point`, `delete`,
// `lagged`, `reset`, `subscribed`): the first `"name":` in the text. Not for messages with
// nested objects whose members may share the name (`snapshot`, `bar`): parse those.
// nullopt when absent or not of the expected form.
std::optional<std::int64_t> peek_int(std::string_view message, std::string_view name);
// The raw text between the quotes (escapes are left as they are: fine for type names and for
// series names, which never need escaping in JSON).
std::optional<std::string_view> peek_string(std::string_view message, std::string_view name);

enum class seq_verdict {
  first,     // nothing known about this series yet: accepted as the start
  in_order,  // last + 1 (or, when not exact, anything above last)
  gap,       // some changes were skipped: seq > last + 1
  repeat,    // seq <= last: a duplicate or a step back
};

struct seq_check {
  seq_verdict verdict;
  std::uint64_t last;  // what was known before (0 with `first`)
};

// The last sequence number processed per series. Live changes must carry last+1 (points and
// deletes) or at least rise (bars, which skip the changes that moved no bar).
class seq_tracker {
 public:
  // A live message: checks it against the last one; the higher of the two is kept.
  seq_check advance(std::string_view series, std::uint64_t seq, bool exact);
  // A new starting point (`subscribed`, `snapshot`, `reset`): the next live change is seq+1.
  void restart(std::string_view series, std::uint64_t seq);
  std::optional<std::uint64_t> last(std::string_view series) const;
  bool empty() const { return last_.empty(); }
  void clear() { last_.clear(); }

 private:
  std::map<std::string, std::uint64_t, std::less<>> last_;
};

}  // namespace tickring::cli
