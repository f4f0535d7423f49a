// The one write path: every change enters the SeriesStore through this class, on the ingest
// thread — TCP feed lines, /write bodies, DELETE, the demo feed, and later journal replay and a
// log consumer. It validates (through the store), applies, counts, and hands each applied
// change to its sinks in the order they were added (the stream hub; later the journal).
//
// Threads: ingest thread only, except counters() (any thread). Sinks run inline on the ingest
// thread and must not block: they may allocate once per change, never per subscriber.
// Retention evictions are not changes of their own: they ride on the insert that caused them
// (applied_change::evicted, ring_seq_last, oldest) and take no change sequence number.
// Cost: the store's apply plus one virtual call per sink.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/series_store.h"
#include "server/ingest/ingest_counters.h"

namespace tickring::server {

enum class change_kind : std::uint8_t { insert, overwrite, remove };

// One applied change, valid only during the sink call.
struct applied_change {
  const core::series& series;
  change_kind kind;
  core::time_ns time;
  core::seq_no seq;            // the series' change sequence
  core::seq_no ring_seq;       // the ring's sequence of the change
  core::seq_no ring_seq_last;  // the ring's sequence after its evictions (== ring_seq if none)
  std::size_t evicted;         // points dropped by retention after an insert
  core::time_ns oldest;        // the lowest time left when evicted != 0
  const std::uint64_t* words;  // field values (insert, overwrite); nullptr for remove
  bool created;                // the change created the series
};

class change_sink {
 public:
  virtual ~change_sink() = default;
  virtual void on_change(const applied_change& c) = 0;
};

class write_path {
 public:
  write_path(core::series_store& store, ingest_counters& counters);
  write_path(const write_path&) = delete;
  write_path& operator=(const write_path&) = delete;

  void add_sink(change_sink* sink) { sinks_.push_back(sink); }

  // Applies one point. On error nothing is stored and the rejection is counted.
  core::apply_result apply(const core::point_input& p);
  // Removes the point at `t` of `s` (DELETE); nothing if absent.
  std::optional<core::remove_result> remove(const core::series& s, core::time_ns t);
  // Counts a line rejected before it became a point (parse error, too long).
  void count_rejected(reject_reason r);

  core::series_store& store() { return store_; }
  const ingest_counters& counters() const { return counters_; }

 private:
  void publish(const applied_change& c) {
    for (change_sink* s : sinks_)
      s->on_change(c);
  }

  core::series_store& store_;
  ingest_counters& counters_;
  std::vector<change_sink*> sinks_;
};

// Nanoseconds since the Unix epoch (the clock that stamps points without a timestamp).
inline core::time_ns wall_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The reason a store error rejects a point, for counting.
reject_reason reason_of(core::apply_error e);

}  // namespace tickring::server
