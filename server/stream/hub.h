// The stream hub: the write path's sink that turns applied changes into shared records and
// hands them to the WebSocket sessions subscribed to their series.
//
// Threads: everything runs on the ingest thread — on_change (called by the write path) and
// subscribe/unsubscribe (posted there by sessions). Because subscribing and applying changes
// are ordered by that one thread, a subscription's marker names the exact ring and change
// sequence it starts after, and every later change of that series reaches its inbox (kdb+'s
// tickerplant does the same with its log position).
//
// Per series with subscribers the hub keeps its subscribers and a replay log of the last
// `replay` changes (for series that had a subscription to them by name, so that `since_seq`
// can resume). All logs together hold at most `replay_bytes`: past it, the log being appended
// to gives up its oldest records (down to kMinReplay), so that many subscribed series cannot
// make the hub hold `replay` changes each. Records are built only for series that someone watches:
// a series nobody subscribed to costs one hash lookup per change.
//
// Bounded: an inbox that is full makes the hub drop that subscription's records (counted) and
// send a resync marker once the inbox has room again — at the next change of the series, or
// when the session has drained and asks (resync()); the ingest thread never waits.
// Cost per change of a watched series: one record allocation + O(subscribers) pushes.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/series_store.h"
#include "server/ingest/write_path.h"
#include "server/stream/stream_types.h"

namespace tickring::server::stream {

struct hub_counters {
  std::atomic<std::uint64_t> records{0};      // change records built
  std::atomic<std::uint64_t> inbox_drops{0};  // records not delivered: a session inbox full
  std::atomic<std::uint64_t> replayed{0};     // records replayed for since_seq
  std::atomic<std::uint64_t> log_bytes{0};    // bytes held by the replay logs
  std::atomic<std::uint64_t> resets{0};       // since_seq not honoured
};

// A series' replay log keeps at least this many changes, whatever the byte budget.
inline constexpr std::size_t kMinReplay = 16;

class hub final : public change_sink {
 public:
  hub(const core::series_store& store, std::size_t replay, std::size_t replay_bytes);

  // ---- ingest thread ----
  void on_change(const applied_change& c) override;
  void subscribe(const subscription_ptr& sub);
  void unsubscribe(const subscription_ptr& sub);
  // The session behind `inbox` drained it after the hub had dropped records for it: every
  // overflowed subscription of that inbox gets its resync marker now, at the exact state
  // between two changes. O(watched series).
  void resync(const std::shared_ptr<session_inbox>& inbox);

  const hub_counters& counters() const { return counters_; }

 private:
  struct slot {
    subscription_ptr sub;
    bool overflowed = false;
    std::uint64_t dropped = 0;
  };
  struct series_state {
    std::vector<slot> slots;
    std::deque<record_ptr> log;
    bool keep_log = false;
  };
  void attach(const core::series& s, const subscription_ptr& sub, marker_kind kind);
  void deliver(const core::series& s, series_state& st, const record_ptr& r);
  static std::string key(std::string_view m, std::string_view s);

  const core::series_store& store_;
  std::size_t replay_;
  std::size_t replay_bytes_;
  std::size_t log_bytes_ = 0;  // all logs together
  std::unordered_map<const core::series*, series_state> states_;
  // Subscriptions by name to series that do not exist yet, and wildcards by measurement.
  std::unordered_map<std::string, std::vector<subscription_ptr>> waiting_;
  std::unordered_map<std::string, std::vector<subscription_ptr>> wildcards_;
  hub_counters counters_;
};

}  // namespace tickring::server::stream
