// What the ingest thread hands to WebSocket sessions: shared change records, the inbox each
// session drains, and the subscription handle both sides hold.
//
// Threads: a change_record is built once on the ingest thread and then only read (by any
// number of sessions). A session_inbox is pushed to by the ingest thread and drained by its
// session's strand; its mutex is held only to push or to swap the vector (never across I/O or
// a socket wait), so the ingest thread never waits for a client. A subscription_ref's fixed
// fields are set before it is shared; `active` is the only field both sides touch.
// Cost: one allocation per change (record + its JSON body), whatever the number of
// subscribers; one vector push per subscriber.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/series.h"
#include "protocol/stream_messages.h"
#include "server/ingest/write_path.h"

namespace tickring::server::stream {

struct change_record {
  const core::series* series;
  change_kind kind;
  core::time_ns time;
  core::seq_no seq;            // the series' change sequence
  core::seq_no ring_seq;       // the ring's sequence of the change ...
  core::seq_no ring_seq_last;  // ... and after the evictions it caused
  std::size_t evicted;
  core::time_ns oldest;  // lowest time left after evictions
  std::array<std::uint64_t, core::kMaxFieldsPerSeries> words;
  // "series":"m/s","seq":..,"time":..,<fields>}  — the shared tail of point/delete messages.
  std::string body;
};
using record_ptr = std::shared_ptr<const change_record>;

class session_inbox;

// One subscription as the hub sees it. Created by the session, registered by the hub.
struct subscription_ref {
  std::shared_ptr<session_inbox> inbox;
  std::int64_t id = 0;
  protocol::series_spec spec;
  std::optional<core::seq_no> since_seq;
  std::atomic<bool> active{true};
};
using subscription_ptr = std::shared_ptr<subscription_ref>;

// Tells the session where a (subscription, series) stands before the records that follow it.
enum class marker_kind : std::uint8_t {
  fresh,    // take a snapshot as of ring_seq / seq; records after it follow
  resumed,  // since_seq honoured: the replayed records follow, no snapshot
  reset,    // since_seq not honoured (reason): snapshot as for fresh
  absent,   // the series does not exist yet: seq 0, records follow once it is created
  attach,   // a series the subscription waited for (absent, or a wildcard's new series)
  resync,   // records were dropped (inbox full): snapshot again as of ring_seq / seq
};

struct inbox_entry {
  subscription_ptr sub;
  record_ptr record;  // set for a change; empty for a marker
  marker_kind marker = marker_kind::fresh;
  const core::series* series = nullptr;
  core::seq_no ring_seq = 0;
  core::seq_no seq = 0;
  std::uint64_t dropped = 0;  // resync: how many records were not delivered
  std::string reason;         // reset

  static inbox_entry of_record(subscription_ptr sub, record_ptr r) {
    inbox_entry e;
    e.sub = std::move(sub);
    e.record = std::move(r);
    return e;
  }
  static inbox_entry of_marker(subscription_ptr sub, marker_kind kind,
                               const core::series* series = nullptr, core::seq_no ring_seq = 0,
                               core::seq_no seq = 0, std::uint64_t dropped = 0) {
    inbox_entry e;
    e.sub = std::move(sub);
    e.marker = kind;
    e.series = series;
    e.ring_seq = ring_seq;
    e.seq = seq;
    e.dropped = dropped;
    return e;
  }
};

// The queue from the ingest thread to one session. Bounded: past `capacity` entries the hub
// stops pushing records for the subscriptions concerned and later resyncs them. The inbox
// remembers that it refused something (`overflowed`): the session, when it next drains,
// asks the hub to resync, so a resync does not wait for a later change of the series (which
// may never come once the feed stops).
class session_inbox {
 public:
  session_inbox(std::size_t capacity, std::function<void()> wake)
      : capacity_(capacity), wake_(std::move(wake)) {}

  // Ingest thread. Returns false (and pushes nothing) when the inbox is full or closed.
  bool push(inbox_entry&& e) {
    bool wake = false;
    {
      std::lock_guard lock(mutex_);
      if (closed_) return false;
      if (entries_.size() >= capacity_) {
        overflowed_ = true;  // a drain is pending: the inbox is not empty
        return false;
      }
      entries_.push_back(std::move(e));
      wake = !scheduled_;
      scheduled_ = true;
    }
    if (wake) wake_();
    return true;
  }
  // Ingest thread: whether a resync marker would fit with room to spare. When it would not,
  // the hub still owes a resync: the inbox remembers it for the session's next drain.
  bool has_room() {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    if (entries_.size() < capacity_ / 2) return true;
    overflowed_ = true;
    return false;
  }
  // Session strand: takes everything queued (the next push wakes the session again).
  // Returns whether the hub dropped something for this inbox since the last take.
  bool take(std::vector<inbox_entry>& out) {
    std::lock_guard lock(mutex_);
    out.swap(entries_);
    scheduled_ = false;
    return std::exchange(overflowed_, false);
  }
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    entries_.clear();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<inbox_entry> entries_;
  std::size_t capacity_;
  bool scheduled_ = false;
  bool closed_ = false;
  bool overflowed_ = false;
  std::function<void()> wake_;
};

}  // namespace tickring::server::stream
