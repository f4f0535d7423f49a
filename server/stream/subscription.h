// One subscription on one WebSocket connection, as its session sees it: for each series it
// covers (one, or every series of a measurement for `m/*`), a view that turns the hub's
// markers and records into the messages of docs/stream.md.
//
// Snapshot without a lock and without a gap. The hub's marker says the ring sequence R0 and
// change sequence S0 at the instant the subscription was registered, and every change after
// R0 arrives as a record, in order. The session then reads the newest points lock-free (ring
// committed c1, the points, c2) and takes cut = max(c2, the highest ring sequence it saw).
// Whatever the reader saw of changes in (R0, cut] is repaired by applying the records of those
// changes to what it read (insert/overwrite sets the time's value, delete removes it; applied
// in order, the result for every touched time is its value at the cut); times no record
// touched were stable during the read, and the backward iterator never skips those. The
// snapshot is exact at the cut; its seq is the change sequence of the record that reaches the
// cut (or S0 when no change happened), and the records after it go out live as S+1, S+2, ...
// Only times at or above the lowest one read are kept, so a point inserted below the read's
// reach during the read cannot leave a hole.
//
// Threads: the owning session's strand only. Cost: a snapshot is O(N log N) for N points;
// a live record O(1) (O(points in the bar) for a bar correction).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/candles.h"
#include "core/series_store.h"
#include "protocol/stream_messages.h"
#include "server/stream/stream_types.h"

namespace tickring::server::stream {

class series_view;

// Where a subscription's messages go (the session's outbox).
class outbox_port {
 public:
  virtual ~outbox_port() = default;
  // A live message (point, delete, bar) of `view`: `head` + the shared `body` if any. When the
  // connection's queue is over its bound the session drops the view's queued messages and
  // marks it lagged (series_view::lag), or closes the connection.
  // `point` marks a point message with the shared body: such messages of a subscription that
  // asked for `batch` may go out together in one `points` frame.
  virtual void push_live(series_view* view, std::string head, record_ptr body, bool point) = 0;
  // A control message (subscribed, snapshot, reset, lagged): always queued.
  virtual void push_control(std::string message) = 0;
};

// A cap on the points one candle snapshot reads (a 1d bar of a busy series): past it the
// oldest bars of the snapshot are left out.
inline constexpr std::size_t kMaxCandleSnapshotPoints = 2'000'000;

class series_view {
 public:
  enum class phase : std::uint8_t { waiting, snapshotting, live, lagged };
  series_view(const protocol::subscribe_request& req, const core::series* s);

  void on_marker(const inbox_entry& e, outbox_port& out);
  void on_record(const change_record& r, const record_ptr& shared, outbox_port& out);
  // The connection's queue has room again: a lagged view says so and snapshots again.
  void on_room(outbox_port& out);
  phase state() const { return phase_; }
  std::uint64_t dropped() const { return dropped_; }
  void lag(std::uint64_t dropped) {
    phase_ = phase::lagged;
    dropped_ += dropped;
    ++epoch_;
    queued_ = 0;
  }
  // The session's bookkeeping of this view's live messages in its queue: a message queued in
  // an older epoch than the view's was conflated away and is skipped, not sent.
  std::uint64_t epoch() const { return epoch_; }
  std::uint64_t queued() const { return queued_; }
  void on_queued() { ++queued_; }
  void on_unqueued() { --queued_; }

 private:
  using words_t = std::array<std::uint64_t, core::kMaxFieldsPerSeries>;
  void set_series(const core::series* s);
  void start_snapshot(core::seq_no ring, core::seq_no seq, outbox_port& out);
  void merge(const change_record& r);
  void finish_snapshot(core::seq_no seq, outbox_port& out);
  void emit_live(const change_record& r, const record_ptr& shared, outbox_port& out);
  void candle_live(const change_record& r, outbox_port& out);
  void emit_bar(const core::candle& c, bool final, core::seq_no seq, outbox_port& out);
  core::candle bar_from_ring(core::time_ns start) const;
  // REQUIRES: !open_ticks_.empty(). O(ticks in the open bar).
  core::candle open_bar() const;
  std::string head(std::string_view type) const;
  // `subscribed` with the series' sequence, once per subscription to one series.
  void announce(core::seq_no seq, outbox_port& out);

  const protocol::subscribe_request& req_;
  const core::series* series_ = nullptr;
  std::string name_;
  std::vector<std::size_t> fields_;  // indexes to send
  bool all_fields_ = true;
  phase phase_ = phase::waiting;
  bool announced_ = false;  // `subscribed` sent (one series)
  core::seq_no last_seq_ = 0;
  core::seq_no last_ring_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t epoch_ = 0;
  std::uint64_t queued_ = 0;
  // Snapshot in progress.
  core::seq_no cut_ = 0;
  core::time_ns floor_ = 0;
  std::map<core::time_ns, words_t> points_;
  // Candles.
  std::optional<protocol::candle_fields> candle_fields_;
  struct tick {
    core::time_ns time;
    double price;
    double volume;
  };
  core::time_ns open_start_ = 0;
  bool have_open_ = false;
  std::vector<tick> open_ticks_;  // the open bar's points, by time
};

class subscription {
 public:
  subscription(protocol::subscribe_request req, subscription_ptr ref);
  const protocol::subscribe_request& request() const { return req_; }
  const subscription_ptr& ref() const { return ref_; }

  void on_entry(const inbox_entry& e, outbox_port& out);
  void on_room(outbox_port& out);
  bool has_lagged() const;

 private:
  series_view& view_for(const core::series* s);

  protocol::subscribe_request req_;
  subscription_ptr ref_;
  std::unordered_map<const core::series*, std::unique_ptr<series_view>> views_;
};

}  // namespace tickring::server::stream
